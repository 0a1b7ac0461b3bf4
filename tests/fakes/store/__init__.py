"""A :class:`gateway.store.Store` in memory, for the unit tier.

Its outbound queue (:mod:`.outbound`), inbound log (:mod:`.inbound`) and webhook queue
(:mod:`.webhooks`) answer as the SQLite store does, which ``tests/gateway/store_contract`` checks
by running the same tests on both; every status change is a rule of
:mod:`gateway.domain.lifecycle`, applied as the SQLite store applies it (:mod:`.tables`). What
it does not model: the message list and its page tokens (:meth:`MemoryStore.list_messages`
raises), durability and the database's faults (a full disk, a write refused), and real time
spent in a write (each call yields to the event loop once).

Besides the Store's methods it has a few for tests to look inside (:meth:`MemoryStore.row`,
:meth:`~MemoryStore.webhook_rows`, :meth:`~MemoryStore.until`): a unit test asserts what was
committed, not only what a component said.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Final

from gateway.config import Account
from gateway.domain import lifecycle
from gateway.domain.feedback import Feedback
from gateway.domain.models import FINAL_STATUSES, Message
from gateway.domain.records import Application, PhoneNumber
from gateway.store import MessagePage, MessageQuery, Store
from tests.fakes.store.inbound import InboundSide
from tests.fakes.store.outbound import OutboundSide
from tests.fakes.store.tables import MessageRow, WebhookRow
from tests.fakes.store.webhooks import WebhookSide

WAIT: Final = 5.0  # seconds: the bound on any wait for a write (a hang becomes a failure)


class MemoryStore(OutboundSide, InboundSide, WebhookSide):
    async def open(self) -> None:
        await self._turn()

    async def close(self) -> None:
        await self._turn()

    async def health(self) -> str | None:
        await self._turn()
        return None

    # --- messages ----------------------------------------------------------------------------

    async def get_message(self, account_sid: str, sid: str) -> Message | None:
        await self._turn()
        row = self.row(sid)
        return row.message if row is not None and row.message.account_sid == account_sid else None

    async def list_messages(self, account_sid: str, query: MessageQuery) -> MessagePage | None:
        raise NotImplementedError("the message list and its page tokens are the SQLite store's")

    async def count_messages(self) -> int:
        await self._turn()
        return len(self.messages)

    async def messages_per_minute(self, account_sid: str, since: datetime) -> dict[datetime, int]:
        await self._turn()
        counts: Counter[datetime] = Counter()
        for row in self.messages.values():
            sent = row.message.date_sent
            if row.message.account_sid == account_sid and sent is not None and sent >= since:
                counts[sent.replace(second=0, microsecond=0)] += 1
        return dict(counts)

    async def redact(self, account_sid: str, sid: str, at: datetime) -> Message | None:
        await self._turn()
        row = self._of(account_sid, sid)
        if row is None:
            return None
        redacted = self.apply(row, lifecycle.redacted(row.message, at))
        self._commit()
        return redacted

    async def cancel(self, account_sid: str, sid: str, at: datetime) -> Message | None:
        await self._turn()
        row = self._of(account_sid, sid)
        if row is None:
            return None
        message = row.message
        transition = lifecycle.canceled(message, at, application=self.application_of(message))
        canceled = self.apply(row, transition)
        self._commit()
        return canceled or message

    async def delete_message(self, account_sid: str, sid: str) -> Message | None:
        await self._turn()
        row = self._of(account_sid, sid)
        if row is None or not lifecycle.deletable(row.message):
            return None if row is None else row.message
        for id_ in [i for i, w in self.webhooks.items() if w.webhook.message_sid == sid]:
            del self.webhooks[id_]
        for key in [k for k, r in self.inbound_parts.items() if r.message_sid == sid]:
            del self.inbound_parts[key]
        for report in self.reports.values():
            if report.matched_sid == sid:
                report.matched_sid = report.matched_sequence = None
        self.feedback.pop(sid, None)
        del self.messages[sid]
        self._commit()
        return row.message

    # --- retention ---------------------------------------------------------------------------

    async def prune_messages(self, ended_before: datetime, limit: int) -> int:
        await self._turn()
        pending = {w.webhook.message_sid for w in self.webhooks.values() if w.state == "pending"}
        chosen = [
            row.message.sid
            for row in self.by_id()
            if row.status in FINAL_STATUSES
            and row.message.date_updated < ended_before
            and row.message.sid not in pending
        ][:limit]
        gone = set(chosen)
        for id_ in [i for i, w in self.webhooks.items() if w.webhook.message_sid in gone]:
            del self.webhooks[id_]
        for key in [k for k, r in self.inbound_parts.items() if r.message_sid in gone]:
            del self.inbound_parts[key]
        for sid in chosen:
            self.feedback.pop(sid, None)
            del self.messages[sid]
        orphans = [
            key
            for key, r in self.reports.items()
            if r.report.received_at < ended_before
            and (r.matched_sid is None or r.matched_sid not in self.messages)
        ][:limit]
        for key in orphans:
            del self.reports[key]
        self._commit()
        return len(chosen)

    async def record_feedback(
        self, account_sid: str, sid: str, outcome: str, at: datetime
    ) -> Feedback | None:
        await self._turn()
        row = self._of(account_sid, sid)
        if row is None or not row.message.provide_feedback:
            return None
        _, created, _ = self.feedback.get(sid, (outcome, at, at))
        self.feedback[sid] = (outcome, created, at)
        self._commit()
        return Feedback(account_sid, sid, outcome, created, at)

    # --- accounts, numbers, applications ------------------------------------------------------

    async def accounts(self) -> list[Account]:
        await self._turn()
        return list(self.account_rows)

    async def add_account(self, account: Account) -> None:
        await self._turn()
        self.account_rows.append(account)
        self._commit()

    async def phone_numbers(self) -> list[PhoneNumber]:
        await self._turn()
        return list(self.phone_number_rows.values())

    async def save_phone_number(self, number: PhoneNumber) -> None:
        await self._turn()
        # INSERT OR REPLACE: a replaced row is a new row, listed last.
        self.phone_number_rows.pop(number.number, None)
        self.phone_number_rows[number.number] = number
        self._commit()

    async def applications(self) -> list[Application]:
        await self._turn()
        return list(self.application_rows.values())

    async def add_application(self, application: Application) -> None:
        await self._turn()
        self.application_rows[application.sid] = application
        self._commit()

    async def update_application(self, application: Application) -> bool:
        await self._turn()
        current = self.application_rows.get(application.sid)
        if current is None or current.account_sid != application.account_sid:
            return False
        self.application_rows[application.sid] = replace(
            application, date_created=current.date_created
        )
        self._commit()
        return True

    async def delete_application(self, account_sid: str, sid: str, at: datetime) -> bool:
        await self._turn()
        current = self.application_rows.get(sid)
        if current is None or current.account_sid != account_sid:
            return False
        del self.application_rows[sid]
        for number, record in self.phone_number_rows.items():
            if record.sms_application_sid == sid and record.account_sid == account_sid:
                self.phone_number_rows[number] = replace(
                    record, sms_application_sid=None, date_updated=at
                )
        self._commit()
        return True

    # --- for tests to look inside ------------------------------------------------------------

    def webhook_rows(self, sid: str | None = None) -> list[WebhookRow]:
        """Every webhook queued (of message ``sid``, if given), in the order they were."""
        rows = sorted(self.webhooks.values(), key=lambda row: row.id)
        return [row for row in rows if sid is None or row.webhook.message_sid == sid]

    def callbacks(self, sid: str) -> list[str]:
        """The ``MessageStatus`` of each status callback queued for ``sid``, in order."""
        return [
            dict(row.params)["MessageStatus"]
            for row in self.webhook_rows(sid)
            if row.webhook.kind == "status"
        ]

    async def until(self, condition: Callable[[], bool], timeout: float = WAIT) -> None:
        """Returns once ``condition()`` holds, looked at after each write."""
        async with asyncio.timeout(timeout):
            while not condition():
                await self.changed()

    def _of(self, account_sid: str, sid: str) -> MessageRow | None:
        row = self.row(sid)
        return row if row is not None and row.message.account_sid == account_sid else None


def _conforms(store: MemoryStore) -> Store:
    return store  # mypy: a MemoryStore is a Store, every method with its signature
