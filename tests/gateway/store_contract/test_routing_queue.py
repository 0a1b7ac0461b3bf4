"""Messages waiting for a sender: what the Messaging Service router relies on the store for.
A service message waits ``accepted``, a scheduled one until its SendAt; given its sender it is
queued with its parts (its "queued" callback once); one with no part gone may move to another
modem, unless its sender was pinned."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from gateway.domain.models import Message, Status
from gateway.domain.records import NewMessage
from gateway.store import Claim, Store
from tests.fakes.clock import T0
from tests.fakes.records import ACCOUNT, ALICE, HANDSET, parts
from tests.gateway.store_contract.records import message, queued, reported, stored

SERVICE = "MG" + "1" * 32
BOB = "+15550003003"


def waiting(at: timedelta = timedelta(), **changes: Any) -> Message:
    accepted = message(status=Status.ACCEPTED, modem=None, at=T0 + at, num_segments=0)
    return replace(accepted, **{"messaging_service_sid": SERVICE, **changes})


def given(
    message: Message, modem: str = "alice", sender: str = ALICE, count: int = 2
) -> NewMessage:
    return NewMessage(
        replace(message, from_=sender, modem=modem, num_segments=count, status=Status.QUEUED),
        parts(count, reference=7),
    )


async def test_waiting_for_a_sender_are_the_accepted_and_those_due_oldest_first(
    store: Store,
) -> None:
    assert await store.waiting_for_sender(T0) == []
    assert await store.next_scheduled_at() is None
    second = waiting(timedelta(seconds=2))
    first = waiting(timedelta(seconds=1))
    send_at = T0 + timedelta(minutes=10)
    scheduled = replace(waiting(), status=Status.SCHEDULED, send_at=send_at)
    for item in (second, first, scheduled):
        await store.create_message(item, ())
    await queued(store)  # has its sender already
    assert await store.waiting_for_sender(T0) == [first, second]
    assert await store.next_scheduled_at() == send_at
    assert await store.waiting_for_sender(send_at) == [scheduled, first, second]
    assert len(await store.waiting_for_sender(send_at, limit=1)) == 1


async def test_given_its_sender_a_message_is_queued_with_its_parts_once(store: Store) -> None:
    accepted = waiting()
    await store.create_message(accepted, ())
    later = T0 + timedelta(seconds=4)
    assert await store.assign_sender(given(accepted), later)
    (work,) = await store.outbound_work("alice", later)
    assert (work.message.status, work.message.from_, work.message.num_segments) == (
        Status.QUEUED,
        ALICE,
        2,
    )
    assert [s.sequence for s in work.segments] == [1, 2]
    assert await store.waiting_for_sender(later) == []
    assert await store.backlog() == {"alice": 2}
    assert await store.last_concat_reference("alice") == 7
    # Moved to bob before any part went: queued again, not reported again.
    assert await store.assign_sender(given(accepted, "bob", BOB, 1), later)
    assert await store.outbound_work("alice", later) == []
    assert await store.backlog() == {"bob": 1}
    # Once a part is on its way, it stays where it is.
    assert await store.claim_part(accepted.sid, 1, "bob", later) is Claim.STARTED
    assert not await store.assign_sender(given(accepted), later)
    assert await reported(store, accepted.sid) == ["queued"]


async def test_a_waiting_message_its_sender_cannot_send_fails_once(store: Store) -> None:
    """Routing cannot encode it for the sender it chose: failed (30008), with its callback,
    and no longer waiting for a sender."""
    accepted = waiting()
    await store.create_message(accepted, ())
    assert await store.update_status(accepted.sid, Status.FAILED, T0, error_code=30008)
    assert await store.waiting_for_sender(T0) == []
    assert not await store.update_status(accepted.sid, Status.FAILED, T0, error_code=30008)
    assert not await store.assign_sender(given(accepted), T0)
    assert await reported(store, accepted.sid) == ["failed"]


async def test_a_canceled_message_is_given_no_sender(store: Store) -> None:
    accepted = waiting()
    await store.create_message(accepted, ())
    canceled = await store.cancel(ACCOUNT, accepted.sid, T0)
    assert canceled is not None and canceled.status is Status.CANCELED
    assert not await store.assign_sender(given(accepted), T0)
    assert not await store.assign_sender(given(waiting()), T0)  # never committed
    # Only a message that has not gone yet can be canceled.
    sent = await queued(store)
    still = await store.cancel(ACCOUNT, sent.sid, T0)
    assert still is not None and still.status is Status.QUEUED
    assert await reported(store, accepted.sid) == ["canceled"]


async def test_the_sticky_sender_is_the_last_number_the_service_used(store: Store) -> None:
    assert await store.last_sender(ACCOUNT, SERVICE, HANDSET) is None
    for sender, modem in ((ALICE, "alice"), (BOB, "bob")):
        accepted = waiting()
        await store.create_message(accepted, ())
        await store.assign_sender(given(accepted, modem, sender), T0)
    assert await store.last_sender(ACCOUNT, SERVICE, HANDSET) == BOB
    assert await store.last_sender(ACCOUNT, SERVICE, "+15550000000") is None
    assert await store.last_sender(ACCOUNT, "MG" + "2" * 32, HANDSET) is None


async def test_unsent_service_messages_of_a_modem_are_those_free_to_move(store: Store) -> None:
    free, on_its_way, pinned = waiting(), waiting(), waiting(sender_pinned=True)
    for item in (free, on_its_way, pinned):
        await store.create_message(item, ())
        await store.assign_sender(given(item), T0)
    await store.claim_part(on_its_way.sid, 1, "alice", T0)
    await queued(store)  # no service
    other = waiting(messaging_service_sid="MG" + "2" * 32)
    await store.create_message(other, ())
    await store.assign_sender(given(other), T0)
    moving = await store.unsent_of("alice", [SERVICE])
    assert [m.sid for m in moving] == [free.sid]
    assert await store.unsent_of("bob", [SERVICE]) == []
    both = await store.unsent_of("alice", [SERVICE, other.messaging_service_sid or ""])
    assert [m.sid for m in both] == [free.sid, other.sid]


async def test_queue_counts_and_backlog(store: Store) -> None:
    await store.create_message(waiting(), ())
    await store.create_message(replace(waiting(), status=Status.SCHEDULED, send_at=T0), ())
    first = await queued(store, 3)
    await queued(store, 2, modem="bob")
    await store.update_status(first.sid, Status.SENDING, T0)
    await store.record_part_sent(first.sid, 1, 1, T0)
    assert await store.queue_counts() == {"queued": 1, "sending": 1, "accepted": 1, "scheduled": 1}
    assert await store.backlog() == {"alice": 2, "bob": 2}
    assert (await stored(store, first.sid)).status is Status.SENDING
