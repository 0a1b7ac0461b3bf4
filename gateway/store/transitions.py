"""Status changes inside a transaction: each one committed with the status callback that
reports it, and delivery reports applied to the part they are for
(:mod:`gateway.domain.delivery`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from gateway.domain.callbacks import status_callback
from gateway.domain.delivery import (
    Delivery,
    PartReport,
    PartState,
    part_report,
    same_recipient,
    settle,
)
from gateway.domain.models import ERROR_MESSAGES, Message, Segment, Status, obfuscate
from gateway.store.applications import find_application
from gateway.store.rows import from_micros, insert_message, insert_webhook, load_message, to_micros

# A report matched to a part committed just after it came may have been taken this long before
# the part's send was recorded (the two race between the +CMGS answer and the commit).
EARLY_REPORT_SLACK: Final = 60.0


def insert_outbound(db: sqlite3.Connection, message: Message, segments: Sequence[Segment]) -> None:
    message_id = insert_message(db, message)
    db.executemany(
        "INSERT INTO segments (message_id, sequence, pdu, tpdu_length, concat_reference) "
        "VALUES (?, ?, ?, ?, ?)",
        [(message_id, s.sequence, s.pdu, s.tpdu_length, s.concat_reference) for s in segments],
    )
    report_status(db, message, message.date_created)


def report_status(
    db: sqlite3.Connection, message: Message, at: datetime, done: str | None = None
) -> None:
    """Queue the status callback for ``message``'s (just committed) status, if it has one:
    to the application it was sent with as that application is now, if it was."""
    application = None
    if message.application_sid is not None:
        application = find_application(db, message.account_sid, message.application_sid)
    callback = status_callback(message, done, application)
    if callback is not None:
        insert_webhook(db, callback, at)


def set_status(
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
    loaded = load_message(db, "id = ?", message_id)
    assert loaded is not None
    if _apply_retention(db, message_id, loaded[1]):
        loaded = load_message(db, "id = ?", message_id)
        assert loaded is not None
    if report:
        report_status(db, loaded[1], at, done)
    return loaded[1]


# ContentRetention=discard: nothing of the text once it has gone (or will never go);
# AddressRetention=obfuscate: the recipient masked once nothing more can happen to the message
# (a delivery report is matched on the full number until then).
_TEXT_DONE: Final = frozenset(
    {Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED}
)
_ADDRESS_DONE: Final = frozenset(
    {Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED}
)


def _apply_retention(db: sqlite3.Connection, message_id: int, message: Message) -> bool:
    """The message's privacy settings, now that it reached its status; whether it changed."""
    changed = False
    if message.content_retention == "discard" and message.status in _TEXT_DONE and message.body:
        erase_text(db, message_id, message.sid)
        changed = True
    if message.address_retention == "obfuscate" and message.status in _ADDRESS_DONE:
        masked = obfuscate(message.to)
        if masked != message.to:
            db.execute("UPDATE messages SET to_number = ? WHERE id = ?", (masked, message_id))
            _replace_param(db, message.sid, "To", masked)
            changed = True
    return changed


def erase_text(db: sqlite3.Connection, message_id: int, sid: str) -> None:
    """The text of a message gone from everything that kept it: the message, the PDUs of its
    parts, the parts it was received in, and its webhooks' parameters."""
    db.execute("UPDATE messages SET body = '' WHERE id = ?", (message_id,))
    db.execute("UPDATE segments SET pdu = '' WHERE message_id = ?", (message_id,))
    db.execute("DELETE FROM inbound_parts WHERE message_sid = ?", (sid,))
    _replace_param(db, sid, "Body", "")


def _replace_param(db: sqlite3.Connection, sid: str, name: str, value: str) -> None:
    """Every webhook of message ``sid``, queued or sent, with parameter ``name`` = ``value``."""
    for webhook_id, params in db.execute(
        "SELECT id, params FROM webhooks WHERE message_sid = ?", (sid,)
    ).fetchall():
        pairs = [(key, value if key == name else old) for key, old in json.loads(params)]
        db.execute("UPDATE webhooks SET params = ? WHERE id = ?", (json.dumps(pairs), webhook_id))


def settle_message(
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
    moved = set_status(
        db, message_id, new_status, at, error_code=code, done=done, only_from=(Status.SENT,)
    )
    return None if moved is None else new_status


def apply_report(
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
    return settle_message(db, message_id, at, outcome.done_date)


def match_early_report(
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
            apply_report(
                db,
                report_id,
                message_id=message_id,
                sid=message.sid,
                sequence=sequence,
                outcome=outcome,
                at=from_micros(received_at) or sent_at,
            )
            return


def latest_done_date(db: sqlite3.Connection, message_id: int) -> str | None:
    row = db.execute(
        "SELECT done_date FROM segments WHERE message_id = ? AND done_date IS NOT NULL "
        "ORDER BY reported_at DESC LIMIT 1",
        (message_id,),
    ).fetchone()
    return None if row is None else str(row[0])
