"""The SQLite store's inbound side on a real file: received parts (deduplicated, grouped,
expired), inbound messages committed with their webhook, status reports, unreadable PDUs, and
the durable webhook queue (in order per message, retries, give-ups, TwiML replies committed
with the delivery); and what the store keeps of one message, read back (message_trail)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.delivery import part_report
from gateway.domain.errors import StoreError
from gateway.domain.models import Direction, Message, Status, new_sid
from gateway.domain.records import (
    Generation,
    InboundPart,
    NewMessage,
    ReceivedReport,
    ReportMatch,
    Webhook,
)
from gateway.store import InFlight, PartTrail
from gateway.store.sqlite import SqliteStore
from gateway.store.sqlite.engine import register_functions
from gateway.store.sqlite.schema import MIGRATIONS
from tests.fakes import records
from tests.fakes.records import ACCOUNT, ALICE, SENDER, parts
from tests.gateway.store_rig import opened
from tests.gateway.test_store import T0, message

MODEM = "alice"


def part(key: str, *, text: str = "part", at: datetime = T0, **fields: Any) -> InboundPart:
    """A part from SENDER to alice, its text "part" unless given."""
    return records.part(key, text=text, at=at, **fields)


def inbound(*, at: datetime = T0, **changes: Any) -> Message:
    return records.inbound(at=at, **changes)


def webhook(sid: str | None, **changes: Any) -> Webhook:
    """A webhook with a parameter that is empty: kept, as given."""
    params = (("MessageSid", sid or ""), ("Body", "Grüße 😀"), ("NumMedia", "0"), ("X", ""))
    return records.webhook(sid, params=params, **changes)


async def receive_alone(store: SqliteStore, received: Message) -> None:
    await store.add_inbound_part(part("x", group=None))
    await store.receive_message(received, ["x"], webhook(received.sid))


def rows(store: SqliteStore, sql: str, *values: object) -> list[tuple[Any, ...]]:
    """What another connection sees: committed rows only."""
    with sqlite3.connect(store.path) as db:
        return db.execute(sql, values).fetchall()


# --- received parts --------------------------------------------------------------------------


async def test_a_part_is_committed_once(store: SqliteStore) -> None:
    first = part("k1")
    assert await store.add_inbound_part(first) is True
    assert rows(store, "SELECT key, sequence FROM inbound_parts") == [("k1", 1)]
    assert await store.add_inbound_part(first) is False
    # The key decides: the same PDU read later (another time stamp) is still a duplicate.
    assert await store.add_inbound_part(replace(first, received_at=T0 + timedelta(1))) is False
    assert await store.add_inbound_part(part("k2", sequence=2)) is True
    assert rows(store, "SELECT count(*) FROM inbound_parts") == [(2,)]


async def test_a_part_is_still_known_after_a_restart(tmp_path: Path) -> None:
    async with opened(tmp_path) as first:
        assert await first.add_inbound_part(part("k1"))
    async with opened(tmp_path) as again:
        assert await again.add_inbound_part(part("k1")) is False
        waiting, closed = await again.group_parts("alice|+15557654321|7|3|8")
        assert waiting == [part("k1")] and not closed


async def test_a_part_comes_back_exactly_even_with_half_a_surrogate_pair(
    store: SqliteStore,
) -> None:
    # A sender split 😀 between two parts: this one ends in its first half (not valid UTF-8).
    odd = part("k1", text="a" * 66 + "\ud83d", at=T0 + timedelta(microseconds=123457))
    await store.add_inbound_part(odd)
    waiting, _ = await store.group_parts(odd.group or "")
    assert waiting == [odd]
    assert waiting[0].text.endswith("\ud83d")


async def test_group_parts_lists_what_waits_in_sequence_order(store: SqliteStore) -> None:
    group = "alice|+15557654321|7|3|8"
    third, first = part("c", sequence=3), part("a", sequence=1)
    duplicate = part("a-again", sequence=1, text="another part 1")
    for item in (third, first, duplicate):
        await store.add_inbound_part(item)
    await store.add_inbound_part(part("other", group="alice|+15557654321|8|3|8"))
    await store.add_inbound_part(part("alone", group=None))
    waiting, closed = await store.group_parts(group)
    # By sequence, and the duplicate after the part committed first (assembly keeps the first).
    assert [p.key for p in waiting] == ["a", "a-again", "c"]
    assert not closed
    assert await store.group_parts("nobody") == ([], False)


async def test_receive_message_commits_the_message_its_parts_and_its_webhook(
    store: SqliteStore,
) -> None:
    group = "alice|+15557654321|7|3|8"
    made = [part("a", sequence=1), part("b", sequence=2), part("c", sequence=3)]
    for item in made:
        await store.add_inbound_part(item)
    received = inbound(body="partpartpart", num_segments=3)
    hook = webhook(received.sid)
    await store.receive_message(received, ["a", "b", "c"], hook)

    assert await store.get_message(ACCOUNT, received.sid) == received
    assert await store.group_parts(group) == ([], True)
    assert rows(store, "SELECT DISTINCT message_sid FROM inbound_parts") == [(received.sid,)]
    (due,) = await store.due_webhooks(received.date_created)
    assert due == replace(hook, id=due.id) and due.id > 0
    # A part of the group that comes after its message was made waits alone, marked closed.
    late = part("late", sequence=2, text="late")
    await store.add_inbound_part(late)
    assert await store.group_parts(group) == ([late], True)


async def test_receive_message_without_a_webhook(store: SqliteStore) -> None:
    await store.add_inbound_part(part("solo", group=None))
    received = inbound()
    await store.receive_message(received, ["solo"], None)
    assert await store.get_message(ACCOUNT, received.sid) == received
    assert await store.due_webhooks(T0 + timedelta(days=1)) == []
    assert await store.next_webhook_at() is None


def receiving(*, at: datetime = T0, body: str = "part", segments: int = 3) -> Message:
    return inbound(at=at, status=Status.RECEIVING, body=body, num_segments=segments)


async def test_a_group_shown_receiving_is_one_message_until_it_is_received(
    store: SqliteStore,
) -> None:
    """The seed: "receiving The inbound message has been received by Twilio and is currently
    being processed." The store keeps one message per group from its first part on, and the
    message received in the end is the same row, with the same SID."""
    group = "alice|+15557654321|7|3|8"
    await store.add_inbound_part(part("a", sequence=1, text="A"))
    first = receiving(body="A")
    assert await store.receiving_message(group) is None
    assert await store.show_receiving(group, first) == first
    assert await store.get_message(ACCOUNT, first.sid) == first
    assert await store.receiving_message(group) == first

    # The next part: another candidate, but the message shown stays (its SID, its creation).
    await store.add_inbound_part(part("c", sequence=3, text="C"))
    later = T0 + timedelta(seconds=5)
    candidate = receiving(at=later, body="AC")
    shown = await store.show_receiving(group, candidate)
    assert shown == replace(first, body="AC", date_updated=later)
    assert await store.get_message(ACCOUNT, first.sid) == shown
    assert await store.get_message(ACCOUNT, candidate.sid) is None
    assert await store.count_messages() == 1
    assert await store.group_parts(group) == (
        [part("a", sequence=1, text="A"), part("c", sequence=3, text="C")],
        False,
    )

    await store.add_inbound_part(part("b", sequence=2, text="B"))
    done = T0 + timedelta(seconds=9)
    received = replace(shown, status=Status.RECEIVED, body="ABC", date_updated=done, date_sent=done)
    hook = webhook(received.sid)
    assert await store.receive_message(received, ["a", "b", "c"], hook)
    assert await store.get_message(ACCOUNT, first.sid) == received
    assert await store.count_messages() == 1
    assert await store.receiving_message(group) is None
    assert rows(store, "SELECT count(*) FROM receiving_groups") == [(0,)]
    assert await store.group_parts(group) == ([], True)
    # The webhook is queued when the message is received, not when it was first shown.
    assert await store.due_webhooks(done - timedelta(microseconds=1)) == []
    (due,) = await store.due_webhooks(done)
    assert due == replace(hook, id=due.id)


async def test_a_receiving_message_is_found_again_after_a_restart(tmp_path: Path) -> None:
    group = "alice|+15557654321|7|3|8"
    async with opened(tmp_path) as first:
        await first.add_inbound_part(part("a"))
        shown = await first.show_receiving(group, receiving())
    async with opened(tmp_path) as again:
        assert await again.receiving_message(group) == shown
        assert await again.show_receiving(group, receiving(body="more")) == replace(
            shown, body="more"
        )


async def test_a_receiving_message_is_not_deleted(store: SqliteStore) -> None:
    group = "alice|+15557654321|7|3|8"
    await store.add_inbound_part(part("a"))
    shown = await store.show_receiving(group, receiving())
    assert await store.delete_message(ACCOUNT, shown.sid) == shown  # in progress: kept
    assert await store.get_message(ACCOUNT, shown.sid) == shown
    assert await store.receiving_message(group) == shown


async def test_each_generation_of_a_group_waits_and_is_shown_on_its_own(
    store: SqliteStore,
) -> None:
    """A sender used a reference again (TS 23.040 §9.2.3.24.1: "a modulo 256 counter"): the
    parts of the next message under the group are its generation 1, waiting, closed and shown
    ``receiving`` (the seed: "received by Twilio and is currently being processed") apart from
    generation 0's."""
    group = "alice|+15557654321|7|2|8"
    await store.add_inbound_part(part("a1", group=group, total=2, text="A1"))
    await store.add_inbound_part(part("b1", group=group, total=2, text="B1", generation=1))
    older = await store.show_receiving(group, receiving(body="A1", segments=2))
    newer = await store.show_receiving(group, receiving(body="B1", segments=2), generation=1)
    assert older.sid != newer.sid
    assert await store.receiving_message(group) == older
    assert await store.receiving_message(group, 1) == newer
    assert await store.group_parts(group, 1) == (
        [part("b1", group=group, total=2, text="B1", generation=1)],
        False,
    )

    await store.add_inbound_part(part("a2", group=group, sequence=2, total=2, text="A2"))
    done = replace(older, status=Status.RECEIVED, body="A1A2", num_segments=2, date_sent=T0)
    assert await store.receive_message(done, ["a1", "a2"], None)
    assert await store.group_parts(group) == ([], True)
    assert (await store.group_parts(group, 1))[1] is False  # generation 1 is still arriving
    assert await store.receiving_message(group) is None
    assert await store.receiving_message(group, 1) == newer
    assert rows(store, "SELECT group_key, generation, message_sid FROM receiving_groups") == [
        (group, 1, newer.sid)
    ]


