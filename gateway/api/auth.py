"""HTTP Basic authentication as Twilio does it: ``AccountSid:AuthToken`` or ``SK...:secret``.

Secrets are compared in constant time. The account a request may act for is the one the
credentials belong to; the API checks it against the account in the path.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Iterable

from gateway.config import Account
from gateway.domain.errors import ApiError


def unauthorized() -> ApiError:
    """Twilio's 401/20003, new each time: a raised exception keeps its traceback (and through
    it the request's frames), so one instance raised again and again would keep every failed
    request's frames for ever."""
    return ApiError(20003, "Authenticate", 401)


class Authenticator:
    def __init__(self, accounts: Iterable[Account]) -> None:
        # username -> (secret, account SID)
        self._credentials: dict[str, tuple[bytes, str]] = {}
        self._key = secrets.token_bytes(32)  # for fingerprint(): this process's own
        self.reconfigure(accounts)

    def reconfigure(self, accounts: Iterable[Account]) -> None:
        """Accept exactly ``accounts``' credentials from the next request on (a reload)."""
        credentials = {}
        for account in accounts:
            credentials[account.sid] = (account.auth_token.encode(), account.sid)
            for key in account.api_keys:
                credentials[key.sid] = (key.secret.encode(), account.sid)
        self._credentials = credentials

    def account_for(self, authorization: str | None) -> str:
        """The account SID the ``Authorization`` header authenticates; 401/20003 otherwise."""
        if not authorization or not authorization[:6].lower() == "basic ":
            raise unauthorized()
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise unauthorized() from None
        username, separator, password = decoded.partition(b":")
        if not separator:
            raise unauthorized()
        account_sid = self.account_of(username.decode("utf-8", "replace"), password)
        if account_sid is None:
            raise unauthorized()
        return account_sid

    def account_of(self, username: str, password: bytes) -> str | None:
        """The account SID of an account SID and its auth token, or an API key SID and its
        secret; ``None`` for anything else. The one check of credentials: Basic auth's, and
        the console's sign-in form's (gateway.console)."""
        entry = self._credentials.get(username)
        # Compare even when the user is unknown, so timing says nothing about which users exist.
        secret, account_sid = entry if entry is not None else (b"\0" * 32, "")
        if not hmac.compare_digest(secret, password) or entry is None:
            return None
        return account_sid

    def fingerprint(self, username: str) -> bytes | None:
        """What ``username``'s credentials are now, as a keyed hash (never the secret): a
        console session keeps the one it signed in with, and ends once it changes (a reload
        that changes the auth token, or removes the API key or the account). ``None``: no
        such username now."""
        entry = self._credentials.get(username)
        if entry is None:
            return None
        secret, account_sid = entry
        return hmac.digest(self._key, account_sid.encode() + b"\0" + secret, "sha256")
