"""The Retention role (:class:`gateway.store.Retention`): old finished messages deleted in small
batches, each its own short transaction, so that the writer is never held for long and SQLite
puts the freed pages on its freelist, where the next messages take them: the file stops
growing once the messages kept are as many as those deleted (issue 17)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from gateway.domain.models import FINAL_STATUSES
from gateway.store.sqlite.engine import Engine
from gateway.store.sqlite.rows import to_micros

_FINAL: Final = tuple(sorted(status.value for status in FINAL_STATUSES))
_SCAN: Final = 200  # rows read at a time while looking for prunable ones


class SqliteRetention(Engine):
    """:class:`gateway.store.Retention`."""

    async def prune_messages(self, ended_before: datetime, limit: int) -> int:
        cutoff = to_micros(ended_before)

        def job(db: sqlite3.Connection) -> int:
            chosen = _prunable(db, cutoff, limit)
            _delete(db, chosen)
            _delete_reports(db, cutoff, limit)
            return len(chosen)

        return await self._write(job)


def _prunable(db: sqlite3.Connection, cutoff: int, limit: int) -> list[tuple[int, str]]:
    """The oldest messages that may go, read in id order: ids follow creation (the list
    clock, schema 14), and a message created after the cutoff cannot have ended before it, so
    the walk stops there. No index on date_updated: every status change would write it. What
    it reads past are only old messages still in progress (or with a webhook pending)."""
    chosen: list[tuple[int, str]] = []
    after = -1
    marks = ", ".join("?" * len(_FINAL))
    while len(chosen) < limit:
        rows = db.execute(
            "SELECT id, sid, date_created, date_updated, status IN "
            f"({marks}) AND NOT EXISTS (SELECT 1 FROM webhooks WHERE message_sid = messages.sid "
            "AND state = 'pending') FROM messages WHERE id > ? ORDER BY id LIMIT ?",
            (*_FINAL, after, _SCAN),
        ).fetchall()
        for message_id, sid, created, updated, done in rows:
            if created >= cutoff:
                return chosen
            if done and updated < cutoff:
                chosen.append((message_id, sid))
                if len(chosen) == limit:
                    return chosen
        if len(rows) < _SCAN:
            return chosen
        after = rows[-1][0]
    return chosen


def _delete(db: sqlite3.Connection, chosen: Sequence[tuple[int, str]]) -> None:
    if not chosen:
        return
    ids = [message_id for message_id, _ in chosen]
    sids = [sid for _, sid in chosen]
    by_sid = ", ".join("?" * len(sids))
    db.execute(f"DELETE FROM webhooks WHERE message_sid IN ({by_sid})", sids)
    db.execute(f"DELETE FROM inbound_parts WHERE message_sid IN ({by_sid})", sids)
    db.execute(f"DELETE FROM message_feedback WHERE message_sid IN ({by_sid})", sids)
    by_id = ", ".join("?" * len(ids))
    db.execute(f"DELETE FROM messages WHERE id IN ({by_id})", ids)  # segments cascade


def _delete_reports(db: sqlite3.Connection, cutoff: int, limit: int) -> None:
    doomed = _orphan_reports(db, cutoff, limit)
    if doomed:
        marks = ", ".join("?" * len(doomed))
        db.execute(f"DELETE FROM status_reports WHERE id IN ({marks})", doomed)


def _orphan_reports(db: sqlite3.Connection, cutoff: int, limit: int) -> list[int]:
    """At most ``limit`` delivery reports received before the cutoff whose message is gone (or
    that matched none: past the report window, schema 3, none will), oldest first. Walked in
    id order, which is the order they came in, up to the first one received after the
    cutoff: an index by message would cost every report one more page written."""
    doomed: list[int] = []
    after = -1
    while True:
        rows = db.execute(
            "SELECT id, received_at, matched_sid IS NULL OR NOT EXISTS (SELECT 1 FROM messages "
            "WHERE sid = status_reports.matched_sid) FROM status_reports WHERE id > ? "
            "ORDER BY id LIMIT ?",
            (after, _SCAN),
        ).fetchall()
        for report_id, received_at, orphan in rows:
            if received_at >= cutoff:
                return doomed
            if orphan:
                doomed.append(report_id)
                if len(doomed) == limit:
                    return doomed
        if len(rows) < _SCAN:
            return doomed
        after = rows[-1][0]
