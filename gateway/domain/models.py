"""Messages, statuses, SIDs and phone numbers, as the Twilio Message resource defines them."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

API_VERSION: Final = "2010-04-01"
MAX_BODY_CHARS: Final = 1600  # Twilio's limit on Body, counted in characters


class Status(StrEnum):
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    CANCELED = "canceled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    RECEIVING = "receiving"
    RECEIVED = "received"


FINAL_STATUSES: Final = frozenset(
    {
        Status.CANCELED,
        Status.SENT,
        Status.FAILED,
        Status.DELIVERED,
        Status.UNDELIVERED,
        Status.RECEIVED,
    }
)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND_API = "outbound-api"
    OUTBOUND_CALL = "outbound-call"
    OUTBOUND_REPLY = "outbound-reply"


# Twilio's error messages for the post-acceptance codes (Message resource appendix).
ERROR_MESSAGES: Final = {
    30001: "Queue overflow",
    30002: "Account suspended",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Carrier violation",
    30008: "Unknown error",
    30009: "Missing segment",
    30010: "Message price exceeds max price.",
    30036: "Validity Period Expired",
}

_SID: Final = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def new_sid(prefix: str) -> str:
    """Two letters and 32 lower-case hex digits, as Twilio makes them."""
    return prefix + secrets.token_hex(16)


def is_sid(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and _SID.match(value) is not None


@dataclass(frozen=True, slots=True)
class Message:
    """A Message resource with everything Twilio shows and what the gateway keeps beside it."""

    sid: str
    account_sid: str
    direction: Direction
    status: Status
    to: str
    from_: str | None
    body: str
    num_segments: int
    num_media: int
    error_code: int | None
    error_message: str | None
    price: str | None
    price_unit: str
    messaging_service_sid: str | None
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None
    status_callback: str | None = None
    modem: str | None = None
    validity_period: int | None = None
    max_price: str | None = None  # MaxPrice, checked before the message is sent
    expires_at: datetime | None = None  # not sent by then: failed, 30036 (ValidityPeriod)
    send_at: datetime | None = None  # a scheduled message (ScheduleType=fixed)
    content_retention: str | None = None  # "discard": the text is not kept once sent
    address_retention: str | None = None  # "obfuscate": the recipient kept masked once final
    # ApplicationSid: its application's message status callback gets the status callbacks.
    application_sid: str | None = None
    provide_feedback: bool = False  # ProvideFeedback=true: its Feedback may be created
    # A Messaging Service message whose From was given: sent from that number, never moved to
    # another of the pool (gateway.outbound.routing).
    sender_pinned: bool = False


@dataclass(frozen=True, slots=True)
class Segment:
    """One SMS part of an outbound message: its PDU, and what the modem said of it."""

    sequence: int
    pdu: str
    tpdu_length: int
    reference: int | None = None  # TP-MR once the modem accepted the part
    sent_at: datetime | None = None
    concat_reference: int | None = None  # shared by the parts of a concatenated message


def obfuscate(number: str) -> str:
    """A number as AddressRetention=obfuscate keeps it: enough to tell a country and a
    handset's last digits apart, not enough to reach it (``+4477XXXXXX23``)."""
    head = 5 if number.startswith("+") else 4
    if len(number) <= head + 2:
        return "X" * len(number)
    return number[:head] + "X" * (len(number) - head - 2) + number[-2:]
