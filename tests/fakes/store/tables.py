"""The in-memory store's tables, and what it does inside one "transaction": a status change
committed with its callback, a delivery report applied to its part, a webhook queued.

It decides nothing a Twilio rule decides: as the SQLite store does
(``gateway/store/sqlite/transitions.py``), it reads what a rule of
:mod:`gateway.domain.lifecycle` needs, calls it, and applies the
:class:`~gateway.domain.lifecycle.Transition` it returns (:meth:`Tables.apply`); a delivery
report is matched by the domain's :func:`~gateway.domain.delivery.part_report` and
:func:`~gateway.domain.delivery.same_recipient`. What is its own is only storage: the tables,
their order, and the selections SQL makes in the real engine; the contract suite
(``tests/gateway/store_contract``) finds the two alike.

A transaction is a stretch of code with no ``await`` in it: every method of the store yields to
the event loop once, as the real one does while its thread works, then does all of its writes
at once. Nothing is ever half-written, and writes of concurrent callers interleave as whole
transactions, as they do in SQLite.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from gateway.config import Account
from gateway.domain import lifecycle, quota
from gateway.domain.attempt_log import logged
from gateway.domain.delivery import (
    EARLY_REPORT_SLACK,
    Delivery,
    PartReport,
    PartState,
    part_report,
    same_recipient,
)
from gateway.domain.errors import StoreError
from gateway.domain.lifecycle import Transition
from gateway.domain.models import Message, Segment, Status
from gateway.domain.records import (
    Application,
    InboundPart,
    PhoneNumber,
    ReceivedReport,
    Webhook,
    new_webhook_token,
)

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)  # "not deferred": due since always
# The message's columns a transition may write (``date_updated`` always is).
_MESSAGE_FIELDS: Final = tuple(f.name for f in fields(Message) if f.name != "date_updated")


@dataclass
class PartRow:
    """An outbound message's part (the ``segments`` table)."""

    sequence: int
    pdu: str
    tpdu_length: int
    concat_reference: int | None = None
    reference: int | None = None  # TP-MR
    sent_at: datetime | None = None
    claimed_at: datetime | None = None  # granted to the modem (claim_part), maybe on the air
    delivery: Delivery | None = None
    report_status: int | None = None  # TP-ST of the latest report
    error_code: int | None = None
    done_date: str | None = None
    reported_at: datetime | None = None

    @property
    def touched(self) -> bool:
        """It went, or was handed to the modem and may have gone."""
        return self.sent_at is not None or self.claimed_at is not None

    def segment(self) -> Segment:
        # As the SQLite store reads it back for the dispatcher: no concatenation reference.
        return Segment(self.sequence, self.pdu, self.tpdu_length, self.reference, self.sent_at)


@dataclass
class MessageRow:
    id: int  # insertion order: the queue's order
    message: Message
    parts: list[PartRow] = field(default_factory=list)  # in sequence order
    attempts: int = 0
    next_attempt_at: datetime = EPOCH
    report_given_up_at: datetime | None = None  # report_timeout passed (schema 18)

    @property
    def status(self) -> Status:
        return self.message.status

    @property
    def underway(self) -> bool:
        return any(part.touched for part in self.parts)

    @property
    def awaiting_report(self) -> bool:
        """Sent, not given up, and a part with no final report (no report, or only "still
        trying")."""
        return (
            self.status is Status.SENT
            and self.report_given_up_at is None
            and self.message.date_sent is not None
            and any(part.delivery in (None, Delivery.PENDING) for part in self.parts)
        )

    def part(self, sequence: int) -> PartRow | None:
        return next((part for part in self.parts if part.sequence == sequence), None)


@dataclass
class WebhookRow:
    id: int
    webhook: Webhook  # as queued; what changes since is in the fields below
    params: tuple[tuple[str, str], ...]
    token: str
    created_at: datetime
    next_attempt_at: datetime
    updated_at: datetime
    state: str = "pending"  # "delivered", "failed"
    attempts: int = 0
    use_fallback: bool = False
    last_error: str | None = None
    attempt_log: str | None = None  # gateway.domain.attempt_log, as the SQLite column

    def log_attempt(self, at: datetime, outcome: str) -> None:
        """The attempt just made, to the URL it went to (the row's before the change)."""
        urls = (self.webhook.url, self.webhook.fallback_url)
        self.attempt_log = logged(self.attempt_log, at, outcome, self.use_fallback, urls)

    def current(self) -> Webhook:
        """The webhook as the queue hands it out now."""
        return replace(
            self.webhook,
            id=self.id,
            params=self.params,
            attempts=self.attempts,
            token=self.token,
            use_fallback=self.use_fallback,
        )

    @property
    def destination(self) -> str:
        return self.current().destination