async def test_generations_are_those_waiting_and_the_newest(store: SqliteStore) -> None:
    group = "alice|+15557654321|7|3|8"
    assert await store.generations(group) == []
    # Generation 0: parts 1 and 3, given up with 30009 at T0 + 10 min; part 2 came late,
    # a message of its own at T0 + 12 min.
    await store.add_inbound_part(part("g0-1", group=group, sequence=1))
    await store.add_inbound_part(part("g0-3", group=group, sequence=3))
    await store.receive_message(inbound(at=T0 + timedelta(minutes=10)), ["g0-1", "g0-3"], None)
    await store.add_inbound_part(part("g0-2", group=group, sequence=2))
    await store.receive_message(inbound(at=T0 + timedelta(minutes=12)), ["g0-2"], None)
    assert await store.generations(group) == [
        Generation(0, frozenset(), frozenset({1, 2, 3}), T0 + timedelta(minutes=12))
    ]
    # Generations 1 and 2 arriving: both listed, generation 0 no longer (nothing waits in it).
    await store.add_inbound_part(part("g1-2", group=group, sequence=2, generation=1))
    await store.add_inbound_part(part("g2-2", group=group, sequence=2, generation=2))
    await store.add_inbound_part(part("g2-1", group=group, sequence=1, generation=2))
    assert await store.generations(group) == [
        Generation(1, frozenset({2}), frozenset(), None),
        Generation(2, frozenset({1, 2}), frozenset(), None),
    ]
    assert await store.generations("alice|+15557654321|8|3|8") == []


