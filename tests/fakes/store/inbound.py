"""The inbound log in memory: what the receiver (``gateway/inbound/receiver.py``) asks of the
store, as the SQLite store answers it (``gateway/store/sqlite/inbound.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from gateway.domain.delivery import REPORT_WINDOW_DAYS, Delivery, same_recipient
from gateway.domain.models import Message, Status
from gateway.domain.records import (
    Generation,
    InboundPart,
    ReceivedReport,
    ReportMatch,
    Webhook,
)
from tests.fakes.store.tables import InboundRow, ReportRow, Tables, Unreadable


class InboundSide(Tables):
    async def add_inbound_part(self, part: InboundPart) -> bool:
        await self._turn()
        if part.key in self.inbound_parts:
            return False
        self.inbound_parts[part.key] = InboundRow(self._next_id(), part)
        self._commit()
        return True

    async def generations(self, group: str) -> list[Generation]:
        await self._turn()
        rows = self._group(group)
        if not rows:
            return []
        numbers = {r.part.generation for r in rows if r.message_sid is None}
        numbers.add(max(r.part.generation for r in rows))
        found = []
        for number in sorted(numbers):
            these = [r for r in rows if r.part.generation == number]
            made = [r for r in these if r.message_sid is not None]
            sent = [
                moment
                for r in made
                if (m := self.messages.get(r.message_sid or "")) is not None
                and (moment := m.message.date_sent) is not None
            ]
            found.append(
                Generation(
                    number,
                    frozenset(r.part.sequence for r in these if r.message_sid is None),
                    frozenset(r.part.sequence for r in made),
                    max(sent, default=None),
                )
            )
        return found

    async def group_parts(self, group: str, generation: int = 0) -> tuple[list[InboundPart], bool]:
        await self._turn()
        rows = [r for r in self._group(group) if r.part.generation == generation]
        waiting = sorted(
            (r for r in rows if r.message_sid is None), key=lambda r: (r.part.sequence, r.id)
        )
        closed = any(r.message_sid is not None for r in rows)
        return [r.part for r in waiting], closed

    async def receive_message(
        self, message: Message, part_keys: Sequence[str], webhook: Webhook | None
    ) -> bool:
        await self._turn()
        keys = list(dict.fromkeys(part_keys))
        rows = [self.inbound_parts.get(key) for key in keys]
        if any(row is None or row.message_sid is not None for row in rows):
            return False  # a part is in a message already: nothing is written
        shown = self.messages.get(message.sid)
        if shown is not None and shown.status is Status.RECEIVING:
            shown.message = replace(
                shown.message,
                status=message.status,
                body=message.body,
                num_segments=message.num_segments,
                error_code=message.error_code,
                error_message=message.error_message,
                messaging_service_sid=message.messaging_service_sid,
                date_updated=message.date_updated,
                date_sent=message.date_sent,
            )
            for group in [g for g, sid in self.receiving_groups.items() if sid == message.sid]:
                del self.receiving_groups[group]
        else:
            self.insert_message(message)
        for row in rows:
            if row is not None:
                row.message_sid = message.sid
        if webhook is not None:
            self.insert_webhook(webhook, message.date_updated)
        self._commit()
        return True

    async def receiving_message(self, group: str, generation: int = 0) -> Message | None:
        await self._turn()
        return self._shown(group, generation)

    async def show_receiving(self, group: str, message: Message, generation: int = 0) -> Message:
        await self._turn()
        current = self._shown(group, generation)
        if current is None:
            self.insert_message(message)
            self.receiving_groups[group, generation] = message.sid
            self._commit()
            return message
        row = self.messages[current.sid]
        row.message = replace(
            current,
            body=message.body,
            num_segments=message.num_segments,
            date_updated=message.date_updated,
        )
        self._commit()
        return row.message

    async def expired_groups(self, received_before: datetime) -> list[tuple[str, int]]:
        await self._turn()
        first: dict[tuple[str, int], tuple[datetime, int]] = {}
        for row in self._waiting():
            if row.part.group is not None:
                name = (row.part.group, row.part.generation)
                first[name] = min(
                    first.get(name, (row.part.received_at, row.id)), (row.part.received_at, row.id)
                )
        return [
            name
            for name, (at, _) in sorted(first.items(), key=lambda i: i[1])
            if at < received_before
        ]

    async def oldest_waiting_part(self) -> datetime | None:
        await self._turn()
        return min(
            (r.part.received_at for r in self._waiting() if r.part.group is not None),
            default=None,
        )

    async def waiting_parts(self) -> list[InboundPart]:
        await self._turn()
        return [row.part for row in self._waiting()]

    async def add_unreadable(
        self, modem: str, pdu: str, length: int | None, error: str, at: datetime
    ) -> None:
        await self._turn()
        self.unreadable.append(Unreadable(modem, pdu, length, error, at))
        self._commit()

    async def add_status_report(self, report: ReceivedReport) -> ReportMatch | None:
        await self._turn()
        if report.key in self.reports:
            return None  # read before
        kept = self.reports[report.key] = ReportRow(self._next_id(), report)
        self._commit()
        window = report.received_at - timedelta(days=REPORT_WINDOW_DAYS)
        candidates = [
            (part.sent_at, row.id, part.sequence, row, part)
            for row in self.messages.values()
            if row.message.modem == report.modem
            for part in row.parts
            if part.reference == report.reference
            and part.sent_at is not None
            and window <= part.sent_at <= report.received_at
            and part.delivery in (None, Delivery.PENDING)
        ]
        # The most recent part first.
        for *_, row, part in sorted(candidates, key=lambda c: c[:3], reverse=True):
            if same_recipient(row.message.to, report.recipient):
                status = self.apply_report(kept, row, part, report.outcome, report.received_at)
                return ReportMatch(row.message.sid, part.sequence, status)
        return ReportMatch(None, None, None)

    # --- which parts --------------------------------------------------------------------------

    def _group(self, group: str) -> list[InboundRow]:
        return [row for row in self.inbound_parts.values() if row.part.group == group]

    def _waiting(self) -> list[InboundRow]:
        return sorted(
            (row for row in self.inbound_parts.values() if row.message_sid is None),
            key=lambda row: row.id,
        )

    def _shown(self, group: str, generation: int) -> Message | None:
        sid = self.receiving_groups.get((group, generation))
        row = None if sid is None else self.messages.get(sid)
        return None if row is None else row.message
