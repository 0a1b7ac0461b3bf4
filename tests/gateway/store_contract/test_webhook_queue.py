"""The webhook queue: what the webhook sender relies on the store for. Webhooks go oldest
first, a message's one at a time and in order, never more to a destination than it has room
for; a failure sends the webhook to its fallback URL, then back to the primary for a retry,
until it is given up; a delivery commits the TwiML replies with it, or nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from gateway.domain.errors import StoreError
from gateway.domain.models import Direction, new_sid
from gateway.domain.records import NewMessage, Webhook
from gateway.store import InFlight, Store
from tests.fakes.clock import T0
from tests.fakes.records import ACCOUNT, inbound, parts, webhook
from tests.gateway.store_contract.records import LATER, message

HUNG = "https://hung.example.com"
OTHER = "https://other.example.com"


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


async def enqueue_to(store: Store, url: str, count: int, at: datetime) -> list[Webhook]:
    hooks = [
        webhook(new_sid("SM"), kind="status", url=f"{url}/status?n={n}", fallback_url=None)
        for n in range(count)
    ]
    for hook in hooks:
        await store.enqueue_webhook(hook, at)
    return hooks


async def test_due_webhooks_oldest_first_and_one_at_a_time_per_message(store: Store) -> None:
    a, b = new_sid("SM"), new_sid("SM")
    b_hook = webhook(b)
    await store.enqueue_webhook(webhook(a, kind="status"), T0)
    await store.enqueue_webhook(b_hook, seconds(1))
    await store.enqueue_webhook(webhook(a, kind="status"), seconds(2))
    await store.enqueue_webhook(webhook(None, kind="status"), seconds(3))
    await store.enqueue_webhook(webhook(None, kind="status"), seconds(4))

    assert [w.message_sid for w in await store.due_webhooks(T0)] == [a]  # only what is due
    due = await store.due_webhooks(seconds(60))
    # a's second webhook waits for its first; webhooks of no message never wait for another.
    assert [(w.message_sid, w.attempts) for w in due] == [(a, 0), (b, 0), (None, 0), (None, 0)]
    assert len({w.id for w in due}) == 4
    assert due[1] == replace(b_hook, id=due[1].id)  # every field comes back as queued
    assert [w.message_sid for w in await store.due_webhooks(LATER, limit=2)] == [a, b]
    assert await store.next_webhook_at() == T0

    await store.webhook_delivered(due[0].id, seconds(5))
    after = await store.due_webhooks(seconds(60))
    assert [w.message_sid for w in after] == [b, a, None, None]
    assert after[1].id > due[0].id and after[1].kind == "status"


async def test_a_retry_waits_and_keeps_the_messages_later_webhooks_waiting(store: Store) -> None:
    a = new_sid("SM")
    await store.enqueue_webhook(webhook(a, kind="status"), T0)
    await store.enqueue_webhook(webhook(a, kind="status"), seconds(1))
    (first,) = await store.due_webhooks(seconds(2))
    await store.webhook_retry(first.id, 1, seconds(30), "HTTP 500 from x", seconds(2))
    assert await store.due_webhooks(seconds(29)) == []  # the later one waits too
    assert await store.next_webhook_at() == seconds(30)
    (again,) = await store.due_webhooks(seconds(30))
    assert (again.id, again.attempts, again.token) == (first.id, 1, first.token)
    states = await store.webhook_states(ACCOUNT)
    assert states.counts == {"pending": 2, "delivered": 0, "failed": 0}
    (trouble,) = states.troubled
    assert (trouble.state, trouble.attempts, trouble.last_error) == (
        "pending",
        1,
        "HTTP 500 from x",
    )
    assert (trouble.next_attempt_at, trouble.updated_at) == (seconds(30), seconds(2))


async def test_a_webhook_given_up_leaves_the_queue_and_stops_blocking(store: Store) -> None:
    a = new_sid("SM")
    await store.enqueue_webhook(webhook(a, kind="status"), T0)
    await store.enqueue_webhook(webhook(a, kind="status"), seconds(1))
    (first,) = await store.due_webhooks(seconds(1))
    await store.webhook_failed(first.id, 10, "ClientConnectorError", seconds(3600))
    (second,) = await store.due_webhooks(seconds(3600))
    assert second.id != first.id
    await store.webhook_delivered(second.id, seconds(3600))
    assert await store.due_webhooks(LATER) == []
    assert await store.next_webhook_at() is None
    states = await store.webhook_states(ACCOUNT)
    assert states.counts == {"pending": 0, "delivered": 1, "failed": 1}
    cheap = await store.webhook_states(ACCOUNT, delivered=False)  # the delivered not counted
    assert (cheap.counts, cheap.troubled) == ({"pending": 0, "failed": 1}, states.troubled)
    (trouble,) = states.troubled
    assert (trouble.state, trouble.attempts, trouble.next_attempt_at) == ("failed", 10, None)
    assert trouble.last_error == "ClientConnectorError"


async def test_next_webhook_at_ignores_webhooks_waiting_behind_their_message(
    store: Store,
) -> None:
    assert await store.next_webhook_at() is None
    a = new_sid("SM")
    await store.enqueue_webhook(webhook(a, kind="status"), T0)
    await store.enqueue_webhook(webhook(a, kind="status"), seconds(1))
    await store.enqueue_webhook(webhook(new_sid("SM")), seconds(120))
    (sent,) = await store.due_webhooks(seconds(1))
    await store.webhook_retry(sent.id, 1, seconds(300), "HTTP 503", T0)
    assert await store.due_webhooks(seconds(2)) == []
    assert await store.next_webhook_at() == seconds(120)


async def test_a_destination_with_no_room_never_fills_the_page(store: Store) -> None:
    hung = await enqueue_to(store, HUNG, 50, T0)
    (other,) = await enqueue_to(store, OTHER, 1, seconds(1))
    now = seconds(60)
    first = await store.due_webhooks(now, 10, InFlight(per_destination=4))
    assert [w.token for w in first] == [h.token for h in hung[:4]] + [other.token]
    in_flight = InFlight(frozenset(w.id for w in first[:4]), {"https://hung.example.com:443": 4}, 4)
    (due,) = await store.due_webhooks(now, 10, in_flight)
    assert due.token == other.token and due.destination == "https://other.example.com:443"
    assert await store.next_webhook_at(in_flight) == seconds(1)
    # With the other one in flight too, nothing may go until a request ends.
    busy = replace(in_flight, ids=in_flight.ids | {due.id})
    assert await store.due_webhooks(now, 10, busy) == []
    assert await store.next_webhook_at(busy) is None
    # One hung request ends (retried later): its destination has room for one more.
    await store.webhook_retry(first[0].id, 1, now + timedelta(seconds=5), "timeout", now)
    freed = InFlight(busy.ids - {first[0].id}, {"https://hung.example.com:443": 3}, 4)
    (next_one,) = await store.due_webhooks(now, 10, freed)
    assert next_one.token == hung[4].token


async def test_with_room_everywhere_the_queue_is_oldest_first(store: Store) -> None:
    a = await enqueue_to(store, HUNG, 3, T0)
    b = await enqueue_to(store, OTHER, 3, seconds(-1))
    c = await enqueue_to(store, HUNG, 1, seconds(-2))
    due = await store.due_webhooks(T0, 5, InFlight(per_destination=4))
    assert [w.token for w in due] == [h.token for h in (*c, *b, *a[:1])]
    assert [w.token for w in await store.due_webhooks(T0, 2)] == [c[0].token, b[0].token]


async def test_a_fallback_goes_to_its_own_destination_then_back(store: Store) -> None:
    received = inbound()
    hook = webhook(received.sid)  # primary example.com, fallback backup.example.com (GET)
    await store.receive_message(received, [], hook)
    (due,) = await store.due_webhooks(T0)
    assert (due.use_fallback, due.target) == (False, (hook.url, "POST"))
    assert due.destination == "https://example.com:443"

    await store.webhook_fallback(due.id, "HTTP 500 from x", seconds(1))
    (fallback,) = await store.due_webhooks(seconds(1))  # due at once
    assert fallback.use_fallback and fallback.target == ("https://backup.example.com/sms", "GET")
    assert (fallback.attempts, fallback.token) == (0, hook.token)
    full = InFlight(per_destination=1, by_destination={"https://backup.example.com:443": 1})
    assert await store.due_webhooks(seconds(1), 10, full) == []
    assert await store.next_webhook_at(full) is None
    primary_full = replace(full, by_destination={"https://example.com:443": 1})
    assert [w.id for w in await store.due_webhooks(LATER, 10, primary_full)] == [due.id]

    await store.webhook_retry(due.id, 1, seconds(9), "HTTP 503 from y", T0)
    (again,) = await store.due_webhooks(seconds(9))
    assert (again.use_fallback, again.attempts, again.token) == (False, 1, hook.token)
    assert again.destination == "https://example.com:443"


async def test_replies_are_committed_with_the_delivery(store: Store) -> None:
    received = inbound()
    await store.receive_message(received, [], webhook(received.sid))
    (hook,) = await store.due_webhooks(T0)
    replies = [
        NewMessage(
            replace(message(body=body, num_segments=count), direction=Direction.OUTBOUND_REPLY),
            parts(count, reference=5),
        )
        for body, count in (("Thanks!", 1), ("A longer answer", 2))
    ]
    await store.webhook_delivered(hook.id, seconds(1), replies)
    # What is due now: each reply's "queued" status callback, committed with it.
    callbacks = await store.due_webhooks(LATER)
    assert [(c.message_sid, c.kind, dict(c.params)["MessageStatus"]) for c in callbacks] == [
        (reply.message.sid, "status", "queued") for reply in replies
    ]
    work = await store.outbound_work("alice", seconds(1))
    assert [w.message for w in work] == [reply.message for reply in replies]
    assert [len(w.segments) for w in work] == [1, 2]
    assert (await store.webhook_states(ACCOUNT)).counts["delivered"] == 1


async def test_a_reply_that_cannot_be_committed_leaves_the_webhook_pending(
    store: Store,
) -> None:
    received = inbound()
    await store.receive_message(received, [], webhook(received.sid))
    (hook,) = await store.due_webhooks(T0)
    fine = NewMessage(message(), parts(1))
    clash = NewMessage(received, parts(1))  # the inbound message's own SID: refused
    with pytest.raises(StoreError):
        await store.webhook_delivered(hook.id, T0, [fine, clash])
    # Nothing of it happened: the webhook goes again (and its TwiML is read again).
    assert [w.id for w in await store.due_webhooks(T0)] == [hook.id]
    assert await store.get_message(ACCOUNT, fine.message.sid) is None
    assert await store.outbound_work("alice", T0) == []