def schema_before_generations(path: Path) -> str:
    """A database as the gateway left it before generations: a group being received, shown
    ``receiving``; returns the message's SID."""
    before = next(n for n, script in enumerate(MIGRATIONS) if "receiving_generations" in script)
    sid = new_sid("SM")
    with sqlite3.connect(path) as db:
        register_functions(db)  # the earlier migrations call them
        for script in MIGRATIONS[:before]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version = {before}")
        db.execute(
            "INSERT INTO inbound_parts (key, modem, recipient, sender, group_key, sequence, "
            "total, text, pdu, received_at) VALUES ('k1', ?, ?, ?, 'g|7|2|8', 1, 2, ?, '00', 0)",
            (MODEM, ALICE, SENDER, "A".encode("utf-16-be")),
        )
        db.execute("INSERT INTO receiving_groups VALUES ('g|7|2|8', ?)", (sid,))
    return sid


async def test_the_migration_puts_what_was_received_in_generation_0(tmp_path: Path) -> None:
    sid = schema_before_generations(tmp_path / "smsgw.sqlite3")
    async with opened(tmp_path) as store:
        (waiting,), closed = await store.group_parts("g|7|2|8")
        assert (waiting.key, waiting.generation, closed) == ("k1", 0, False)
        assert rows(store, "SELECT group_key, generation, message_sid FROM receiving_groups") == [
            ("g|7|2|8", 0, sid)
        ]


