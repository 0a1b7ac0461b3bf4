"""What the SQLite store keeps of one message, read in one go (:meth:`Store.message_trail`)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from gateway.domain.attempt_log import attempts_of
from gateway.store.queries import MessageTrail, PartTrail, ReceivedPart, WebhookTrail
from gateway.store.sqlite.rows import (
    EPOCH,
    MESSAGE_COLUMNS,
    WEBHOOK_COLUMNS,
    from_micros,
    message_row,
    webhook_row,
)


def read_trail(db: sqlite3.Connection, sid: str) -> MessageTrail | None:
    row = db.execute(
        f"SELECT id, attempts, {MESSAGE_COLUMNS} FROM messages WHERE sid = ?", (sid,)
    ).fetchone()
    if row is None:
        return None
    parts = tuple(
        PartTrail(
            sequence,
            pdu,
            reference,
            from_micros(sent_at),
            delivery,
            report_status,
            from_micros(claimed_at),
            from_micros(reported_at),
            done_date,
            error_code,
        )
        for (
            sequence,
            pdu,
            reference,
            sent_at,
            delivery,
            report_status,
            claimed_at,
            reported_at,
            done_date,
            error_code,
        ) in db.execute(
            "SELECT sequence, pdu, reference, sent_at, delivery, report_status, claimed_at, "
            "reported_at, done_date, error_code FROM segments WHERE message_id = ? "
            "ORDER BY sequence",
            (row[0],),
        )
    )
    webhooks = []
    webhook_trails = []
    for webhook_columns in db.execute(
        f"SELECT {WEBHOOK_COLUMNS}, state, last_error, created_at, updated_at, attempt_log "
        "FROM webhooks WHERE message_sid = ? ORDER BY id",
        (sid,),
    ):
        webhook = webhook_row(webhook_columns)
        state, last_error, created_at, updated_at, log = webhook_columns[-5:]
        webhooks.append(webhook)
        webhook_trails.append(
            WebhookTrail(
                webhook,
                state,
                last_error,
                from_micros(webhook_columns[-6]) if state == "pending" else None,
                EPOCH + timedelta(microseconds=created_at),
                EPOCH + timedelta(microseconds=updated_at),
                attempts_of(log),
            )
        )
    # UTF-16-BE, as the parts are kept: a part may end in half a surrogate pair.
    received_parts = tuple(
        ReceivedPart(
            sequence,
            bytes(text).decode("utf-16-be", "surrogatepass"),
            pdu,
            EPOCH + timedelta(microseconds=received_at),
        )
        for sequence, text, pdu, received_at in db.execute(
            "SELECT sequence, text, pdu, received_at FROM inbound_parts WHERE message_sid = ? "
            "ORDER BY sequence, id",
            (sid,),
        )
    )
    return MessageTrail(
        message_row(row[2:]),
        row[1],
        parts,
        tuple(webhooks),
        tuple(part.text for part in received_parts),
        tuple(webhook_trails),
        received_parts,
    )