@dataclass
class InboundRow:
    id: int
    part: InboundPart
    message_sid: str | None = None


@dataclass
class ReportRow:
    id: int
    report: ReceivedReport
    matched_sid: str | None = None
    matched_sequence: int | None = None


@dataclass(frozen=True, slots=True)
class Unreadable:
    modem: str
    pdu: str
    length: int | None
    error: str
    received_at: datetime


class Tables:
    """Every table, and the writes that go together."""

    def __init__(self) -> None:
        self.messages: dict[str, MessageRow] = {}  # by SID, in insertion order
        self.webhooks: dict[int, WebhookRow] = {}
        self.inbound_parts: dict[str, InboundRow] = {}  # by key
        self.receiving_groups: dict[tuple[str, int], str] = {}  # (group, generation): SID
        self.reports: dict[str, ReportRow] = {}  # by key
        self.unreadable: list[Unreadable] = []
        self.phone_number_rows: dict[str, PhoneNumber] = {}  # by number, in insertion order
        self.application_rows: dict[str, Application] = {}  # by SID, oldest first
        self.account_rows: list[Account] = []
        self.feedback: dict[str, tuple[str, datetime, datetime]] = {}  # SID: outcome, dates
        # What each modem sent, apart from the messages (schema 17): (slot, modem, keyed
        # recipient): parts; the secret the recipients are keyed with.
        self.parts_sent_rows: dict[tuple[datetime, str, str], int] = {}
        self.secret = secrets.token_bytes(32)
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    # --- what every method does around its transaction ---------------------------------------

    async def _turn(self) -> None:
        """The real store answers from another thread: its callers' coroutines interleave at
        each call. This one lets them as well (one turn of the event loop, no time)."""
        await asyncio.sleep(0)

    def _commit(self) -> None:
        self._changed.set()

    async def changed(self) -> None:
        """Returns after the next write (for :meth:`MemoryStore.until`)."""
        self._changed.clear()
        await self._changed.wait()

    def _next_id(self) -> int:
        return next(self._ids)

    # --- messages ----------------------------------------------------------------------------

    def row(self, sid: str) -> MessageRow | None:
        return self.messages.get(sid)

    def insert_message(self, message: Message, segments: Iterable[Segment] = ()) -> MessageRow:
        if message.sid in self.messages:
            raise StoreError(f"UNIQUE constraint failed: messages.sid ({message.sid})")
        row = MessageRow(self._next_id(), message, part_rows(segments))
        self.messages[message.sid] = row
        return row

    def insert_outbound(self, message: Message, segments: Sequence[Segment]) -> None:
        self.insert_message(message, segments)
        for webhook in lifecycle.created(message, self.application_of(message)):
            self.insert_webhook(webhook, message.date_created)

    def by_id(self) -> list[MessageRow]:
        return sorted(self.messages.values(), key=lambda row: row.id)

    def application_of(self, message: Message) -> Application | None:
        """The application ``message`` was sent with, as it is now (its callback goes there)."""
        if message.application_sid is None:
            return None
        found = self.application_rows.get(message.application_sid)
        return found if found is not None and found.account_sid == message.account_sid else None

    def apply(self, row: MessageRow, transition: Transition | None) -> Message | None:
        """Commit ``transition`` of ``row`` (``None``: the rule left it as it is), only if the
        message still has the status it was decided from: the fields that change, what its
        retention erases or masks elsewhere, and its webhooks. Returns the message as it now
        stands, ``None`` if nothing was written (``transitions.apply`` of the SQLite store)."""
        if transition is None:
            return None
        before, after = transition.before, transition.after
        if row.status is not before.status:
            return None
        changes = {
            name: value
            for name in _MESSAGE_FIELDS
            if (value := getattr(after, name)) != getattr(before, name)
        }
        row.message = replace(row.message, date_updated=after.date_updated, **changes)
        sid = after.sid
        if transition.erase_text:
            for part in row.parts:
                part.pdu = ""
            for key in [k for k, r in self.inbound_parts.items() if r.message_sid == sid]:
                del self.inbound_parts[key]
        if params := transition.webhook_params:
            for hook in self.webhooks.values():
                if hook.webhook.message_sid == sid:
                    hook.params = tuple((k, params.get(k, v)) for k, v in hook.params)
        for webhook in transition.webhooks:
            self.insert_webhook(webhook, after.date_updated)
        return after

    # --- delivery reports --------------------------------------------------------------------

    def settle_message(
        self, row: MessageRow, at: datetime, done: str | None, application: Application | None
    ) -> Message | None:
        """After a report or the last part sent: the status its parts' reports now give the
        message (:func:`lifecycle.settled`), committed; ``None`` if it stays."""
        parts = [PartState(p.sequence, p.delivery, p.error_code) for p in row.parts]
        transition = lifecycle.settled(row.message, parts, at, done, application=application)
        return self.apply(row, transition)

    def apply_report(
        self, report: ReportRow, row: MessageRow, part: PartRow, outcome: PartReport, at: datetime
    ) -> Status | None:
        """Record what ``report`` says of ``part``; settle the message."""
        part.delivery = outcome.delivery
        part.report_status = report.report.status
        part.error_code = outcome.error_code
        part.done_date = outcome.done_date or part.done_date
        part.reported_at = at
        report.matched_sid, report.matched_sequence = row.message.sid, part.sequence
        row.message = replace(row.message, date_updated=at)
        application = self.application_of(row.message)
        settled = self.settle_message(row, at, outcome.done_date, application)
        return None if settled is None else settled.status

    def record_part(self, sid: str, sequence: int, reference: int | None, at: datetime) -> None:
        row = self.row(sid)
        if row is None:
            return
        part = row.part(sequence)
        if part is not None:
            part.reference, part.sent_at = reference, at
            if row.message.modem is not None:
                self._count_part(row.message.modem, row.message.to, at)
        if reference is not None and row.message.modem is not None and part is not None:
            self._match_early_report(row, part, reference, at)

    def _count_part(self, modem: str, to: str, at: datetime) -> None:
        """A part counted for its modem's caps; a new row deletes those older than a month."""
        slot = quota.slot(at)
        key = (slot, modem, quota.recipient_key(self.secret, to))
        self.parts_sent_rows[key] = self.parts_sent_rows.get(key, 0) + 1
        if self.parts_sent_rows[key] == 1:
            for old in [k for k in self.parts_sent_rows if k[0] < slot - quota.KEPT]:
                del self.parts_sent_rows[old]

    def _match_early_report(
        self, row: MessageRow, part: PartRow, reference: int, sent_at: datetime
    ) -> None:
        """A report taken before its part was committed sent: matched now."""
        since = sent_at - timedelta(seconds=EARLY_REPORT_SLACK)
        for report in sorted(self.reports.values(), key=lambda r: r.id):
            taken = report.report
            if (
                taken.modem == row.message.modem
                and taken.reference == reference
                and report.matched_sid is None
                and taken.received_at >= since
                and same_recipient(row.message.to, taken.recipient)
            ):
                said = part_report(taken.status)
                outcome = PartReport(said.delivery, said.error_code, taken.outcome.done_date)
                self.apply_report(report, row, part, outcome, taken.received_at)
                return

    @staticmethod
    def latest_done_date(row: MessageRow) -> str | None:
        dated = [p for p in row.parts if p.done_date is not None and p.reported_at is not None]
        if not dated:
            return None
        return max(dated, key=lambda p: p.reported_at or EPOCH).done_date

    # --- webhooks ----------------------------------------------------------------------------

    def insert_webhook(self, webhook: Webhook, at: datetime) -> WebhookRow:
        row = WebhookRow(
            id=self._next_id(),
            webhook=webhook,
            params=tuple(webhook.params),
            token=webhook.token or new_webhook_token(),
            created_at=at,
            next_attempt_at=at,
            updated_at=at,
            use_fallback=webhook.use_fallback,
        )
        self.webhooks[row.id] = row
        return row


def part_rows(segments: Iterable[Segment]) -> list[PartRow]:
    # Only what a new part is: what the modem says of it comes later.
    rows = [PartRow(s.sequence, s.pdu, s.tpdu_length, s.concat_reference) for s in segments]
    return sorted(rows, key=lambda part: part.sequence)
