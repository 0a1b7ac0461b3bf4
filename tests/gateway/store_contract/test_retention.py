"""Retention (``retention_days``): finished messages older than the cutoff are deleted, oldest
first and a batch at a time, with what was kept of them; a message still in progress, or one
whose callback is still to be made, is kept whatever its age."""

from __future__ import annotations

from datetime import timedelta

from gateway.domain.models import Message
from gateway.store import Store
from tests.fakes.clock import T0
from tests.fakes.records import ACCOUNT
from tests.gateway.store_contract.records import LATER, queued, report, reported

DAY = timedelta(days=1)


async def delivered(store: Store, reference: int, *, at: timedelta = timedelta()) -> Message:
    """A message sent and delivered ``at`` after T0, its callbacks all made."""
    message = await queued(store)
    await store.message_sent(message.sid, T0 + at, last_part=(1, reference))
    await store.add_status_report(report(f"r{reference}", reference, at=T0 + at))
    assert await reported(store, message.sid) == ["queued", "sent", "delivered"]
    return message


async def test_finished_messages_older_than_the_cutoff_go_and_the_rest_stay(store: Store) -> None:
    old = await delivered(store, 17)
    recent = await delivered(store, 18, at=3 * DAY)
    waiting = await queued(store)  # never sent: in progress, whatever its age
    assert await store.prune_messages(T0 + 2 * DAY, 500) == 1
    assert await store.get_message(ACCOUNT, old.sid) is None
    assert await store.get_message(ACCOUNT, recent.sid) is not None
    assert await store.get_message(ACCOUNT, waiting.sid) is not None
    assert await store.prune_messages(T0 + 2 * DAY, 500) == 0
    assert await store.prune_messages(LATER, 500) == 1  # recent, now old; waiting stays
    assert await store.get_message(ACCOUNT, waiting.sid) is not None


async def test_a_message_whose_callback_is_pending_is_kept(store: Store) -> None:
    message = await queued(store)
    await store.message_sent(message.sid, T0, last_part=(1, 17))
    await store.add_status_report(report("r17", 17, at=T0))
    assert await store.prune_messages(LATER, 500) == 0  # its callbacks are still queued
    assert await reported(store, message.sid) == ["queued", "sent", "delivered"]
    assert await store.prune_messages(LATER, 500) == 1
    assert [h for h in await store.due_webhooks(LATER, 1000) if h.message_sid == message.sid] == []


async def test_at_most_limit_go_per_call_oldest_first(store: Store) -> None:
    first = await delivered(store, 17)
    second = await delivered(store, 18, at=DAY)
    third = await delivered(store, 19, at=2 * DAY)
    assert await store.prune_messages(LATER, 2) == 2
    assert await store.get_message(ACCOUNT, first.sid) is None
    assert await store.get_message(ACCOUNT, second.sid) is None
    assert await store.get_message(ACCOUNT, third.sid) is not None
    assert await store.prune_messages(LATER, 2) == 1
    assert await store.prune_messages(LATER, 2) == 0


async def test_a_report_for_a_pruned_message_matches_nothing(store: Store) -> None:
    old = await delivered(store, 17)
    assert await store.prune_messages(LATER, 500) == 1
    # The same report read again: its row went with the message (it is stored again, not
    # taken for a duplicate), and there is no part left for it to match.
    match = await store.add_status_report(report("r17", 17, at=T0 + DAY))
    assert match is not None and match.sid is None
    assert await store.get_message(ACCOUNT, old.sid) is None
