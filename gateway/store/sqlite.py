"""The SQLite store (standard library ``sqlite3``, WAL, ``synchronous=FULL``).

One writer thread owns the only writing connection and commits in groups: whatever writes
are waiting when it starts a transaction go into that transaction, each in its own savepoint,
and all of them are answered after the one commit (fsync) that makes them durable. Concurrent
requests therefore share commits, and durability does not cost throughput. A reader thread
with its own connection answers queries; in WAL mode readers never block the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

from gateway.callbacks import status_callback
from gateway.config import Account
from gateway.delivery import (
    REPORT_WINDOW_DAYS,
    Delivery,
    PartReport,
    PartState,
    part_report,
    same_recipient,
    settle,
)
from gateway.errors import StoreError
from gateway.models import ERROR_MESSAGES, FINAL_STATUSES, Direction, Message, Segment, Status
from gateway.store import (
    InboundPart,
    MessageQuery,
    NewMessage,
    OutboundWork,
    PhoneNumber,
    ReceivedReport,
    ReportMatch,
    Webhook,
    WebhookStates,
    WebhookTrouble,
)
from gateway.store.schema import MIGRATIONS

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]
_Item = tuple[Job, asyncio.Future[Any], asyncio.AbstractEventLoop]

DATABASE_NAME: Final = "smsgw.sqlite3"
_DAY_MICROS: Final = 86_400_000_000
_UNSENT: Final = (Status.QUEUED, Status.SENDING)
# Where the message a page token names stands in the list, deleted since or not.
_POSITION: Final = (
    "coalesce((SELECT id FROM messages WHERE sid = ?), "
    "(SELECT id FROM deleted_messages WHERE sid = ?))"
)
# Messages whose validity period may still end: in the queue with no part sent yet, or
# waiting for a Messaging Service to pick their sender, or for their SendAt.
_UNSENT_WHERE: Final = (
    "status IN ('queued', 'sending') AND NOT EXISTS (SELECT 1 FROM segments "
    "WHERE message_id = messages.id AND sent_at IS NOT NULL)"
)
# One query each, so that each uses its partial index (an OR of the two would scan the table).
_WAITING_WHERES: Final = ("status = 'accepted'", "status = 'scheduled'")
# A report matched to a part committed just after it came may have been taken this long before
# the part's send was recorded (the two race between the +CMGS answer and the commit).
EARLY_REPORT_SLACK: Final = 60.0
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MESSAGE_COLUMNS: Final = (
    "sid, account_sid, direction, status, to_number, from_number, body, num_segments, "
    "num_media, error_code, error_message, price, price_unit, messaging_service_sid, "
    "date_created, date_updated, date_sent, status_callback, modem, validity_period, "
    "max_price, expires_at, send_at"
)


def to_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _message(row: Sequence[Any]) -> Message:
    return Message(
        sid=row[0],
        account_sid=row[1],
        direction=Direction(row[2]),
        status=Status(row[3]),
        to=row[4],
        from_=row[5],
        body=row[6],
        num_segments=row[7],
        num_media=row[8],
        error_code=row[9],
        error_message=row[10],
        price=row[11],
        price_unit=row[12],
        messaging_service_sid=row[13],
        date_created=_EPOCH + timedelta(microseconds=row[14]),
        date_updated=_EPOCH + timedelta(microseconds=row[15]),
        date_sent=from_micros(row[16]),
        status_callback=row[17],
        modem=row[18],
        validity_period=row[19],
        max_price=row[20],
        expires_at=from_micros(row[21]),
        send_at=from_micros(row[22]),
    )


def _insert_message(db: sqlite3.Connection, message: Message) -> int:
    cursor = db.execute(
        "INSERT INTO messages (sid, account_sid, direction, status, to_number, "
        "from_number, body, num_segments, num_media, error_code, error_message, price, "
        "price_unit, messaging_service_sid, date_created, date_updated, date_sent, "
        "status_callback, modem, validity_period, max_price, expires_at, send_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message.sid,
            message.account_sid,
            message.direction.value,
            message.status.value,
            message.to,
            message.from_,
            message.body,
            message.num_segments,
            message.num_media,
            message.error_code,
            message.error_message,
            message.price,
            message.price_unit,
            message.messaging_service_sid,
            to_micros(message.date_created),
            to_micros(message.date_updated),
            None if message.date_sent is None else to_micros(message.date_sent),
            message.status_callback,
            message.modem,
            message.validity_period,
            message.max_price,
            None if message.expires_at is None else to_micros(message.expires_at),
            None if message.send_at is None else to_micros(message.send_at),
        ),
    )
    return int(cursor.lastrowid or 0)


def _insert_outbound(db: sqlite3.Connection, message: Message, segments: Sequence[Segment]) -> None:
    message_id = _insert_message(db, message)
    db.executemany(
        "INSERT INTO segments (message_id, sequence, pdu, tpdu_length, concat_reference) "
        "VALUES (?, ?, ?, ?, ?)",
        [(message_id, s.sequence, s.pdu, s.tpdu_length, s.concat_reference) for s in segments],
    )
    _report_status(db, message, message.date_created)


def _report_status(
    db: sqlite3.Connection, message: Message, at: datetime, done: str | None = None
) -> None:
    """Queue the status callback for ``message``'s (just committed) status, if it has one."""
    callback = status_callback(message, done)
    if callback is not None:
        _insert_webhook(db, callback, at)


