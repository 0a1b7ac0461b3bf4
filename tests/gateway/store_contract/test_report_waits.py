"""Report waits (``report_timeout``): a sent message waits for its delivery reports until it is
given up; giving up leaves it ``sent`` and a report that comes later still settles it."""

from __future__ import annotations

from datetime import timedelta

from gateway.domain.models import Status
from gateway.store import Store
from tests.fakes.clock import T0
from tests.gateway.store_contract.records import queued, report, reported, stored

HOUR = timedelta(hours=1)


async def test_only_sent_messages_without_their_reports_wait(store: Store) -> None:
    assert await store.next_report_wait() is None
    await queued(store)  # not sent: waits for no report
    assert await store.next_report_wait() is None
    later = await queued(store)
    await store.message_sent(later.sid, T0 + HOUR, last_part=(1, 17))
    first = await queued(store)
    await store.message_sent(first.sid, T0, last_part=(1, 18))
    assert await store.next_report_wait() == T0  # the oldest sent, whatever the insert order


async def test_a_final_report_ends_the_wait_and_still_trying_does_not(store: Store) -> None:
    trying, forwarded = await queued(store), await queued(store)
    await store.message_sent(trying.sid, T0, last_part=(1, 17))
    await store.message_sent(forwarded.sid, T0 + HOUR, last_part=(1, 18))
    # TS 23.040 §9.2.3.15: 0x20 (still trying) is not final, 0x01 (forwarded) is.
    await store.add_status_report(report("r1", 17, status=0x20, at=T0 + 2 * HOUR))
    await store.add_status_report(report("r2", 18, status=0x01, at=T0 + 2 * HOUR))
    assert await store.next_report_wait() == T0
    assert await store.give_up_reports(T0 + 3 * HOUR, T0 + 3 * HOUR) == [trying.sid]
    assert await store.next_report_wait() is None


async def test_giving_up_marks_the_due_ones_once_and_leaves_them_sent(store: Store) -> None:
    old, new = await queued(store), await queued(store)
    await store.message_sent(old.sid, T0, last_part=(1, 17))
    await store.message_sent(new.sid, T0 + HOUR, last_part=(1, 18))
    assert await store.give_up_reports(T0 + HOUR / 2, T0 + 48 * HOUR) == [old.sid]
    assert await store.give_up_reports(T0 + HOUR / 2, T0 + 49 * HOUR) == []  # once
    assert await store.next_report_wait() == T0 + HOUR
    given_up = await stored(store, old.sid)
    assert (given_up.status, given_up.date_updated) == (Status.SENT, T0)
    assert await reported(store, old.sid) == ["queued", "sent"]  # no callback of its own


async def test_a_report_after_giving_up_still_settles_the_message(store: Store) -> None:
    going = await queued(store)
    await store.message_sent(going.sid, T0, last_part=(1, 17))
    assert await store.give_up_reports(T0, T0 + 48 * HOUR) == [going.sid]
    late = report("r1", 17, at=T0 + 50 * HOUR)
    match = await store.add_status_report(late)
    assert match is not None and (match.sid, match.status) == (going.sid, Status.DELIVERED)
    assert (await stored(store, going.sid)).status is Status.DELIVERED
    assert await reported(store, going.sid) == ["queued", "sent", "delivered"]
