"""The report timer: a sent message whose delivery report never comes stops being waited for
``report_timeout`` after it was sent (issue 17).

A network keeps trying to deliver for the message's validity period at most (TS 23.040
§9.2.3.12), and sends the final report then; past that, no report is coming. The message stays
``sent`` (nothing says it was not delivered) and is only marked as no longer waiting, counted
in ``smsgw_reports_given_up_total``; a report that comes later is matched and applied as any
other (:meth:`gateway.store.InboundLog.add_status_report` does not look at the mark). No
polling: the timer sleeps until the oldest waiting message's deadline, and is woken by a
message sent only when it has none (one indexed query: the oldest waiting message, through
schema 18's index).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from gateway.domain.errors import StoreError
from gateway.metrics import Metrics
from gateway.store import ReportWaits
from gateway.tasks import Loop, Tasks
from gateway.waiting import seconds_until, woken

log = logging.getLogger(__name__)


class ReportTimer(Loop):
    def __init__(
        self,
        store: ReportWaits,
        timeout: timedelta,
        clock: Callable[[], datetime],
        metrics: Metrics,
        tasks: Tasks,
    ) -> None:
        super().__init__(tasks, "report timeout")
        self.store = store
        self.timeout = timeout
        self.clock = clock
        self.metrics = metrics
        self._waiting = False  # it sleeps with no message waiting for a report

    def sent(self) -> None:
        """A message was committed ``sent``. Its deadline comes after the one the timer sleeps
        for, if any (sent later, by the same timeout): only a timer with nothing to wait for
        looks again, so the send path pays no query for it."""
        if not self._waiting:
            self._wake.set()

    async def give_up_due(self) -> int:
        """Stop waiting for the reports of the messages sent ``timeout`` ago or earlier."""
        now = self.clock()
        sids = await self.store.give_up_reports(now - self.timeout, now)
        for sid in sids:
            log.info("%s: no delivery report within %s; it stays sent", sid, self.timeout)
        self.metrics.reports_given_up += len(sids)
        return len(sids)

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before looking, so a message sent meanwhile is not missed
            oldest = await self.store.next_report_wait()
            due = None if oldest is None else oldest + self.timeout
            self._waiting = due is not None
            if await woken(self._wake, seconds_until(due, self.clock)):
                continue
            try:
                await self.give_up_due()
            except StoreError as exc:
                log.warning("giving up delivery reports failed: %s", exc)
