"""A SIM plan's caps and pacing on the send path (``gateway/outbound/dispatcher.py``,
``quotas.py``, ``routing.py``): a message the caps would pass waits for the next period with no
attempt counted, or fails with 30001 when its validity ends first; what was sent before a
restart still counts; a Messaging Service moves a held message to a modem with quota left; parts
are spaced by min_interval plus a drawn jitter. Over the in-memory store, the test clock and
simulated modems."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import pytest

from gateway.config import Config, ModemConfig, ServiceConfig
from gateway.domain.models import Status, obfuscate
from gateway.domain.quota import Quota
from gateway.modems.pool import ModemPool
from gateway.outbound import dispatcher
from gateway.tasks import Tasks
from gateway.waiting import seconds_until
from tests.fakes.clock import T0, Clock
from tests.fakes.store import MemoryStore
from tests.gateway.units.rig import (
    ACCOUNT,
    ALICE,
    BOB,
    HANDSET,
    WAIT,
    Statuses,
    config,
    make_dispatcher,
    make_outbound,
    make_router,
)
from tests.gateway.units.sending_rig import Sending, sending

TOKYO: Final = ZoneInfo("Asia/Tokyo")  # T0 is 21:34 there: the next day starts at 15:00 UTC
TOKYO_MIDNIGHT: Final = datetime(2026, 3, 1, 15, tzinfo=UTC)
SERVICE: Final = "MG" + "7" * 32
LONG: Final = "Long " * 80  # three parts
LONGER: Final = "Long " * 100  # four parts
SIX_PARTS: Final = "Long " * 180
MS: Final = timedelta(milliseconds=1)


def capped(plan: Quota, **changes: Any) -> Config:
    """alice's modem on ``plan`` (and ``changes``); bob's without caps."""
    alice = ModemConfig("alice", "simulated", (ALICE,), quota=plan, **changes)
    return config(alice, ModemConfig("bob", "simulated", (BOB,)))


async def held(unit: Sending, sid: str) -> datetime:
    """When ``sid``, deferred by its modem's caps, goes again (no attempt counted)."""
    await unit.store.until(lambda: _next(unit, sid) > unit.clock())
    row = unit.store.row(sid)
    assert row is not None and row.attempts == 0 and row.status is Status.QUEUED
    return row.next_attempt_at


def _next(unit: Sending, sid: str) -> datetime:
    row = unit.store.row(sid)
    return T0 if row is None else row.next_attempt_at


async def test_a_message_past_the_daily_cap_waits_for_the_next_day() -> None:
    async with sending(capped(Quota(daily_limit=5, zone=TOKYO))) as unit:
        first = await unit.send(body=LONG)
        await unit.statuses.until(first.sid, Status.SENT)
        second = await unit.send(body=LONG)  # 6 parts would pass the 5 of the day
        assert await held(unit, second.sid) == TOKYO_MIDNIGHT
        one = await unit.send(body="one more part fits")
        await unit.statuses.until(one.sid, Status.SENT)
        unit.advance((TOKYO_MIDNIGHT - T0).total_seconds())
        assert await unit.statuses.until(second.sid, Status.SENT) == [Status.SENDING, Status.SENT]
        sent = await unit.stored(second.sid)
        assert sent.date_sent == TOKYO_MIDNIGHT
        assert unit.store.callbacks(second.sid) == []  # no StatusCallback; nothing but sent


async def test_a_message_the_caps_hold_past_its_validity_fails_with_30001() -> None:
    # No queue limit: the API would refuse (429) what the caps hold past four hours.
    async with sending(capped(Quota(daily_limit=1, zone=TOKYO), max_backlog=0)) as unit:
        first = await unit.send()
        await unit.statuses.until(first.sid, Status.SENT)
        # Its hour ends before Tokyo's midnight: it could never go in time.
        late = await unit.send(ValidityPeriod="3600", StatusCallback="https://example.com/cb")
        assert await unit.statuses.until(late.sid, Status.FAILED) == [Status.FAILED]
        failed = await unit.stored(late.sid)
        assert (failed.error_code, failed.error_message) == (30001, "Queue overflow")
        assert unit.store.callbacks(late.sid) == ["queued", "failed"]
        # More parts than a whole day allows: never.
        never = await unit.send(body=LONG)
        await unit.statuses.until(never.sid, Status.FAILED)
        assert [s.sender for s in unit.modems.network.submissions] == [ALICE]


