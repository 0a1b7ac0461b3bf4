"""Persistence behind role interfaces (:mod:`gateway.store.roles`).

Every SQL statement lives in an engine (SQLite in :mod:`gateway.store.sqlite`; PostgreSQL, for
gateways spread over several machines, being built in :mod:`gateway.store.postgresql`: issue
19); the flows only see the roles they use, so the second engine is added without touching
them, and without writing any Twilio rule again: those
are in :mod:`gateway.domain.lifecycle`, and an engine applies the transitions they return. A
write returns only once it is durable: a ``kill -9`` or a power cut right after it loses
nothing.
"""

from __future__ import annotations

from typing import Protocol

from gateway.domain.lifecycle import Claim
from gateway.store.queries import (
    InFlight,
    ListPosition,
    MessagePage,
    MessageQuery,
    MessageTrail,
    OutboundWork,
    PageCursor,
    PartsSent,
    PartTrail,
    QueuedWebhook,
    ReceivedPart,
    WebhookStates,
    WebhookTrail,
    WebhookTrouble,
)
from gateway.store.roles import (
    Accounts,
    Audit,
    Health,
    InboundLog,
    Messages,
    Numbers,
    OutboundMessages,
    OutboundQueue,
    QueueCounts,
    QueueHealth,
    ReportWaits,
    Retention,
    RoutingQueue,
    SendQueue,
    WebhookQueue,
)

__all__ = [
    "Accounts",
    "Audit",
    "Claim",
    "Health",
    "InFlight",
    "InboundLog",
    "ListPosition",
    "MessagePage",
    "MessageQuery",
    "MessageTrail",
    "Messages",
    "Numbers",
    "OutboundMessages",
    "OutboundQueue",
    "OutboundWork",
    "PageCursor",
    "PartTrail",
    "PartsSent",
    "QueueCounts",
    "QueueHealth",
    "QueuedWebhook",
    "ReceivedPart",
    "ReportWaits",
    "Retention",
    "RoutingQueue",
    "SendQueue",
    "Store",
    "WebhookQueue",
    "WebhookStates",
    "WebhookTrail",
    "WebhookTrouble",
]


class Store(
    OutboundQueue,
    InboundLog,
    WebhookQueue,
    Messages,
    Numbers,
    Accounts,
    Retention,
    Health,
    Protocol,
):
    """Every role, and the engine's own life: what the composition root
    (:mod:`gateway.runtime`) opens, hands out by role, and closes last."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...
