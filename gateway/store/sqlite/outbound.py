"""The queue of messages out as the dispatcher works it (:class:`gateway.store.SendQueue`), and
a new message committed to it: one modem's due work, each part claimed at the modem's prompt and
recorded sent with its TP-MR (and counted against its modem's plan, apart from the message),
the message sent (then settled at once by reports that came first), deferred, failed or
expired. Whether a message may move, and what its move brings, is
:mod:`gateway.domain.lifecycle`'s to say; here it is read and applied."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from gateway.domain import lifecycle, quota
from gateway.domain.lifecycle import Claim
from gateway.domain.models import Message, Segment, Status
from gateway.store.queries import OutboundWork, PartsSent
from gateway.store.sqlite.engine import Engine
from gateway.store.sqlite.rows import (
    MESSAGE_COLUMNS,
    from_micros,
    load_message,
    message_row,
    to_micros,
)
from gateway.store.sqlite.transitions import (
    application_of,
    apply,
    insert_outbound,
    latest_done_date,
    match_early_report,
    settle_message,
)

# A part that went, or was handed to the modem and may have gone (claim_part).
TOUCHED: Final = "(sent_at IS NOT NULL OR claimed_at IS NOT NULL)"
# The candidates for an expiry (lifecycle.expired decides), each query through its partial
# index: messages in the queue with no part sent (or on its way) yet, or waiting for a
# Messaging Service to pick their sender, or for their SendAt.
_UNSENT_WHERE: Final = (
    "status IN ('queued', 'sending') AND NOT EXISTS (SELECT 1 FROM segments "
    f"WHERE message_id = messages.id AND {TOUCHED})"
)
# One query each, so that each uses its partial index (an OR of the two would scan the table).
_WAITING_WHERES: Final = ("status = 'accepted'", "status = 'scheduled'")
# A sent message still waiting for a delivery report (schema 18, through its partial index):
# a part of it has none yet, or only "still trying" (TS 23.040 §9.2.3.15 0x20-0x3F).
_AWAITING_REPORT: Final = (
    "status = 'sent' AND report_given_up_at IS NULL AND date_sent IS NOT NULL "
    "AND EXISTS (SELECT 1 FROM segments WHERE message_id = messages.id "
    "AND (delivery IS NULL OR delivery = 'pending'))"
)
# A part sent, counted in its quarter hour (schema 17): one statement on the send path, the
# recipient keyed with the database's secret by the function the engine gives the writer.
_COUNT_PART: Final = (
    "INSERT INTO parts_sent (slot, modem, recipient, parts) VALUES "
    "(?, ?, smsgw_recipient_key((SELECT secret FROM recipient_secret), ?), 1) "
    "ON CONFLICT (slot, modem, recipient) DO UPDATE SET parts = parts + 1 RETURNING parts"
)


class SqliteSendQueue(Engine):
    """:class:`gateway.store.SendQueue`, and a new message's commit."""

    async def create_message(self, message: Message, segments: Sequence[Segment]) -> None:
        await self._write(lambda db: insert_outbound(db, message, segments))

    async def outbound_work(self, modem: str, now: datetime, limit: int = 16) -> list[OutboundWork]:
        due = to_micros(now)

        def job(db: sqlite3.Connection) -> list[OutboundWork]:
            rows = db.execute(
                f"SELECT id, {MESSAGE_COLUMNS} FROM messages WHERE modem = ? "
                "AND status IN ('queued', 'sending') AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                (modem, due, limit),
            ).fetchall()
            work = []
            for row in rows:
                segments = tuple(
                    Segment(sequence, pdu, length, reference, from_micros(sent_at))
                    for sequence, pdu, length, reference, sent_at in db.execute(
                        "SELECT sequence, pdu, tpdu_length, reference, sent_at FROM segments "
                        "WHERE message_id = ? ORDER BY sequence",
                        (row[0],),
                    )
                )
                work.append(OutboundWork(message_row(row[1:]), segments))
            return work

        # The writer's connection: what it just committed is certainly visible to it.
        return await self._write(job)

    async def next_attempt_at(self, modem: str) -> datetime | None:
        def job(db: sqlite3.Connection) -> datetime | None:
            (value,) = db.execute(
                "SELECT min(next_attempt_at) FROM messages WHERE modem = ? "
                "AND status IN ('queued', 'sending')",
                (modem,),
            ).fetchone()
            return from_micros(value)

        return await self._write(job)

    async def count_attempt(self, sid: str) -> int:
        def job(db: sqlite3.Connection) -> int:
            row = db.execute(
                "UPDATE messages SET attempts = attempts + 1 WHERE sid = ? RETURNING attempts",
                (sid,),
            ).fetchone()
            return 0 if row is None else int(row[0])

        return await self._write(job)

    async def defer(self, sid: str, until: datetime) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE messages SET next_attempt_at = ? WHERE sid = ?", (to_micros(until), sid)
            )

        await self._write(job)

    async def release_held(self, modem: str, now: datetime) -> int:
        due = to_micros(now)

        def job(db: sqlite3.Connection) -> int:
            # Through messages_to_send (modem, next_attempt_at, id).
            cursor = db.execute(
                "UPDATE messages SET next_attempt_at = ? WHERE modem = ? AND next_attempt_at > ? "
                "AND status IN ('queued', 'sending') AND attempts = 0",
                (due, modem, due),
            )
            return cursor.rowcount

        return await self._write(job)

    async def update_status(
        self,
        sid: str,
        status: Status,
        at: datetime,
        *,
        error_code: int | None = None,
    ) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            loaded = load_message(db, "sid = ?", sid)
            if loaded is None:
                return False
            message_id, message = loaded
            transition = lifecycle.moved(
                message,
                status,
                at,
                error_code=error_code,
                application=application_of(db, message),
            )
            return apply(db, message_id, transition) is not None

        return await self._write(job)

    async def claim_part(self, sid: str, sequence: int, modem: str, at: datetime) -> Claim:
        now = to_micros(at)

        def job(db: sqlite3.Connection) -> Claim:
            # Only what the decision needs: this runs while the modem holds its prompt.
            row = db.execute(
                "SELECT id, status, modem, expires_at, EXISTS (SELECT 1 FROM segments "
                f"WHERE message_id = messages.id AND {TOUCHED}) FROM messages WHERE sid = ?",
                (sid,),
            ).fetchone()
            if row is None:
                return Claim.GONE
            message_id, status, owner, expires_at, underway = row
            claim = lifecycle.claim(
                Status(status),
                owner,
                modem,
                expires_at=from_micros(expires_at),
                underway=bool(underway),
                now=at,
            )
            if claim is Claim.EXPIRED:
                loaded = load_message(db, "id = ?", message_id)
                assert loaded is not None
                message = loaded[1]
                transition = lifecycle.expired(message, at, application=application_of(db, message))
                apply(db, message_id, transition)
            elif claim is Claim.GRANTED:
                db.execute(
                    "UPDATE segments SET claimed_at = ? WHERE message_id = ? AND sequence = ?",
                    (now, message_id, sequence),
                )
                if status == Status.QUEUED:
                    loaded = load_message(db, "id = ?", message_id)
                    assert loaded is not None
                    message = loaded[1]
                    transition = lifecycle.moved(
                        message, Status.SENDING, at, application=application_of(db, message)
                    )
                    if apply(db, message_id, transition) is not None:
                        return Claim.STARTED
            return claim

        return await self._write(job)

    async def release_part(self, sid: str, sequence: int) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE segments SET claimed_at = NULL WHERE sequence = ? AND sent_at IS NULL "
                "AND message_id = (SELECT id FROM messages WHERE sid = ?)",
                (sequence, sid),
            )

        await self._write(job)

    async def record_part_sent(
        self, sid: str, sequence: int, reference: int | None, at: datetime
    ) -> None:
        await self._write(lambda db: _record_part(db, sid, sequence, reference, at))

    async def message_sent(
        self,
        sid: str,
        at: datetime,
        price: str | None = None,
        price_unit: str | None = None,
        *,
        last_part: tuple[int, int | None] | None = None,
    ) -> Status | None:
        def job(db: sqlite3.Connection) -> Status | None:
            if last_part is not None:
                _record_part(db, sid, *last_part, at)
            loaded = load_message(db, "sid = ?", sid)
            if loaded is None:
                return None
            message_id, message = loaded
            application = application_of(db, message)
            transition = lifecycle.sent(message, at, price, price_unit, application=application)
            now_sent = apply(db, message_id, transition)
            if now_sent is None:
                return None
            # Reports may have come for its first parts while the last was being sent.
            done = latest_done_date(db, message_id)
            settled = settle_message(db, message_id, now_sent, at, done, application=application)
            return Status.SENT if settled is None else settled.status

        return await self._write(job)

    async def expire_unsent(self, now: datetime) -> list[str]:
        def job(db: sqlite3.Connection) -> list[str]:
            # The candidates, each query through its index; none has a part on its way.
            rows = [
                row
                for where in (_UNSENT_WHERE, *_WAITING_WHERES)
                for row in db.execute(
                    f"SELECT id, {MESSAGE_COLUMNS} FROM messages WHERE {where} AND expires_at <= ?",
                    (to_micros(now),),
                ).fetchall()
            ]
            expired = []
            for row in rows:
                message = message_row(row[1:])
                transition = lifecycle.expired(
                    message, now, application=application_of(db, message)
                )
                if apply(db, row[0], transition):
                    expired.append(message.sid)
            return expired

        return await self._write(job)

    async def next_expiry(self) -> datetime | None:
        def job(db: sqlite3.Connection) -> datetime | None:
            # In index order, stopping at the first: a message with a part on the air is past
            # expiring whatever its time says, and is passed over.
            found = [
                db.execute(
                    f"SELECT expires_at FROM messages WHERE {where} AND expires_at IS NOT NULL "
                    "ORDER BY expires_at LIMIT 1"
                ).fetchone()
                for where in (_UNSENT_WHERE, *_WAITING_WHERES)
            ]
            return from_micros(min((row[0] for row in found if row is not None), default=None))

        return await self._write(job)

    async def next_report_wait(self) -> datetime | None:
        def job(db: sqlite3.Connection) -> datetime | None:
            row = db.execute(
                f"SELECT date_sent FROM messages WHERE {_AWAITING_REPORT} "
                "ORDER BY date_sent LIMIT 1"
            ).fetchone()
            return None if row is None else from_micros(row[0])

        return await self._write(job)

    async def give_up_reports(self, sent_before: datetime, at: datetime) -> list[str]:
        def job(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                f"UPDATE messages SET report_given_up_at = ? WHERE {_AWAITING_REPORT} "
                "AND date_sent <= ? RETURNING id, sid",
                (to_micros(at), to_micros(sent_before)),
            ).fetchall()
            return [sid for _, sid in sorted(rows)]

        return await self._write(job)

    async def parts_sent(self, modem: str, since: datetime) -> PartsSent:
        # Every slot that ends after ``since`` (the slot it starts, when it is a local
        # midnight), through the primary key's slot order.
        after = to_micros(since - quota.SLOT)

        def job(db: sqlite3.Connection) -> PartsSent:
            rows = db.execute(
                "SELECT recipient, sum(parts) FROM parts_sent WHERE slot > ? AND modem = ? "
                "GROUP BY recipient",
                (after, modem),
            ).fetchall()
            return PartsSent(sum(count for _, count in rows), frozenset(key for key, _ in rows))

        return await self._read(job)

    async def recipient_secret(self) -> bytes:
        def job(db: sqlite3.Connection) -> bytes:
            (secret,) = db.execute("SELECT secret FROM recipient_secret WHERE id = 1").fetchone()
            return bytes(secret)

        return await self._read(job)

    async def last_concat_reference(self, modem: str) -> int | None:
        def job(db: sqlite3.Connection) -> int | None:
            row = db.execute(
                "SELECT s.concat_reference FROM messages m JOIN segments s ON s.message_id = m.id "
                "WHERE m.modem = ? AND s.concat_reference IS NOT NULL "
                "ORDER BY m.id DESC LIMIT 1",
                (modem,),
            ).fetchone()
            return None if row is None else int(row[0])

        return await self._read(job)


