"""The retention policy (``[gateway] retention_days``, issue 17): a gateway running for years on
a Raspberry Pi must not fill its SD card. Messages that finished (a final status) more than
``retention_days`` ago are deleted with everything kept of them, in small batches, each its
own short transaction with a turn of the event loop between two, so that sending and the API
wait behind at most one batch. SQLite reuses the freed pages for the next messages, so the
database stops growing. Counted in ``smsgw_messages_pruned_total``.

The task runs once at start, then every :data:`PRUNE_EVERY` of the gateway's clock (injected:
the tests move it instead of sleeping).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from gateway.domain.errors import StoreError
from gateway.metrics import Metrics
from gateway.store import Retention
from gateway.tasks import Loop, Tasks
from gateway.waiting import seconds_until, woken

log = logging.getLogger(__name__)

BATCH: Final = 500  # messages per transaction
PRUNE_EVERY: Final = timedelta(hours=1)


class Pruner(Loop):
    def __init__(
        self,
        store: Retention,
        days: int,
        clock: Callable[[], datetime],
        metrics: Metrics,
        tasks: Tasks,
        *,
        batch: int = BATCH,
    ) -> None:
        super().__init__(tasks, "retention")
        self.store = store
        self.keep = timedelta(days=days)
        self.clock = clock
        self.metrics = metrics
        self.batch = batch

    async def prune_due(self) -> int:
        """Delete every message that ended ``retention_days`` ago or earlier, a batch at a
        time; how many were deleted."""
        before = self.clock() - self.keep
        pruned = 0
        while True:
            deleted = await self.store.prune_messages(before, self.batch)
            pruned += deleted
            self.metrics.messages_pruned += deleted
            if deleted < self.batch:
                break
            await asyncio.sleep(0)  # the other tasks' turn between two batches
        if pruned:
            log.info("retention: %d message(s) that ended before %s deleted", pruned, before)
        return pruned

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.prune_due()
            except StoreError as exc:
                log.warning("deleting old messages (retention_days) failed: %s", exc)
            await woken(self._wake, seconds_until(self.clock() + PRUNE_EVERY, self.clock))
