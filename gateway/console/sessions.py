"""Who is signed in to the console: a random token in a cookie, the session behind it kept
server-side in memory (a restart signs everyone out, which is what a restarted gateway on a Pi
should do), ended after :data:`IDLE_EXPIRY` without a request or :data:`ABSOLUTE_EXPIRY` after
the sign-in, whichever comes first (OWASP Session Management: idle and absolute timeouts)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gateway.listeners import Listeners

IDLE_EXPIRY: Final = timedelta(minutes=30)
ABSOLUTE_EXPIRY: Final = timedelta(hours=12)
COOKIE: Final = "smsgw_console"
# The token: 32 random bytes (RFC 6265 allows its URL-safe base64 in a cookie as is).
_TOKEN_BYTES: Final = 32


@dataclass(slots=True)
class Session:
    token: str
    account: str  # the account SID its credentials belong to: all it may see
    username: str  # the SID it signed in with: the account's, or an API key's
    credentials: bytes  # their fingerprint then (gateway.api.auth.Authenticator.fingerprint)
    csrf: str  # the token every form of this session carries (gateway.console.guards)
    started: datetime
    seen: datetime  # its latest request


class Sessions:
    """The sessions signed in, by token. The expired ones are dropped as they are met and at
    each sign-in, so that the table never holds more than the sessions alive plus a day's
    forgotten ones."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        # Told each token signed out or found ended: its live stream ends with it
        # (gateway.console.live).
        self.ended: Listeners[[str]] = Listeners("a console session's end")

    def start(self, account: str, username: str, credentials: bytes) -> Session:
        now = self._clock()
        self._sessions = {
            token: session
            for token, session in self._sessions.items()
            if not self._expired(session, now)
        }
        session = Session(
            token=secrets.token_urlsafe(_TOKEN_BYTES),
            account=account,
            username=username,
            credentials=credentials,
            csrf=secrets.token_urlsafe(_TOKEN_BYTES),
            started=now,
            seen=now,
        )
        self._sessions[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The session of ``token``, alive (its idle time starts again); ``None`` otherwise."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self._clock()
        if self._expired(session, now):
            self.end(token)
            return None
        session.seen = now
        return session

    def alive(self, token: str) -> bool:
        """Whether ``token``'s session is alive, without counting this as its activity: an
        open page's live stream is not the operator at work, so it never keeps a session
        from its idle expiry."""
        session = self._sessions.get(token)
        return session is not None and not self._expired(session, self._clock())

    def accounts(self) -> set[str]:
        """The accounts signed in now (their live updates are kept while they are)."""
        now = self._clock()
        return {s.account for s in self._sessions.values() if not self._expired(s, now)}

    def end(self, token: str) -> None:
        if self._sessions.pop(token, None) is not None:
            self.ended.announce(token)

    def __len__(self) -> int:
        return len(self._sessions)

    @staticmethod
    def _expired(session: Session, now: datetime) -> bool:
        return now - session.seen >= IDLE_EXPIRY or now - session.started >= ABSOLUTE_EXPIRY
