"""What the contract tests put in the store, and how they read back what it queued. The records
themselves are in :mod:`tests.fakes.records`; here, an outbound message as the contract's tests
send it (with a StatusCallback and a validity), committed or read back."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

from gateway.domain.delivery import part_report
from gateway.domain.models import Message
from gateway.domain.records import ReceivedReport
from gateway.store import Store
from tests.fakes import records
from tests.fakes.clock import T0
from tests.fakes.records import ACCOUNT, ALICE, HANDSET, parts

CALLBACK: Final = "https://example.com/status"
LATER: Final = T0 + timedelta(days=30)  # after anything a test makes due


def message(*, modem: str | None = "alice", at: datetime = T0, **changes: Any) -> Message:
    """A message as the API commits one with a StatusCallback and a ValidityPeriod of an hour,
    queued on ``modem`` (none: one a Messaging Service is still to route, from no number)."""
    created = records.message(
        at=at,
        modem=modem,
        from_=ALICE if modem is not None else None,
        status_callback=CALLBACK,
        validity_period=3600,
        expires_at=at + timedelta(hours=1),
    )
    return replace(created, **changes)


async def queued(store: Store, count: int = 1, **changes: Any) -> Message:
    """A message committed with ``count`` parts."""
    created = message(num_segments=count, **changes)
    await store.create_message(created, parts(count, reference=42))
    return created


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
