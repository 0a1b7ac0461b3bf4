"""The outbound queue in memory: what the dispatcher (``gateway/outbound/dispatcher.py``) and
the Messaging Service router (``gateway/outbound/routing.py``) ask of the store, as the SQLite
store answers it (``gateway/store/sqlite/outbound.py`` and ``routing.py``); each status change
is a rule of :mod:`gateway.domain.lifecycle`, applied by :meth:`.tables.Tables.apply`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from gateway.domain import lifecycle, quota
from gateway.domain.lifecycle import UNSENT
from gateway.domain.models import Message, Segment, Status
from gateway.domain.records import NewMessage
from gateway.store import Claim, OutboundWork, PartsSent
from tests.fakes.store.tables import EPOCH, MessageRow, Tables, part_rows


class OutboundSide(Tables):
    async def create_message(self, message: Message, segments: Sequence[Segment]) -> None:
        await self._turn()
        self.insert_outbound(message, segments)
        self._commit()

    async def outbound_work(self, modem: str, now: datetime, limit: int = 16) -> list[OutboundWork]:
        await self._turn()
        due = [
            row
            for row in self.by_id()
            if row.message.modem == modem and row.status in UNSENT and row.next_attempt_at <= now
        ]
        return [
            OutboundWork(row.message, tuple(part.segment() for part in row.parts))
            for row in due[:limit]
        ]

    async def next_attempt_at(self, modem: str) -> datetime | None:
        await self._turn()
        return min(
            (r.next_attempt_at for r in self._unsent() if r.message.modem == modem), default=None
        )

    async def count_attempt(self, sid: str) -> int:
        await self._turn()
        row = self.row(sid)
        if row is None:
            return 0
        row.attempts += 1
        self._commit()
        return row.attempts

    async def defer(self, sid: str, until: datetime) -> None:
        await self._turn()
        row = self.row(sid)
        if row is not None:
            row.next_attempt_at = until
            self._commit()

    async def release_held(self, modem: str, now: datetime) -> int:
        await self._turn()
        held = [
            row
            for row in self._unsent()
            if row.message.modem == modem and row.next_attempt_at > now and row.attempts == 0
        ]
        for row in held:
            row.next_attempt_at = now
        self._commit()
        return len(held)

    async def update_status(
        self, sid: str, status: Status, at: datetime, *, error_code: int | None = None
    ) -> bool:
        await self._turn()
        row = self.row(sid)
        if row is None:
            return False
        transition = lifecycle.moved(
            row.message,
            status,
            at,
            error_code=error_code,
            application=self.application_of(row.message),
        )
        moved = self.apply(row, transition)
        self._commit()
        return moved is not None

    async def claim_part(self, sid: str, sequence: int, modem: str, at: datetime) -> Claim:
        await self._turn()
        row = self.row(sid)
        if row is None:
            return Claim.GONE
        message = row.message
        claim = lifecycle.claim(
            message.status,
            message.modem,
            modem,
            expires_at=message.expires_at,
            underway=row.underway,
            now=at,
        )
        if claim is Claim.EXPIRED:
            application = self.application_of(message)
            self.apply(row, lifecycle.expired(message, at, application=application))
        elif claim is Claim.GRANTED and (part := row.part(sequence)) is not None:
            part.claimed_at = at
            if message.status is Status.QUEUED:
                application = self.application_of(message)
                moved = lifecycle.moved(message, Status.SENDING, at, application=application)
                if self.apply(row, moved) is not None:
                    claim = Claim.STARTED
        self._commit()
        return claim

    async def release_part(self, sid: str, sequence: int) -> None:
        await self._turn()
        row = self.row(sid)
        part = None if row is None else row.part(sequence)
        if part is not None and part.sent_at is None:
            part.claimed_at = None
            self._commit()

    async def record_part_sent(
        self, sid: str, sequence: int, reference: int | None, at: datetime
    ) -> None:
        await self._turn()
        self.record_part(sid, sequence, reference, at)
        self._commit()

    async def message_sent(
        self,
        sid: str,
        at: datetime,
        price: str | None = None,
        price_unit: str | None = None,
        *,
        last_part: tuple[int, int | None] | None = None,
    ) -> Status | None:
        await self._turn()
        try:
            if last_part is not None:
                self.record_part(sid, *last_part, at)
            row = self.row(sid)
            if row is None:
                return None
            application = self.application_of(row.message)
            transition = lifecycle.sent(row.message, at, price, price_unit, application=application)
            if self.apply(row, transition) is None:
                return None
            # Reports may have come for its first parts while the last was being sent.
            done = self.latest_done_date(row)
            settled = self.settle_message(row, at, done, application)
            return Status.SENT if settled is None else settled.status
        finally:
            self._commit()

    async def expire_unsent(self, now: datetime) -> list[str]:
        await self._turn()
        expired = []
        for row in self._may_expire():
            message = row.message
            transition = lifecycle.expired(message, now, application=self.application_of(message))
            if self.apply(row, transition) is not None:
                expired.append(message.sid)
        self._commit()
        return expired

    async def next_expiry(self) -> datetime | None:
        await self._turn()
        return min(
            (r.message.expires_at for r in self._may_expire() if r.message.expires_at is not None),
            default=None,
        )

    async def next_report_wait(self) -> datetime | None:
        await self._turn()
        return min(
            (
                r.message.date_sent
                for r in self.by_id()
                if r.awaiting_report and r.message.date_sent
            ),
            default=None,
        )

    async def give_up_reports(self, sent_before: datetime, at: datetime) -> list[str]:
        await self._turn()
        given_up = []
        for row in self.by_id():
            sent = row.message.date_sent
            if row.awaiting_report and sent is not None and sent <= sent_before:
                row.report_given_up_at = at
                given_up.append(row.message.sid)
        self._commit()
        return given_up

    async def parts_sent(self, modem: str, since: datetime) -> PartsSent:
        await self._turn()
        counted: Counter[str] = Counter()
        for (slot, of, recipient), parts in self.parts_sent_rows.items():
            if of == modem and slot > since - quota.SLOT:
                counted[recipient] += parts
        return PartsSent(counted.total(), frozenset(counted))

    async def recipient_secret(self) -> bytes:
        await self._turn()
        return self.secret

    async def last_concat_reference(self, modem: str) -> int | None:
        await self._turn()
        for row in reversed(self.by_id()):
            if row.message.modem == modem:
                for part in row.parts:
                    if part.concat_reference is not None:
                        return part.concat_reference
        return None

    # --- Messaging Services and scheduled messages -------------------------------------------

    async def waiting_for_sender(self, now: datetime, limit: int = 64) -> list[Message]:
        await self._turn()
        rows = self.by_id()
        accepted = [r.message for r in rows if r.status is Status.ACCEPTED]
        due = [
            r.message
            for r in rows
            if r.status is Status.SCHEDULED
            and r.message.send_at is not None
            and r.message.send_at <= now
        ]
        return sorted((accepted + due)[:limit], key=lambda m: m.date_created)

    async def next_scheduled_at(self) -> datetime | None:
        await self._turn()
        return min(
            (
                r.message.send_at
                for r in self.messages.values()
                if r.status is Status.SCHEDULED and r.message.send_at is not None
            ),
            default=None,
        )

    async def assign_sender(self, new: NewMessage, at: datetime) -> bool:
        await self._turn()
        message = new.message
        row = self.row(message.sid)
        if row is None:
            return False
        current = row.message
        transition = lifecycle.assigned(
            current,
            message,
            at,
            underway=row.underway,
            application=self.application_of(current),
        )
        if self.apply(row, transition) is None:
            return False
        row.next_attempt_at = EPOCH  # due at once on its modem (the queue's own column)
        row.parts = part_rows(new.segments)
        self._commit()
        return True

    async def last_sender(self, account_sid: str, service_sid: str, to: str) -> str | None:
        await self._turn()
        for row in reversed(self.by_id()):
            m = row.message
            same = (m.account_sid, m.to, m.messaging_service_sid) == (account_sid, to, service_sid)
            if same and m.from_ is not None:
                return m.from_
        return None

    async def unsent_of(self, modem: str, service_sids: Sequence[str]) -> list[Message]:
        await self._turn()
        return [
            row.message
            for row in self.by_id()
            if row.message.modem == modem
            and row.status is Status.QUEUED
            and row.message.messaging_service_sid in service_sids
            and not row.message.sender_pinned
            and not row.underway
        ]

    async def backlog(self) -> dict[str, int]:
        await self._turn()
        counts: Counter[str] = Counter()
        for row in self._unsent():
            if row.message.modem is not None:
                counts[row.message.modem] += sum(1 for p in row.parts if p.sent_at is None)
        return {modem: count for modem, count in counts.items() if count}

    async def queue_counts(self) -> dict[str, int]:
        await self._turn()
        counts = Counter(row.status.value for row in self.messages.values())
        return {status: counts[status] for status in ("queued", "sending", "accepted", "scheduled")}

    # --- which messages -----------------------------------------------------------------------

    def _unsent(self) -> list[MessageRow]:
        return [row for row in self.by_id() if row.status in UNSENT]

    def _may_expire(self) -> list[MessageRow]:
        """Messages whose validity period may still end: queued with no part on its way, or
        waiting for a sender or their SendAt (in that order, as the SQLite store reads them)."""
        rows = self.by_id()
        return [
            *(r for r in rows if r.status in UNSENT and not r.underway),
            *(r for r in rows if r.status is Status.ACCEPTED),
            *(r for r in rows if r.status is Status.SCHEDULED),
        ]
