"""Persistence behind a small async interface.

Every SQL statement lives in an implementation of :class:`Store` (SQLite now, in
:mod:`gateway.store.sqlite`); the dispatcher and the API only see this interface, so a second
engine (PostgreSQL, for gateways spread over several machines) can be added without touching
them. A write returns only once it is durable: a ``kill -9`` or a power cut right after it
loses nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from gateway.config import Account
from gateway.delivery import PartReport
from gateway.destinations import destination
from gateway.models import Message, Segment, Status


@dataclass(frozen=True, slots=True)
class ListPosition:
    """Where a message stands in the list as it was at some moment (a page's snapshot).

    The list (``GET .../Messages.json``, the seed: "sorted on the DateSent field with the most
    recent messages appearing first"): first the messages still waiting to be sent (queued,
    accepted, scheduled, receiving...), newest first; then the others by ``listed_at`` (their
    DateSent; for one that ended without being sent, the moment it ended), most recent first.
    Ties, and the waiting ones, go by ``id`` (the store's own, in the order of the inserts),
    highest first.
    """

    waiting: bool
    listed_at: int  # microseconds since the epoch, UTC; 0 while waiting
    id: int


@dataclass(frozen=True, slots=True)
class PageCursor:
    """What a page token names: a position in the list as it stood at ``snapshot`` (the store's
    list clock when the first page was read), and which side of it the page is on."""

    snapshot: int
    position: ListPosition
    forward: bool  # the page after the position (older); False: the page before it (newer)


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Filters of ``GET .../Messages.json``; dates compare with ``date_sent`` in UTC."""

    to: str | None = None
    from_: str | None = None
    sent_on: date | None = None  # the whole GMT day
    sent_at_or_before: datetime | None = None
    sent_at_or_after: datetime | None = None
    page_size: int = 50
    cursor: PageCursor | None = None  # from a page token; None: the first page, read now
    # A message's SID for a page token of Twilio's documented shape (PA<SID>/PB<SID>): the
    # page after (before) that message as it stands now.
    after_sid: str | None = None
    before_sid: str | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    """A page of the list, in list order, read as the list stood at ``snapshot``; ``more``: there
    are more beyond it (older ones; newer ones for a page before a position). ``first`` and
    ``last`` are where its first and last messages stand (``None`` for an empty page)."""

    messages: list[Message]
    more: bool
    snapshot: int
    first: ListPosition | None
    last: ListPosition | None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """An outbound message accepted and encoded, with its parts, ready to commit."""

    message: Message
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class OutboundWork:
    """An outbound message a modem has to send, with the parts still unsent."""

    message: Message
    segments: tuple[Segment, ...]


class Claim(StrEnum):
    """What :meth:`Store.claim_part` decided for a part about to be handed to the modem."""

    GRANTED = "granted"  # send it now
    EXPIRED = "expired"  # its validity period ended first: failed (30036), with its callback
    GONE = "gone"  # no longer this modem's to send (failed, canceled, given to another modem)


@dataclass(frozen=True, slots=True)
class InboundPart:
    """One received SMS-DELIVER, committed before it leaves the modem's storage.

    ``key`` identifies the PDU for deduplication (sender, SC time stamp, concatenation
    reference and sequence, and the TPDU itself); ``group`` names the concatenated message it
    belongs to (``None`` for a message on its own).
    """

    key: str
    modem: str
    recipient: str
    sender: str
    group: str | None
    sequence: int
    total: int
    text: str
    pdu: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ReceivedReport:
    """An SMS-STATUS-REPORT as received (``key`` deduplicates re-reads), and what it says of
    the part it is for."""

    modem: str
    key: str
    reference: int  # TP-MR
    recipient: str  # TP-RA
    status: int  # TP-ST
    pdu: str
    received_at: datetime
    outcome: PartReport


@dataclass(frozen=True, slots=True)
class ReportMatch:
    """The part a new report was matched to (``sid`` ``None``: none, the report is kept
    unmatched) and the status its message moved to, if it moved."""

    sid: str | None
    sequence: int | None
    status: Status | None


def new_webhook_token() -> str:
    """A webhook's ``I-Twilio-Idempotency-Token``: a random UUID, the shape Twilio's have."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Webhook:
    """A request to deliver: an inbound message to its number's SmsUrl, or a status callback.

    ``token`` is its idempotency token, made with it and kept with it, the same on every
    attempt; ``use_fallback`` says that the primary URL failed and the fallback URL is next.
    """

    account_sid: str
    message_sid: str | None
    kind: str  # "inbound" or "status"
    url: str
    method: str
    params: tuple[tuple[str, str], ...]
    fallback_url: str | None = None
    fallback_method: str | None = None
    id: int = 0
    attempts: int = 0
    token: str = field(default_factory=new_webhook_token)
    use_fallback: bool = False

    @property
    def target(self) -> tuple[str, str]:
        """The URL and method its next request goes to."""
        if self.use_fallback and self.fallback_url:
            return self.fallback_url, self.fallback_method or "POST"
        return self.url, self.method

    @property
    def destination(self) -> str:
        """:func:`gateway.destinations.destination` of its next request's URL."""
        return destination(self.target[0])


@dataclass(frozen=True, slots=True)
class InFlight:
    """What the webhook sender has under way, for the queue to leave out: the webhooks being
    delivered (by id), and the requests in flight to each destination, which takes no more
    than ``per_destination`` at once (0: no limit)."""

    ids: frozenset[int] = frozenset()
    by_destination: Mapping[str, int] = field(default_factory=dict)
    per_destination: int = 0

    def room(self, destination: str) -> int | None:
        """How many more requests ``destination`` takes now (``None``: any number)."""
        if not self.per_destination:
            return None
        return max(0, self.per_destination - self.by_destination.get(destination, 0))


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """One of the gateway's numbers as the IncomingPhoneNumbers API shows and changes it."""

    number: str
    sid: str
    account_sid: str
    friendly_name: str
    sms_url: str | None
    sms_method: str
    sms_fallback_url: str | None
    sms_fallback_method: str
    status_callback: str | None
    api_updated: bool  # changed over the API: wins over the configuration from then on
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class WebhookTrouble:
    """A webhook that failed at least once: still being retried, or given up."""

    message_sid: str | None
    kind: str
    url: str
    state: str  # "pending" (to be retried) or "failed" (given up)
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None  # None once given up
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookStates:
    """How an account's webhooks stand: counts by state, and the troubled ones, newest first."""

    counts: dict[str, int]  # "pending", "delivered", "failed"
    troubled: tuple[WebhookTrouble, ...]


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def health(self) -> str | None:
        """Why the database cannot take a commit now (probed), or ``None``."""

    async def create_message(self, message: Message, segments: Sequence[Segment]) -> None:
        """Commit a new message and its segments."""

    async def get_message(self, account_sid: str, sid: str) -> Message | None: ...

    async def list_messages(self, account_sid: str, query: MessageQuery) -> MessagePage | None:
        """A page of the list (see :class:`ListPosition`) as it stood at the query's cursor's
        snapshot, or now for a first page: a message created since is not in it, one sent
        since stands where it stood then; ``None`` when ``after_sid``/``before_sid`` names no
        message of the account."""

    async def outbound_work(self, modem: str, now: datetime, limit: int = 16) -> list[OutboundWork]:
        """Queued or half-sent messages of ``modem`` due by ``now``, oldest first."""

    async def next_attempt_at(self, modem: str) -> datetime | None:
        """When the earliest deferred message of ``modem`` is due again, if any."""

    async def count_attempt(self, sid: str) -> int:
        """One more failed attempt to send ``sid``; returns how many there have been."""

    async def defer(self, sid: str, until: datetime) -> None:
        """Try ``sid`` again no sooner than ``until``."""

    async def update_status(
        self, sid: str, status: Status, at: datetime, *, error_code: int | None = None
    ) -> bool:
        """Move an unsent (queued or sending) message to ``status`` and queue its status
        callback in the same transaction; ``False`` if it was not unsent."""

    async def claim_part(self, sid: str, sequence: int, modem: str, at: datetime) -> Claim:
        """Decide, in one transaction, whether part ``sequence`` of ``sid`` may go to
        ``modem`` now. A message none of whose parts went (or may have gone) expires here if its
        validity period ended, so that the expiry and the send can never both happen. A
        granted part counts as on its way (the message no longer expires, nor moves to another
        modem) until it is recorded sent, or released because the modem refused it."""

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

    async def last_concat_reference(self, modem: str) -> int | None:
        """The concatenation reference of the newest multipart message ``modem`` was given."""

    async def accounts(self) -> list[Account]:
        """Accounts the gateway generated itself (first start without any configured)."""

    async def add_account(self, account: Account) -> None: ...

    async def count_messages(self) -> int: ...

    # --- inbound -----------------------------------------------------------------------------

    async def add_inbound_part(self, part: InboundPart) -> bool:
        """Commit a received part; ``False`` when the same PDU was committed before."""

    async def group_parts(self, group: str) -> tuple[list[InboundPart], bool]:
        """The parts of ``group`` not yet in a message, and whether a message was already made
        from earlier parts of it (the group timed out before this part arrived)."""

    async def receive_message(
        self, message: Message, part_keys: Sequence[str], webhook: Webhook | None
    ) -> bool:
        """Commit an inbound message made of the parts ``part_keys``, and its webhook; only
        if every part is still waiting (``False``, and nothing written, otherwise), so the
        same parts never make two messages."""

    async def expired_groups(self, received_before: datetime) -> list[str]:
        """Groups still waiting for a part whose first part arrived before the deadline."""

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

    # --- webhooks ----------------------------------------------------------------------------

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
        self, webhook_id: int, at: datetime, replies: Sequence[NewMessage] = ()
    ) -> None:
        """The receiver took the webhook; ``replies`` (its TwiML's messages) are committed in
        the same transaction, so a restart neither loses them nor sends them twice."""

    async def webhook_fallback(self, webhook_id: int, error: str, at: datetime) -> None:
        """The primary URL failed: the fallback URL is next, due now, once its destination
        has room (the failure is not yet an attempt: that takes both URLs)."""

    async def webhook_retry(
        self, webhook_id: int, attempts: int, next_attempt: datetime, error: str, at: datetime
    ) -> None:
        """Another attempt at ``next_attempt``, with the primary URL again."""

    async def webhook_failed(
        self, webhook_id: int, attempts: int, error: str, at: datetime
    ) -> None:
        """Give up on a webhook (kept, with its last error, for people to see)."""

    async def webhook_states(self, account_sid: str, limit: int = 20) -> WebhookStates: ...

    # --- changing and deleting messages ------------------------------------------------------

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

    # --- Messaging Services and scheduled messages -------------------------------------------

    async def waiting_for_sender(self, now: datetime, limit: int = 64) -> list[Message]:
        """Messaging Service messages accepted, and scheduled ones now due, oldest first."""

    async def next_scheduled_at(self) -> datetime | None: ...

    async def assign_sender(self, new: NewMessage, at: datetime) -> bool:
        """Give a waiting (or queued, never sent) message its sender, modem and parts and
        queue it, with its "queued" callback the first time; ``False`` if it went already."""

    async def last_sender(self, account_sid: str, service_sid: str, to: str) -> str | None:
        """The number the service last sent to ``to`` from."""

    async def unsent_of(self, modem: str, service_sids: Sequence[str]) -> list[Message]:
        """Queued service messages of ``modem`` with no part sent (to move elsewhere)."""

    async def backlog(self) -> dict[str, int]:
        """Parts still to send, by modem."""

    async def queue_counts(self) -> dict[str, int]:
        """Messages not sent yet, by status (accepted, scheduled, queued, sending)."""

    # --- phone numbers -----------------------------------------------------------------------

    async def phone_numbers(self) -> list[PhoneNumber]: ...

    async def save_phone_number(self, number: PhoneNumber) -> None: ...