async def test_receive_message_is_all_or_nothing(store: SqliteStore) -> None:
    group = "alice|+15557654321|7|3|8"
    for key, sequence in (("a", 1), ("b", 2)):
        await store.add_inbound_part(part(key, sequence=sequence))
    taken = inbound()
    await store.create_message(taken, parts(1))  # the SID is taken: the insert must fail
    with pytest.raises(StoreError) as refused:
        await store.receive_message(taken, ["a", "b"], webhook(taken.sid))
    assert isinstance(refused.value.__cause__, sqlite3.IntegrityError)
    waiting, closed = await store.group_parts(group)
    assert [p.key for p in waiting] == ["a", "b"] and not closed  # no part was marked
    assert rows(store, "SELECT count(*) FROM webhooks") == [(0,)]
    assert await store.count_messages() == 1


async def test_parts_already_in_a_message_make_no_second_one(store: SqliteStore) -> None:
    await store.add_inbound_part(part("once", group=None))
    first, second = inbound(), inbound()
    assert await store.receive_message(first, ["once"], webhook(first.sid))
    assert not await store.receive_message(second, ["once"], webhook(second.sid))
    assert await store.get_message(ACCOUNT, second.sid) is None
    assert rows(store, "SELECT count(*) FROM webhooks") == [(1,)]
    # A part nobody committed counts as taken too: nothing is made of it.
    assert not await store.receive_message(second, ["never-added"], None)
    assert await store.count_messages() == 1


async def test_waiting_parts_are_those_in_no_message(store: SqliteStore) -> None:
    for key in ("w1", "w2", "m1"):
        await store.add_inbound_part(part(key, group=None))
    await store.receive_message(inbound(), ["m1"], None)
    assert [p.key for p in await store.waiting_parts()] == ["w1", "w2"]


