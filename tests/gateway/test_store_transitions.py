"""The SQLite store applying :mod:`gateway.domain.lifecycle`'s transitions
(:func:`gateway.store.sqlite.transitions.apply`): only while the message still has the status
the rule decided from, and then all of it in one transaction: the fields, what retention erases
or masks in everything else that kept them, and the webhooks. What each rule decides is
``test_lifecycle.py``'s; here, that the store writes exactly what a Transition says."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gateway.domain import lifecycle
from gateway.domain.delivery import Delivery, PartState
from gateway.domain.lifecycle import Transition
from gateway.domain.models import Message, Status, obfuscate
from gateway.store.sqlite import SqliteStore
from gateway.store.sqlite.rows import load_message
from gateway.store.sqlite.transitions import apply
from tests.fakes import records
from tests.fakes.records import ACCOUNT, parts

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def message() -> Message:
    """A queued message with a StatusCallback, as an API create commits it."""
    return records.message(
        at=T0,
        to="+27829200000",
        from_="+27829200001",
        num_segments=2,
        status_callback="https://example.com/status",
    )


async def applied(store: SqliteStore, transition: Transition | None) -> Message | None:
    """``transition`` applied as the store applies a rule's, in one write transaction."""
    assert transition is not None

    def job(db: sqlite3.Connection) -> Message | None:
        loaded = load_message(db, "sid = ?", transition.before.sid)
        assert loaded is not None
        return apply(db, loaded[0], transition)

    return await store._write(job)


async def webhooks(store: SqliteStore) -> list[dict[str, str]]:
    """The parameters of every webhook kept, queued or delivered, oldest first."""

    def job(db: sqlite3.Connection) -> list[dict[str, str]]:
        rows = db.execute("SELECT params FROM webhooks ORDER BY id")
        return [dict(json.loads(row[0])) for row in rows]

    return await store._write(job)


async def test_a_transition_decided_from_a_status_the_message_no_longer_has_writes_nothing(
    store: SqliteStore,
) -> None:
    queued = message()
    await store.create_message(queued, parts(1))
    stale = lifecycle.moved(queued, Status.FAILED, T1, error_code=30008)
    assert await store.update_status(queued.sid, Status.SENDING, T0)  # it moved meanwhile
    assert await applied(store, stale) is None
    now = await store.get_message(ACCOUNT, queued.sid)
    assert now is not None and (now.status, now.error_code) == (Status.SENDING, None)
    # No "failed" callback for a change that did not happen.
    assert [params["MessageStatus"] for params in await webhooks(store)] == ["queued"]


async def test_the_message_reads_back_as_the_transition_left_it_with_its_callback(
    store: SqliteStore,
) -> None:
    queued = message()
    await store.create_message(queued, parts(2))
    transition = lifecycle.sent(queued, T1, "-0.0150", "EUR")
    assert transition is not None
    assert await applied(store, transition) == transition.after
    assert await store.get_message(ACCOUNT, queued.sid) == transition.after
    assert [params["MessageStatus"] for params in await webhooks(store)] == ["queued", "sent"]


async def test_retention_erases_the_text_and_masks_the_recipient_everywhere(
    store: SqliteStore,
) -> None:
    kept = replace(message(), content_retention="discard", address_retention="obfuscate")
    await store.create_message(kept, parts(2))
    sent = await applied(store, lifecycle.sent(kept, T1))
    assert sent is not None and (sent.body, sent.to) == ("", kept.to)

    def pdus(db: sqlite3.Connection) -> list[str]:
        return [str(row[0]) for row in db.execute("SELECT pdu FROM segments")]

    assert await store._write(pdus) == ["", ""]  # nothing of the text in its parts either

    # A part finally failed: undelivered, and the recipient masked from then on, in the message
    # and in the To of every callback, the earlier ones too.
    reports = [PartState(1, Delivery.UNDELIVERED, 30003), PartState(2, None, None)]
    settled = await applied(store, lifecycle.settled(sent, reports, T1))
    masked = obfuscate(kept.to)
    assert settled is not None and settled.to == masked != kept.to
    assert await store.get_message(ACCOUNT, kept.sid) == settled
    stored = await webhooks(store)
    assert [params["MessageStatus"] for params in stored] == ["queued", "sent", "undelivered"]
    assert {params["To"] for params in stored} == {masked}
