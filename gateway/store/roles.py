"""The store's roles: each caller depends on the few methods it uses, not on the whole store.

A storage engine implements every role (:class:`gateway.store.Store` is their union); a caller
is typed with the narrowest role it needs, so that a test can stand in a small fake of that role
alone, and a second engine sees at a glance what each flow asks of it. Every rule about a
message's life (which status may follow which, the callback a change makes, retention,
settlement, expiry) is decided in :mod:`gateway.domain.lifecycle`: an engine only reads what a
rule needs and applies the transition it returns, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from gateway.config import Account
from gateway.domain.feedback import Feedback
from gateway.domain.lifecycle import Claim
from gateway.domain.models import Message, Segment, Status
from gateway.domain.records import (
    Application,
    Generation,
    InboundPart,
    NewMessage,
    PhoneNumber,
    ReceivedReport,
    ReportMatch,
    Webhook,
)
from gateway.store.queries import (
    InFlight,
    MessagePage,
    MessageQuery,
    MessageTrail,
    OutboundWork,
    PartsSent,
    QueuedWebhook,
    WebhookStates,
)


class ReportWaits(Protocol):
    """The sent messages still waiting for a delivery report, as the report timer
    (:mod:`gateway.outbound.reports`) gives them up after ``report_timeout``. A message waits
    while it is ``sent`` and a part of it has no final report (none, or only "still trying",
    TS 23.040 §9.2.3.15 0x20-0x3F). Giving up only marks it: it stays ``sent``, and a report
    that comes later is matched and applied as before."""

    async def next_report_wait(self) -> datetime | None:
        """When the oldest message still waiting for a report was sent (``date_sent``)."""

    async def give_up_reports(self, sent_before: datetime, at: datetime) -> list[str]:
        """Mark as no longer waiting, at ``at``, the waiting messages sent at or before
        ``sent_before``; returns their SIDs."""


class SendQueue(Protocol):
    """The queue of messages out as the dispatcher (:mod:`gateway.outbound.dispatcher`) works
    it, one modem at a time: take the due work, claim each part at the modem's prompt, record
    it sent, defer or fail a message, expire the ones whose validity period ended."""

    async def outbound_work(self, modem: str, now: datetime, limit: int = 16) -> list[OutboundWork]:
        """Queued or half-sent messages of ``modem`` due by ``now``, oldest first."""

    async def next_attempt_at(self, modem: str) -> datetime | None:
        """When the earliest deferred message of ``modem`` is due again, if any."""

    async def count_attempt(self, sid: str) -> int:
        """One more failed attempt to send ``sid``; returns how many there have been."""

    async def defer(self, sid: str, until: datetime) -> None:
        """Try ``sid`` again no sooner than ``until``."""

    async def release_held(self, modem: str, now: datetime) -> int:
        """Make due by ``now`` the unsent messages of ``modem`` deferred with no attempt
        counted: those its plan's caps held back (a retry counts its attempt first), for its
        worker to weigh again under the caps it starts with. How many."""

    async def update_status(
        self, sid: str, status: Status, at: datetime, *, error_code: int | None = None
    ) -> bool:
        """Move an unsent (queued or sending) message to ``status``, or fail a waiting one
        (accepted, scheduled), and queue its status callback in the same transaction
        (:func:`gateway.domain.lifecycle.moved` decides); ``False`` if it could not move."""

    async def claim_part(self, sid: str, sequence: int, modem: str, at: datetime) -> Claim:
        """Decide, in one transaction, whether part ``sequence`` of ``sid`` may go to
        ``modem`` now. A message none of whose parts went (or may have gone) expires here if its
        validity period ended, so that the expiry and the send can never both happen. A
        granted part counts as on its way (the message no longer expires, nor moves to another
        modem) until it is recorded sent, or released because the modem refused it. A queued
        message moves to ``sending`` (with its status callback) in the transaction that grants
        its part: :attr:`Claim.STARTED` says so. One commit where there were two: the message
        is ``sending`` from the moment its first part may go, which is what the status means,
        and an SD card is written one commit less per message (bench/sd_writes.py)."""

    async def release_part(self, sid: str, sequence: int) -> None:
        """The modem refused the claimed part (``+CMS ERROR``): it did not go."""

    async def record_part_sent(
        self, sid: str, sequence: int, reference: int | None, at: datetime
    ) -> None:
        """The modem accepted part ``sequence`` of ``sid`` with TP-MR ``reference`` (``None``
        when the SMSC answered "duplicate": it had the part already). A report that came for
        it before this commit is matched to it now."""

    async def message_sent(
        self,
        sid: str,
        at: datetime,
        price: str | None = None,
        price_unit: str | None = None,
        *,
        last_part: tuple[int, int | None] | None = None,
    ) -> Status | None:
        """Every part was accepted (``last_part``, (sequence, TP-MR), recorded as
        :meth:`record_part_sent` would, in the same transaction): ``sent`` (with its
        callback), then ``delivered`` or ``undelivered`` at once if reports for every part
        already came. Returns the status reached, ``None`` if the message was no longer
        unsent."""

    async def expire_unsent(self, now: datetime) -> list[str]:
        """Fail (30036, with callbacks) the messages whose validity period ended before any
        part was sent; returns their SIDs."""

    async def next_expiry(self) -> datetime | None:
        """When the next unsent message's validity period ends."""

    async def parts_sent(self, modem: str, since: datetime) -> PartsSent:
        """The parts ``modem`` sent from ``since`` on (a local midnight: counted by quarter
        hour, :func:`gateway.domain.quota.slot`), and their recipients keyed with
        :meth:`recipient_secret`: what its plan's caps (:mod:`gateway.domain.quota`) have
        used, read once when its worker starts. Kept apart from the messages, each part
        counted in the transaction that records it sent: a message deleted, or its recipient
        masked, still counts; what is older than :data:`~gateway.domain.quota.KEPT` is
        forgotten."""

    async def recipient_secret(self) -> bytes:
        """The secret this store keys recipients with
        (:func:`~gateway.domain.quota.recipient_key`), its own and the same for its life: the
        caps key the recipients of the parts they count from then on alike."""