async def test_expired_groups_and_the_oldest_waiting_part(store: SqliteStore) -> None:
    early, late, made = "g|early|2|8", "g|late|2|8", "g|made|2|8"
    await store.add_inbound_part(part("e1", group=early, total=2, at=T0))
    await store.add_inbound_part(part("e2", group=early, total=2, at=T0 + timedelta(minutes=9)))
    await store.add_inbound_part(part("l1", group=late, total=2, at=T0 + timedelta(minutes=5)))
    # The sender used early's reference again: the next message under it, generation 1.
    again = part("n1", group=early, total=2, at=T0 + timedelta(minutes=7), generation=1)
    await store.add_inbound_part(again)
    await store.add_inbound_part(part("m1", group=made, total=2, at=T0 - timedelta(hours=1)))
    await store.add_inbound_part(part("solo", group=None, at=T0 - timedelta(hours=2)))
    await store.receive_message(inbound(), ["m1"], None)

    assert await store.oldest_waiting_part() == T0  # lone parts and made groups do not wait
    assert await store.expired_groups(T0) == []  # strictly before the deadline
    assert await store.expired_groups(T0 + timedelta(microseconds=1)) == [(early, 0)]
    # Oldest first, by the generation's FIRST part (not its newest), each on its own.
    assert await store.expired_groups(T0 + timedelta(minutes=8)) == [
        (early, 0),
        (late, 0),
        (early, 1),
    ]

    await store.receive_message(inbound(), ["e1", "e2"], None)
    assert await store.expired_groups(T0 + timedelta(hours=1)) == [(late, 0), (early, 1)]
    assert await store.oldest_waiting_part() == T0 + timedelta(minutes=5)
    await store.receive_message(inbound(), ["l1"], None)
    assert await store.oldest_waiting_part() == T0 + timedelta(minutes=7)
    await store.receive_message(inbound(), ["n1"], None)
    assert await store.expired_groups(T0 + timedelta(hours=1)) == []
    assert await store.oldest_waiting_part() is None


async def test_an_unreadable_pdu_is_kept(store: SqliteStore) -> None:
    await store.add_unreadable(MODEM, "0791FFFF", 12, "TP-OA: truncated", T0)
    await store.add_unreadable(MODEM, "0791FFFF", None, "TP-OA: truncated", T0)  # read again
    assert rows(store, "SELECT modem, pdu, length, error FROM unreadable_pdus ORDER BY id") == [
        (MODEM, "0791FFFF", 12, "TP-OA: truncated"),
        (MODEM, "0791FFFF", None, "TP-OA: truncated"),
    ]


async def test_a_status_report_is_committed_once(tmp_path: Path) -> None:
    report = ReceivedReport(MODEM, "r1", 42, "+15550002002", 0x00, "06A2...", T0, part_report(0x00))
    unmatched = ReportMatch(None, None, None)  # no message was sent: kept all the same
    async with opened(tmp_path) as store:
        assert await store.add_status_report(report) == unmatched
        assert await store.add_status_report(replace(report, received_at=T0 + timedelta(1))) is None
        assert await store.add_status_report(replace(report, key="r2", status=0x41)) == unmatched
    async with opened(tmp_path) as again:
        assert await again.add_status_report(report) is None
    assert rows(again, "SELECT key, reference, status FROM status_reports ORDER BY id") == [
        ("r1", 42, 0x00),
        ("r2", 42, 0x41),
    ]


# --- the webhook queue -----------------------------------------------------------------------


async def test_a_retry_waits_and_keeps_the_messages_later_webhooks_waiting(
    store: SqliteStore,
) -> None:
    a = new_sid("SM")
    await store.enqueue_webhook(webhook(a, kind="status"), T0)
    await store.enqueue_webhook(webhook(a, kind="status"), T0 + timedelta(seconds=1))
    (first,) = await store.due_webhooks(T0 + timedelta(seconds=2))
    retry_at = T0 + timedelta(seconds=30)
    await store.webhook_retry(first.id, 1, retry_at, "HTTP 500 from x", T0 + timedelta(seconds=2))

    assert await store.due_webhooks(T0 + timedelta(seconds=29)) == []  # the later one waits too
    (again,) = await store.due_webhooks(retry_at)
    assert (again.id, again.attempts) == (first.id, 1)
    assert rows(
        store, "SELECT state, attempts, last_error FROM webhooks WHERE id = ?", first.id
    ) == [("pending", 1, "HTTP 500 from x")]


