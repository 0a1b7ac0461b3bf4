"""What the SQLite store keeps of one message, read in one go (:meth:`Store.message_trail`)."""

from __future__ import annotations

import sqlite3

from gateway.store.queries import MessageTrail, PartTrail
from gateway.store.sqlite.rows import (
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
        PartTrail(sequence, pdu, reference, from_micros(sent_at), delivery, report_status)
        for sequence, pdu, reference, sent_at, delivery, report_status in db.execute(
            "SELECT sequence, pdu, reference, sent_at, delivery, report_status FROM segments "
            "WHERE message_id = ? ORDER BY sequence",
            (row[0],),
        )
    )
    webhooks = tuple(
        webhook_row(webhook)
        for webhook in db.execute(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE message_sid = ? ORDER BY id", (sid,)
        )
    )
    # UTF-16-BE, as the parts are kept: a part may end in half a surrogate pair.
    received = tuple(
        bytes(text).decode("utf-16-be", "surrogatepass")
        for (text,) in db.execute(
            "SELECT text FROM inbound_parts WHERE message_sid = ? ORDER BY sequence, id", (sid,)
        )
    )
    return MessageTrail(message_row(row[2:]), row[1], parts, webhooks, received)
