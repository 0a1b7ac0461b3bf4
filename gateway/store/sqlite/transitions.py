"""Status changes inside a transaction: the store reads what a rule of
:mod:`gateway.domain.lifecycle` needs, and applies the :class:`Transition` it returns, with the
webhooks it queues; delivery reports are recorded on the part they are for
(:mod:`gateway.domain.delivery`) and the message settled by the same rules."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

from gateway.domain import lifecycle
from gateway.domain.delivery import (
    EARLY_REPORT_SLACK,
    Delivery,
    PartReport,
    PartState,
    part_report,
    same_recipient,
)
from gateway.domain.lifecycle import Transition
from gateway.domain.models import Message, Segment, Status
from gateway.domain.records import Application
from gateway.store.sqlite.numbers import find_application
from gateway.store.sqlite.rows import (
    MESSAGE_NAMES,
    from_micros,
    insert_message,
    insert_webhook,
    load_message,
    message_values,
    to_micros,
)

_NOTHING: Final[Mapping[str, object]] = MappingProxyType({})


def insert_outbound(db: sqlite3.Connection, message: Message, segments: Sequence[Segment]) -> None:
    message_id = insert_message(db, message)
    db.executemany(
        "INSERT INTO segments (message_id, sequence, pdu, tpdu_length, concat_reference) "
        "VALUES (?, ?, ?, ?, ?)",
        [(message_id, s.sequence, s.pdu, s.tpdu_length, s.concat_reference) for s in segments],
    )
    for webhook in lifecycle.created(message, application_of(db, message)):
        insert_webhook(db, webhook, message.date_created)


def application_of(db: sqlite3.Connection, message: Message) -> Application | None:
    """The application ``message`` was sent with, as it is now (its callback goes there)."""
    if message.application_sid is None:
        return None
    return find_application(db, message.account_sid, message.application_sid)


def apply(
    db: sqlite3.Connection,
    message_id: int,
    transition: Transition | None,
    *,
    queue: Mapping[str, object] = _NOTHING,
) -> Message | None:
    """Commit ``transition`` of message ``message_id`` (``None``: the rule left it as it is),
    only if the message still has the status it was decided from: the fields that change (and
    ``queue``, columns of the store's own, in the same statement), what its retention erases or
    masks elsewhere, and its webhooks. Returns the message as it now stands, ``None`` if nothing
    was written."""
    if transition is None:
        return None
    before, after = transition.before, transition.after
    changes = [
        (name, value)
        for name, old, value in zip(
            MESSAGE_NAMES, message_values(before), message_values(after), strict=True
        )
        if value != old and name != "date_updated"
    ]
    changes += queue.items()
    cursor = db.execute(
        f"UPDATE messages SET date_updated = ?{''.join(f', {name} = ?' for name, _ in changes)} "
        "WHERE id = ? AND status = ?",
        (
            to_micros(after.date_updated),
            *(value for _, value in changes),
            message_id,
            before.status.value,
        ),
    )
    if cursor.rowcount != 1:
        return None
    if transition.erase_text:
        db.execute("UPDATE segments SET pdu = '' WHERE message_id = ?", (message_id,))
        db.execute("DELETE FROM inbound_parts WHERE message_sid = ?", (after.sid,))
    if params := transition.webhook_params:
        _replace_params(db, after.sid, params)
    for webhook in transition.webhooks:
        insert_webhook(db, webhook, after.date_updated)
    return after


def _replace_params(db: sqlite3.Connection, sid: str, params: dict[str, str]) -> None:
    """Every webhook of message ``sid``, queued or sent, with ``params`` for those it has."""
    for webhook_id, stored in db.execute(
        "SELECT id, params FROM webhooks WHERE message_sid = ?", (sid,)
    ).fetchall():
        pairs = [(key, params.get(key, old)) for key, old in json.loads(stored)]
        db.execute("UPDATE webhooks SET params = ? WHERE id = ?", (json.dumps(pairs), webhook_id))


def settle_message(
    db: sqlite3.Connection,
    message_id: int,
    message: Message,
    at: datetime,
    done: str | None,
    *,
    application: Application | None,
) -> Message | None:
    """After a report or the last part sent: the status its parts' reports now give
    ``message`` (:func:`lifecycle.settled`), committed; ``None`` if it stays."""
    parts = [
        PartState(sequence, None if delivery is None else Delivery(delivery), code)
        for sequence, delivery, code in db.execute(
            "SELECT sequence, delivery, error_code FROM segments WHERE message_id = ?",
            (message_id,),
        )
    ]
    transition = lifecycle.settled(message, parts, at, done, application=application)
    return apply(db, message_id, transition)


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
    loaded = load_message(db, "id = ?", message_id)
    assert loaded is not None
    message = loaded[1]
    application = application_of(db, message)
    settled = settle_message(
        db, message_id, message, at, outcome.done_date, application=application
    )
    return None if settled is None else settled.status


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
