"""The messages waiting for a sender, as routing works them (:class:`gateway.store.RoutingQueue`):
Messaging Service messages and scheduled ones given a sender and queued
(:func:`gateway.domain.lifecycle.assigned`), and the queue's counts
(:class:`gateway.store.QueueCounts`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from gateway.domain import lifecycle
from gateway.domain.models import Message
from gateway.domain.records import NewMessage
from gateway.store.sqlite.engine import Engine
from gateway.store.sqlite.outbound import TOUCHED
from gateway.store.sqlite.rows import (
    MESSAGE_COLUMNS,
    from_micros,
    load_message,
    message_row,
    to_micros,
)
from gateway.store.sqlite.transitions import application_of, apply


class SqliteRoutingQueue(Engine):
    """:class:`gateway.store.RoutingQueue` and :class:`gateway.store.QueueCounts`."""

    async def waiting_for_sender(self, now: datetime, limit: int = 64) -> list[Message]:
        def job(db: sqlite3.Connection) -> list[Message]:
            rows = db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE status = 'accepted' "
                "UNION ALL "
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE status = 'scheduled' "
                "AND send_at <= ? LIMIT ?",
                (to_micros(now), limit),
            ).fetchall()
            return sorted((message_row(row) for row in rows), key=lambda m: m.date_created)

        return await self._write(job)

    async def next_scheduled_at(self) -> datetime | None:
        def job(db: sqlite3.Connection) -> datetime | None:
            (value,) = db.execute(
                "SELECT min(send_at) FROM messages WHERE status = 'scheduled'"
            ).fetchone()
            return from_micros(value)

        return await self._write(job)

    async def assign_sender(self, new: NewMessage, at: datetime) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            message = new.message
            loaded = load_message(db, "sid = ?", (message.sid,))
            if loaded is None:
                return False
            message_id, current = loaded
            underway = db.execute(
                f"SELECT 1 FROM segments WHERE message_id = ? AND {TOUCHED}", (message_id,)
            ).fetchone()
            transition = lifecycle.assigned(
                current,
                message,
                at,
                underway=underway is not None,
                application=application_of(db, current),
            )
            # Due at once on its modem (the queue's own column, written with the change).
            if apply(db, message_id, transition, queue={"next_attempt_at": 0}) is None:
                return False
            db.execute("DELETE FROM segments WHERE message_id = ?", (message_id,))
            db.executemany(
                "INSERT INTO segments (message_id, sequence, pdu, tpdu_length, "
                "concat_reference) VALUES (?, ?, ?, ?, ?)",
                [
                    (message_id, s.sequence, s.pdu, s.tpdu_length, s.concat_reference)
                    for s in new.segments
                ],
            )
            return True

        return await self._write(job)

    async def last_sender(self, account_sid: str, service_sid: str, to: str) -> str | None:
        def job(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT from_number FROM messages WHERE account_sid = ? AND to_number = ? "
                "AND messaging_service_sid = ? AND from_number IS NOT NULL "
                "ORDER BY id DESC LIMIT 1",
                (account_sid, to, service_sid),
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._read(job)

    async def unsent_of(self, modem: str, service_sids: Sequence[str]) -> list[Message]:
        def job(db: sqlite3.Connection) -> list[Message]:
            marks = ", ".join("?" * len(service_sids))
            rows = db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE modem = ? "
                f"AND status = 'queued' AND messaging_service_sid IN ({marks}) "
                "AND NOT sender_pinned "
                "AND NOT EXISTS (SELECT 1 FROM segments WHERE message_id = messages.id "
                f"AND {TOUCHED}) ORDER BY id",
                (modem, *service_sids),
            ).fetchall()
            return [message_row(row) for row in rows]

        return await self._write(job)

    async def queue_counts(self) -> dict[str, int]:
        def job(db: sqlite3.Connection) -> dict[str, int]:
            # Each through its partial index: never a scan of every message.
            counts = {"queued": 0, "sending": 0}
            counts |= dict(
                db.execute(
                    "SELECT status, count(*) FROM messages WHERE status IN ('queued', 'sending') "
                    "GROUP BY status"
                ).fetchall()
            )
            for status in ("accepted", "scheduled"):
                (counts[status],) = db.execute(
                    "SELECT count(*) FROM messages WHERE status = ?", (status,)
                ).fetchone()
            return {str(status): int(count) for status, count in counts.items()}

        return await self._read(job)

    async def backlog(self) -> dict[str, int]:
        def job(db: sqlite3.Connection) -> dict[str, int]:
            rows = db.execute(
                "SELECT m.modem, count(*) FROM messages m JOIN segments s "
                "ON s.message_id = m.id AND s.sent_at IS NULL "
                "WHERE m.status IN ('queued', 'sending') GROUP BY m.modem"
            ).fetchall()
            return {str(modem): int(count) for modem, count in rows if modem is not None}

        return await self._read(job)