class RoutingQueue(Protocol):
    """The messages waiting for a sender, as routing (:mod:`gateway.outbound.routing`) works
    them: Messaging Service messages and scheduled ones, given a sender and a modem and queued,
    or moved to another modem of their service."""

    async def waiting_for_sender(self, now: datetime, limit: int = 64) -> list[Message]:
        """Messaging Service messages accepted, and scheduled ones now due, oldest first."""

    async def next_scheduled_at(self) -> datetime | None: ...

    async def update_status(
        self, sid: str, status: Status, at: datetime, *, error_code: int | None = None
    ) -> bool:
        """As :meth:`SendQueue.update_status`: a message its sender cannot send fails."""

    async def assign_sender(self, new: NewMessage, at: datetime) -> bool:
        """Give a waiting (or queued, never sent) message its sender, modem and parts and
        queue it, with its "queued" callback the first time; ``False`` if it went already."""

    async def last_sender(self, account_sid: str, service_sid: str, to: str) -> str | None:
        """The number the service last sent to ``to`` from."""

    async def unsent_of(self, modem: str, service_sids: Sequence[str]) -> list[Message]:
        """Queued service messages of ``modem`` with no part sent (to move elsewhere)."""


class QueueCounts(Protocol):
    """How long the queue of messages out is: parts by modem (:mod:`gateway.outbound.backlog`),
    messages by status (``/healthz``, ``/metrics``)."""

    async def backlog(self) -> dict[str, int]:
        """Parts still to send, by modem."""

    async def queue_counts(self) -> dict[str, int]:
        """Messages not sent yet, by status (accepted, scheduled, queued, sending)."""


class OutboundQueue(SendQueue, RoutingQueue, QueueCounts, ReportWaits, Protocol):
    """The whole queue of messages out: a new message committed to it
    (:mod:`gateway.outbound.accept`), and the parts the dispatcher, routing, the backlog and
    the report timer use."""

    async def create_message(self, message: Message, segments: Sequence[Segment]) -> None:
        """Commit a new message and its segments."""

    async def last_concat_reference(self, modem: str) -> int | None:
        """The concatenation reference of the newest multipart message ``modem`` was given."""


