"""The outbound queue: what the dispatcher relies on the store for. Each part is granted at the
modem's prompt or its message expires, never both; a failed attempt defers only its message;
every status change is committed with its callback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.domain.models import Status
from gateway.store import Claim, Store
from tests.fakes.clock import T0
from tests.fakes.records import parts
from tests.gateway.store_contract.records import message, queued, reported, stored

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LATE = T0 + timedelta(hours=2)  # past the messages' validity (an hour)


async def test_a_modems_work_is_its_due_messages_oldest_first(store: Store) -> None:
    first = await queued(store, 3)
    second = await queued(store, 1)
    await queued(store, 2, modem="bob")
    work = await store.outbound_work("alice", T0)
    assert [w.message for w in work] == [first, second]
    assert [(s.sequence, s.pdu, s.tpdu_length) for s in work[0].segments] == [
        (1, "0001", 11),
        (2, "0002", 12),
        (3, "0003", 13),
    ]
    assert [w.message.sid for w in await store.outbound_work("alice", T0, limit=1)] == [first.sid]


async def test_a_part_sent_keeps_its_tp_mr_and_is_not_sent_again(store: Store) -> None:
    sending = await queued(store, 3)
    assert await store.update_status(sending.sid, Status.SENDING, T0)
    await store.record_part_sent(sending.sid, 1, 17, T0)
    await store.record_part_sent(sending.sid, 2, None, T0)  # "duplicate": the SC had it
    (resumed,) = await store.outbound_work("alice", T0)
    assert resumed.message.status is Status.SENDING
    assert [(s.reference, s.sent_at) for s in resumed.segments] == [
        (17, T0),
        (None, T0),
        (None, None),
    ]


async def test_a_deferred_message_waits_and_the_others_go_on(store: Store) -> None:
    assert await store.next_attempt_at("alice") is None
    first, second = await queued(store), await queued(store)
    assert await store.next_attempt_at("alice") == EPOCH  # due since always
    assert await store.count_attempt(second.sid) == 1
    assert await store.count_attempt(second.sid) == 2
    assert await store.count_attempt("SM" + "0" * 32) == 0  # no such message
    later = T0 + timedelta(minutes=5)
    await store.defer(second.sid, later)
    assert [w.message.sid for w in await store.outbound_work("alice", T0)] == [first.sid]
    assert await store.next_attempt_at("alice") == EPOCH
    await store.update_status(first.sid, Status.FAILED, T0, error_code=30005)
    assert await store.next_attempt_at("alice") == later
    assert await store.outbound_work("alice", later - timedelta(microseconds=1)) == []
    assert [w.message.sid for w in await store.outbound_work("alice", later)] == [second.sid]


async def test_what_the_caps_held_back_is_released_but_not_a_retry(store: Store) -> None:
    held, retried, bobs = await queued(store), await queued(store), await queued(store, modem="bob")
    partly = await queued(store, 2)
    await store.update_status(partly.sid, Status.SENDING, T0)
    await store.record_part_sent(partly.sid, 1, 17, T0)
    done = await queued(store)
    await store.update_status(done.sid, Status.FAILED, T0, error_code=30001)
    await store.count_attempt(retried.sid)
    tomorrow = T0 + timedelta(days=1)
    for sid in (held.sid, retried.sid, bobs.sid, partly.sid, done.sid):
        await store.defer(sid, tomorrow)
    assert await store.release_held("alice", T0) == 2
    due = await store.outbound_work("alice", T0)
    assert [w.message.sid for w in due] == [held.sid, partly.sid]
    assert await store.next_attempt_at("bob") == tomorrow
    assert await store.release_held("alice", T0) == 0  # nothing held any more


async def test_a_status_change_moves_only_an_unsent_message_with_its_callback(
    store: Store,
) -> None:
    failing = await queued(store)
    assert await store.update_status(failing.sid, Status.SENDING, T0)
    later = T0 + timedelta(seconds=3)
    assert await store.update_status(failing.sid, Status.FAILED, later, error_code=30005)
    assert not await store.update_status(failing.sid, Status.SENDING, later)  # final stays
    assert not await store.update_status("SM" + "0" * 32, Status.FAILED, later)
    failed = await stored(store, failing.sid)
    assert (failed.status, failed.error_code, failed.date_updated) == (Status.FAILED, 30005, later)
    assert failed.error_message == "Unknown destination handset"
    assert await store.outbound_work("alice", later) == []
    # "sending" is no status Twilio reports.
    assert await reported(store, failing.sid) == ["queued", "failed"]


async def test_a_message_is_sent_once_priced_and_dated(store: Store) -> None:
    going = await queued(store, 2)
    await store.record_part_sent(going.sid, 1, 1, T0)
    later = T0 + timedelta(seconds=2)
    sent = await store.message_sent(going.sid, later, "0.0075", None, last_part=(2, 2))
    assert sent is Status.SENT
    assert await store.message_sent(going.sid, later) is None
    assert await store.outbound_work("alice", later) == []
    done = await stored(store, going.sid)
    assert (done.status, done.date_sent, done.price, done.price_unit) == (
        Status.SENT,
        later,
        "0.0075",
        "USD",
    )
    assert await store.last_concat_reference("alice") == 42
    assert await store.last_concat_reference("carol") is None
    assert await reported(store, going.sid) == ["queued", "sent"]


async def test_a_part_is_granted_or_its_message_expires_never_both(store: Store) -> None:
    expiring, claimed, refused = [await queued(store, 2) for _ in range(3)]
    # The first part granted moves its queued message to sending, in the grant's transaction.
    assert await store.claim_part(claimed.sid, 1, "alice", T0) is Claim.STARTED
    assert await store.claim_part(refused.sid, 1, "alice", T0) is Claim.STARTED
    await store.release_part(refused.sid, 1)  # +CMS ERROR: the modem did not take it
    assert await store.claim_part(claimed.sid, 1, "bob", T0) is Claim.GONE  # not bob's
    assert await store.next_expiry() == T0 + timedelta(hours=1)

    # A granted part may be on the air: its message is past expiring. The others expire.
    assert sorted(await store.expire_unsent(LATE)) == sorted([expiring.sid, refused.sid])
    assert await store.claim_part(expiring.sid, 1, "alice", LATE) is Claim.GONE
    assert await store.claim_part(claimed.sid, 2, "alice", LATE) is Claim.GRANTED
    assert await store.next_expiry() is None
    assert await reported(store, expiring.sid) == ["queued", "failed"]
    assert (await stored(store, refused.sid)).error_code == 30036

    # At the claim itself: expired, failed with its callback, in the same transaction.
    fresh = await queued(store)
    assert await store.claim_part(fresh.sid, 1, "alice", LATE) is Claim.EXPIRED
    failed = await stored(store, fresh.sid)
    assert (failed.status, failed.error_code, failed.error_message) == (
        Status.FAILED,
        30036,
        "Validity Period Expired",
    )
    assert await store.expire_unsent(LATE + timedelta(hours=1)) == []
    assert await reported(store, fresh.sid) == ["queued", "failed"]


async def test_the_first_part_granted_starts_its_message_once(store: Store) -> None:
    going = await queued(store, 2)
    assert await store.claim_part(going.sid, 1, "alice", T0) is Claim.STARTED
    sending = await stored(store, going.sid)
    assert (sending.status, sending.date_updated) == (Status.SENDING, T0)
    # Its second part (or the first again, after the modem refused it) finds it sending.
    await store.release_part(going.sid, 1)
    later = T0 + timedelta(seconds=1)
    assert await store.claim_part(going.sid, 1, "alice", later) is Claim.GRANTED
    assert await store.claim_part(going.sid, 2, "alice", later) is Claim.GRANTED
    assert (await stored(store, going.sid)).date_updated == T0
    assert await reported(store, going.sid) == ["queued"]  # sending has no status callback


async def test_a_part_on_its_way_is_not_expired_by_its_next_claim(store: Store) -> None:
    halfway = await queued(store, 2)
    await store.record_part_sent(halfway.sid, 1, 5, T0)
    assert await store.claim_part(halfway.sid, 2, "alice", LATE) is Claim.STARTED
    assert await store.expire_unsent(LATE) == []


async def test_a_released_part_never_unsends_a_sent_one(store: Store) -> None:
    going = await queued(store, 2)
    assert await store.claim_part(going.sid, 1, "alice", T0) is Claim.STARTED
    await store.record_part_sent(going.sid, 1, 9, T0)
    await store.release_part(going.sid, 1)  # too late: it went
    assert await store.expire_unsent(LATE) == []
    (work,) = await store.outbound_work("alice", LATE)
    assert [s.sent_at for s in work.segments] == [T0, None]


async def test_next_expiry_is_the_earliest_of_what_may_still_expire(store: Store) -> None:
    assert await store.next_expiry() is None
    later = await queued(store, at=T0 + timedelta(minutes=5))
    waiting = message(status=Status.ACCEPTED, modem=None, at=T0 + timedelta(minutes=3))
    await store.create_message(waiting, ())
    assert await store.next_expiry() == waiting.expires_at
    send_at = T0 + timedelta(minutes=10)
    scheduled = message(
        status=Status.SCHEDULED, send_at=send_at, expires_at=send_at + timedelta(minutes=20)
    )
    await store.create_message(scheduled, parts(1))
    assert await store.next_expiry() == scheduled.expires_at
    assert await store.claim_part(later.sid, 1, "alice", T0) is Claim.STARTED
    expired = await store.expire_unsent(T0 + timedelta(days=1))
    assert sorted(expired) == sorted([waiting.sid, scheduled.sid])
    assert await reported(store, waiting.sid) == ["failed"]  # "accepted" is never reported