def _load(db: sqlite3.Connection, where: str, value: Any) -> tuple[int, Message] | None:
    values = value if isinstance(value, tuple) else (value,)
    row = db.execute(
        f"SELECT id, {_MESSAGE_COLUMNS} FROM messages WHERE {where}", values
    ).fetchone()
    return None if row is None else (int(row[0]), _message(row[1:]))


def _set_status(
    db: sqlite3.Connection,
    message_id: int,
    status: Status,
    at: datetime,
    *,
    error_code: int | None = None,
    done: str | None = None,
    only_from: tuple[Status, ...] = (),
    extra: str = "",
    values: tuple[Any, ...] = (),
    report: bool = True,
) -> Message | None:
    """Move a message to ``status`` (from one of ``only_from``, if given) and queue its
    callback; ``None`` when the message was not in a state to move."""
    guard = ""
    if only_from:
        guard = f" AND status IN ({', '.join('?' * len(only_from))})"
    cursor = db.execute(
        f"UPDATE messages SET status = ?, date_updated = ?, error_code = ?, error_message = ?"
        f"{extra} WHERE id = ?{guard}",
        (
            status.value,
            to_micros(at),
            error_code,
            None if error_code is None else ERROR_MESSAGES.get(error_code),
            *values,
            message_id,
            *(state.value for state in only_from),
        ),
    )
    if cursor.rowcount != 1:
        return None
    loaded = _load(db, "id = ?", message_id)
    assert loaded is not None
    if report:
        _report_status(db, loaded[1], at, done)
    return loaded[1]


def _settle(
    db: sqlite3.Connection, message_id: int, at: datetime, done: str | None
) -> Status | None:
    """After a report or the last part sent: the status the reports now give the message."""
    (status,) = db.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()
    parts = [
        PartState(sequence, None if delivery is None else Delivery(delivery), code)
        for sequence, delivery, code in db.execute(
            "SELECT sequence, delivery, error_code FROM segments WHERE message_id = ?",
            (message_id,),
        )
    ]
    outcome = settle(Status(status), parts)
    if outcome is None:
        return None
    new_status, code = outcome
    moved = _set_status(
        db, message_id, new_status, at, error_code=code, done=done, only_from=(Status.SENT,)
    )
    return None if moved is None else new_status


def _apply_report(
    db: sqlite3.Connection,
    report_id: int,
    *,
    message_id: int,
    sid: str,
    sequence: int,
    outcome: PartReport,
    at: datetime,
) -> Status | None:
    """Record what report ``report_id`` says of part ``sequence``; settle the message."""
    db.execute(
        "UPDATE segments SET delivery = ?, report_status = "
        "(SELECT status FROM status_reports WHERE id = ?), error_code = ?, "
        "done_date = coalesce(?, done_date), reported_at = ? "
        "WHERE message_id = ? AND sequence = ?",
        (
            outcome.delivery.value,
            report_id,
            outcome.error_code,
            outcome.done_date,
            to_micros(at),
            message_id,
            sequence,
        ),
    )
    db.execute(
        "UPDATE status_reports SET matched_sid = ?, matched_sequence = ? WHERE id = ?",
        (sid, sequence, report_id),
    )
    db.execute("UPDATE messages SET date_updated = ? WHERE id = ?", (to_micros(at), message_id))
    return _settle(db, message_id, at, outcome.done_date)