async def test_a_message_no_whole_day_lets_go_is_taken_and_fails_not_refused_with_429() -> None:
    """Six parts for a day of five, with the queue limit on: a 429 would be retried for ever
    (and was, at 12:34, while at 21:00 the next day's allowance let it in); it fails (30001)."""
    async with sending(capped(Quota(daily_limit=5))) as unit:
        first = await unit.send()
        await unit.statuses.until(first.sid, Status.SENT)  # the worker read the counts
        never = await unit.send(body=SIX_PARTS)
        assert never.num_segments == 6
        assert await unit.statuses.until(never.sid, Status.FAILED) == [Status.FAILED]
        assert (await unit.stored(never.sid)).error_code == 30001
        assert len(unit.modems.network.submissions) == 1


async def test_what_was_sent_before_a_restart_still_counts() -> None:
    store = MemoryStore()
    plan = capped(Quota(daily_limit=2, monthly_recipients=5, zone=TOKYO))
    async with sending(plan, store=store) as unit:
        first = await unit.send()
        await unit.statuses.until(first.sid, Status.SENT)
    async with sending(plan, store=store) as unit:
        again = await unit.send(body="the day's second part")
        await unit.statuses.until(again.sid, Status.SENT)
        third = await unit.send(to="+447700900456", body="a third part today")
        assert await held(unit, third.sid) == TOKYO_MIDNIGHT
        quota = unit.dispatcher.quotas.standing(unit.config.modems[0])
        assert [(q.period, q.used, q.left) for q in quota] == [("day", 2, 0), ("recipients", 1, 4)]


async def test_a_deleted_or_masked_message_still_counts_after_a_restart() -> None:
    """The counts are the store's own, not the messages': a message deleted, and one whose
    recipient AddressRetention=obfuscate masked, still count; the masked recipient is known
    again when it is sent to again (one recipient, not two)."""
    store = MemoryStore()
    plan = capped(Quota(daily_limit=3, monthly_recipients=5, zone=TOKYO))
    async with sending(plan, store=store) as unit:
        gone = await unit.send(to="+447700900456")
        await unit.statuses.until(gone.sid, Status.SENT)
        assert await store.delete_message(ACCOUNT.sid, gone.sid) is not None
        masked = await unit.send(AddressRetention="obfuscate")
        await unit.statuses.until(masked.sid, Status.SENT)
        row = store.row(masked.sid)
        assert row is not None
        # As delivered would leave it: the number masked (gateway.domain.lifecycle).
        row.message = replace(row.message, to=obfuscate(HANDSET))
    async with sending(plan, store=store) as unit:
        again = await unit.send(body="the day's third part")
        await unit.statuses.until(again.sid, Status.SENT)
        quota = unit.dispatcher.quotas.standing(unit.config.modems[0])
        assert [(q.period, q.used, q.left) for q in quota] == [("day", 3, 0), ("recipients", 2, 3)]
        fourth = await unit.send(body="a fourth part today")
        assert await held(unit, fourth.sid) == TOKYO_MIDNIGHT


async def test_a_service_message_its_modems_caps_hold_moves_to_a_modem_with_quota() -> None:
    """Both messages are routed to alice (sticky, to one recipient) before anything is sent;
    alice's daily cap of one part holds the second back, and routing moves it to bob."""
    service = ServiceConfig(SERVICE, "pool", (ALICE, BOB), sticky_sender=True)
    configuration = replace(capped(Quota(daily_limit=1, zone=TOKYO)), services=(service,))
    store, clock = MemoryStore(), Clock()
    modems = ModemPool(configuration.modems, health_interval=0.0)
    dispatcher = make_dispatcher(configuration, store, modems, clock)
    outbound = make_outbound(configuration, store, modems, dispatcher, clock)
    router = make_router(configuration, store, modems, outbound, dispatcher, clock)
    statuses = Statuses(dispatcher)
    await outbound.start(default_account=ACCOUNT.sid)
    modems.start(Tasks())
    try:
        for handle in modems.handles.values():
            await handle.ready()
        router.start()
        form = {"To": HANDSET, "MessagingServiceSid": SERVICE, "Body": "hi"}
        first = await outbound.create(ACCOUNT.sid, form)
        await store.until(lambda: _modem(store, first.sid) == "alice")
        second = await outbound.create(ACCOUNT.sid, form)
        await store.until(lambda: _modem(store, second.sid) == "alice")  # sticky
        dispatcher.start()
        await statuses.until(first.sid, Status.SENT)
        await statuses.until(second.sid, Status.SENT)
        assert [_modem(store, sid) for sid in (first.sid, second.sid)] == ["alice", "bob"]
        assert router.metrics.moved == 1
    finally:
        await router.stop()
        await dispatcher.stop()
        await modems.stop()


