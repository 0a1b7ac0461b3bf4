"""The inbound log: what the receiver relies on the store for. A PDU read again adds nothing;
the parts of a long message wait by group and generation, shown ``receiving`` under one SID,
until they make one message, once, with its webhook."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from gateway.domain.models import Status, new_sid
from gateway.domain.records import Generation
from gateway.store import Store
from tests.fakes.clock import T0
from tests.fakes.records import ACCOUNT, GROUP, HANDSET, inbound, part, webhook
from tests.gateway.store_contract.records import LATER, stored


async def test_a_part_read_again_is_committed_once(store: Store) -> None:
    assert await store.add_inbound_part(part("k1"))
    assert not await store.add_inbound_part(part("k1", at=T0 + timedelta(seconds=9)))
    assert await store.waiting_parts() == [part("k1")]


async def test_concurrent_reads_of_one_pdu_commit_once(store: Store) -> None:
    # A +CMTI read and a sweep listing the same message at once: one commit wins.
    results = await asyncio.gather(*(store.add_inbound_part(part("same")) for _ in range(20)))
    assert sorted(results) == [False] * 19 + [True]


async def test_a_part_comes_back_exactly(store: Store) -> None:
    odd = part("odd", text="ab\ud83d")  # half a surrogate pair: the rest is in the next part
    await store.add_inbound_part(odd)
    assert await store.waiting_parts() == [odd]


async def test_group_parts_are_those_waiting_in_sequence_order(store: Store) -> None:
    third, first = part("c", sequence=3), part("a", sequence=1)
    again = part("a2", sequence=1)  # a second part 1 (another PDU): kept, after the first
    for item in (third, first, again, part("x", group="other")):
        await store.add_inbound_part(item)
    assert await store.group_parts(GROUP) == ([first, again, third], False)
    assert await store.group_parts(GROUP, 1) == ([], False)
    assert await store.group_parts("nothing") == ([], False)


async def test_a_group_is_shown_receiving_under_one_sid_then_received_once(
    store: Store,
) -> None:
    first = part("a", sequence=1)
    await store.add_inbound_part(first)
    assert await store.receiving_message(GROUP) is None
    shown = inbound(status=Status.RECEIVING, body="<a>")
    assert await store.show_receiving(GROUP, shown) == shown
    assert await store.receiving_message(GROUP) == shown

    second = part("b", sequence=2, at=T0 + timedelta(seconds=1))
    await store.add_inbound_part(second)
    later = T0 + timedelta(seconds=1)
    fresh = replace(inbound(status=Status.RECEIVING), body="<a><b>", date_updated=later)
    now_shown = await store.show_receiving(GROUP, fresh)
    assert (now_shown.sid, now_shown.body, now_shown.date_updated) == (shown.sid, "<a><b>", later)
    assert now_shown.date_created == shown.date_created
    assert await stored(store, shown.sid) == now_shown

    received = replace(now_shown, status=Status.RECEIVED, num_segments=2, date_sent=later)
    hook = webhook(received.sid)
    assert await store.receive_message(received, [first.key, second.key], hook)
    assert await store.receiving_message(GROUP) is None
    assert await stored(store, shown.sid) == received
    assert await store.group_parts(GROUP) == ([], True)
    assert await store.waiting_parts() == []
    (due,) = await store.due_webhooks(LATER)
    assert due == replace(hook, id=due.id)  # every field comes back as queued
    # The same parts never make a second message, whatever its SID.
    again = replace(received, sid=new_sid("SM"))
    assert not await store.receive_message(again, [first.key], None)
    assert await store.get_message(ACCOUNT, again.sid) is None
    assert await store.count_messages() == 1


async def test_receive_message_is_all_or_nothing(store: Store) -> None:
    await store.add_inbound_part(part("a", sequence=1))
    await store.add_inbound_part(part("b", sequence=2))
    taken = inbound()
    assert await store.receive_message(taken, ["a"], None)
    both = inbound()
    assert not await store.receive_message(both, ["a", "b"], webhook(both.sid))
    assert not await store.receive_message(both, ["b", "unknown"], webhook(both.sid))
    assert await store.get_message(ACCOUNT, both.sid) is None
    assert await store.due_webhooks(LATER) == []
    assert await store.group_parts(GROUP) == ([part("b", sequence=2)], True)


async def test_a_message_of_one_part_is_received_with_its_webhook(store: Store) -> None:
    alone = part("solo", group=None)
    await store.add_inbound_part(alone)
    received = inbound()
    assert await store.receive_message(received, [alone.key], webhook(received.sid))
    assert await stored(store, received.sid) == received
    assert [w.message_sid for w in await store.due_webhooks(T0)] == [received.sid]
    assert await store.receive_message(inbound(), [], None)  # nothing to take: made at once


async def test_a_redacted_message_keeps_its_text_nowhere(store: Store) -> None:
    # lifecycle.redacted erases the text: from the message, the parts it was received in and
    # the Body of its webhooks; what else they say stays.
    first, second = part("a", sequence=1), part("b", sequence=2)
    for item in (first, second):
        await store.add_inbound_part(item)
    received = inbound()
    await store.receive_message(received, [first.key, second.key], webhook(received.sid))
    later = T0 + timedelta(seconds=9)
    redacted = await store.redact(ACCOUNT, received.sid, later)
    assert redacted == replace(received, body="", date_updated=later)
    assert await stored(store, received.sid) == redacted
    assert await store.generations(GROUP) == []
    assert await store.group_parts(GROUP) == ([], False)
    (due,) = await store.due_webhooks(LATER)
    assert due.params == (("MessageSid", received.sid), ("Body", ""), ("To", HANDSET))


async def test_generations_are_those_waiting_and_the_newest(store: Store) -> None:
    assert await store.generations(GROUP) == []
    first = part("a", sequence=1)
    await store.add_inbound_part(first)
    assert await store.generations(GROUP) == [Generation(0, frozenset({1}), frozenset(), None)]
    made_at = T0 + timedelta(seconds=30)
    given_up = replace(inbound(at=made_at), error_code=30009)
    await store.receive_message(given_up, [first.key], None)
    assert await store.generations(GROUP) == [Generation(0, frozenset(), frozenset({1}), made_at)]
    # A later message under the same reference, and one more after it.
    for key, generation in (("b", 1), ("c", 2)):
        await store.add_inbound_part(part(key, sequence=2, generation=generation))
    assert await store.generations(GROUP) == [
        Generation(1, frozenset({2}), frozenset(), None),
        Generation(2, frozenset({2}), frozenset(), None),
    ]
    assert await store.group_parts(GROUP, 2) == ([part("c", sequence=2, generation=2)], False)


async def test_each_generation_is_shown_on_its_own(store: Store) -> None:
    old, new = inbound(status=Status.RECEIVING), inbound(status=Status.RECEIVING)
    await store.show_receiving(GROUP, old, 0)
    await store.show_receiving(GROUP, new, 1)
    assert await store.receiving_message(GROUP, 0) == old
    assert await store.receiving_message(GROUP, 1) == new


async def test_groups_waiting_too_long_and_the_oldest_waiting_part(store: Store) -> None:
    assert await store.oldest_waiting_part() is None
    assert await store.expired_groups(LATER) == []
    await store.add_inbound_part(part("solo", group=None, at=T0 - timedelta(hours=1)))
    assert await store.oldest_waiting_part() is None  # a single part waits for nothing
    await store.add_inbound_part(part("b1", group="b", at=T0 + timedelta(seconds=5)))
    await store.add_inbound_part(part("a1", group="a", at=T0))
    await store.add_inbound_part(part("a2", group="a", sequence=2, at=T0 + timedelta(seconds=9)))
    await store.add_inbound_part(part("a3", group="a", generation=1, at=T0 + timedelta(1)))
    assert await store.oldest_waiting_part() == T0
    assert await store.expired_groups(T0) == []
    assert await store.expired_groups(T0 + timedelta(seconds=6)) == [("a", 0), ("b", 0)]
    assert await store.expired_groups(LATER) == [("a", 0), ("b", 0), ("a", 1)]
    await store.receive_message(inbound(), ["a1", "a2"], None)
    assert await store.expired_groups(LATER) == [("b", 0), ("a", 1)]
    assert await store.oldest_waiting_part() == T0 + timedelta(seconds=5)
    assert [p.key for p in await store.waiting_parts()] == ["solo", "b1", "a3"]


async def test_an_unreadable_pdu_is_kept_and_changes_nothing_else(store: Store) -> None:
    await store.add_unreadable("alice", "0011FF", 3, "truncated", T0)
    assert await store.waiting_parts() == []
    assert await store.count_messages() == 0
