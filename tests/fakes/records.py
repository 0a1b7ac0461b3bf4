"""The records the tests build, each with every field spelled out once, here: a message
(:class:`~gateway.domain.models.Message`), its parts (:class:`~gateway.domain.models.Segment`), a
received part (:class:`~gateway.domain.records.InboundPart`) and a webhook
(:class:`~gateway.domain.records.Webhook`). A test passes only the fields that differ (they
replace the defaults, as :func:`dataclasses.replace` does), so that what it is about shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from gateway.domain.models import Direction, Message, Segment, Status, new_sid
from gateway.domain.records import InboundPart, Webhook
from tests.fakes.clock import T0

ACCOUNT: Final = "AC" + "a" * 32
ALICE: Final = "+15550001001"  # modem "alice"'s number
HANDSET: Final = "+15550002002"  # a handset alice writes to
SENDER: Final = "+15557654321"  # a handset that writes to alice
# The group of a three-part message from SENDER to alice: modem, sender, concatenation
# reference, parts, reference bits (gateway.domain.assembly).
GROUP: Final = "alice|+15557654321|7|3|8"


def message(*, at: datetime = T0, **changes: Any) -> Message:
    """A message from alice to a handset, queued on modem "alice" at ``at`` (created and last
    updated then), as the API commits one given none of Twilio's optional parameters."""
    created = Message(
        sid=new_sid("SM"),
        account_sid=ACCOUNT,
        direction=Direction.OUTBOUND_API,
        status=Status.QUEUED,
        to=HANDSET,
        from_=ALICE,
        body="hello",
        num_segments=1,
        num_media=0,
        error_code=None,
        error_message=None,
        price=None,
        price_unit="USD",
        messaging_service_sid=None,
        date_created=at,
        date_updated=at,
        date_sent=None,
        modem="alice",
    )
    return replace(created, **changes)


def inbound(*, at: datetime = T0, status: Status = Status.RECEIVED, **changes: Any) -> Message:
    """A message from SENDER to alice, made at ``at``: received then, or (``status``
    receiving) shown while its parts come, not received yet."""
    made = message(
        at=at,
        direction=Direction.INBOUND,
        status=status,
        to=ALICE,
        from_=SENDER,
        date_sent=at if status is Status.RECEIVED else None,
    )
    return replace(made, **changes)


def parts(count: int, reference: int | None = None) -> tuple[Segment, ...]:
    """The ``count`` parts of an outbound message, none sent yet; ``reference``: their
    concatenation reference (a message of one part has none: no concatenation header)."""
    concat = reference if count > 1 else None
    return tuple(
        Segment(n, f"00{n:02X}", 10 + n, concat_reference=concat) for n in range(1, count + 1)
    )


def part(
    key: str,
    *,
    group: str | None = GROUP,
    sequence: int = 1,
    total: int = 3,
    text: str | None = None,
    at: datetime = T0,
    generation: int = 0,
) -> InboundPart:
    """A part from SENDER to alice read from modem "alice" at ``at`` (its text ``<key>`` unless
    given), part ``sequence`` of ``total`` of ``group``; with no group, a message alone."""
    return InboundPart(
        key=key,
        modem="alice",
        recipient=ALICE,
        sender=SENDER,
        group=group,
        sequence=sequence if group else 1,
        total=total if group else 1,
        text=text if text is not None else f"<{key}>",
        pdu=f"0B{key.encode().hex().upper()}",
        received_at=at,
        generation=generation,
    )


def webhook(sid: str | None, *, kind: str = "inbound", **changes: Any) -> Webhook:
    """A webhook of message ``sid`` (none: an account's), POSTed, with a fallback by GET."""
    hook = Webhook(
        account_sid=ACCOUNT,
        message_sid=sid,
        kind=kind,
        url="https://example.com/sms?k=1",
        method="POST",
        params=(("MessageSid", sid or ""), ("Body", "Grüße 😀"), ("To", HANDSET)),
        fallback_url="https://backup.example.com/sms",
        fallback_method="GET",
    )
    return replace(hook, **changes)