def _modem(store: MemoryStore, sid: str) -> str | None:
    row = store.row(sid)
    return None if row is None else row.message.modem


async def test_parts_are_spaced_by_the_interval_and_a_drawn_jitter() -> None:
    draws = itertools.cycle([0.0, 1.0])  # pauses of 10 s, then 14 s
    plan = capped(Quota(min_interval=10.0, jitter=4.0))
    async with sending(plan, draw=lambda: next(draws)) as unit:
        message = await unit.send(body=LONG)
        await unit.store.until(lambda: _sent_at(unit, message.sid) == [T0, None, None])
        unit.advance(10)
        second = T0 + timedelta(seconds=10)
        await unit.store.until(lambda: _sent_at(unit, message.sid) == [T0, second, None])
        unit.advance(14)
        await unit.statuses.until(message.sid, Status.SENT)
        assert _sent_at(unit, message.sid) == [T0, second, second + timedelta(seconds=14)]


async def test_each_pause_is_its_own_draw_of_the_jitter() -> None:
    """A jitter with no interval: each pause is drawn anew, in order (the parts go only once
    the clock reaches it)."""
    draws = iter([0.25, 0.75, 0.5])  # of 8 s: 2 s, then 6 s
    async with sending(capped(Quota(jitter=8.0)), draw=lambda: next(draws)) as unit:
        message = await unit.send(body=LONG)
        await unit.store.until(lambda: _sent_at(unit, message.sid) == [T0, None, None])
        unit.advance(2)
        second = T0 + timedelta(seconds=2)
        await unit.store.until(lambda: _sent_at(unit, message.sid) == [T0, second, None])
        unit.advance(6)
        await unit.statuses.until(message.sid, Status.SENT)
        assert _sent_at(unit, message.sid) == [T0, second, second + timedelta(seconds=6)]


class Paced:
    """alice's worker, driven one instant at a time; when the network took each part (by the
    test clock: where the carrier sees the spacing)."""

    def __init__(self, unit: Sending, monkeypatch: pytest.MonkeyPatch) -> None:
        self.unit = unit
        self.went: list[datetime] = []
        unit.modems.network.on_submission(lambda _submission: self.went.append(unit.clock.now))
        self._decided: set[datetime] = set()  # when alice's worker worked out what is left
        self._deciding = asyncio.Event()
        monkeypatch.setattr(dispatcher, "seconds_until", self._seconds_until)

    def _seconds_until(self, due: datetime | None, clock: Callable[[], datetime]) -> float | None:
        # How the worker tells whether a pause (or its queue's next due message) is over: a
        # part is let go, or a wait begins, at once after this, with no await between.
        task = asyncio.current_task()
        if task is not None and task.get_name() == "send alice":
            self._decided.add(clock())
            self._deciding.set()
        return seconds_until(due, clock)

    async def look(self, when: datetime) -> None:
        """The clock shows ``when``; returns once alice's worker has decided what to do then."""
        self.unit.advance((when - self.unit.clock.now).total_seconds())
        async with asyncio.timeout(WAIT):
            while when not in self._decided:
                self._deciding.clear()
                await self._deciding.wait()

    async def at(self, when: datetime) -> None:
        """:meth:`look`, then until a part it let go (if any) went and was recorded: the next
        USSD session waits for the part on the air."""
        await self.look(when)
        async with self.unit.modems.handles["alice"].exclusive.ussd():
            pass
        await self.recorded()

    async def recorded(self) -> None:
        """Until every part the network took is recorded (the worker is at rest)."""
        rows = self.unit.store.messages.values()
        await self.unit.store.until(
            lambda: sum(p.sent_at is not None for r in rows for p in r.parts) == len(self.went)
        )