async def test_a_failed_webhook_leaves_the_queue_and_stops_blocking(store: SqliteStore) -> None:
    a = new_sid("SM")
    await store.enqueue_webhook(webhook(a, kind="status"), T0)
    await store.enqueue_webhook(webhook(a, kind="status"), T0 + timedelta(seconds=1))
    (first,) = await store.due_webhooks(T0 + timedelta(seconds=1))
    await store.webhook_failed(first.id, 10, "ClientConnectorError", T0 + timedelta(hours=5))
    (second,) = await store.due_webhooks(T0 + timedelta(hours=5))
    assert second.id != first.id
    assert rows(
        store, "SELECT state, attempts, last_error FROM webhooks WHERE id = ?", first.id
    ) == [("failed", 10, "ClientConnectorError")]
    await store.webhook_delivered(second.id, T0 + timedelta(hours=5))
    assert await store.due_webhooks(T0 + timedelta(days=1)) == []
    assert await store.next_webhook_at() is None
    assert rows(store, "SELECT state FROM webhooks ORDER BY id") == [("failed",), ("delivered",)]


async def test_next_webhook_at_is_the_earliest_pending(store: SqliteStore) -> None:
    assert await store.next_webhook_at() is None
    await store.enqueue_webhook(webhook(new_sid("SM")), T0 + timedelta(minutes=3))
    await store.enqueue_webhook(webhook(new_sid("SM")), T0 + timedelta(minutes=1))
    assert await store.next_webhook_at() == T0 + timedelta(minutes=1)
    (soonest, later) = await store.due_webhooks(T0 + timedelta(minutes=3))
    await store.webhook_retry(soonest.id, 1, T0 + timedelta(minutes=9), "timeout", T0)
    assert await store.next_webhook_at() == T0 + timedelta(minutes=3)
    await store.webhook_delivered(later.id, T0)
    assert await store.next_webhook_at() == T0 + timedelta(minutes=9)


async def test_replies_are_committed_with_the_delivery(store: SqliteStore) -> None:
    received = inbound()
    await store.receive_message(received, [], webhook(received.sid))
    (hook,) = await store.due_webhooks(T0)
    replies = [
        NewMessage(
            replace(message(modem=MODEM, body=body), direction=Direction.OUTBOUND_REPLY),
            parts(count, reference=5),
        )
        for body, count in (("Thanks!", 1), ("A longer answer", 2))
    ]
    await store.webhook_delivered(hook.id, T0 + timedelta(seconds=1), replies)

    # What is due now: each reply's "queued" status callback, committed with it.
    callbacks = await store.due_webhooks(T0 + timedelta(days=1))
    assert [(c.message_sid, c.kind, dict(c.params)["MessageStatus"]) for c in callbacks] == [
        (reply.message.sid, "status", "queued") for reply in replies
    ]
    work = await store.outbound_work(MODEM, T0 + timedelta(seconds=1))
    assert [w.message for w in work] == [reply.message for reply in replies]
    assert [len(w.segments) for w in work] == [1, 2]
    stored = await store.get_message(ACCOUNT, replies[1].message.sid)
    assert stored is not None and stored.direction is Direction.OUTBOUND_REPLY
    assert rows(store, "SELECT state FROM webhooks WHERE id = ?", hook.id) == [("delivered",)]


async def test_a_reply_that_cannot_be_committed_leaves_the_webhook_pending(
    store: SqliteStore,
) -> None:
    received = inbound()
    await store.receive_message(received, [], webhook(received.sid))
    (hook,) = await store.due_webhooks(T0)
    fine = NewMessage(message(modem=MODEM), parts(1))
    clash = NewMessage(received, parts(1))  # the inbound message's own SID: refused
    with pytest.raises(StoreError) as refused:
        await store.webhook_delivered(hook.id, T0, [fine, clash])
    assert isinstance(refused.value.__cause__, sqlite3.IntegrityError)
    # Nothing of it happened: the webhook goes again (and its TwiML is read again).
    assert [w.id for w in await store.due_webhooks(T0)] == [hook.id]
    assert await store.get_message(ACCOUNT, fine.message.sid) is None
    assert await store.outbound_work(MODEM, T0) == []


