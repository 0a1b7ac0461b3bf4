"""The webhook queue (:class:`gateway.store.WebhookQueue`): durable, each webhook's outcome
committed as the sender learns it.

Which pending webhooks go next: the queries behind ``due_webhooks`` and ``next_webhook_at``.

A webhook may go when it is due, is not being delivered already, no older webhook of its
message is still pending (a message's webhooks go one at a time, in order), and its destination
(:mod:`gateway.domain.destinations`) has room for another request. The queue is read one destination
at a time, through the index on ``(destination, next_attempt_at, id)``: a destination with no
room costs one index probe however many webhooks it holds, so a receiver that hangs with
hundreds of webhooks waiting never fills a page and never slows the search for the others.
The destinations' webhooks are then merged, oldest first.
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from gateway.domain.attempt_log import attempts_of
from gateway.domain.records import NewMessage, Webhook
from gateway.store.queries import InFlight, QueuedWebhook, WebhookStates, WebhookTrouble
from gateway.store.sqlite.engine import Engine
from gateway.store.sqlite.rows import (
    EPOCH,
    WEBHOOK_COLUMNS,
    from_micros,
    insert_webhook,
    to_micros,
    webhook_row,
)
from gateway.store.sqlite.transitions import insert_outbound

Row = tuple[Any, ...]

NEVER: Final = 2**62  # microseconds: later than any webhook is due
# The conditions of the partial indexes an account's webhooks are counted through (schema
# migrations 6 and 20): a query names them as they are written there, or SQLite does not
# know that the index holds every row it wants. _TROUBLED's parameter is the account.
_PENDING: Final = "state = 'pending'"
_TROUBLED: Final = "account_sid = ? AND attempts > 0 AND state != 'delivered'"
# The attempt just made, added to the row's log (gateway.domain.attempt_log) by the UPDATE
# that records its outcome: no write more per attempt (issue 17). Its parameters: the time (ISO
# 8601) and the outcome. In an UPDATE, use_fallback is the row's before it: the URL tried.
_LOGGED: Final = (
    "attempt_log = smsgw_attempt_logged(attempt_log, ?, ?, use_fallback, "
    "json_array(url, fallback_url))"
)
_NEXT_ATTEMPT: Final = WEBHOOK_COLUMNS.split(", ").index("next_attempt_at")
_FIRST_DESTINATION: Final = (
    "SELECT destination FROM webhooks WHERE state = 'pending' ORDER BY destination LIMIT 1"
)
_NEXT_DESTINATION: Final = (
    "SELECT destination FROM webhooks WHERE state = 'pending' AND destination > ? "
    "ORDER BY destination LIMIT 1"
)
# A destination's webhooks that may go by a time, oldest first; in order per message: a
# webhook waits while an older one of its message is still pending (a status callback never
# overtakes the previous one).
_ELIGIBLE: Final = (
    f"SELECT {', '.join('w.' + c for c in WEBHOOK_COLUMNS.split(', '))} FROM webhooks w "
    "WHERE w.state = 'pending' AND w.destination = ? AND w.next_attempt_at <= ? "
    "AND NOT EXISTS (SELECT 1 FROM webhooks o WHERE o.state = 'pending' "
    "AND o.message_sid = w.message_sid AND o.id < w.id) "
    "ORDER BY w.next_attempt_at, w.id"
)


def eligible(db: sqlite3.Connection, until: int, in_flight: InFlight, limit: int) -> list[Row]:
    """Up to ``limit`` rows (:data:`WEBHOOK_COLUMNS`) of webhooks that may go by ``until``
    (microseconds), oldest first, none ``in_flight`` and no more per destination than its
    room."""
    cursors: list[sqlite3.Cursor] = []
    try:
        streams = []
        for destination in _destinations(db):
            room = in_flight.room(destination)
            if room == 0:
                continue
            cursor = db.execute(_ELIGIBLE, (destination, until))
            cursors.append(cursor)
            streams.append(_taken(cursor, in_flight.ids, room))
        merged = heapq.merge(*streams, key=lambda row: (row[_NEXT_ATTEMPT], row[0]))
        return list(itertools.islice(merged, limit))
    finally:
        for cursor in cursors:
            cursor.close()


def next_attempt(row: Row) -> int:
    """When the webhook of ``row`` is due (microseconds)."""
    return int(row[_NEXT_ATTEMPT])


def _destinations(db: sqlite3.Connection) -> Iterator[str]:
    """Every destination with a pending webhook: one index probe each, however many it holds
    (SQLite has no skip-scan without ANALYZE statistics; this is one by hand)."""
    row = db.execute(_FIRST_DESTINATION).fetchone()
    while row is not None:
        yield str(row[0])
        row = db.execute(_NEXT_DESTINATION, (row[0],)).fetchone()


def _taken(cursor: sqlite3.Cursor, in_flight: frozenset[int], room: int | None) -> Iterator[Row]:
    # Read lazily: only as far as the merge asks, and never past the destination's room.
    count = 0
    for row in cursor:
        if row[0] in in_flight:
            continue
        yield tuple(row)
        count += 1
        if room is not None and count >= room:
            return


class SqliteWebhookQueue(Engine):
    """:class:`gateway.store.WebhookQueue`."""

    async def enqueue_webhook(self, webhook: Webhook, at: datetime) -> None:
        await self._write(lambda db: insert_webhook(db, webhook, at))

    async def due_webhooks(
        self, now: datetime, limit: int = 32, in_flight: InFlight | None = None
    ) -> list[Webhook]:
        busy = in_flight or InFlight()
        rows = await self._write(lambda db: eligible(db, to_micros(now), busy, limit))
        return [webhook_row(row) for row in rows]

    async def next_webhook_at(self, in_flight: InFlight | None = None) -> datetime | None:
        busy = in_flight or InFlight()
        # The first webhook due_webhooks() would give at any time: one waiting behind an older
        # pending webhook of its message, or for room at its destination, is not due whatever
        # its time says.
        rows = await self._write(lambda db: eligible(db, NEVER, busy, 1))
        return from_micros(next_attempt(rows[0])) if rows else None

    async def webhook_delivered(
        self,
        webhook_id: int,
        at: datetime,
        replies: Sequence[NewMessage] = (),
        *,
        outcome: str = "delivered",
    ) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                f"UPDATE webhooks SET state = 'delivered', updated_at = ?, {_LOGGED} WHERE id = ?",
                (to_micros(at), at.isoformat(), outcome, webhook_id),
            )
            for reply in replies:
                insert_outbound(db, reply.message, reply.segments)

        await self._write(job)

    async def webhook_fallback(self, webhook_id: int, error: str, at: datetime) -> None:
        await self._set_webhook(
            webhook_id,
            "use_fallback = 1, destination = smsgw_destination(fallback_url), "
            f"next_attempt_at = ?, last_error = ?, updated_at = ?, {_LOGGED}",
            (to_micros(at), error, to_micros(at), at.isoformat(), error),
        )

    async def webhook_retry(
        self, webhook_id: int, attempts: int, next_attempt: datetime, error: str, at: datetime
    ) -> None:
        await self._set_webhook(
            webhook_id,
            "attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ?, "
            f"use_fallback = 0, destination = smsgw_destination(url), {_LOGGED}",
            (attempts, to_micros(next_attempt), error, to_micros(at), at.isoformat(), error),
        )

    async def webhook_failed(
        self, webhook_id: int, attempts: int, error: str, at: datetime
    ) -> None:
        await self._set_webhook(
            webhook_id,
            "state = 'failed', attempts = ?, last_error = ?, updated_at = ?, use_fallback = 0, "
            f"{_LOGGED}",
            (attempts, error, to_micros(at), at.isoformat(), error),
        )

    async def webhook_states(
        self, account_sid: str, limit: int = 20, *, delivered: bool = True
    ) -> WebhookStates:
        def job(db: sqlite3.Connection) -> WebhookStates:
            # The pending through their partial index (a few), the given up through
            # webhooks_troubled; only the delivered (nearly all) cost a read of the table.
            (pending,) = db.execute(
                f"SELECT count(*) FROM webhooks WHERE {_PENDING} AND account_sid = ?",
                (account_sid,),
            ).fetchone()
            (failed,) = db.execute(
                f"SELECT count(*) FROM webhooks WHERE {_TROUBLED} AND state = 'failed'",
                (account_sid,),
            ).fetchone()
            counts = {"pending": int(pending), "failed": int(failed)}
            if delivered:
                (done,) = db.execute(
                    "SELECT count(*) FROM webhooks WHERE state = 'delivered' AND account_sid = ?",
                    (account_sid,),
                ).fetchone()
                counts["delivered"] = int(done)
            rows = db.execute(
                "SELECT message_sid, kind, url, state, attempts, last_error, next_attempt_at, "
                f"updated_at FROM webhooks WHERE {_TROUBLED} "
                "ORDER BY updated_at DESC, id DESC LIMIT ?",
                (account_sid, limit),
            )
            troubled = tuple(
                WebhookTrouble(
                    message_sid=row[0],
                    kind=row[1],
                    url=row[2],
                    state=row[3],
                    attempts=row[4],
                    last_error=row[5],
                    next_attempt_at=from_micros(row[6]) if row[3] == "pending" else None,
                    updated_at=EPOCH + timedelta(microseconds=row[7]),
                )
                for row in rows
            )
            return WebhookStates(counts, troubled)

        return await self._read(job)

    async def account_webhooks(
        self, account_sid: str, state: str, limit: int = 100
    ) -> list[QueuedWebhook]:
        # Pending ones through the pending-only index (a few, however many were delivered);
        # given-up ones (every one was tried) through webhooks_troubled, newest first.
        if state == "pending":
            where, order = f"{_PENDING} AND account_sid = ?", "next_attempt_at, id"
        else:
            where, order = f"{_TROUBLED} AND state = ?", "updated_at DESC, id DESC"
        query = (
            "SELECT id, message_sid, kind, "
            "coalesce(CASE WHEN use_fallback THEN fallback_url END, url), state, attempts, "
            f"last_error, next_attempt_at, updated_at, attempt_log FROM webhooks WHERE {where} "
            f"ORDER BY {order} LIMIT ?"
        )
        values = (account_sid, limit) if state == "pending" else (account_sid, state, limit)

        def job(db: sqlite3.Connection) -> list[QueuedWebhook]:
            return [
                QueuedWebhook(
                    id=row[0],
                    message_sid=row[1],
                    kind=row[2],
                    url=row[3],
                    state=row[4],
                    attempts=row[5],
                    last_error=row[6],
                    next_attempt_at=from_micros(row[7]) if row[4] == "pending" else None,
                    updated_at=EPOCH + timedelta(microseconds=row[8]),
                    attempt_log=attempts_of(row[9]),
                )
                for row in db.execute(query, values)
            ]

        return await self._read(job)

    async def retry_webhook_now(self, account_sid: str, webhook_id: int, at: datetime) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE webhooks SET state = 'pending', next_attempt_at = ?, updated_at = ?, "
                # A given-up webhook went back to its primary URL (webhook_failed); one from
                # before destinations were kept (migration 7) gets its destination and token.
                "destination = CASE WHEN use_fallback THEN destination "
                "ELSE smsgw_destination(url) END, token = coalesce(token, smsgw_token()) "
                "WHERE id = ? AND account_sid = ? AND state IN ('pending', 'failed')",
                (to_micros(at), to_micros(at), webhook_id, account_sid),
            )
            return cursor.rowcount == 1

        return await self._write(job)

    async def _set_webhook(self, webhook_id: int, changes: str, values: tuple[Any, ...]) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(f"UPDATE webhooks SET {changes} WHERE id = ?", (*values, webhook_id))

        await self._write(job)
