"""How many parts wait for each modem: for the queue limit, and to find the least-loaded modem.

Counting the queue in the database at every request would cost a scan per message created, so
the counts are read at most once a second and, in between, the parts accepted since are added
(parts sent meanwhile are not subtracted until the next reading: the estimate errs high, never
letting the queue grow past its limit).

The limit (the original Messages documentation): when a sender's backlog exceeds four hours of
its modem's send rate, new messages for it are refused with HTTP 429 and nothing already
accepted is touched (``ModemConfig.backlog_limit``). A modem's plan caps
(:mod:`gateway.domain.quota`) count too: the parts its caps would hold back past those four
hours are as good as refused, so the limit is never more than the caps let go in them.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Final

from gateway.config.defaults import BACKLOG_HOURS
from gateway.domain.errors import ApiError
from gateway.modems.supervisor import ModemHandle
from gateway.outbound.quotas import Quotas
from gateway.store import QueueCounts

REFRESH_SECONDS: Final = 1.0
HORIZON: Final = timedelta(hours=BACKLOG_HOURS)  # what the limit is worth of a modem's traffic
QUEUE_FULL: Final = 21611  # "This 'From' number has exceeded the maximum number of queued messages"


class Backlog:
    def __init__(
        self, store: QueueCounts, quotas: Quotas, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.quotas = quotas
        self.monotonic = monotonic
        self._counts: dict[str, int] = {}
        self._added: defaultdict[str, int] = defaultdict(int)
        self._read_at = float("-inf")

    async def parts(self, modem_id: str) -> int:
        """The parts waiting for ``modem_id`` (an estimate at most a second old)."""
        if self.monotonic() - self._read_at >= REFRESH_SECONDS:
            self._read_at = self.monotonic()
            self._added.clear()
            self._counts = await self.store.backlog()
        return self._counts.get(modem_id, 0) + self._added[modem_id]

    def added(self, modem_id: str, parts: int) -> None:
        self._added[modem_id] += parts

    async def check(self, handle: ModemHandle, parts: int) -> None:
        """Raise HTTP 429 if ``parts`` more would take ``handle`` past its limit, or past what
        its plan caps let go within the same four hours."""
        limit = handle.config.backlog_limit
        if not limit:
            return
        waiting = await self.parts(handle.id)
        if waiting + parts > limit:
            raise _full(handle, f"has {limit} parts waiting already (four hours at its pace)")
        room = self.quotas.room(handle.config, HORIZON)
        # A message no whole day or month lets go is no question of waiting: a 429 would say
        # "try again later" (and Twilio's clients retry a 429 on their own, for ever); it is
        # taken and fails with 30001, whatever the time of day.
        if room is not None and waiting + parts > room and handle.config.quota.takes(parts):
            raise _full(
                handle,
                f"has {waiting} parts waiting and its plan's caps let {room} go in the next "
                "four hours",
            )


def _full(handle: ModemHandle, why: str) -> ApiError:
    numbers = ", ".join(handle.config.numbers)
    return ApiError(
        QUEUE_FULL,
        "This 'From' number has exceeded the maximum number of queued messages: "
        f"{numbers} {why}; try again later",
        429,
    )
