"""What stands in front of the console's forms: the CSRF token each session's forms carry, and
the throttle on failed sign-ins (a guessed auth token is the account)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from gateway.console.sessions import Session

CSRF_FIELD: Final = "csrf_token"
# Failed sign-ins from one client address: at most FAILURES in WINDOW, then 429 until the
# oldest of them is WINDOW old (OWASP Authentication: throttle, not lock the account out, so
# that a stranger cannot lock the operator out).
FAILURES: Final = 5
WINDOW: Final = timedelta(minutes=5)


def csrf_ok(session: Session, given: str | None) -> bool:
    """Whether a POST's token is its session's (synchroniser token; compared in constant
    time)."""
    return given is not None and hmac.compare_digest(session.csrf.encode(), given.encode())


class SignInThrottle:
    """Failed sign-ins by client address, over the last :data:`WINDOW`."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._failures: dict[str, list[datetime]] = {}

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again; ``None``: it may now."""
        now = self._clock()
        recent = self._recent(address, now)
        if len(recent) < FAILURES:
            return None
        wait = recent[0] + WINDOW - now
        return max(1, int(wait.total_seconds() + 0.999))  # whole seconds, rounded up

    def failed(self, address: str) -> None:
        now = self._clock()
        # Forgotten addresses go as new failures come: the table holds the last WINDOW's.
        self._failures = {
            other: times
            for other, times in self._failures.items()
            if other == address or times[-1] > now - WINDOW
        }
        self._failures[address] = [*self._recent(address, now), now]

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def _recent(self, address: str, now: datetime) -> list[datetime]:
        return [at for at in self._failures.get(address, ()) if at > now - WINDOW]
