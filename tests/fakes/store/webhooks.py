"""The webhook queue in memory: what the webhook sender (``gateway/webhooks/sender.py``) asks of
the store, as the SQLite store answers it (``gateway/store/sqlite/webhooks.py``).

A webhook may go when it is due, is not in flight, no older webhook of its message is still
pending, and its destination has room; each destination's are taken oldest first up to its room,
then all are merged oldest first (by when they are due, then by id).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from datetime import datetime

from gateway.domain.attempt_log import attempts_of
from gateway.domain.errors import StoreError
from gateway.domain.records import NewMessage, Webhook
from gateway.store import InFlight, QueuedWebhook, WebhookStates, WebhookTrouble
from tests.fakes.store.tables import Tables, WebhookRow


class WebhookSide(Tables):
    async def enqueue_webhook(self, webhook: Webhook, at: datetime) -> None:
        await self._turn()
        self.insert_webhook(webhook, at)
        self._commit()

    async def due_webhooks(
        self, now: datetime, limit: int = 32, in_flight: InFlight | None = None
    ) -> list[Webhook]:
        await self._turn()
        return [row.current() for row in self._eligible(now, in_flight or InFlight(), limit)]

    async def next_webhook_at(self, in_flight: InFlight | None = None) -> datetime | None:
        await self._turn()
        rows = self._eligible(None, in_flight or InFlight(), 1)
        return rows[0].next_attempt_at if rows else None

    async def webhook_delivered(
        self,
        webhook_id: int,
        at: datetime,
        replies: Sequence[NewMessage] = (),
        *,
        outcome: str = "delivered",
    ) -> None:
        await self._turn()
        # All or nothing, as one transaction: a reply that cannot be committed (its SID taken)
        # leaves the webhook pending.
        sids = [reply.message.sid for reply in replies]
        if len(set(sids)) != len(sids) or any(sid in self.messages for sid in sids):
            raise StoreError("UNIQUE constraint failed: messages.sid")
        row = self.webhooks.get(webhook_id)
        if row is not None:
            row.log_attempt(at, outcome)
            row.state, row.updated_at = "delivered", at
        for reply in replies:
            self.insert_outbound(reply.message, reply.segments)
        self._commit()

    async def webhook_fallback(self, webhook_id: int, error: str, at: datetime) -> None:
        await self._update(
            webhook_id,
            (at, error),
            use_fallback=True,
            next_attempt_at=at,
            last_error=error,
            updated_at=at,
        )

    async def webhook_retry(
        self, webhook_id: int, attempts: int, next_attempt: datetime, error: str, at: datetime
    ) -> None:
        await self._update(
            webhook_id,
            (at, error),
            attempts=attempts,
            next_attempt_at=next_attempt,
            last_error=error,
            updated_at=at,
            use_fallback=False,
        )

    async def webhook_failed(
        self, webhook_id: int, attempts: int, error: str, at: datetime
    ) -> None:
        await self._update(
            webhook_id,
            (at, error),
            state="failed",
            attempts=attempts,
            last_error=error,
            updated_at=at,
            use_fallback=False,
        )

    async def webhook_states(
        self, account_sid: str, limit: int = 20, *, delivered: bool = True
    ) -> WebhookStates:
        await self._turn()
        rows = [r for r in self.webhooks.values() if r.webhook.account_sid == account_sid]
        counts = {"pending": 0, "delivered": 0, "failed": 0}
        for row in rows:
            counts[row.state] += 1
        if not delivered:
            del counts["delivered"]
        troubled = sorted(
            (r for r in rows if r.attempts > 0 and r.state != "delivered"),
            key=lambda r: (r.updated_at, r.id),
            reverse=True,
        )
        return WebhookStates(
            counts,
            tuple(
                WebhookTrouble(
                    message_sid=r.webhook.message_sid,
                    kind=r.webhook.kind,
                    url=r.webhook.url,
                    state=r.state,
                    attempts=r.attempts,
                    last_error=r.last_error,
                    next_attempt_at=r.next_attempt_at if r.state == "pending" else None,
                    updated_at=r.updated_at,
                )
                for r in troubled[:limit]
            ),
        )

    async def account_webhooks(
        self, account_sid: str, state: str, limit: int = 100
    ) -> list[QueuedWebhook]:
        await self._turn()
        rows = [
            r
            for r in self.webhooks.values()
            if r.webhook.account_sid == account_sid and r.state == state
        ]
        if state == "pending":
            rows.sort(key=lambda r: (r.next_attempt_at, r.id))
        else:
            rows.sort(key=lambda r: (r.updated_at, r.id), reverse=True)
        return [
            QueuedWebhook(
                id=r.id,
                message_sid=r.webhook.message_sid,
                kind=r.webhook.kind,
                url=r.current().target[0],
                state=r.state,
                attempts=r.attempts,
                last_error=r.last_error,
                next_attempt_at=r.next_attempt_at if r.state == "pending" else None,
                updated_at=r.updated_at,
                attempt_log=attempts_of(r.attempt_log),
            )
            for r in rows[:limit]
        ]

    async def retry_webhook_now(self, account_sid: str, webhook_id: int, at: datetime) -> bool:
        await self._turn()
        row = self.webhooks.get(webhook_id)
        if row is None or row.webhook.account_sid != account_sid or row.state == "delivered":
            return False
        row.state, row.next_attempt_at, row.updated_at = "pending", at, at
        self._commit()
        return True

    # --- the queue ---------------------------------------------------------------------------

    async def _update(
        self, webhook_id: int, attempt: tuple[datetime, str], **changes: object
    ) -> None:
        await self._turn()
        row = self.webhooks.get(webhook_id)
        if row is not None:
            row.log_attempt(*attempt)
            for name, value in changes.items():
                setattr(row, name, value)
            self._commit()

    def _eligible(
        self, until: datetime | None, in_flight: InFlight, limit: int
    ) -> list[WebhookRow]:
        """Up to ``limit`` webhooks that may go by ``until`` (``None``: at any time), oldest
        first, none in flight and no more per destination than its room."""
        pending = sorted(
            (r for r in self.webhooks.values() if r.state == "pending"),
            key=lambda r: (r.next_attempt_at, r.id),
        )
        first_of_message: dict[str, int] = {}
        for row in sorted(pending, key=lambda r: r.id):
            if row.webhook.message_sid is not None:
                first_of_message.setdefault(row.webhook.message_sid, row.id)
        streams = []
        for destination in sorted({row.destination for row in pending}):
            room = in_flight.room(destination)
            if room == 0:
                continue
            rows = [
                row
                for row in pending
                if row.destination == destination
                and (until is None or row.next_attempt_at <= until)
                and _first_of_its_message(row, first_of_message)
                and row.id not in in_flight.ids
            ]
            streams.append(rows if room is None else rows[:room])
        merged = heapq.merge(*streams, key=lambda row: (row.next_attempt_at, row.id))
        return list(itertools.islice(merged, limit))


def _first_of_its_message(row: WebhookRow, first_of_message: dict[str, int]) -> bool:
    # A message's webhooks go one at a time, in order; a webhook of no message never waits.
    sid = row.webhook.message_sid
    return sid is None or first_of_message[sid] == row.id