def _match_early_report(
    db: sqlite3.Connection,
    message_id: int,
    *,
    message: Message,
    sequence: int,
    reference: int,
    sent_at: datetime,
) -> None:
    """A report taken before the part it is for was committed as sent (the modem announced
    it between the ``+CMGS`` answer and the commit): match it now."""
    since = sent_at - timedelta(seconds=EARLY_REPORT_SLACK)
    rows = db.execute(
        "SELECT id, recipient, status, done_date, received_at FROM status_reports "
        "WHERE modem = ? AND reference = ? AND matched_sid IS NULL AND received_at >= ? "
        "ORDER BY id",
        (message.modem, reference, to_micros(since)),
    ).fetchall()
    for report_id, recipient, status, done, received_at in rows:
        if same_recipient(message.to, recipient):
            outcome = part_report(status)
            outcome = PartReport(outcome.delivery, outcome.error_code, done)
            _apply_report(
                db,
                report_id,
                message_id=message_id,
                sid=message.sid,
                sequence=sequence,
                outcome=outcome,
                at=from_micros(received_at) or sent_at,
            )
            return


_NUMBER_COLUMNS: Final = (
    "number, sid, account_sid, friendly_name, sms_url, sms_method, sms_fallback_url, "
    "sms_fallback_method, status_callback, api_updated, date_created, date_updated"
)


def _phone_number(row: Sequence[Any]) -> PhoneNumber:
    return PhoneNumber(
        number=row[0],
        sid=row[1],
        account_sid=row[2],
        friendly_name=row[3],
        sms_url=row[4],
        sms_method=row[5],
        sms_fallback_url=row[6],
        sms_fallback_method=row[7],
        status_callback=row[8],
        api_updated=bool(row[9]),
        date_created=_EPOCH + timedelta(microseconds=row[10]),
        date_updated=_EPOCH + timedelta(microseconds=row[11]),
    )


def _latest_done_date(db: sqlite3.Connection, message_id: int) -> str | None:
    row = db.execute(
        "SELECT done_date FROM segments WHERE message_id = ? AND done_date IS NOT NULL "
        "ORDER BY reported_at DESC LIMIT 1",
        (message_id,),
    ).fetchone()
    return None if row is None else str(row[0])


def _insert_webhook(db: sqlite3.Connection, webhook: Webhook, at: datetime) -> None:
    now = to_micros(at)
    db.execute(
        "INSERT INTO webhooks (account_sid, message_sid, kind, url, method, fallback_url, "
        "fallback_method, params, attempts, next_attempt_at, state, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'pending', ?, ?)",
        (
            webhook.account_sid,
            webhook.message_sid,
            webhook.kind,
            webhook.url,
            webhook.method,
            webhook.fallback_url,
            webhook.fallback_method,
            json.dumps(webhook.params),
            now,
            now,
            now,
        ),
    )


def _part(row: Sequence[Any]) -> InboundPart:
    return InboundPart(
        key=row[0],
        modem=row[1],
        recipient=row[2],
        sender=row[3],
        group=row[4],
        sequence=row[5],
        total=row[6],
        text=bytes(row[7]).decode("utf-16-be", "surrogatepass"),
        pdu=row[8],
        received_at=_EPOCH + timedelta(microseconds=row[9]),
    )


_PART_COLUMNS: Final = (
    "key, modem, recipient, sender, group_key, sequence, total, text, pdu, received_at"
)


