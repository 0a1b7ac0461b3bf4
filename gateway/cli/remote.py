"""The running gateway's HTTP API as the command line asks it, with every way that can go
wrong said in one line: what was tried and why it failed.

- the gateway cannot be reached (refused, no answer, TLS, the connection closed): the URL,
  where it came from and the reason, :class:`Unreachable` (exit status 1);
- HTTP 401: whose credentials were refused and where they came from, :class:`Refused` (1);
- a request refused as invalid (400, 413: a bad number, a body too long): Twilio's code and
  message, :class:`~gateway.cli.common.UsageError` (2);
- anything else (429, 5xx, an answer that is not the gateway's): :class:`Failure` (1).
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final

from gateway.cli.common import Failure, UsageError
from gateway.cli.credentials import Credentials
from gateway.cli.locate import Endpoint

TIMEOUT: Final = 10.0  # seconds; the API answers at once (but USSD, which gives its own)
_INVALID: Final = (400, 413)  # what the user typed was refused: a usage mistake


class Unreachable(Failure):
    """No answer from the gateway at all."""


class Refused(Failure):
    """The gateway answered 401: it does not know these credentials."""


_NONE: Final[frozenset[int]] = frozenset()


class Remote:
    """Requests to ``endpoint`` with the first account of ``credentials`` (HTTP Basic)."""

    def __init__(
        self, endpoint: Endpoint, credentials: Credentials, timeout: float = TIMEOUT
    ) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.timeout = timeout

    def get(
        self, path: str, query: dict[str, str] | None = None, *, answers: frozenset[int] = _NONE
    ) -> Any:
        """The JSON answer to GET ``path`` (``{account}`` in it is the Account SID); an error
        status in ``answers`` is an answer too (``/healthz``'s 503 says why in its body)."""
        return self._request("GET", path, query, None, answers)

    def post(self, path: str, form: dict[str, str] | list[tuple[str, str]]) -> Any:
        """The JSON answer to POST ``path`` with ``form`` (pairs, for a repeated parameter)."""
        return self._request("POST", path, None, urllib.parse.urlencode(form).encode())

    def _request(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None,
        data: bytes | None,
        answers: frozenset[int] = _NONE,
    ) -> Any:
        account = self.credentials.account
        url = self.endpoint.url + path.format(account=account.sid)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, data=data, method=method)
        secret = base64.b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
        request.add_header("Authorization", f"Basic {secret}")
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(
                request, timeout=self.timeout, context=self.endpoint.context
            ) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            with exc:  # the answer's connection, closed once its body is read
                if exc.code not in answers:
                    raise self._refusal(exc) from None
                try:
                    body = exc.read()
                except (OSError, http.client.HTTPException):
                    raise Failure(self._not_the_gateway(exc.code)) from None
        except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
            raise Unreachable(
                f"cannot reach the gateway at {self.endpoint.url} ({self.endpoint.origin}): "
                f"{self._reason(exc)}"
            ) from None
        try:
            return json.loads(body)
        except ValueError:
            raise Failure(self._not_the_gateway(200)) from None

    def _refusal(self, error: urllib.error.HTTPError) -> Exception:
        if error.code == 401:
            return Refused(
                f"the gateway at {self.endpoint.url} refused the credentials of "
                f"{self.credentials.account.sid} (from {self.credentials.source}); does it run "
                "with another configuration or --data-dir?"
            )
        try:
            body = json.loads(error.read() or b"{}")
            code, message = body["code"], body["message"]
        except (ValueError, KeyError, TypeError, OSError):
            return Failure(self._not_the_gateway(error.code))
        if error.code in _INVALID:
            return UsageError(f"{code}: {message}")
        return Failure(
            f"the gateway at {self.endpoint.url} answered {error.code} ({code}): {message}"
        )

    def _not_the_gateway(self, status: int) -> str:
        return (
            f"{self.endpoint.url} ({self.endpoint.origin}) answered HTTP {status} with no "
            "Twilio-shaped JSON: is it the gateway?"
        )

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
            exc = exc.reason  # what urlopen() met while connecting
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"TLS: {exc.verify_message} (trusting {self.endpoint.trust})"
        if isinstance(exc, ssl.SSLError):
            # OpenSSL's reason when the answer is not a TLS record: a plain HTTP server's.
            plain = " (does it serve plain HTTP?)" if exc.reason == "WRONG_VERSION_NUMBER" else ""
            return f"TLS: {exc.reason or exc}{plain}"
        if isinstance(exc, ConnectionResetError | http.client.BadStatusLine):
            # What plain HTTP to the gateway's HTTPS port gets: it closes such a connection.
            hint = ""
            if self.endpoint.context is None:
                hint = " (if it serves HTTPS, the configuration needs its tls_cert)"
            return "the connection was closed without an answer" + hint
        return _reason(exc, self.timeout)


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is it running, and listening there?)"
    if isinstance(exc, TimeoutError):
        return f"no answer in {timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # "Name or service not known", "Network is unreachable"...
    return str(exc)
