"""The inbound log (:class:`gateway.store.InboundLog`): received parts, deduplicated, the
messages they make, unreadable PDUs, and status reports applied to the parts they are for.

Inbound messages as the store commits them: the message a concatenated SMS is while its
parts still arrive (``receiving``), and the message its parts make in the end (``received``).

What the text is and when a group is complete or given up are decided outside the store
(:mod:`gateway.domain.assembly`, :mod:`gateway.inbound.reassembly`); here it is only
committed. A group's generation being received (a sender uses a reference again for a later
message) is named in ``receiving_groups`` with its message, so that every part after the first,
and a restart, finds the same message (and its SID) again, and a later generation gets a
message of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from gateway.domain.delivery import REPORT_WINDOW_DAYS, same_recipient
from gateway.domain.models import Message, Status
from gateway.domain.records import Generation, InboundPart, ReceivedReport, ReportMatch, Webhook
from gateway.store.sqlite.engine import Engine
from gateway.store.sqlite.rows import (
    MESSAGE_COLUMNS,
    PART_COLUMNS,
    from_micros,
    insert_message,
    insert_webhook,
    message_row,
    part_row,
    to_micros,
)
from gateway.store.sqlite.transitions import apply_report


def generations(db: sqlite3.Connection, group: str) -> list[Generation]:
    """The generations of ``group`` that have parts waiting, and its newest, oldest first."""
    rows = db.execute(
        "SELECT p.generation, p.sequence, p.message_sid IS NOT NULL, m.date_sent "
        "FROM inbound_parts p LEFT JOIN messages m ON m.sid = p.message_sid "
        "WHERE p.group_key = ?1 AND p.generation IN ("
        "SELECT generation FROM inbound_parts WHERE group_key = ?1 AND message_sid IS NULL "
        "UNION SELECT max(generation) FROM inbound_parts WHERE group_key = ?1)",
        (group,),
    )
    waiting: dict[int, set[int]] = {}
    made: dict[int, set[int]] = {}
    made_at: dict[int, int] = {}
    for number, sequence, in_message, sent in rows:
        waiting.setdefault(number, set())
        made.setdefault(number, set())
        if in_message:
            made[number].add(sequence)
            if sent is not None:
                made_at[number] = max(made_at.get(number, sent), sent)
        else:
            waiting[number].add(sequence)
    return [
        Generation(
            number,
            frozenset(waiting[number]),
            frozenset(made[number]),
            from_micros(made_at.get(number)),
        )
        for number in sorted(waiting)
    ]


def shown(db: sqlite3.Connection, group: str, generation: int) -> Message | None:
    """The message ``group``'s ``generation`` is shown as while its parts arrive, if any yet."""
    row = db.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sid = (SELECT message_sid "
        "FROM receiving_groups WHERE group_key = ? AND generation = ?)",
        (group, generation),
    ).fetchone()
    return None if row is None else message_row(row)


def show(db: sqlite3.Connection, group: str, generation: int, message: Message) -> Message:
    """Commit ``message`` (``receiving``) as what ``group``'s ``generation`` makes so far:
    inserted, and named for it, the first time; after that the message already shown takes its
    ``body``, ``num_segments`` and ``date_updated`` and keeps the rest (its SID above all).
    Returns the message as it now stands."""
    current = shown(db, group, generation)
    if current is None:
        insert_message(db, message)
        db.execute(
            "INSERT INTO receiving_groups (group_key, generation, message_sid) VALUES (?, ?, ?)",
            (group, generation, message.sid),
        )
        return message
    db.execute(
        "UPDATE messages SET body = ?, num_segments = ?, date_updated = ? WHERE sid = ?",
        (message.body, message.num_segments, to_micros(message.date_updated), current.sid),
    )
    return replace(
        current,
        body=message.body,
        num_segments=message.num_segments,
        date_updated=message.date_updated,
    )


def receive(
    db: sqlite3.Connection, message: Message, part_keys: Sequence[str], webhook: Webhook | None
) -> bool:
    """Commit ``message`` made of the parts ``part_keys``, and its webhook, only if every part
    is still waiting (the same parts never make two messages). A message shown ``receiving``
    with its SID becomes this one (the same row: its place in the list stays); otherwise it is
    new."""
    keys = list(part_keys)
    marks = ", ".join("?" * len(keys))
    (waiting,) = db.execute(
        f"SELECT count(*) FROM inbound_parts WHERE key IN ({marks}) AND message_sid IS NULL",
        keys,
    ).fetchone()
    if waiting != len(set(keys)):
        return False  # a part is in a message already: nothing is written
    finished = db.execute(
        "UPDATE messages SET status = ?, body = ?, num_segments = ?, error_code = ?, "
        "error_message = ?, messaging_service_sid = ?, date_updated = ?, date_sent = ? "
        "WHERE sid = ? AND status = ?",
        (
            message.status.value,
            message.body,
            message.num_segments,
            message.error_code,
            message.error_message,
            message.messaging_service_sid,
            to_micros(message.date_updated),
            None if message.date_sent is None else to_micros(message.date_sent),
            message.sid,
            Status.RECEIVING.value,
        ),
    )
    if finished.rowcount == 1:
        db.execute("DELETE FROM receiving_groups WHERE message_sid = ?", (message.sid,))
    else:
        insert_message(db, message)
    db.executemany(
        "UPDATE inbound_parts SET message_sid = ? WHERE key = ?",
        [(message.sid, key) for key in keys],
    )
    if webhook is not None:
        insert_webhook(db, webhook, message.date_updated)
    return True