class InboundLog(Protocol):
    """What the receiver (:mod:`gateway.inbound.receiver`, :mod:`gateway.inbound.reassembly`)
    commits and reads back: received parts (deduplicated), the message they make
    (``receiving`` while they arrive), unreadable PDUs, and status reports applied to the
    parts they are for."""

    async def add_inbound_part(self, part: InboundPart) -> bool:
        """Commit a received part; ``False`` when the same PDU was committed before."""

    async def generations(self, group: str) -> list[Generation]:
        """The generations of ``group`` a new part may join, oldest first: those with parts
        waiting, and the newest."""

    async def group_parts(self, group: str, generation: int = 0) -> tuple[list[InboundPart], bool]:
        """The parts of ``group``'s ``generation`` not yet in a message, and whether a message
        was already made from earlier parts of it (it was given up before this part came)."""

    async def receive_message(
        self, message: Message, part_keys: Sequence[str], webhook: Webhook | None
    ) -> bool:
        """Commit an inbound message made of the parts ``part_keys``, and its webhook; only
        if every part is still waiting (``False``, and nothing written, otherwise), so the
        same parts never make two messages. The message shown ``receiving`` with the same SID
        (:meth:`show_receiving`) becomes this one; otherwise it is a new one."""

    async def receiving_message(self, group: str, generation: int = 0) -> Message | None:
        """The message ``group``'s ``generation`` is shown as while its parts still arrive,
        if any."""

    async def show_receiving(self, group: str, message: Message, generation: int = 0) -> Message:
        """Commit ``message`` (status ``receiving``) as what ``group``'s ``generation`` makes
        so far: new the first time; after that the message already shown takes its ``body``,
        ``num_segments`` and ``date_updated`` and keeps its SID. Returns it as it stands."""

    async def expired_groups(self, received_before: datetime) -> list[tuple[str, int]]:
        """The groups and generations still waiting for a part whose first part arrived
        before the deadline, oldest first."""

    async def oldest_waiting_part(self) -> datetime | None: ...

    async def waiting_parts(self) -> list[InboundPart]:
        """Every committed part not yet in a message, oldest first."""

    async def add_unreadable(
        self, modem: str, pdu: str, length: int | None, error: str, at: datetime
    ) -> None:
        """Keep a PDU that cannot be decoded (it is deleted from the modem all the same)."""

    async def add_status_report(self, report: ReceivedReport) -> ReportMatch | None:
        """Commit a status report and apply it to the most recent part still waiting for one
        with its modem, TP-MR and recipient (sent within the report window, before the
        report came): the part's delivery, then its message's status and callback, in one
        transaction. ``None`` when the report was committed before."""


class WebhookQueue(Protocol):
    """The durable queue of webhooks, as the webhook sender (:mod:`gateway.webhooks.sender`)
    works it: the due ones, then each one's outcome."""

    async def enqueue_webhook(self, webhook: Webhook, at: datetime) -> None: ...

    async def due_webhooks(
        self, now: datetime, limit: int = 32, in_flight: InFlight | None = None
    ) -> list[Webhook]:
        """Pending webhooks due by ``now``, oldest first, at most one per message (in order):
        none of those ``in_flight``, and no more for a destination than it has room for."""

    async def next_webhook_at(self, in_flight: InFlight | None = None) -> datetime | None:
        """When :meth:`due_webhooks`, given the same ``in_flight``, has something again
        (a destination with no room left counts once a request to it ends)."""

    async def webhook_delivered(
        self,
        webhook_id: int,
        at: datetime,
        replies: Sequence[NewMessage] = (),
        *,
        outcome: str = "delivered",
    ) -> None:
        """The receiver took the webhook; ``replies`` (its TwiML's messages) are committed in
        the same transaction, so a restart neither loses them nor sends them twice.

        This and each outcome below add the attempt (its time, ``outcome`` or ``error``, and the
        URL it went to) to the webhook's log of its last ones
        (:mod:`gateway.domain.attempt_log`), in the same write."""

    async def webhook_fallback(self, webhook_id: int, error: str, at: datetime) -> None:
        """The primary URL failed: the fallback URL is next, due now, once its destination
        has room (the failure is not yet an attempt: that takes both URLs; its log has it)."""

    async def webhook_retry(
        self, webhook_id: int, attempts: int, next_attempt: datetime, error: str, at: datetime
    ) -> None:
        """Another attempt at ``next_attempt``, with the primary URL again."""

    async def webhook_failed(
        self, webhook_id: int, attempts: int, error: str, at: datetime
    ) -> None:
        """Give up on a webhook (kept, with its last error, for people to see)."""


