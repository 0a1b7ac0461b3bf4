"""The Messages role (:class:`gateway.store.Messages`): the messages as the API reads and
changes them. A change is a rule of :mod:`gateway.domain.lifecycle`, applied
(:func:`~gateway.store.sqlite.transitions.apply`); the list's pages are
:mod:`~gateway.store.sqlite.listing`'s."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from gateway.domain import lifecycle
from gateway.domain.feedback import Feedback
from gateway.domain.models import Message
from gateway.store.queries import MessagePage, MessageQuery
from gateway.store.sqlite.engine import Engine
from gateway.store.sqlite.listing import read_page
from gateway.store.sqlite.rows import EPOCH, MESSAGE_COLUMNS, load_message, message_row, to_micros
from gateway.store.sqlite.transitions import application_of, apply

_MINUTE_MICROS = 60_000_000


class SqliteMessages(Engine):
    """:class:`gateway.store.Messages`."""

    async def get_message(self, account_sid: str, sid: str) -> Message | None:
        def job(db: sqlite3.Connection) -> Message | None:
            row = db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sid = ? AND account_sid = ?",
                (sid, account_sid),
            ).fetchone()
            return None if row is None else message_row(row)

        return await self._read(job)

    async def list_messages(self, account_sid: str, query: MessageQuery) -> MessagePage | None:
        return await self._read(lambda db: read_page(db, account_sid, query))

    async def count_messages(self) -> int:
        def job(db: sqlite3.Connection) -> int:
            count: int = db.execute("SELECT count(*) FROM messages").fetchone()[0]
            return count

        return await self._read(job)

    async def messages_per_minute(self, account_sid: str, since: datetime) -> dict[datetime, int]:
        def job(db: sqlite3.Connection) -> dict[datetime, int]:
            # A range of messages_by_date_sent (account_sid, date_sent): no table scan.
            rows = db.execute(
                "SELECT date_sent / ?, count(*) FROM messages "
                "WHERE account_sid = ? AND date_sent >= ? GROUP BY 1",
                (_MINUTE_MICROS, account_sid, to_micros(since)),
            ).fetchall()
            return {EPOCH + timedelta(minutes=minute): count for minute, count in rows}

        return await self._read(job)

    async def redact(self, account_sid: str, sid: str, at: datetime) -> Message | None:
        def job(db: sqlite3.Connection) -> Message | None:
            loaded = load_message(db, "sid = ? AND account_sid = ?", (sid, account_sid))
            if loaded is None:
                return None
            message_id, message = loaded
            return apply(db, message_id, lifecycle.redacted(message, at))

        return await self._write(job)

    async def cancel(self, account_sid: str, sid: str, at: datetime) -> Message | None:
        def job(db: sqlite3.Connection) -> Message | None:
            loaded = load_message(db, "sid = ? AND account_sid = ?", (sid, account_sid))
            if loaded is None:
                return None
            message_id, message = loaded
            transition = lifecycle.canceled(message, at, application=application_of(db, message))
            return apply(db, message_id, transition) or message

        return await self._write(job)

    async def delete_message(self, account_sid: str, sid: str) -> Message | None:
        def job(db: sqlite3.Connection) -> Message | None:
            loaded = load_message(db, "sid = ? AND account_sid = ?", (sid, account_sid))
            if loaded is None:
                return None
            message_id, message = loaded
            if not lifecycle.deletable(message):
                return message
            db.execute("DELETE FROM webhooks WHERE message_sid = ?", (sid,))
            db.execute("DELETE FROM inbound_parts WHERE message_sid = ?", (sid,))
            db.execute(
                "UPDATE status_reports SET matched_sid = NULL, matched_sequence = NULL "
                "WHERE matched_sid = ?",
                (sid,),
            )
            db.execute("DELETE FROM message_feedback WHERE message_sid = ?", (sid,))
            db.execute("DELETE FROM messages WHERE id = ?", (message_id,))  # segments cascade
            return message

        return await self._write(job)

    async def record_feedback(
        self, account_sid: str, sid: str, outcome: str, at: datetime
    ) -> Feedback | None:
        def job(db: sqlite3.Connection) -> Feedback | None:
            found = db.execute(
                "SELECT 1 FROM messages WHERE sid = ? AND account_sid = ? AND provide_feedback",
                (sid, account_sid),
            ).fetchone()
            if found is None:
                return None
            now = to_micros(at)
            db.execute(
                "INSERT INTO message_feedback (message_sid, account_sid, outcome, date_created, "
                "date_updated) VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_sid) DO UPDATE SET "
                "outcome = excluded.outcome, date_updated = excluded.date_updated",
                (sid, account_sid, outcome, now, now),
            )
            row = db.execute(
                "SELECT outcome, date_created, date_updated FROM message_feedback "
                "WHERE message_sid = ?",
                (sid,),
            ).fetchone()
            return Feedback(
                account_sid=account_sid,
                message_sid=sid,
                outcome=row[0],
                date_created=EPOCH + timedelta(microseconds=row[1]),
                date_updated=EPOCH + timedelta(microseconds=row[2]),
            )

        return await self._write(job)