async def test_pending_webhooks_survive_a_restart(tmp_path: Path) -> None:
    async with opened(tmp_path) as first:
        received = inbound()
        await receive_alone(first, received)
        await first.enqueue_webhook(webhook(None, kind="status"), T0 + timedelta(seconds=1))
        before = await first.due_webhooks(T0 + timedelta(minutes=1))
        await first.webhook_retry(before[1].id, 2, T0 + timedelta(minutes=2), "HTTP 502", T0)

    async with opened(tmp_path) as again:
        after = await again.due_webhooks(T0 + timedelta(minutes=2))
        assert after == [before[0], replace(before[1], attempts=2)]
        assert await again.next_webhook_at() == T0
        await again.webhook_delivered(after[0].id, T0)
    async with opened(tmp_path) as third:  # a delivered webhook does not come back
        assert [w.id for w in await third.due_webhooks(T0 + timedelta(days=1))] == [after[1].id]


async def test_concurrent_parts_of_one_pdu_commit_once(store: SqliteStore) -> None:
    # A +CMTI read and a sweep listing the same message at once: one commit wins.
    results = await asyncio.gather(*(store.add_inbound_part(part("same")) for _ in range(20)))
    assert sorted(results) == [False] * 19 + [True]


# --- the webhook queue, shared out by destination ----------------------------------------------


async def test_a_fallback_goes_to_its_own_destination_then_back(store: SqliteStore) -> None:
    received = inbound()
    hook = webhook(received.sid)  # primary example.com, fallback backup.example.com (GET)
    await store.receive_message(received, [], hook)
    (due,) = await store.due_webhooks(T0)
    assert (due.use_fallback, due.target) == (False, (hook.url, "POST"))
    assert due.destination == "https://example.com:443"

    await store.webhook_fallback(due.id, "HTTP 500 from x", T0 + timedelta(seconds=1))
    (fallback,) = await store.due_webhooks(T0 + timedelta(seconds=1))  # due at once
    assert fallback.use_fallback and fallback.target == ("https://backup.example.com/sms", "GET")
    assert (fallback.attempts, fallback.token) == (0, hook.token)
    full = InFlight(per_destination=1, by_destination={"https://backup.example.com:443": 1})
    assert await store.due_webhooks(T0 + timedelta(seconds=1), 10, full) == []
    assert await store.next_webhook_at(full) is None
    primary_full = replace(full, by_destination={"https://example.com:443": 1})
    assert [w.id for w in await store.due_webhooks(T0 + timedelta(1), 10, primary_full)] == [due.id]

    await store.webhook_retry(due.id, 1, T0 + timedelta(seconds=9), "HTTP 503 from y", T0)
    (again,) = await store.due_webhooks(T0 + timedelta(seconds=9))
    assert (again.use_fallback, again.attempts, again.token) == (False, 1, hook.token)
    assert again.destination == "https://example.com:443"
    assert rows(store, "SELECT destination FROM webhooks") == [("https://example.com:443",)]


def schema_before_destinations(path: Path) -> None:
    """A database as the gateway left it before webhooks had destinations and tokens."""
    before = next(n for n, script in enumerate(MIGRATIONS) if "webhooks_by_destination" in script)
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:before]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version = {before}")
        for state, url in (("pending", "HTTP://Hooks.Example.com:8080/a?b=c"), ("delivered", "x")):
            db.execute(
                "INSERT INTO webhooks (account_sid, message_sid, kind, url, method, params, "
                "next_attempt_at, state, created_at, updated_at) "
                "VALUES (?, ?, 'status', ?, 'POST', '[]', 0, ?, 0, 0)",
                (ACCOUNT, new_sid("SM"), url, state),
            )


async def test_the_migration_gives_pending_webhooks_a_destination_and_a_token(
    tmp_path: Path,
) -> None:
    schema_before_destinations(tmp_path / "smsgw.sqlite3")
    async with opened(tmp_path) as store:
        (due,) = await store.due_webhooks(T0)
        assert due.destination == "http://hooks.example.com:8080"
        assert uuid.UUID(due.token).version == 4
    assert rows(store, "SELECT state, destination, token IS NULL FROM webhooks ORDER BY id") == [
        ("pending", "http://hooks.example.com:8080", 0),
        ("delivered", "", 1),  # done before: it needs neither
    ]
    async with opened(tmp_path) as again:  # a token is made once: the same after a restart
        assert [w.token for w in await again.due_webhooks(T0)] == [due.token]


