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
    db.execute(f"DELETE FROM status_reports WHERE matched_sid IN ({by_sid})", sids)
    db.execute(f"DELETE FROM message_feedback WHERE message_sid IN ({by_sid})", sids)
    by_id = ", ".join("?" * len(ids))
    db.execute(f"DELETE FROM messages WHERE id IN ({by_id})", ids)  # segments cascade