class SqliteInboundLog(Engine):
    """:class:`gateway.store.InboundLog`."""

    async def add_inbound_part(self, part: InboundPart) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                f"INSERT OR IGNORE INTO inbound_parts ({PART_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    part.key,
                    part.modem,
                    part.recipient,
                    part.sender,
                    part.group,
                    part.sequence,
                    part.total,
                    part.text.encode("utf-16-be", "surrogatepass"),
                    part.pdu,
                    to_micros(part.received_at),
                    part.generation,
                ),
            )
            return cursor.rowcount == 1

        return await self._write(job)

    async def generations(self, group: str) -> list[Generation]:
        return await self._write(lambda db: generations(db, group))

    async def group_parts(self, group: str, generation: int = 0) -> tuple[list[InboundPart], bool]:
        def job(db: sqlite3.Connection) -> tuple[list[InboundPart], bool]:
            waiting = [
                part_row(row)
                for row in db.execute(
                    f"SELECT {PART_COLUMNS} FROM inbound_parts WHERE group_key = ? "
                    "AND generation = ? AND message_sid IS NULL ORDER BY sequence, id",
                    (group, generation),
                )
            ]
            closed = db.execute(
                "SELECT 1 FROM inbound_parts WHERE group_key = ? AND generation = ? "
                "AND message_sid IS NOT NULL LIMIT 1",
                (group, generation),
            ).fetchone()
            return waiting, closed is not None

        return await self._write(job)

    async def receive_message(
        self, message: Message, part_keys: Sequence[str], webhook: Webhook | None
    ) -> bool:
        return await self._write(lambda db: receive(db, message, part_keys, webhook))

    async def receiving_message(self, group: str, generation: int = 0) -> Message | None:
        return await self._write(lambda db: shown(db, group, generation))

    async def show_receiving(self, group: str, message: Message, generation: int = 0) -> Message:
        return await self._write(lambda db: show(db, group, generation, message))

    async def expired_groups(self, received_before: datetime) -> list[tuple[str, int]]:
        def job(db: sqlite3.Connection) -> list[tuple[str, int]]:
            rows = db.execute(
                "SELECT group_key, generation FROM inbound_parts WHERE message_sid IS NULL "
                "AND group_key IS NOT NULL GROUP BY group_key, generation "
                "HAVING min(received_at) < ? ORDER BY min(received_at)",
                (to_micros(received_before),),
            )
            return [(str(row[0]), int(row[1])) for row in rows]

        return await self._write(job)

    async def oldest_waiting_part(self) -> datetime | None:
        def job(db: sqlite3.Connection) -> datetime | None:
            (value,) = db.execute(
                "SELECT min(received_at) FROM inbound_parts "
                "WHERE message_sid IS NULL AND group_key IS NOT NULL"
            ).fetchone()
            return from_micros(value)

        return await self._write(job)

    async def waiting_parts(self) -> list[InboundPart]:
        def job(db: sqlite3.Connection) -> list[InboundPart]:
            rows = db.execute(
                f"SELECT {PART_COLUMNS} FROM inbound_parts WHERE message_sid IS NULL ORDER BY id"
            )
            return [part_row(row) for row in rows]

        return await self._write(job)

    async def add_unreadable(
        self, modem: str, pdu: str, length: int | None, error: str, at: datetime
    ) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO unreadable_pdus (modem, pdu, length, error, received_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (modem, pdu, length, error, to_micros(at)),
            )

        await self._write(job)

    async def add_status_report(self, report: ReceivedReport) -> ReportMatch | None:
        def job(db: sqlite3.Connection) -> ReportMatch | None:
            cursor = db.execute(
                "INSERT OR IGNORE INTO status_reports (modem, key, reference, recipient, status, "
                "pdu, received_at, done_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    report.modem,
                    report.key,
                    report.reference,
                    report.recipient,
                    report.status,
                    report.pdu,
                    to_micros(report.received_at),
                    report.outcome.done_date,
                ),
            )
            if cursor.rowcount != 1:
                return None  # read before
            report_id = int(cursor.lastrowid or 0)
            window = report.received_at - timedelta(days=REPORT_WINDOW_DAYS)
            candidates = db.execute(
                "SELECT s.message_id, s.sequence, m.sid, m.to_number FROM segments s "
                "JOIN messages m ON m.id = s.message_id "
                "WHERE s.reference = ? AND s.sent_at BETWEEN ? AND ? "
                "AND (s.delivery IS NULL OR s.delivery = 'pending') AND m.modem = ? "
                "ORDER BY s.sent_at DESC, s.message_id DESC, s.sequence DESC",
                (
                    report.reference,
                    to_micros(window),
                    to_micros(report.received_at),
                    report.modem,
                ),
            ).fetchall()
            for message_id, sequence, sid, to in candidates:
                if same_recipient(to, report.recipient):
                    status = apply_report(
                        db,
                        report_id,
                        message_id=message_id,
                        sid=sid,
                        sequence=sequence,
                        outcome=report.outcome,
                        at=report.received_at,
                    )
                    return ReportMatch(sid, sequence, status)
            return ReportMatch(None, None, None)

        return await self._write(job)