def _resolve(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in results:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


class _Worker:
    """A thread that owns one connection and runs jobs for the event loop.

    With ``batch``, the jobs waiting when a transaction starts share it and its commit. Jobs
    submitted in one turn of the event loop are handed over together: the thread, woken by
    the first one alone, would otherwise commit it on its own.
    """

    def __init__(self, path: Path, name: str, *, batch: bool) -> None:
        self._path = path
        self._batch = batch
        self._queue: queue.SimpleQueue[list[_Item] | None] = queue.SimpleQueue()
        self._pending: list[_Item] = []  # submitted this turn of the loop, not yet handed over
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise StoreError(f"cannot open {self._path}: {self._failure}") from self._failure

    def submit(self, job: Job) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._batch:
            self._queue.put([(job, future, loop)])
            return future
        if not self._pending:
            loop.call_soon(self._hand_over)
        self._pending.append((job, future, loop))
        return future

    def _hand_over(self) -> None:
        if self._pending:
            items, self._pending = self._pending, []
            self._queue.put(items)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._hand_over()
            self._queue.put(None)
            self._thread.join()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is synced at every commit, so a committed write survives a power cut.
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 5000")
        # A small page cache (512 KiB, not SQLite's 2 MB) per connection: the gateway's reads
        # are recent rows, and the kernel's page cache holds the file anyway. It keeps the
        # process's memory from growing with the database.
        connection.execute("PRAGMA cache_size = -512")
        return connection

    def _run(self) -> None:
        try:
            connection = self._connect()
        except sqlite3.Error as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while (handed := self._queue.get()) is not None:
                items = list(handed)
                stop = False
                while self._batch and not stop:
                    try:
                        extra = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if extra is None:
                        stop = True
                    else:
                        items.extend(extra)
                self._execute(connection, items)
                if stop:
                    break
        finally:
            connection.close()

    def _execute(self, connection: sqlite3.Connection, items: list[_Item]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        if not self._batch:
            for job, future, _ in items:
                try:
                    outcomes.append((future, job(connection), None))
                except Exception as exc:
                    outcomes.append((future, None, exc))
        else:
            outcomes = self._transaction(connection, items)
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for (_, _, loop), outcome in zip(items, outcomes, strict=True):
            by_loop.setdefault(loop, []).append(outcome)
        for loop, results in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
                loop.call_soon_threadsafe(_resolve, results)

    @staticmethod
    def _transaction(
        connection: sqlite3.Connection, items: list[_Item]
    ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for job, future, _ in items:
                connection.execute("SAVEPOINT job")
                try:
                    outcomes.append((future, job(connection), None))
                    connection.execute("RELEASE job")
                except Exception as exc:  # this job only: the others still commit
                    connection.execute("ROLLBACK TO job")
                    connection.execute("RELEASE job")
                    outcomes.append((future, None, exc))
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            failure = StoreError(f"the database could not commit: {exc}")
            return [(future, None, failure) for _, future, _ in items]
        return outcomes


class SqliteStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DATABASE_NAME
        self._writer = _Worker(self.path, "store-writer", batch=True)
        self._reader = _Worker(self.path, "store-reader", batch=False)
        self._open = False

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path.parent}: {exc.strerror}") from exc
        self._writer.start()
        self._open = True
        await self._write(_migrate)
        self._reader.start()

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
        await self._write(lambda db: _insert_outbound(db, message, segments))

    async def get_message(self, account_sid: str, sid: str) -> Message | None:
        def job(db: sqlite3.Connection) -> Message | None:
            row = db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE sid = ? AND account_sid = ?",
                (sid, account_sid),
            ).fetchone()
            return None if row is None else _message(row)

        return await self._read(job)

    async def list_messages(
        self, account_sid: str, query: MessageQuery
    ) -> tuple[list[Message], bool]:
        where = ["account_sid = ?"]
        values: list[Any] = [account_sid]
        if query.to is not None:
            where.append("to_number = ?")
            values.append(query.to)
        if query.from_ is not None:
            where.append("from_number = ?")
            values.append(query.from_)
        if query.sent_on is not None:
            start = datetime.combine(query.sent_on, time(), UTC)
            where.append("date_sent >= ? AND date_sent < ?")
            values += [to_micros(start), to_micros(start) + _DAY_MICROS]
        if query.sent_at_or_before is not None:
            where.append("date_sent <= ?")
            values.append(to_micros(query.sent_at_or_before))
        if query.sent_at_or_after is not None:
            where.append("date_sent >= ?")
            values.append(to_micros(query.sent_at_or_after))
        order = "DESC"
        if query.after_sid is not None:
            where.append(f"id < {_POSITION}")
            values += [query.after_sid, query.after_sid]
        if query.before_sid is not None:
            where.append(f"id > {_POSITION}")
            values += [query.before_sid, query.before_sid]
            order = "ASC"  # the page just newer than the token, then turned newest first
        sql = (
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {' AND '.join(where)} "
            f"ORDER BY id {order} LIMIT ?"
        )
        values.append(query.page_size + 1)

        def job(db: sqlite3.Connection) -> tuple[list[Message], bool]:
            rows = [_message(row) for row in db.execute(sql, values)]
            more = len(rows) > query.page_size
            rows = rows[: query.page_size]
            return (list(reversed(rows)) if order == "ASC" else rows), more

        return await self._read(job)

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
                f"SELECT id, {_MESSAGE_COLUMNS} FROM messages WHERE modem = ? "
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
                work.append(OutboundWork(_message(row[1:]), segments))
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
            loaded = _load(db, "sid = ?", sid)
            if loaded is None:
                return False
            moved = _set_status(db, loaded[0], status, at, error_code=error_code, only_from=_UNSENT)
            return moved is not None

        return await self._write(job)

    async def record_part_sent(
        self, sid: str, sequence: int, reference: int | None, at: datetime
    ) -> None:
        def job(db: sqlite3.Connection) -> None:
            loaded = _load(db, "sid = ?", sid)
            if loaded is None:
                return
            message_id, message = loaded
            db.execute(
                "UPDATE segments SET reference = ?, sent_at = ? WHERE message_id = ? "
                "AND sequence = ?",
                (reference, to_micros(at), message_id, sequence),
            )
            if reference is not None and message.modem is not None:
                _match_early_report(
                    db,
                    message_id,
                    message=message,
                    sequence=sequence,
                    reference=reference,
                    sent_at=at,
                )

        await self._write(job)

    async def message_sent(
        self, sid: str, at: datetime, price: str | None = None, price_unit: str | None = None
    ) -> Status | None:
        def job(db: sqlite3.Connection) -> Status | None:
            loaded = _load(db, "sid = ?", sid)
            if loaded is None:
                return None
            message_id, message = loaded
            moved = _set_status(
                db,
                message_id,
                Status.SENT,
                at,
                only_from=_UNSENT,
                extra=", date_sent = ?, price = ?, price_unit = ?",
                values=(to_micros(at), price, price_unit or message.price_unit),
            )
            if moved is None:
                return None
            # Reports may have come for its first parts while the last was being sent.
            done = _latest_done_date(db, message_id)
            return _settle(db, message_id, at, done) or Status.SENT

        return await self._write(job)

    async def expire_unsent(self, now: datetime) -> list[str]:
        def job(db: sqlite3.Connection) -> list[str]:
            rows = [
                row
                for where in (_UNSENT_WHERE, *_WAITING_WHERES)
                for row in db.execute(
                    f"SELECT id, sid FROM messages WHERE {where} AND expires_at <= ?",
                    (to_micros(now),),
                ).fetchall()
            ]
            expired = []
            for message_id, sid in rows:
                if _set_status(
                    db,
                    message_id,
                    Status.FAILED,
                    now,
                    error_code=30036,
                    only_from=(*_UNSENT, Status.ACCEPTED, Status.SCHEDULED),
                ):
                    expired.append(sid)
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
                f"INSERT OR IGNORE INTO inbound_parts ({_PART_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                ),
            )
            return cursor.rowcount == 1

        return await self._write(job)

    async def group_parts(self, group: str) -> tuple[list[InboundPart], bool]:
        def job(db: sqlite3.Connection) -> tuple[list[InboundPart], bool]:
            waiting = [
                _part(row)
                for row in db.execute(
                    f"SELECT {_PART_COLUMNS} FROM inbound_parts "
                    "WHERE group_key = ? AND message_sid IS NULL ORDER BY sequence, id",
                    (group,),
                )
            ]
            closed = db.execute(
                "SELECT 1 FROM inbound_parts WHERE group_key = ? AND message_sid IS NOT NULL "
                "LIMIT 1",
                (group,),
            ).fetchone()
            return waiting, closed is not None

        return await self._write(job)

    async def receive_message(
        self, message: Message, part_keys: Sequence[str], webhook: Webhook | None
    ) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            keys = list(part_keys)
            marks = ", ".join("?" * len(keys))
            (waiting,) = db.execute(
                f"SELECT count(*) FROM inbound_parts WHERE key IN ({marks}) "
                "AND message_sid IS NULL",
                keys,
            ).fetchone()
            if waiting != len(set(keys)):
                return False  # a part is in a message already: nothing is written
            _insert_message(db, message)
            db.executemany(
                "UPDATE inbound_parts SET message_sid = ? WHERE key = ?",
                [(message.sid, key) for key in keys],
            )
            if webhook is not None:
                _insert_webhook(db, webhook, message.date_created)
            return True

        return await self._write(job)

    async def expired_groups(self, received_before: datetime) -> list[str]:
        def job(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT group_key FROM inbound_parts WHERE message_sid IS NULL "
                "AND group_key IS NOT NULL GROUP BY group_key HAVING min(received_at) < ? "
                "ORDER BY min(received_at)",
                (to_micros(received_before),),
            )
            return [str(row[0]) for row in rows]

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
                f"SELECT {_PART_COLUMNS} FROM inbound_parts WHERE message_sid IS NULL ORDER BY id"
            )
            return [_part(row) for row in rows]

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
                    status = _apply_report(
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
        await self._write(lambda db: _insert_webhook(db, webhook, at))

    async def due_webhooks(self, now: datetime, limit: int = 32) -> list[Webhook]:
        def job(db: sqlite3.Connection) -> list[Webhook]:
            # In order per message: a webhook waits while an older one of its message is
            # still pending (a status callback never overtakes the previous one).
            rows = db.execute(
                "SELECT id, account_sid, message_sid, kind, url, method, fallback_url, "
                "fallback_method, params, attempts FROM webhooks w "
                "WHERE state = 'pending' AND next_attempt_at <= ? AND NOT EXISTS ("
                "SELECT 1 FROM webhooks o WHERE o.state = 'pending' "
                "AND o.message_sid = w.message_sid AND o.id < w.id) "
                "ORDER BY next_attempt_at, id LIMIT ?",
                (to_micros(now), limit),
            )
            return [
                Webhook(
                    id=row[0],
                    account_sid=row[1],
                    message_sid=row[2],
                    kind=row[3],
                    url=row[4],
                    method=row[5],
                    fallback_url=row[6],
                    fallback_method=row[7],
                    params=tuple((name, value) for name, value in json.loads(row[8])),
                    attempts=row[9],
                )
                for row in rows
            ]

        return await self._write(job)

    async def next_webhook_at(self) -> datetime | None:
        def job(db: sqlite3.Connection) -> datetime | None:
            # Only webhooks due_webhooks() would give: one waiting behind an older pending
            # webhook of its message is not due whatever its time says.
            (value,) = db.execute(
                "SELECT min(next_attempt_at) FROM webhooks w WHERE state = 'pending' "
                "AND NOT EXISTS (SELECT 1 FROM webhooks o WHERE o.state = 'pending' "
                "AND o.message_sid = w.message_sid AND o.id < w.id)"
            ).fetchone()
            return from_micros(value)

        return await self._write(job)

    async def webhook_delivered(
        self, webhook_id: int, at: datetime, replies: Sequence[NewMessage] = ()
    ) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE webhooks SET state = 'delivered', updated_at = ? WHERE id = ?",
                (to_micros(at), webhook_id),
            )
            for reply in replies:
                _insert_outbound(db, reply.message, reply.segments)

        await self._write(job)

    async def webhook_retry(
        self, webhook_id: int, attempts: int, next_attempt: datetime, error: str, at: datetime
    ) -> None:
        await self._set_webhook(
            webhook_id,
            "attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ?",
            (attempts, to_micros(next_attempt), error, to_micros(at)),
        )

    async def webhook_failed(
        self, webhook_id: int, attempts: int, error: str, at: datetime
    ) -> None:
        await self._set_webhook(
            webhook_id,
            "state = 'failed', attempts = ?, last_error = ?, updated_at = ?",
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
                    updated_at=_EPOCH + timedelta(microseconds=row[7]),
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
            loaded = _load(db, "sid = ? AND account_sid = ?", (sid, account_sid))
            if loaded is None:
                return None
            message_id, _ = loaded
            # The text is gone everywhere it was kept: the message, the PDUs of its parts
            # (sent or not: only a final message is redacted, nothing of it is still to go),
            # the parts it was received in, and its webhooks' parameters.
            db.execute(
                "UPDATE messages SET body = '', date_updated = ? WHERE id = ?",
                (to_micros(at), message_id),
            )
            db.execute("UPDATE segments SET pdu = '' WHERE message_id = ?", (message_id,))
            db.execute("DELETE FROM inbound_parts WHERE message_sid = ?", (sid,))
            for webhook_id, params in db.execute(
                "SELECT id, params FROM webhooks WHERE message_sid = ?", (sid,)
            ).fetchall():
                blanked = [
                    (name, "" if name == "Body" else value) for name, value in json.loads(params)
                ]
                db.execute(
                    "UPDATE webhooks SET params = ? WHERE id = ?", (json.dumps(blanked), webhook_id)
                )
            reloaded = _load(db, "id = ?", (message_id,))
            return None if reloaded is None else reloaded[1]

        return await self._write(job)

    async def cancel(self, account_sid: str, sid: str, at: datetime) -> Message | None:
        def job(db: sqlite3.Connection) -> Message | None:
            loaded = _load(db, "sid = ? AND account_sid = ?", (sid, account_sid))
            if loaded is None:
                return None
            message_id, message = loaded
            moved = _set_status(
                db, message_id, Status.CANCELED, at, only_from=(Status.SCHEDULED, Status.ACCEPTED)
            )
            return moved or message

        return await self._write(job)

    async def delete_message(self, account_sid: str, sid: str) -> Message | None:
        def job(db: sqlite3.Connection) -> Message | None:
            loaded = _load(db, "sid = ? AND account_sid = ?", (sid, account_sid))
            if loaded is None:
                return None
            message_id, message = loaded
            if message.status not in FINAL_STATUSES:
                return message
            db.execute("DELETE FROM webhooks WHERE message_sid = ?", (sid,))
            db.execute("DELETE FROM inbound_parts WHERE message_sid = ?", (sid,))
            db.execute(
                "UPDATE status_reports SET matched_sid = NULL, matched_sequence = NULL "
                "WHERE matched_sid = ?",
                (sid,),
            )
            db.execute("DELETE FROM messages WHERE id = ?", (message_id,))  # segments cascade
            db.execute(
                "INSERT OR REPLACE INTO deleted_messages (sid, id) VALUES (?, ?)", (sid, message_id)
            )
            return message

        return await self._write(job)

    # --- Messaging Services and scheduled messages -------------------------------------------

    async def waiting_for_sender(self, now: datetime, limit: int = 64) -> list[Message]:
        def job(db: sqlite3.Connection) -> list[Message]:
            rows = db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE status = 'accepted' "
                "UNION ALL "
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE status = 'scheduled' "
                "AND send_at <= ? LIMIT ?",
                (to_micros(now), limit),
            ).fetchall()
            return sorted((_message(row) for row in rows), key=lambda m: m.date_created)

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
            loaded = _load(db, "sid = ?", (message.sid,))
            if loaded is None:
                return False
            message_id, current = loaded
            unsent = current.status in (Status.ACCEPTED, Status.SCHEDULED) or (
                current.status is Status.QUEUED
                and not db.execute(
                    "SELECT 1 FROM segments WHERE message_id = ? AND sent_at IS NOT NULL",
                    (message_id,),
                ).fetchone()
            )
            if not unsent:
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
            moved = _set_status(
                db,
                message_id,
                Status.QUEUED,
                at,
                extra=", from_number = ?, modem = ?, num_segments = ?, body = ?, "
                "next_attempt_at = 0",
                values=(message.from_, message.modem, message.num_segments, message.body),
                report=current.status is not Status.QUEUED,  # "queued" was reported once
            )
            return moved is not None

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
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE modem = ? "
                f"AND status = 'queued' AND messaging_service_sid IN ({marks}) "
                "AND NOT EXISTS (SELECT 1 FROM segments WHERE message_id = messages.id "
                "AND sent_at IS NOT NULL) ORDER BY id",
                (modem, *service_sids),
            ).fetchall()
            return [_message(row) for row in rows]

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
                _phone_number(row)
                for row in db.execute(f"SELECT {_NUMBER_COLUMNS} FROM phone_numbers ORDER BY rowid")
            ]

        return await self._read(job)

    async def save_phone_number(self, number: PhoneNumber) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(
                f"INSERT OR REPLACE INTO phone_numbers ({_NUMBER_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                ),
            )

        await self._write(job)

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
