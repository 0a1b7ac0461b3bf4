"""The test clock: what every component takes as its ``clock`` in the tests, so that dates are
exact and time moves only when the test says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

T0: Final = datetime(2026, 3, 1, 12, 34, 56, 789000, tzinfo=UTC)


class Clock:
    """The gateway's clock: stands still at whatever the test set, and moves when told."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
