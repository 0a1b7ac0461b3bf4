"""The report timer (``report_timeout``): a sent message whose report does not come is given up
once its deadline passes on the gateway's clock, stays ``sent``, and is counted; the timer
sleeps until the deadline (no polling) and is woken by a message sent only when it has no
deadline to sleep for."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from gateway.domain.models import Status
from gateway.outbound.reports import ReportTimer
from gateway.store import ReportWaits
from gateway.tasks import Tasks
from tests.fakes.store import MemoryStore
from tests.gateway.units.rig import WAIT
from tests.gateway.units.sending_rig import sending

TIMEOUT = timedelta(hours=48)


class Watched(ReportWaits):
    """The store as the timer sees it, telling the test each time the timer looks (what it
    then sleeps until) and gives up."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.looks: asyncio.Queue[datetime | None] = asyncio.Queue()
        self.given_up: list[str] = []

    async def next_report_wait(self) -> datetime | None:
        oldest = await self.store.next_report_wait()
        self.looks.put_nowait(oldest)
        return oldest

    async def give_up_reports(self, sent_before: datetime, at: datetime) -> list[str]:
        sids = await self.store.give_up_reports(sent_before, at)
        self.given_up += sids
        return sids

    async def look(self) -> datetime | None:
        """The oldest waiting message's send time, as the timer's next look finds it."""
        async with asyncio.timeout(WAIT):
            return await self.looks.get()


async def test_a_message_without_its_report_is_given_up_after_the_timeout() -> None:
    async with sending() as unit:
        watched = Watched(unit.store)
        timer = ReportTimer(watched, TIMEOUT, unit.clock, unit.dispatcher.metrics, Tasks())
        unit.dispatcher.on_status(
            lambda _sid, status: timer.sent() if status is Status.SENT else None
        )
        timer.start()
        try:
            assert await watched.look() is None  # nothing sent: it sleeps until woken
            message = await unit.send()
            await unit.statuses.until(message.sid, Status.SENT)
            sent_at = unit.clock()
            assert await watched.look() == sent_at  # woken by the send
            # A message sent while the timer sleeps for an earlier deadline does not wake it
            # (ReportTimer.sent): it is found when that deadline comes.
            unit.clock.advance(3600)
            later = await unit.send()
            await unit.statuses.until(later.sid, Status.SENT)
            later_sent_at = unit.clock()
            unit.clock.advance(TIMEOUT.total_seconds() - 3600 - 1)
            timer.wake()  # as its timer would fire: a second early, nothing is due
            assert await watched.look() == sent_at
            assert watched.given_up == []
            unit.clock.advance(1)
            timer.wake()
            assert await watched.look() == sent_at  # due now: given up at once
            assert await watched.look() == later_sent_at  # then it sleeps for the later one
            assert watched.given_up == [message.sid]
            assert unit.dispatcher.metrics.reports_given_up == 1
            assert (await unit.stored(message.sid)).status is Status.SENT
        finally:
            await timer.stop()
