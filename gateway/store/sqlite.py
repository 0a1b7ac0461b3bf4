"""The SQLite store (standard library ``sqlite3``, WAL, ``synchronous=FULL``): every query of
:class:`gateway.store.Store`.

Its parts: :mod:`~gateway.store.worker` (one writer thread that commits in groups, one reader;
in WAL mode readers never block the writer), :mod:`~gateway.store.rows` (tables to
dataclasses), :mod:`~gateway.store.transitions` (status changes committed with their callbacks,
reports applied to their parts), :mod:`~gateway.store.schema` (the migrations).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import monotonic
from typing import Any, Final, TypeVar

from gateway.config import Account
from gateway.domain import lifecycle
from gateway.domain.delivery import REPORT_WINDOW_DAYS, same_recipient
from gateway.domain.destinations import destination
from gateway.domain.errors import StoreError
from gateway.domain.feedback import Feedback
from gateway.domain.lifecycle import Claim
from gateway.domain.models import Message, Segment, Status
from gateway.domain.records import (
    Application,
    Generation,
    InboundPart,
    NewMessage,
    PhoneNumber,
    ReceivedReport,
    ReportMatch,
    Webhook,
    new_webhook_token,
)
from gateway.store import (
    InFlight,
    MessagePage,
    MessageQuery,
    OutboundWork,
    WebhookStates,
    WebhookTrouble,
    receiving,
)
from gateway.store import applications as application_rows
from gateway.store.listing import read_page
from gateway.store.rows import (
    EPOCH,
    MESSAGE_COLUMNS,
    NUMBER_COLUMNS,
    PART_COLUMNS,
    from_micros,
    insert_webhook,
    load_message,
    message_row,
    part_row,
    phone_number_row,
    to_micros,
    webhook_row,
)
from gateway.store.schema import MIGRATIONS
from gateway.store.transitions import (
    application_of,
    apply,
    apply_report,
    insert_outbound,
    latest_done_date,
    match_early_report,
    settle_message,
)
from gateway.store.webhook_queue import NEVER, eligible, next_attempt
from gateway.store.worker import Worker

T = TypeVar("T")
log = logging.getLogger(__name__)

DATABASE_NAME: Final = "smsgw.sqlite3"
# A part that went, or was handed to the modem and may have gone (claim_part).
_TOUCHED: Final = "(sent_at IS NOT NULL OR claimed_at IS NOT NULL)"
# Messages whose validity period may still end: in the queue with no part sent (or on its way)
# yet, or waiting for a Messaging Service to pick their sender, or for their SendAt.
_UNSENT_WHERE: Final = (
    "status IN ('queued', 'sending') AND NOT EXISTS (SELECT 1 FROM segments "
    f"WHERE message_id = messages.id AND {_TOUCHED})"
)
# One query each, so that each uses its partial index (an OR of the two would scan the table).
_WAITING_WHERES: Final = ("status = 'accepted'", "status = 'scheduled'")
_PROBE_EVERY: Final = 1.0  # seconds between two health probes of the database
MIN_FREE: Final = 1024 * 1024  # bytes: less left on the disk and the database is not healthy


class SqliteStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DATABASE_NAME
        self._writer = Worker(self.path, "store-writer", batch=True)
        self._reader = Worker(self.path, "store-reader", batch=False)
        self._open = False
        self._probed_at = float("-inf")
        self._probe_result: str | None = None

    async def open(self) -> None:
        _private_files(self.path)
        self._writer.start()
        self._open = True
        await self._write(_register_functions)
        await self._write(_migrate)
        self._reader.start()

    async def health(self) -> str | None:
        """Why the database cannot take a commit now, or ``None``: a probe is committed (at
        most once a second), so that a full disk, a deleted file, or the end of either, is
        seen whether or not anything else is being written."""
        now = monotonic()
        if now - self._probed_at < _PROBE_EVERY:
            return self._probe_result

        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO health (id, checked_at) VALUES (1, ?)",
                (to_micros(datetime.now(UTC)),),
            )

        try:
            await self._write(job)
            result = _low_space(self.path.parent)
        except StoreError as exc:
            result = str(exc)
        self._probed_at, self._probe_result = monotonic(), result
        return result

    async def close(self) -> None:
        if self._open:
            self._open = False
            self._writer.stop()
            self._reader.stop()

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._writer.submit(job)
        return result

    async def _read(self, job: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._reader.submit(job)
        return result

    # --- messages ----------------------------------------------------------------------------

    async def create_message(self, message: Message, segments: Sequence[Segment]) -> None:
        await self._write(lambda db: insert_outbound(db, message, segments))

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

    # --- the dispatcher's side ---------------------------------------------------------------

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
                f"WHERE message_id = messages.id AND {_TOUCHED}) FROM messages WHERE sid = ?",
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

    # --- inbound -----------------------------------------------------------------------------

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
        return await self._write(lambda db: receiving.generations(db, group))

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
        return await self._write(lambda db: receiving.receive(db, message, part_keys, webhook))

    async def receiving_message(self, group: str, generation: int = 0) -> Message | None:
        return await self._write(lambda db: receiving.shown(db, group, generation))

    async def show_receiving(self, group: str, message: Message, generation: int = 0) -> Message:
        return await self._write(lambda db: receiving.show(db, group, generation, message))

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

    # --- webhooks ----------------------------------------------------------------------------

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
        self, webhook_id: int, at: datetime, replies: Sequence[NewMessage] = ()
    ) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE webhooks SET state = 'delivered', updated_at = ? WHERE id = ?",
                (to_micros(at), webhook_id),
            )
            for reply in replies:
                insert_outbound(db, reply.message, reply.segments)

        await self._write(job)

    async def webhook_fallback(self, webhook_id: int, error: str, at: datetime) -> None:
        await self._set_webhook(
            webhook_id,
            "use_fallback = 1, destination = smsgw_destination(fallback_url), "
            "next_attempt_at = ?, last_error = ?, updated_at = ?",
            (to_micros(at), error, to_micros(at)),
        )

    async def webhook_retry(
        self, webhook_id: int, attempts: int, next_attempt: datetime, error: str, at: datetime
    ) -> None:
        await self._set_webhook(
            webhook_id,
            "attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ?, "
            "use_fallback = 0, destination = smsgw_destination(url)",
            (attempts, to_micros(next_attempt), error, to_micros(at)),
        )

    async def webhook_failed(
        self, webhook_id: int, attempts: int, error: str, at: datetime
    ) -> None:
        await self._set_webhook(
            webhook_id,
            "state = 'failed', attempts = ?, last_error = ?, updated_at = ?, use_fallback = 0",
            (attempts, error, to_micros(at)),
        )

    async def webhook_states(self, account_sid: str, limit: int = 20) -> WebhookStates:
        def job(db: sqlite3.Connection) -> WebhookStates:
            counts = {"pending": 0, "delivered": 0, "failed": 0}
            for state, count in db.execute(
                "SELECT state, count(*) FROM webhooks WHERE account_sid = ? GROUP BY state",
                (account_sid,),
            ):
                counts[str(state)] = int(count)
            rows = db.execute(
                "SELECT message_sid, kind, url, state, attempts, last_error, next_attempt_at, "
                "updated_at FROM webhooks WHERE account_sid = ? AND attempts > 0 "
                "AND state != 'delivered' ORDER BY updated_at DESC, id DESC LIMIT ?",
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

    async def _set_webhook(self, webhook_id: int, changes: str, values: tuple[Any, ...]) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(f"UPDATE webhooks SET {changes} WHERE id = ?", (*values, webhook_id))

        await self._write(job)

    # --- accounts ----------------------------------------------------------------------------

    # --- changing and deleting messages ------------------------------------------------------

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

    # --- Messaging Services and scheduled messages -------------------------------------------

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
                f"SELECT 1 FROM segments WHERE message_id = ? AND {_TOUCHED}", (message_id,)
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
                f"AND {_TOUCHED}) ORDER BY id",
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

    # --- phone numbers -----------------------------------------------------------------------

    async def phone_numbers(self) -> list[PhoneNumber]:
        def job(db: sqlite3.Connection) -> list[PhoneNumber]:
            return [
                phone_number_row(row)
                for row in db.execute(f"SELECT {NUMBER_COLUMNS} FROM phone_numbers ORDER BY rowid")
            ]

        return await self._read(job)

    async def save_phone_number(self, number: PhoneNumber) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                f"INSERT OR REPLACE INTO phone_numbers ({NUMBER_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number.number,
                    number.sid,
                    number.account_sid,
                    number.friendly_name,
                    number.sms_url,
                    number.sms_method,
                    number.sms_fallback_url,
                    number.sms_fallback_method,
                    number.status_callback,
                    int(number.api_updated),
                    to_micros(number.date_created),
                    to_micros(number.date_updated),
                    number.sms_application_sid,
                ),
            )

        await self._write(job)

    # --- applications ------------------------------------------------------------------------

    async def applications(self) -> list[Application]:
        return await self._read(application_rows.all_applications)

    async def add_application(self, application: Application) -> None:
        await self._write(lambda db: application_rows.add_application(db, application))

    async def update_application(self, application: Application) -> bool:
        return await self._write(lambda db: application_rows.update_application(db, application))

    async def delete_application(self, account_sid: str, sid: str, at: datetime) -> bool:
        return await self._write(
            lambda db: application_rows.delete_application(db, account_sid, sid, at)
        )

    async def accounts(self) -> list[Account]:
        def job(db: sqlite3.Connection) -> list[Account]:
            rows = db.execute("SELECT sid, auth_token FROM accounts ORDER BY created_at")
            return [Account(sid, token) for sid, token in rows]

        return await self._read(job)

    async def add_account(self, account: Account) -> None:
        now = to_micros(datetime.now(UTC))

        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO accounts (sid, auth_token, created_at) VALUES (?, ?, ?)",
                (account.sid, account.auth_token, now),
            )

        await self._write(job)


def _record_part(
    db: sqlite3.Connection, sid: str, sequence: int, reference: int | None, at: datetime
) -> None:
    loaded = load_message(db, "sid = ?", sid)
    if loaded is None:
        return
    message_id, message = loaded
    db.execute(
        "UPDATE segments SET reference = ?, sent_at = ? WHERE message_id = ? AND sequence = ?",
        (reference, to_micros(at), message_id, sequence),
    )
    if reference is not None and message.modem is not None:
        match_early_report(
            db, message_id, message=message, sequence=sequence, reference=reference, sent_at=at
        )


def _low_space(folder: Path) -> str | None:
    """A disk too full to be trusted with the next commit. SQLite reuses its WAL file, so a
    small probe may still commit on a full disk while a new message, which needs new pages,
    cannot: the space left says so before the writes do."""
    try:
        status = os.statvfs(folder)
    except OSError as exc:
        return f"cannot look at {folder}: {exc.strerror}"
    free = status.f_bavail * status.f_frsize  # what an unprivileged user may still write
    if free < MIN_FREE:
        return f"the disk holding {folder} is full ({free // 1024} KiB left)"
    return None


def _private_files(path: Path) -> None:
    """The data directory (0700) and the database (0600) are the service user's alone, whatever
    the umask: they hold every account's auth token and every message's text. SQLite gives its
    -wal and -shm files the database file's permissions (its unix VFS, robust_open)."""
    folder = path.parent
    try:
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)  # mkdir's mode passes through the umask
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        for file in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))):
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)  # a database made by an older smsgw, under a lax umask
    except OSError as exc:
        raise StoreError(f"cannot create {exc.filename or path}: {exc.strerror}") from exc
    if folder.stat().st_mode & 0o077:
        log.warning(
            "%s can be read by other users of this machine; it holds auth tokens and message "
            "texts: chmod 700 %s",
            folder,
            folder,
        )


def read_accounts(data_dir: Path) -> list[Account]:
    """The generated accounts, read without opening the store for writing (a command-line
    tool may run beside the gateway). Empty when the database does not exist yet."""
    path = data_dir / DATABASE_NAME
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT sid, auth_token FROM accounts ORDER BY created_at")
            return [Account(sid, token) for sid, token in rows]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc


def _register_functions(db: sqlite3.Connection) -> None:
    """What the writer's SQL may call besides SQLite's own: a webhook's destination and a new
    idempotency token, as Python makes them (the migrations fill existing rows with them)."""
    db.create_function("smsgw_destination", 1, destination, deterministic=True)
    db.create_function("smsgw_token", 0, new_webhook_token)


def _migrate(db: sqlite3.Connection) -> None:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the database is at schema version {version}, newer than this smsgw knows "
            f"({len(MIGRATIONS)}); upgrade smsgw"
        )
    for number, script in enumerate(MIGRATIONS[version:], version + 1):
        for statement in _statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript() would commit outside the transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    if current.strip():
        statements.append(current)
    return statements
