"""The records the flows hand each other and the store keeps: an outbound message ready to commit,
a received part and report, a webhook to deliver, a phone number, an application.

Plain frozen dataclasses, with no I/O: the store's interface (:mod:`gateway.store`) takes and
returns them, and the pure rules (:mod:`gateway.domain.assembly`,
:mod:`gateway.domain.callbacks`) make them without importing the store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from gateway.domain.delivery import PartReport
from gateway.domain.destinations import destination
from gateway.domain.models import Message, Segment, Status


@dataclass(frozen=True, slots=True)
class NewMessage:
    """An outbound message accepted and encoded, with its parts, ready to commit."""

    message: Message
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class InboundPart:
    """One received SMS-DELIVER, committed before it leaves the modem's storage.

    ``key`` identifies the PDU for deduplication (sender, SC time stamp, concatenation
    reference and sequence, and the TPDU itself); ``group`` names the concatenation it belongs
    to (``None`` for a message on its own), and ``generation`` which message under that group:
    a sender uses a reference again for a later message (:mod:`gateway.domain.assembly`).
    """

    key: str
    modem: str
    recipient: str
    sender: str
    group: str | None
    sequence: int
    total: int
    text: str
    pdu: str
    received_at: datetime
    generation: int = 0


@dataclass(frozen=True, slots=True)
class Generation:
    """What the store holds of one generation of a group: the sequence numbers of its parts
    still waiting and of those already in a message, and when the last of its messages was
    made (``None`` while none is)."""

    number: int
    waiting: frozenset[int]
    made: frozenset[int]
    made_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReceivedReport:
    """An SMS-STATUS-REPORT as received (``key`` deduplicates re-reads), and what it says of
    the part it is for."""

    modem: str
    key: str
    reference: int  # TP-MR
    recipient: str  # TP-RA
    status: int  # TP-ST
    pdu: str
    received_at: datetime
    outcome: PartReport


@dataclass(frozen=True, slots=True)
class ReportMatch:
    """The part a new report was matched to (``sid`` ``None``: none, the report is kept
    unmatched) and the status its message moved to, if it moved."""

    sid: str | None
    sequence: int | None
    status: Status | None


def new_webhook_token() -> str:
    """A webhook's ``I-Twilio-Idempotency-Token``: a random UUID, the shape Twilio's have."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Webhook:
    """A request to deliver: an inbound message to its number's SmsUrl, a status callback, or
    a missed call to its number's VoiceUrl (``kind`` "call"; ``message_sid`` is then the
    call's ``CallSid``: the SID the webhook is about).

    ``token`` is its idempotency token, made with it and kept with it, the same on every
    attempt; ``use_fallback`` says that the primary URL failed and the fallback URL is next.
    """

    account_sid: str
    message_sid: str | None
    kind: str  # "inbound", "status" or "call"
    url: str
    method: str
    params: tuple[tuple[str, str], ...]
    fallback_url: str | None = None
    fallback_method: str | None = None
    id: int = 0
    attempts: int = 0
    token: str = field(default_factory=new_webhook_token)
    use_fallback: bool = False

    @property
    def target(self) -> tuple[str, str]:
        """The URL and method its next request goes to."""
        if self.use_fallback and self.fallback_url:
            return self.fallback_url, self.fallback_method or "POST"
        return self.url, self.method

    @property
    def destination(self) -> str:
        """:func:`gateway.domain.destinations.destination` of its next request's URL."""
        return destination(self.target[0])


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """One of the gateway's numbers as the IncomingPhoneNumbers API shows and changes it."""

    number: str
    sid: str
    account_sid: str
    friendly_name: str
    sms_url: str | None
    sms_method: str
    sms_fallback_url: str | None
    sms_fallback_method: str
    status_callback: str | None
    api_updated: bool  # changed over the API: wins over the configuration from then on
    date_created: datetime
    date_updated: datetime
    # An Application whose SMS URLs its inbound messages go to instead (SmsApplicationSid).
    sms_application_sid: str | None = None
    # Where a missed call's webhook goes (VoiceUrl; gateway.inbound.calls): no modem answers
    # a call, so this is told of each one, hung up or given up.
    voice_url: str | None = None
    voice_method: str = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: str = "POST"


@dataclass(frozen=True, slots=True)
class Application:
    """An Application resource (``AP…``): URLs that numbers and messages can refer to.

    A URL never set is ``None``; a method is ``"GET"`` or ``"POST"``. The voice settings are
    kept and shown as given, for clients that set them: no modem has a use for them.
    """

    sid: str
    account_sid: str
    friendly_name: str | None
    api_version: str
    sms_url: str | None
    sms_method: str
    sms_fallback_url: str | None
    sms_fallback_method: str
    sms_status_callback: str | None
    message_status_callback: str | None
    voice_url: str | None
    voice_method: str
    voice_fallback_url: str | None
    voice_fallback_method: str
    status_callback: str | None
    status_callback_method: str
    voice_caller_id_lookup: bool
    public_application_connect_enabled: bool
    date_created: datetime
    date_updated: datetime

    @classmethod
    def new(cls, sid: str, account_sid: str, api_version: str, at: datetime) -> Application:
        """An application as Twilio makes one with nothing given: no URLs, every method POST,
        both booleans false (twilio-oai's ``readFull`` example)."""
        return cls(
            sid=sid,
            account_sid=account_sid,
            friendly_name=None,
            api_version=api_version,
            sms_url=None,
            sms_method="POST",
            sms_fallback_url=None,
            sms_fallback_method="POST",
            sms_status_callback=None,
            message_status_callback=None,
            voice_url=None,
            voice_method="POST",
            voice_fallback_url=None,
            voice_fallback_method="POST",
            status_callback=None,
            status_callback_method="POST",
            voice_caller_id_lookup=False,
            public_application_connect_enabled=False,
            date_created=at,
            date_updated=at,
        )
