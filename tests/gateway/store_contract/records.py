"""What the contract tests put in the store, and how they read back what it queued."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

from gateway.domain.delivery import part_report
from gateway.domain.models import Direction, Message, Segment, Status, new_sid
from gateway.domain.records import InboundPart, ReceivedReport, Webhook
from gateway.store import Store
from tests.fakes.clock import T0

ACCOUNT: Final = "AC" + "a" * 32
ALICE: Final = "+15550001001"  # modem "alice"'s number
HANDSET: Final = "+15550002002"
SENDER: Final = "+15557654321"
CALLBACK: Final = "https://example.com/status"
LATER: Final = T0 + timedelta(days=30)  # after anything a test makes due


def message(
    *,
    status: Status = Status.QUEUED,
    modem: str | None = "alice",
    at: datetime = T0,
    to: str = HANDSET,
    segments: int = 1,
    **changes: Any,
) -> Message:
    created = Message(
        sid=new_sid("SM"),
        account_sid=ACCOUNT,
        direction=Direction.OUTBOUND_API,
        status=status,
        to=to,
        from_=ALICE if modem is not None else None,
        body="hello",
        num_segments=segments,
        num_media=0,
        error_code=None,
        error_message=None,
        price=None,
        price_unit="USD",
        messaging_service_sid=None,
        date_created=at,
        date_updated=at,
        date_sent=None,
        status_callback=CALLBACK,
        modem=modem,
        validity_period=3600,
        expires_at=at + timedelta(hours=1),
    )
    return replace(created, **changes)


def parts(count: int, reference: int | None = None) -> tuple[Segment, ...]:
    concat = reference if count > 1 else None
    return tuple(
        Segment(n, f"00{n:02X}", 10 + n, concat_reference=concat) for n in range(1, count + 1)
    )


async def queued(store: Store, count: int = 1, **changes: Any) -> Message:
    """A message committed with ``count`` parts."""
    created = message(segments=count, **changes)
    await store.create_message(created, parts(count, reference=42))
    return created


def part(
    key: str,
    *,
    sequence: int = 1,
    total: int = 3,
    group: str | None = "alice|+15557654321|7|3|8",
    at: datetime = T0,
    generation: int = 0,
    text: str | None = None,
) -> InboundPart:
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


def inbound(*, at: datetime = T0, body: str = "hello", status: Status = Status.RECEIVED) -> Message:
    return replace(
        message(at=at, body=body, status=status, modem="alice"),
        direction=Direction.INBOUND,
        to=ALICE,
        from_=SENDER,
        status_callback=None,
        validity_period=None,
        expires_at=None,
        date_sent=at if status is Status.RECEIVED else None,
    )


def webhook(sid: str | None, *, kind: str = "inbound", **changes: Any) -> Webhook:
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


def report(
    key: str, reference: int, *, status: int = 0x00, at: datetime = T0, to: str = HANDSET
) -> ReceivedReport:
    """A status report from modem "alice" for TP-MR ``reference``."""
    return ReceivedReport("alice", key, reference, to, status, f"06{key}", at, part_report(status))


async def reported(store: Store, sid: str) -> list[str]:
    """Every status ``sid``'s callbacks report, in the order they go: each is taken off the
    queue as the webhook sender would (delivered), so that the next one is due."""
    statuses: list[str] = []
    while True:
        due = [hook for hook in await store.due_webhooks(LATER, 1000) if hook.message_sid == sid]
        if not due:
            return statuses
        (callback,) = due  # one at a time per message
        statuses.append(dict(callback.params).get("MessageStatus", callback.kind))
        await store.webhook_delivered(callback.id, LATER)


async def stored(store: Store, sid: str) -> Message:
    found = await store.get_message(ACCOUNT, sid)
    assert found is not None
    return found