class Messages(Protocol):
    """The messages as the API reads and changes them: fetch, list, count, redact, cancel,
    delete, their Feedback, and how the account's webhooks stand."""

    async def get_message(self, account_sid: str, sid: str) -> Message | None: ...

    async def list_messages(self, account_sid: str, query: MessageQuery) -> MessagePage | None:
        """A page of the list (see :class:`ListPosition`) as it stood at the query's cursor's
        snapshot, or now for a first page: a message created since is not in it, one sent
        since stands where it stood then; ``None`` when ``after_sid``/``before_sid`` names no
        message of the account."""

    async def count_messages(self) -> int: ...

    async def messages_per_minute(self, account_sid: str, since: datetime) -> dict[datetime, int]:
        """The account's messages sent or received (by their DateSent) from ``since`` on,
        counted by minute (UTC, each by its first instant); a minute with none is left out
        (the console's chart: gateway.console.live)."""

    async def redact(self, account_sid: str, sid: str, at: datetime) -> Message | None:
        """Remove the text of a (final) message from everything that kept it (the message,
        its parts' PDUs, the parts it was received in, its webhooks); ``None`` if no such
        one."""

    async def cancel(self, account_sid: str, sid: str, at: datetime) -> Message | None:
        """Cancel a message that has not gone yet (scheduled, or waiting for a sender), with
        its callback; returns the message as it now is (unchanged if it could not be)."""

    async def delete_message(self, account_sid: str, sid: str) -> Message | None:
        """Delete a message in a final state with its parts and webhooks; returns it as it
        was (unchanged, and not deleted, if it is still in progress), ``None`` if unknown."""

    async def record_feedback(
        self, account_sid: str, sid: str, outcome: str, at: datetime
    ) -> Feedback | None:
        """Record ``outcome`` as the Feedback of ``sid`` (created the first time, its outcome
        changed after); ``None``, and nothing written, if there is no such message or it was
        not created with ProvideFeedback=true."""

    async def webhook_states(
        self, account_sid: str, limit: int = 20, *, delivered: bool = True
    ) -> WebhookStates:
        """The account's webhooks by state ("pending", "failed": given up; "delivered" too
        unless ``delivered`` is false: the only count that reads every webhook ever made),
        and its ``limit`` troubled ones (tried, not delivered) most recently changed first."""

    async def account_webhooks(
        self, account_sid: str, state: str, limit: int = 100
    ) -> list[QueuedWebhook]:
        """The account's webhooks in ``state``: "pending" ones by when they are due (then
        by id), "failed" (given up) ones most recently given up first; at most ``limit``."""

    async def retry_webhook_now(self, account_sid: str, webhook_id: int, at: datetime) -> bool:
        """Make a pending or given-up webhook of the account due at ``at`` (pending again,
        with its attempts so far: a given-up one has one more attempt before it is given up
        again; one waiting for its fallback URL still goes there); ``False`` when the account
        has no such webhook still pending or given up (a delivered one stays delivered)."""


class Numbers(Protocol):
    """The phone numbers (:mod:`gateway.accounts.numbers`) and the applications they and messages
    may refer to (:mod:`gateway.accounts.applications`)."""

    async def phone_numbers(self) -> list[PhoneNumber]: ...

    async def save_phone_number(self, number: PhoneNumber) -> None: ...

    async def applications(self) -> list[Application]:
        """Every account's applications, oldest first."""

    async def add_application(self, application: Application) -> None: ...

    async def update_application(self, application: Application) -> bool:
        """Commit an application's new settings; ``False`` if it was deleted."""

    async def delete_application(self, account_sid: str, sid: str, at: datetime) -> bool:
        """Delete an application and, in the same transaction, every number's reference to it
        (``sms_application_sid``, their ``date_updated`` ``at``); ``False`` if no such one."""


class Accounts(Protocol):
    """The accounts the gateway generated itself (:mod:`gateway.runtime`)."""

    async def accounts(self) -> list[Account]:
        """Accounts the gateway generated itself (first start without any configured)."""

    async def add_account(self, account: Account) -> None: ...


@runtime_checkable
class Audit(Protocol):
    """What the store keeps of one message, read only: for an audit, and for the end-to-end
    tests, which check through it what redaction, ContentRetention and AddressRetention leave
    behind and what was recorded of each part, instead of reading an engine's schema; and the
    console's message page (its parts). No flow uses it, so it is no part of
    :class:`gateway.store.Store`; an engine offers it beside."""

    async def message_trail(self, sid: str) -> MessageTrail | None:
        """Everything the store keeps of message ``sid`` (of any account) as it stands now:
        the message, its parts, its webhooks and the inbound parts it was made of; ``None`` if
        there is no such message (or it was deleted)."""


class Retention(Protocol):
    """What the retention policy deletes (``retention_days``, :mod:`gateway.retention`)."""

    async def prune_messages(self, ended_before: datetime, limit: int) -> int:
        """Delete at most ``limit`` messages, oldest first, that reached a final status and
        last changed before ``ended_before``, none of whose webhooks is still pending, with
        everything kept of them (parts, inbound parts, webhooks, Feedback), and at most
        ``limit`` delivery reports received before ``ended_before`` whose message is gone (or
        that matched none), in one transaction; how many messages were deleted. A message
        still in progress is never deleted. What counts against the plans' caps
        (``parts_sent``) is kept: it has its own rule."""


class Health(Protocol):
    async def health(self) -> str | None:
        """Why the database cannot take a commit now (probed), or ``None``."""


# Two callers use parts of two roles each (a Protocol has no intersection type to say so inline).


class OutboundMessages(OutboundQueue, Messages, Protocol):
    """What accepting a message uses (:mod:`gateway.outbound.accept`): the queue it joins, and
    canceling or redacting one."""


class QueueHealth(QueueCounts, Health, Protocol):
    """What ``/healthz`` and ``/metrics`` read (:mod:`gateway.api.observability`)."""
