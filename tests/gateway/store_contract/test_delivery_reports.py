"""Delivery reports: a report is kept once, matched to the most recent part its modem sent with
that TP-MR to that recipient, and settles the message (``gateway.domain.delivery.settle``) with
its callback, whether it comes after the part was committed sent or before."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from gateway.domain.delivery import Delivery, PartReport
from gateway.domain.models import Status
from gateway.domain.records import ReportMatch
from gateway.store import Store
from tests.fakes.clock import T0
from tests.fakes.records import HANDSET
from tests.gateway.store_contract.records import LATER, queued, report, reported, stored

SOON = T0 + timedelta(seconds=5)
NO_MATCH = ReportMatch(None, None, None)


async def test_a_report_after_the_send_settles_the_message(store: Store) -> None:
    going = await queued(store)
    assert await store.message_sent(going.sid, T0, last_part=(1, 17)) is Status.SENT
    dated = replace(
        report("r1", 17, at=SOON), outcome=PartReport(Delivery.DELIVERED, None, "2603011235")
    )
    assert await store.add_status_report(dated) == ReportMatch(going.sid, 1, Status.DELIVERED)
    delivered = await stored(store, going.sid)
    assert (delivered.status, delivered.date_updated, delivered.date_sent) == (
        Status.DELIVERED,
        SOON,
        T0,
    )
    assert await store.add_status_report(dated) is None  # read again: kept once
    assert await reported(store, going.sid) == ["queued", "sent", "delivered"]


async def test_the_delivered_callback_carries_the_done_date(store: Store) -> None:
    going = await queued(store)
    await store.message_sent(going.sid, T0, last_part=(1, 17))
    await reported(store, going.sid)  # queued and sent, taken off the queue
    dated = replace(report("r1", 17), outcome=PartReport(Delivery.DELIVERED, None, "2603011235"))
    await store.add_status_report(dated)
    (callback,) = await store.due_webhooks(LATER)
    assert dict(callback.params)["MessageStatus"] == "delivered"
    assert dict(callback.params)["RawDlrDoneDate"] == "2603011235"


async def test_every_part_delivered_makes_the_message_delivered(store: Store) -> None:
    going = await queued(store, 2)
    await store.record_part_sent(going.sid, 1, 1, T0)
    await store.message_sent(going.sid, T0, last_part=(2, 2))
    assert await store.add_status_report(report("a", 1)) == ReportMatch(going.sid, 1, None)
    assert (await stored(store, going.sid)).status is Status.SENT
    assert await store.add_status_report(report("b", 2)) == ReportMatch(
        going.sid, 2, Status.DELIVERED
    )


async def test_a_report_before_the_commit_is_matched_when_the_part_is(store: Store) -> None:
    # The modem announced the report between the +CMGS answer and the commit of the TP-MR.
    going = await queued(store, 2)
    assert await store.add_status_report(report("early", 1, at=T0)) == NO_MATCH
    await store.record_part_sent(going.sid, 1, 1, T0 + timedelta(seconds=1))
    # The last part's report too, before the message is committed sent.
    assert await store.add_status_report(report("late", 2, at=T0 + timedelta(seconds=2))) == (
        NO_MATCH
    )
    sent = await store.message_sent(going.sid, T0 + timedelta(seconds=3), last_part=(2, 2))
    assert sent is Status.DELIVERED  # settled at once, as soon as it is sent
    assert await reported(store, going.sid) == ["queued", "sent", "delivered"]


async def test_a_report_long_before_the_send_is_not_matched_to_it(store: Store) -> None:
    going = await queued(store)
    assert await store.add_status_report(report("old", 1, at=T0)) == NO_MATCH
    # More than a minute before the part was committed sent: another part's, long ago.
    later = T0 + timedelta(seconds=61)
    assert await store.message_sent(going.sid, later, last_part=(1, 1)) is Status.SENT
    assert await store.add_status_report(report("new", 1, at=later)) == ReportMatch(
        going.sid, 1, Status.DELIVERED
    )


async def test_an_undelivered_part_settles_the_message_once_every_part_went(
    store: Store,
) -> None:
    going = await queued(store, 2)
    await store.update_status(going.sid, Status.SENDING, T0)
    await store.record_part_sent(going.sid, 1, 1, T0)
    # TP-ST 0x41: incompatible destination, a final failure.
    assert await store.add_status_report(report("a", 1, status=0x41)) == ReportMatch(
        going.sid, 1, None
    )
    assert (await stored(store, going.sid)).status is Status.SENDING  # still being sent
    assert await store.message_sent(going.sid, SOON, last_part=(2, 2)) is Status.UNDELIVERED
    undelivered = await stored(store, going.sid)
    assert undelivered.error_code is not None
    assert await reported(store, going.sid) == ["queued", "sent", "undelivered"]


async def test_a_still_trying_report_waits_for_the_final_one(store: Store) -> None:
    going = await queued(store)
    await store.message_sent(going.sid, T0, last_part=(1, 3))
    assert await store.add_status_report(report("a", 3, status=0x30)) == ReportMatch(
        going.sid, 1, None
    )
    # The part is still waiting for its final report: the next one with its TP-MR is it.
    assert await store.add_status_report(report("b", 3, at=SOON)) == ReportMatch(
        going.sid, 1, Status.DELIVERED
    )


async def test_a_report_matches_the_most_recent_part_with_its_tp_mr(store: Store) -> None:
    older, newer = await queued(store), await queued(store)
    await store.message_sent(older.sid, T0, last_part=(1, 8))
    await store.message_sent(newer.sid, SOON, last_part=(1, 8))  # TP-MR used again
    match = await store.add_status_report(report("a", 8, at=SOON + timedelta(seconds=1)))
    assert match == ReportMatch(newer.sid, 1, Status.DELIVERED)
    match = await store.add_status_report(report("b", 8, at=SOON + timedelta(seconds=2)))
    assert match == ReportMatch(older.sid, 1, Status.DELIVERED)


async def test_a_report_for_another_recipient_modem_or_time_is_kept_unmatched(
    store: Store,
) -> None:
    going = await queued(store)
    await store.message_sent(going.sid, T0, last_part=(1, 4))
    assert await store.add_status_report(report("other", 4, to="+15559999999")) == NO_MATCH
    bobs = replace(report("bob", 4), modem="bob")
    assert await store.add_status_report(bobs) == NO_MATCH
    before = report("before", 4, at=T0 - timedelta(seconds=1))  # earlier than the send
    assert await store.add_status_report(before) == NO_MATCH
    weeks = report("weeks", 4, at=T0 + timedelta(days=8))  # out of the 7-day window
    assert await store.add_status_report(weeks) == NO_MATCH
    # The national form of the recipient is the same handset.
    national = report("national", 4, to=HANDSET.removeprefix("+1"))
    assert await store.add_status_report(national) == ReportMatch(going.sid, 1, Status.DELIVERED)


async def test_content_and_address_retention_apply_once_nothing_needs_them(
    store: Store,
) -> None:
    going = await queued(store, content_retention="discard", address_retention="obfuscate")
    await store.message_sent(going.sid, T0, last_part=(1, 6))
    sent = await stored(store, going.sid)
    assert (sent.body, sent.to) == ("", HANDSET)  # the number is still needed for the report
    await store.add_status_report(report("r", 6))
    delivered = await stored(store, going.sid)
    assert delivered.status is Status.DELIVERED
    assert delivered.to == "+1555XXXXX02"
    hooks = [dict(h.params)["To"] for h in await store.due_webhooks(LATER, 100)]
    assert hooks == ["+1555XXXXX02"]  # the callbacks not yet delivered are masked too