def _record_part(
    db: sqlite3.Connection, sid: str, sequence: int, reference: int | None, at: datetime
) -> None:
    loaded = load_message(db, "sid = ?", sid)
    if loaded is None:
        return
    message_id, message = loaded
    cursor = db.execute(
        "UPDATE segments SET reference = ?, sent_at = ? WHERE message_id = ? AND sequence = ?",
        (reference, to_micros(at), message_id, sequence),
    )
    if cursor.rowcount == 1 and message.modem is not None:
        _count_part(db, message.modem, message.to, at)
    if reference is not None and message.modem is not None:
        match_early_report(
            db, message_id, message=message, sequence=sequence, reference=reference, sent_at=at
        )


def _count_part(db: sqlite3.Connection, modem: str, to: str, at: datetime) -> None:
    """One part to ``to`` went through ``modem`` at ``at``, counted for its plan's caps. A
    row's first part (a new quarter hour, or recipient in it) deletes the rows older than a
    month: a seek to the start of the key, which finds nothing most of the time."""
    slot = quota.slot(at)
    (parts,) = db.execute(_COUNT_PART, (to_micros(slot), modem, to)).fetchone()
    if parts == 1:
        db.execute("DELETE FROM parts_sent WHERE slot < ?", (to_micros(slot - quota.KEPT),))
