"""The dispatcher alone (``gateway/outbound/dispatcher.py``): a modem's queue sent part by part,
a refusal classified (``gateway/domain/send_errors.py``) into a failure, a retry with backoff
or trouble of the modem's own, and nothing sent past its validity period or its MaxPrice. Over
the in-memory store, the test clock and a simulated modem."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gateway.domain.errors import StoreError
from gateway.domain.models import Status
from gateway.domain.pricing import PriceTable
from gateway.modems.supervisor import ModemState
from tests.fakes.clock import T0
from tests.fakes.store import MemoryStore
from tests.gateway.units.rig import ALICE, BOB, WAIT, config, prepared
from tests.gateway.units.sending_rig import Sending, sending

LONG = "Long " * 80  # three parts


def submissions(unit: Sending, sender: str = ALICE) -> list[str]:
    """The texts of the parts the network took from ``sender``, in order."""
    return [s.submit.text or "" for s in unit.modems.network.submissions if s.sender == sender]


async def deferred(unit: Sending, sid: str, attempts: int) -> timedelta:
    """How long after now the ``attempts``-th failed attempt put the next one off."""
    await unit.store.until(lambda: _attempts(unit.store, sid) == attempts and _deferred(unit, sid))
    row = unit.store.row(sid)
    assert row is not None
    return row.next_attempt_at - unit.clock()


def _attempts(store: MemoryStore, sid: str) -> int:
    row = store.row(sid)
    return 0 if row is None else row.attempts


def _deferred(unit: Sending, sid: str) -> bool:
    row = unit.store.row(sid)
    return row is not None and row.next_attempt_at > unit.clock()


async def test_a_message_goes_part_by_part_and_is_sent() -> None:
    async with sending() as unit:
        message = await unit.send(body=LONG, StatusCallback="https://example.com/cb")
        assert await unit.statuses.until(message.sid, Status.SENT) == [Status.SENDING, Status.SENT]
        sent = await unit.stored(message.sid)
        assert (sent.num_segments, sent.date_sent, sent.error_code) == (3, T0, None)
        row = unit.store.row(message.sid)
        assert row is not None
        assert [(p.reference, p.sent_at) for p in row.parts] == [(0, T0), (1, T0), (2, T0)]
        assert "".join(submissions(unit)) == LONG
        assert unit.store.callbacks(message.sid) == ["queued", "sent"]
        assert unit.dispatcher.metrics.parts_sent["alice"] == 3


async def test_each_modem_sends_its_own_queue_in_order() -> None:
    async with sending() as unit:
        sids = [(await unit.send(body=f"#{n}")).sid for n in range(5)]
        other = await unit.send(body="from bob", From=BOB)
        await unit.statuses.until(sids[-1], Status.SENT)
        await unit.statuses.until(other.sid, Status.SENT)
        assert submissions(unit) == [f"#{n}" for n in range(5)]
        assert submissions(unit, BOB) == ["from bob"]


async def test_a_temporary_refusal_is_retried_with_backoff() -> None:
    async with sending(retry_delays=(30.0, 120.0)) as unit:
        unit.modems.simulated["alice"].fail_sends(42, count=2)  # congestion, twice
        message = await unit.send()
        assert await deferred(unit, message.sid, 1) == timedelta(seconds=30)
        assert (await unit.stored(message.sid)).status is Status.SENDING
        unit.advance(30)
        assert await deferred(unit, message.sid, 2) == timedelta(seconds=120)
        assert submissions(unit) == []
        unit.advance(120)
        await unit.statuses.until(message.sid, Status.SENT)
        assert submissions(unit) == ["hello"]


async def test_a_deferred_message_holds_up_none_of_the_others() -> None:
    async with sending(retry_delays=(600.0,)) as unit:
        unit.modems.simulated["alice"].fail_sends(42)
        waiting = await unit.send(body="first")
        await deferred(unit, waiting.sid, 1)
        after = await unit.send(body="second")
        await unit.statuses.until(after.sid, Status.SENT)
        assert submissions(unit) == ["second"]


async def test_the_last_temporary_refusal_fails_the_message() -> None:
    async with sending(retry_delays=(1.0,), max_attempts=2) as unit:
        unit.modems.simulated["alice"].fail_sends(42, count=5)
        message = await unit.send(StatusCallback="https://example.com/cb")
        await deferred(unit, message.sid, 1)
        unit.advance(1)
        assert await unit.statuses.until(message.sid, Status.FAILED) == [
            Status.SENDING,
            Status.FAILED,
        ]
        failed = await unit.stored(message.sid)
        assert (failed.error_code, failed.error_message) == (30008, "Unknown error")
        assert unit.store.callbacks(message.sid) == ["queued", "failed"]


@pytest.mark.parametrize(
    ("cms", "code"),
    [
        (1, 30005),  # unassigned number
        (8, 30004),  # operator determined barring
        (21, 30007),  # short message transfer rejected
        (30, 30005),  # unknown subscriber
        (50, 30008),  # facility not subscribed: no SMS, no credit
        (196, 30004),  # destination SME barred
        (304, 30008),  # our PDU is wrong
        (111, 30008),  # a protocol error: permanent, unknown
    ],
)
async def test_a_permanent_refusal_fails_the_message_with_its_code(cms: int, code: int) -> None:
    async with sending() as unit:
        unit.modems.simulated["alice"].fail_sends(cms)
        message = await unit.send()
        assert await unit.statuses.until(message.sid, Status.FAILED) == [
            Status.SENDING,
            Status.FAILED,
        ]
        assert (await unit.stored(message.sid)).error_code == code
        assert _attempts(unit.store, message.sid) == 0  # not retried
        assert unit.dispatcher.metrics.refusals["alice", cms] == 1


async def test_a_part_the_service_centre_had_already_counts_as_sent() -> None:
    async with sending() as unit:
        unit.modems.simulated["alice"].fail_sends(197)  # SM rejected-duplicate
        message = await unit.send()
        await unit.statuses.until(message.sid, Status.SENT)
        row = unit.store.row(message.sid)
        assert row is not None
        assert [(p.reference, p.sent_at) for p in row.parts] == [(None, T0)]  # no TP-MR


async def test_trouble_of_the_modems_own_keeps_the_message_queued_uncounted() -> None:
    async with sending(local_delays=(0.0,)) as unit:
        handle = unit.modems.handles["alice"]
        unit.modems.simulated["alice"].fail_sends(331)  # no network service
        message = await unit.send()
        await unit.statuses.until(message.sid, Status.SENT)
        # The modem was initialised again and the part went: no attempt held against it.
        assert (handle.troubles, handle.recoveries, handle.last_trouble) == (1, 1, None)
        assert _attempts(unit.store, message.sid) == 0
        assert submissions(unit) == ["hello"]


async def test_trouble_again_in_a_row_pauses_that_modems_queue_longer() -> None:
    async with sending(local_delays=(0.0, 3600.0)) as unit:
        alice = unit.modems.handles["alice"]
        unit.modems.simulated["alice"].fail_sends(331, count=2)
        stuck = await unit.send()
        await unit.store.until(lambda: alice.troubles == 2)
        await alice.ready()  # initialised again: the pause is the dispatcher's own
        assert alice.state is ModemState.READY
        moving = await unit.send(body="bob's", From=BOB)
        unit.advance(60)  # a wake does not cut a pause short
        await unit.statuses.until(moving.sid, Status.SENT)
        assert submissions(unit) == []
        assert (await unit.stored(stuck.sid)).status is Status.SENDING
        assert _attempts(unit.store, stuck.sid) == 0


async def test_a_refused_part_is_released_and_its_message_may_expire() -> None:
    async with sending(retry_delays=(3600.0,)) as unit:
        unit.modems.simulated["alice"].fail_sends(42)
        message = await unit.send(ValidityPeriod="60", StatusCallback="https://example.com/cb")
        await deferred(unit, message.sid, 1)
        unit.clock.advance(61)
        assert await unit.dispatcher.expire_due() == 1
        failed = await unit.stored(message.sid)
        assert (failed.status, failed.error_code) == (Status.FAILED, 30036)
        assert unit.statuses.seen[message.sid] == [Status.SENDING, Status.FAILED]
        assert unit.store.callbacks(message.sid) == ["queued", "failed"]


async def test_a_message_past_its_validity_is_failed_at_the_prompt_not_sent() -> None:
    async with sending(retry_delays=(3600.0,)) as unit:
        unit.modems.simulated["alice"].fail_sends(42)
        message = await unit.send(ValidityPeriod="60")
        await deferred(unit, message.sid, 1)
        unit.advance(3600)  # due again, and expired: the claim at the prompt says so
        assert await unit.statuses.until(message.sid, Status.FAILED) == [
            Status.SENDING,
            Status.FAILED,
        ]
        assert (await unit.stored(message.sid)).error_code == 30036
        assert unit.dispatcher.metrics.expired == 1
        assert submissions(unit) == []
        # The modem was told ESC at the prompt and sends the next message as ever.
        after = await unit.send(body="next")
        await unit.statuses.until(after.sid, Status.SENT)
        assert submissions(unit) == ["next"]


async def test_a_part_goes_with_the_validity_it_has_left() -> None:
    async with sending(retry_delays=(600.0,)) as unit:
        unit.modems.simulated["alice"].fail_sends(42)
        message = await unit.send(ValidityPeriod="3600")
        await deferred(unit, message.sid, 1)
        unit.advance(600)
        await unit.statuses.until(message.sid, Status.SENT)
        (submission,) = unit.modems.network.submissions
        # TS 23.040 §9.2.3.12: the 3000 s it has left, not the 3600 s it was given.
        validity = submission.submit.validity
        assert validity is not None and validity.seconds == 3000


PRICES = PriceTable("USD", (("+44", Decimal("0.05")),))


@pytest.mark.parametrize(("max_price", "status"), [("0.04", Status.FAILED), ("0.05", Status.SENT)])
async def test_max_price_is_checked_before_the_first_part(max_price: str, status: Status) -> None:
    async with sending(config(prices=PRICES)) as unit:
        message = await unit.send(MaxPrice=max_price)
        await unit.statuses.until(message.sid, status)
        done = await unit.stored(message.sid)
        if status is Status.FAILED:
            assert (done.error_code, done.error_message, done.price) == (
                30010,
                "Message price exceeds max price.",
                None,
            )
            assert submissions(unit) == []
        else:
            assert (done.price, done.price_unit) == ("-0.05000", "USD")


async def test_a_part_acknowledged_before_a_restart_never_goes_again() -> None:
    store = MemoryStore()
    new = prepared(Body=LONG)
    await store.create_message(new.message, new.segments)
    await store.record_part_sent(new.message.sid, 1, 200, T0)  # then the gateway stopped
    async with sending(store=store) as unit:
        await unit.statuses.until(new.message.sid, Status.SENT)
        assert len(submissions(unit)) == 2
        row = store.row(new.message.sid)
        assert row is not None
        assert [p.reference for p in row.parts] == [200, 0, 1]


async def test_a_stop_without_grace_leaves_the_part_on_the_air_for_the_next_start() -> None:
    store = MemoryStore()
    async with sending(store=store) as before:
        sim = before.modems.simulated["alice"]
        sim.faults.hold_prompt = True  # AT+CMGS is written; the "> " does not come
        at_prompt = asyncio.Event()
        sim.state_observers.append(lambda: at_prompt.set() if sim.prompt_held else None)
        message = await before.send()
        async with asyncio.timeout(5):
            await at_prompt.wait()
        await before.dispatcher.stop(grace=0.0)  # shutdown_grace = 0: nothing waits for it
        assert submissions(before) == []
    row = store.row(message.sid)
    assert row is not None and [p.sent_at for p in row.parts] == [None]
    async with sending(store=store) as after:
        await after.statuses.until(message.sid, Status.SENT)
        assert submissions(after) == ["hello"]


class _FirstSentRefused(MemoryStore):
    """A store whose first commit of a message's ``sent`` fails (a disk that refuses it)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0
        self.second = asyncio.Event()

    async def message_sent(self, sid: str, at: datetime, *args: Any, **kwargs: Any) -> Any:
        self.attempts += 1
        if self.attempts == 1:
            raise StoreError("disk I/O error")
        self.second.set()
        return await super().message_sent(sid, at, *args, **kwargs)