# --- what the store keeps of one message (message_trail) -------------------------------------


async def test_an_outbound_message_its_parts_reports_webhooks_and_attempts(
    store: SqliteStore,
) -> None:
    sent = message(num_segments=2)
    await store.create_message(sent, parts(2, reference=9))
    assert await store.count_attempt(sent.sid) == 1
    await store.record_part_sent(sent.sid, 1, 17, T0)
    hook = webhook(sent.sid, kind="status")
    await store.enqueue_webhook(hook, T0)
    later = T0 + timedelta(seconds=5)
    report = ReceivedReport("alice", "r1", 17, sent.to, 0x00, "06", later, part_report(0x00))
    match = await store.add_status_report(report)
    assert match is not None and (match.sid, match.sequence) == (sent.sid, 1)

    trail = await store.message_trail(sent.sid)
    assert trail is not None
    assert trail.message == replace(sent, date_updated=later)
    assert (trail.attempts, trail.received) == (1, ())
    assert trail.parts == (
        PartTrail(1, "0001", 17, T0, "delivered", 0x00, reported_at=later),
        PartTrail(2, "0002", None, None, None, None),
    )
    queued, kept = trail.webhooks  # its "queued" callback, committed with it; then ours
    assert (queued.kind, dict(queued.params)["MessageStatus"]) == ("status", "queued")
    assert kept == replace(hook, id=kept.id) and kept.id > queued.id
    # Each webhook with where it stands and its attempts, the last one in the same UPDATE.
    await store.webhook_retry(kept.id, 1, later, "HTTP 500 from https://example.com/sms?k=1", T0)
    await store.webhook_delivered(kept.id, later, outcome="HTTP 204")
    trail = await store.message_trail(sent.sid)
    assert trail is not None
    states = [(w.webhook.id, w.state, w.created_at, w.updated_at) for w in trail.webhook_trails]
    assert states == [(queued.id, "pending", T0, T0), (kept.id, "delivered", T0, later)]
    assert trail.webhook_trails[0].next_attempt_at is not None
    assert trail.webhook_trails[1].last_error == "HTTP 500 from https://example.com/sms?k=1"
    assert [(a.at, a.outcome, a.url) for a in trail.webhook_trails[1].attempt_log] == [
        (T0, "HTTP 500 from https://example.com:443", "primary"),
        (later, "HTTP 204", "primary"),
    ]

    await store.message_sent(sent.sid, later, last_part=(2, 18))
    await store.redact(ACCOUNT, sent.sid, later)
    redacted = await store.message_trail(sent.sid)
    assert redacted is not None
    assert (redacted.message.body, [p.pdu for p in redacted.parts]) == ("", ["", ""])
    assert dict(redacted.webhooks[1].params)["Body"] == ""


async def test_an_inbound_message_its_received_parts(store: SqliteStore) -> None:
    for key, sequence in (("b", 2), ("a", 1)):
        await store.add_inbound_part(part(key, sequence=sequence, total=2, text=f"<{key}>"))
    received = inbound(body="<a><b>", num_segments=2)
    await store.receive_message(received, ["a", "b"], webhook(received.sid))
    trail = await store.message_trail(received.sid)
    assert trail is not None
    assert (trail.received, trail.parts, len(trail.webhooks)) == (("<a>", "<b>"), (), 1)
    assert [(p.sequence, p.text, p.pdu) for p in trail.received_parts] == [
        (1, "<a>", part("a").pdu),
        (2, "<b>", part("b").pdu),
    ]


async def test_no_such_message_or_one_deleted_has_no_trail(store: SqliteStore) -> None:
    assert await store.message_trail("SM" + "0" * 32) is None
    received = inbound()
    await store.add_inbound_part(part("x", group=None))
    await store.receive_message(received, ["x"], webhook(received.sid))
    assert await store.delete_message(ACCOUNT, received.sid) is not None
    assert await store.message_trail(received.sid) is None