async def test_no_part_goes_a_moment_before_its_pause_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each pause is probed a millisecond before it ends (nothing goes) and as it ends (the
    next part goes): a pause too short, too long or drawn out of order fails, across the
    message's end too."""
    draws = itertools.chain([0.5, 0.25, 1.0, 0.0], itertools.repeat(0.0))  # 12, 11, 14, 10 s
    plan = capped(Quota(min_interval=10.0, jitter=4.0))
    async with sending(plan, draw=lambda: next(draws)) as unit:
        paced = Paced(unit, monkeypatch)
        message = await unit.send(body=LONGER)
        await unit.store.until(lambda: _sent_at(unit, message.sid)[0] is not None)
        await paced.recorded()
        assert paced.went == [T0]
        after = await unit.send(body="the next message is paced as well")
        for pause in (12, 11, 14, 10):
            went = len(paced.went)
            end = paced.went[-1] + timedelta(seconds=pause)
            await paced.at(end - MS)
            assert len(paced.went) == went  # nothing went
            await paced.at(end)
            assert paced.went[-1] == end
        assert await unit.statuses.until(after.sid, Status.SENT)
        assert len(paced.went) == 5


async def test_a_pause_counts_from_when_the_part_went_not_from_when_it_was_let_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A USSD session (the SIM's balance) holds the modem as a pause ends: the part goes
    when it is over, 8 s later, and the next one waits a whole pause from then."""
    async with sending(capped(Quota(min_interval=10.0))) as unit:
        paced = Paced(unit, monkeypatch)
        message = await unit.send(body=LONG)
        await unit.store.until(lambda: _sent_at(unit, message.sid)[0] is not None)
        await paced.recorded()
        async with unit.modems.handles["alice"].exclusive.ussd():
            await paced.look(T0 + timedelta(seconds=10))  # let go: waits for the session
            unit.clock.advance(8)
        await unit.store.until(lambda: _sent_at(unit, message.sid)[1] is not None)
        await paced.recorded()
        second = T0 + timedelta(seconds=18)
        assert paced.went == [T0, second]
        await paced.at(second + timedelta(seconds=10) - MS)
        assert paced.went == [T0, second]
        await paced.at(second + timedelta(seconds=10))
        assert paced.went == [T0, second, second + timedelta(seconds=10)]


async def test_a_pause_under_way_holds_when_the_worker_starts_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reload that changes the modem (or a worker restarted after a store error) starts its
    worker again: the part after the one just sent still waits its whole pause."""
    async with sending(capped(Quota(min_interval=10.0))) as unit:
        paced = Paced(unit, monkeypatch)
        message = await unit.send(body=LONG)
        await unit.store.until(lambda: _sent_at(unit, message.sid)[0] is not None)
        await paced.recorded()
        await unit.dispatcher.detach("alice", 0.0)  # as a reload does
        unit.dispatcher.attach(unit.modems.handles["alice"])
        await paced.at(T0 + timedelta(seconds=10) - MS)
        assert paced.went == [T0]
        await paced.at(T0 + timedelta(seconds=10))
        assert paced.went == [T0, T0 + timedelta(seconds=10)]


def _sent_at(unit: Sending, sid: str) -> list[datetime | None]:
    row = unit.store.row(sid)
    return [] if row is None else [part.sent_at for part in row.parts]


async def test_a_service_routes_past_a_modem_whose_caps_hold_the_message() -> None:
    """Sticky to alice for the recipient, but her day is used up: bob sends it."""
    service = ServiceConfig(SERVICE, "pool", (ALICE, BOB), sticky_sender=True)
    configuration = replace(capped(Quota(daily_limit=1, zone=TOKYO)), services=(service,))
    async with sending(configuration, routing=True) as unit:
        form = {"MessagingServiceSid": SERVICE}
        first = await unit.outbound.create(ACCOUNT.sid, {"To": HANDSET, "Body": "1", **form})
        await unit.statuses.until(first.sid, Status.SENT)
        second = await unit.outbound.create(ACCOUNT.sid, {"To": HANDSET, "Body": "2", **form})
        await unit.statuses.until(second.sid, Status.SENT)
        assert [_modem(unit.store, sid) for sid in (first.sid, second.sid)] == ["alice", "bob"]
        assert unit.router is not None and unit.router.metrics.moved == 0
