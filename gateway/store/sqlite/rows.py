"""Rows and the Message resource: how the store's tables map to the gateway's dataclasses.

Times are integer microseconds since the Unix epoch, UTC (see :mod:`gateway.store.sqlite.schema`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from gateway.domain.models import FINAL_STATUSES, Direction, Message, Status
from gateway.domain.records import InboundPart, PhoneNumber, Webhook, new_webhook_token

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MESSAGE_COLUMNS: Final = (
    "sid, account_sid, direction, status, to_number, from_number, body, num_segments, "
    "num_media, error_code, error_message, price, price_unit, messaging_service_sid, "
    "date_created, date_updated, date_sent, status_callback, modem, validity_period, "
    "max_price, expires_at, send_at, content_retention, address_retention, application_sid, "
    "provide_feedback, sender_pinned"
)
MESSAGE_NAMES: Final = tuple(name.strip() for name in MESSAGE_COLUMNS.split(","))


# The list clock's value (schema migration 14): the last id or listed_seq given, or the id of
# the newest message if it was deleted.
LIST_CLOCK: Final = (
    "SELECT max(value, coalesce((SELECT max(id) FROM messages), 0)) FROM list_clock WHERE id = 1"
)


def to_micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


def message_row(row: Sequence[Any]) -> Message:
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
        date_created=EPOCH + timedelta(microseconds=row[14]),
        date_updated=EPOCH + timedelta(microseconds=row[15]),
        date_sent=from_micros(row[16]),
        status_callback=row[17],
        modem=row[18],
        validity_period=row[19],
        max_price=row[20],
        expires_at=from_micros(row[21]),
        send_at=from_micros(row[22]),
        content_retention=row[23],
        address_retention=row[24],
        application_sid=row[25],
        provide_feedback=bool(row[26]),
        sender_pinned=bool(row[27]),
    )


_INSERT_MESSAGE: Final = (
    f"INSERT INTO messages (id, {MESSAGE_COLUMNS}, listed_at) "
    f"VALUES (({LIST_CLOCK}) + 1, {', '.join('?' * len(MESSAGE_NAMES))}, ?)"
)


def message_values(message: Message) -> tuple[Any, ...]:
    """``message``'s columns (:data:`MESSAGE_COLUMNS`, in order) as the table keeps them."""
    return (
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
        message.content_retention,
        message.address_retention,
        message.application_sid,
        int(message.provide_feedback),
        int(message.sender_pinned),
    )


def insert_message(db: sqlite3.Connection, message: Message) -> int:
    """Insert ``message``; returns its id. Every message is inserted here: its id is the list
    clock's next value (schema migration 14), never one a message had before, so that a page
    token knows the messages that came after its first page by their id alone."""
    cursor = db.execute(
        _INSERT_MESSAGE,
        (
            *message_values(message),
            None if (listed := listed_at(message)) is None else to_micros(listed),
        ),
    )
    return int(cursor.lastrowid or 0)


def listed_at(message: Message) -> datetime | None:
    """Where a new message stands in the list (schema migration 14, whose triggers keep it
    after): its DateSent; for one inserted final without one, when it ended; ``None`` while
    it waits to be sent."""
    if message.date_sent is not None:
        return message.date_sent
    return message.date_updated if message.status in FINAL_STATUSES else None


def load_message(db: sqlite3.Connection, where: str, value: Any) -> tuple[int, Message] | None:
    values = value if isinstance(value, tuple) else (value,)
    row = db.execute(f"SELECT id, {MESSAGE_COLUMNS} FROM messages WHERE {where}", values).fetchone()
    return None if row is None else (int(row[0]), message_row(row[1:]))


NUMBER_COLUMNS: Final = (
    "number, sid, account_sid, friendly_name, sms_url, sms_method, sms_fallback_url, "
    "sms_fallback_method, status_callback, api_updated, date_created, date_updated, "
    "sms_application_sid, voice_url, voice_method, voice_fallback_url, voice_fallback_method"
)


def phone_number_row(row: Sequence[Any]) -> PhoneNumber:
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
        date_created=EPOCH + timedelta(microseconds=row[10]),
        date_updated=EPOCH + timedelta(microseconds=row[11]),
        sms_application_sid=row[12],
        voice_url=row[13],
        voice_method=row[14],
        voice_fallback_url=row[15],
        voice_fallback_method=row[16],
    )


def insert_webhook(db: sqlite3.Connection, webhook: Webhook, at: datetime) -> None:
    now = to_micros(at)
    db.execute(
        "INSERT INTO webhooks (account_sid, message_sid, kind, url, method, fallback_url, "
        "fallback_method, params, attempts, next_attempt_at, state, created_at, updated_at, "
        "destination, use_fallback, token) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'pending', ?, ?, ?, ?, ?)",
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
            webhook.destination,
            int(webhook.use_fallback),
            webhook.token or new_webhook_token(),
        ),
    )


WEBHOOK_COLUMNS: Final = (
    "id, account_sid, message_sid, kind, url, method, fallback_url, fallback_method, params, "
    "attempts, token, use_fallback, next_attempt_at"
)


def webhook_row(row: Sequence[Any]) -> Webhook:
    return Webhook(
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
        token=row[10] or "",
        use_fallback=bool(row[11]),
    )


def part_row(row: Sequence[Any]) -> InboundPart:
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
        received_at=EPOCH + timedelta(microseconds=row[9]),
        generation=row[10],
    )


PART_COLUMNS: Final = (
    "key, modem, recipient, sender, group_key, sequence, total, text, pdu, received_at, generation"
)