async def test_a_failed_commit_of_a_sent_part_is_said_and_the_worker_starts_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The commit of a part's answer is not awaited in line (issue 17): its failure is logged
    naming its message, and the worker meets it before it reads its queue again and starts
    again, as when the commit was awaited in line."""
    store = _FirstSentRefused()
    async with sending(store=store) as unit:
        message = await unit.send()
        async with asyncio.timeout(WAIT):
            await store.second.wait()  # the worker, started again, committed it
    assert any(
        message.sid in record.getMessage() and "committing its part failed" in record.getMessage()
        for record in caplog.records
    )


class _SentHangs(MemoryStore):
    """A store whose commits of a message's ``sent`` never end until ``release`` is set (a
    disk gone: the writer waits for ever)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def message_sent(self, sid: str, at: datetime, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        await self.release.wait()
        return await super().message_sent(sid, at, *args, **kwargs)


async def test_a_stop_waits_a_bounded_time_for_a_commit_and_names_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stop waits for the commit of the last part answered, but not for ever: past the
    bound (none here) it says which message's commit did not land, and stops."""
    store = _SentHangs()
    async with sending(store=store, land_timeout=0.0) as unit:
        message = await unit.send()
        async with asyncio.timeout(WAIT):
            await store.entered.wait()  # the part went; its commit hangs
            await unit.dispatcher.stop()  # returns, the commit still under way
        assert not store.release.is_set()
        (record,) = [r for r in caplog.records if "stopping without the commit" in r.getMessage()]
        assert record.getMessage().startswith(f"{message.sid}: ")
        assert submissions(unit) == ["hello"]
        store.release.set()  # the store lands it after all: nothing else is lost
        await store.until(lambda: sent_status(store, message.sid))


def sent_status(store: MemoryStore, sid: str) -> bool:
    row = store.row(sid)
    return row is not None and row.message.status is Status.SENT
