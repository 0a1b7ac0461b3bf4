"""What a message's page shows beyond the message itself (issue 18: "its parts with their PDUs
decoded, the status timeline with times, each part's delivery report and what TP-ST means, the
error code with Twilio's text, its webhooks and callbacks with each attempt's response"), made
from what the store keeps of it (:meth:`gateway.store.Audit.message_trail`).

Everything here is data for the template, which escapes it: a decoded text is a stranger's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from drivers.codec import Deliver, PduError, StatusReport, Submit, decode, interpret_status
from gateway.domain.destinations import destination, without_urls
from gateway.domain.models import Message, Status
from gateway.store import MessageTrail, PartTrail, ReceivedPart, WebhookTrail


@dataclass(frozen=True, slots=True)
class DecodedPdu:
    """A part's PDU in words: what kind of PDU, its fields, its text; or why it is none."""

    kind: str  # "SMS-SUBMIT", "SMS-DELIVER", "SMS-STATUS-REPORT"; "" when not decodable
    fields: tuple[tuple[str, str], ...]
    text: str | None
    error: str | None  # "not decodable: <reason>"


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the status timeline."""

    at: datetime
    what: str  # a status ("sending", "delivered") or what happened ("part 2 sent")
    detail: str


def decoded(pdu: str) -> DecodedPdu | None:
    """``pdu`` (hex, as kept) decoded with the gateway's own codec; ``None`` when it is no
    longer kept (the text was redacted, or not retained)."""
    if not pdu:
        return None
    try:
        parsed = decode(pdu)
    except PduError as exc:  # the codec is total: a PDU or this (its fuzz tests say so)
        return DecodedPdu("", (), None, f"not decodable: {exc}")
    if isinstance(parsed, Submit):
        return DecodedPdu("SMS-SUBMIT", _submit_fields(parsed), parsed.text, None)
    if isinstance(parsed, Deliver):
        return DecodedPdu("SMS-DELIVER", _deliver_fields(parsed), parsed.text, None)
    return DecodedPdu("SMS-STATUS-REPORT", _report_fields(parsed), None, None)


def _submit_fields(submit: Submit) -> tuple[tuple[str, str], ...]:
    fields = [
        ("TP-DA (destination)", submit.destination.number),
        ("TP-MR (as encoded: the modem sets its own)", str(submit.message_reference)),
        *_coding(submit.dcs.raw, submit.dcs.alphabet.value, submit.dcs.message_class),
        ("TP-VP (validity)", _validity(submit)),
        # TS 23.040 §9.2.3.5: whether the SC is asked for a status report.
        ("TP-SRR (report requested)", "yes" if submit.status_report_request else "no"),
    ]
    fields += _concatenation(submit)
    return tuple(fields)


def _deliver_fields(deliver: Deliver) -> tuple[tuple[str, str], ...]:
    fields = [
        ("TP-OA (originator)", deliver.originator.number),
        ("TP-SCTS (SC time stamp)", _time(deliver.scts.value, deliver.scts.raw)),
        *_coding(deliver.dcs.raw, deliver.dcs.alphabet.value, deliver.dcs.message_class),
    ]
    fields += _concatenation(deliver)
    return tuple(fields)


def _report_fields(report: StatusReport) -> tuple[tuple[str, str], ...]:
    return (
        ("TP-MR", str(report.message_reference)),
        ("TP-RA (recipient)", report.recipient.number),
        ("TP-ST", status_meaning(report.status)),
        ("TP-DT (discharge time)", _time(report.discharge.value, report.discharge.raw)),
    )


def _coding(raw: int, alphabet: str, message_class: int | None) -> list[tuple[str, str]]:
    coding = f"0x{raw:02X}: {alphabet}"
    if message_class is not None:
        coding += f", class {message_class}"
    return [("TP-DCS (coding)", coding)]


def _validity(submit: Submit) -> str:
    validity = submit.validity
    if validity is None:
        return "none (the SC's default)"  # TS 23.040 §9.2.3.3: TP-VPF 00
    if validity.seconds is not None:
        return f"{validity.format.value}, {_duration(validity.seconds)}"
    if validity.absolute is not None:
        return f"until {_time(validity.absolute.value, validity.absolute.raw)}"
    return f"{validity.format.value}, {validity.raw.hex().upper()}"


def _duration(seconds: int) -> str:
    for unit, size in (("weeks", 604800), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _concatenation(pdu: Submit | Deliver) -> list[tuple[str, str]]:
    joined = pdu.concatenation
    if joined is None:
        return []
    bits = 16 if joined.ref16 else 8  # TS 23.040 §9.2.3.24.1 (IEI 00) and .8 (IEI 08)
    value = f"part {joined.sequence} of {joined.total}, reference {joined.reference} ({bits}-bit)"
    return [("UDH concatenation", value)]


def _time(value: datetime | None, raw: bytes) -> str:
    # An invalid date in the BCD digits: the octets as received (TS 23.040 §9.2.3.11).
    return value.isoformat() if value is not None else f"not a date ({raw.hex().upper()})"


def status_meaning(tp_st: int) -> str:
    """What TP-ST says, in TS 23.040 §9.2.3.15's words: ``0x00: short message received by the
    SME (transaction completed)``."""
    meaning = interpret_status(tp_st)
    return f"0x{tp_st:02X}: {meaning.description} ({meaning.status_class.value})"


def discharge(done_date: str | None) -> str | None:
    """TP-DT as the store keeps it (YYMMDDhhmm, the SC's local time, as Twilio's
    RawDlrDoneDate) in the form people read: ``2026-03-01 12:34 (SC time)``."""
    if not done_date or len(done_date) != 10 or not done_date.isdigit():
        return done_date
    d = done_date
    return f"20{d[:2]}-{d[2:4]}-{d[4:6]} {d[6:8]}:{d[8:]} (SC time)"


def timeline(message: Message, trail: MessageTrail | None) -> list[Event]:
    """The message's statuses with their times, oldest first, derived from what the store keeps
    (no write per status change: issue 17):

    - created: ``date_created``, with the status it started in;
    - outbound: "sending" at the first part's ``claimed_at`` (a worker claimed it, and the
      message turned sending); "part N sent" at each part's ``sent_at``; "sent" at
      ``date_sent``; "part N: <delivery>" at each part's ``reported_at`` (its latest report);
    - inbound: "part N received" at each part's ``received_at``; "received" at ``date_sent``;
    - "delivered" or "undelivered" at the latest part's ``reported_at`` (the report that
      settled it: gateway.domain.lifecycle); failed or canceled (expired is failed, 30001) at
      ``date_updated``, the time of the last change (a redaction since moves it: the store
      keeps no other time for them).
    """
    events = [Event(message.date_created, "created", _created(message))]
    parts = trail.parts if trail is not None else ()
    claimed = [part.claimed_at for part in parts if part.claimed_at is not None]
    if claimed:
        events.append(Event(min(claimed), Status.SENDING.value, "a modem's worker took it"))
    for part in parts:
        if part.sent_at is not None:
            reference = f"TP-MR {part.reference}" if part.reference is not None else ""
            events.append(Event(part.sent_at, f"part {part.sequence} sent", reference))
    for received in trail.received_parts if trail is not None else ():
        events.append(Event(received.received_at, f"part {received.sequence} received", ""))
    if message.date_sent is not None:
        sent = Status.RECEIVED if message.direction == "inbound" else Status.SENT
        events.append(Event(message.date_sent, sent.value, ""))
    for part in parts:
        if part.reported_at is not None and part.delivery:
            events.append(
                Event(part.reported_at, f"part {part.sequence}: {part.delivery}", _tp_st(part))
            )
    if message.status in _ENDED_LATER:
        reported = [part.reported_at for part in parts if part.reported_at is not None]
        settled = max(reported) if message.status in _SETTLED and reported else None
        error = f"error {message.error_code}" if message.error_code is not None else ""
        events.append(Event(settled or message.date_updated, message.status.value, error))
    return sorted(events, key=lambda event: event.at)  # stable: ties keep the order above


# The statuses that end a message after (or instead of) its DateSent, which "sent" and
# "received" have; the first two by a delivery report.
_SETTLED: Final = frozenset({Status.DELIVERED, Status.UNDELIVERED})
_ENDED_LATER: Final = _SETTLED | {Status.FAILED, Status.CANCELED}


def _created(message: Message) -> str:
    if message.direction == "inbound":
        return "received from the network"
    if message.send_at is not None:
        return f"scheduled for {message.send_at.isoformat()}"
    if message.messaging_service_sid is not None:
        return "accepted for a Messaging Service"
    return "queued"


def _tp_st(part: PartTrail) -> str:
    return status_meaning(part.report_status) if part.report_status is not None else ""


def part_views(parts: tuple[PartTrail, ...]) -> list[dict[str, object]]:
    """An outbound message's parts: each PDU decoded, its report in words."""
    return [
        {
            "part": part,
            "decoded": decoded(part.pdu),
            "meaning": _tp_st(part),
            "discharge": discharge(part.done_date),
        }
        for part in parts
    ]


def received_views(parts: tuple[ReceivedPart, ...]) -> list[dict[str, object]]:
    """An inbound message's parts: each PDU decoded."""
    return [{"part": part, "decoded": decoded(part.pdu)} for part in parts]


def webhook_views(webhooks: tuple[WebhookTrail, ...]) -> list[dict[str, object]]:
    """A message's webhooks, their URLs as ``scheme://host:port`` only: a URL's user, path or
    query may hold a secret (HTTP basic credentials, a receiver's key), and so may an error
    that names it ("HTTP 500 from <url>")."""
    views = []
    for trail in webhooks:
        webhook = trail.webhook
        urls = (webhook.url, webhook.fallback_url)
        views.append(
            {
                "trail": trail,
                "kind": _kind(trail),
                "url": destination(webhook.url),
                "fallback": destination(webhook.fallback_url) if webhook.fallback_url else "",
                "last_error": without_urls(trail.last_error, urls) if trail.last_error else "",
            }
        )
    return views


def _kind(trail: WebhookTrail) -> str:
    webhook = trail.webhook
    if webhook.kind == "status":
        status = dict(webhook.params).get("MessageStatus")
        return f"status callback ({status})" if status else "status callback"
    return f"{webhook.kind} webhook"
