"""What the store's roles (:mod:`gateway.store.roles`) take and return besides the domain's
records: the message list's query and page, a modem's work, what the webhook sender has in
flight, and how an account's webhooks stand. (The part claim's answer, :class:`Claim`, is the
domain's: :mod:`gateway.domain.lifecycle` decides it.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from gateway.domain.attempt_log import WebhookAttempt
from gateway.domain.models import Message, Segment, Status
from gateway.domain.records import Webhook


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
    # The From filter as given, when from_ is its E.164 reading: an inbound sender is kept as
    # the network gave it ("07700900123"), and found by that too.
    from_given: str | None = None
    sent_on: date | None = None  # the whole GMT day
    sent_at_or_before: datetime | None = None
    sent_at_or_after: datetime | None = None
    page_size: int = 50
    cursor: PageCursor | None = None  # from a page token; None: the first page, read now
    # A message's SID for a page token of Twilio's documented shape (PA<SID>/PB<SID>): the
    # page after (before) that message as it stands now.
    after_sid: str | None = None
    before_sid: str | None = None
    # The console's filters (Twilio's list has neither): the status a message has now, and
    # inbound (True) or outbound (False: outbound-api, outbound-reply...); None: any.
    status: Status | None = None
    inbound: bool | None = None


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
class OutboundWork:
    """An outbound message a modem has to send, with the parts still unsent."""

    message: Message
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class PartsSent:
    """What a modem sent since a moment: its parts, and the recipients they went to, each as
    its keyed hash (:func:`gateway.domain.quota.recipient_key`), whatever became of the
    messages since (deleted, their recipient masked)."""

    parts: int
    recipients: frozenset[str]  # keyed


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


@dataclass(frozen=True, slots=True)
class QueuedWebhook:
    """A webhook still pending or given up, as the console's webhooks page shows it
    (:meth:`gateway.store.Messages.account_webhooks`)."""

    id: int
    message_sid: str | None  # the message (or call) it is about
    kind: str  # "inbound", "status" or "call"
    url: str  # where its next request goes: the fallback URL once the primary failed
    state: str  # "pending" or "failed" (given up)
    attempts: int  # failed attempts so far (a primary and its fallback count as one)
    last_error: str | None
    next_attempt_at: datetime | None  # None once given up
    updated_at: datetime
    attempt_log: tuple[WebhookAttempt, ...] = ()  # its last attempts, oldest first


# --- what the store keeps of one message (Store.message_trail; issue 15, step 5) --------------


@dataclass(frozen=True, slots=True)
class PartTrail:
    """An outbound part as the store keeps it (:meth:`gateway.store.Store.message_trail`)."""

    sequence: int
    pdu: str  # empty once the message's text is no longer kept
    reference: int | None  # TP-MR once the modem took it (None too when the SC had it already)
    sent_at: datetime | None
    delivery: str | None  # what its latest status report said (gateway.domain.delivery)
    report_status: int | None  # that report's TP-ST
    # When a worker took it to send (its message turned "sending" at the first part's).
    claimed_at: datetime | None = None
    reported_at: datetime | None = None  # when its latest status report came
    done_date: str | None = None  # that report's TP-DT, YYMMDDhhmm in the SC's time
    error_code: int | None = None  # Twilio's, for a part undelivered


@dataclass(frozen=True, slots=True)
class ReceivedPart:
    """An inbound part a message was made of, as kept (:meth:`Store.message_trail`)."""

    sequence: int
    text: str
    pdu: str  # empty once the message's text is no longer kept
    received_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookTrail:
    """A webhook of one message with where it stands (:meth:`Store.message_trail`)."""

    webhook: Webhook
    state: str  # "pending", "delivered" or "failed" (given up)
    last_error: str | None
    next_attempt_at: datetime | None  # None once delivered or given up
    created_at: datetime
    updated_at: datetime
    attempt_log: tuple[WebhookAttempt, ...]  # its last attempts, oldest first


@dataclass(frozen=True, slots=True)
class MessageTrail:
    """What the store keeps of one message (:meth:`gateway.store.Store.message_trail`)."""

    message: Message
    attempts: int  # failed attempts to send it, counted against its limit
    parts: tuple[PartTrail, ...]  # an outbound message's parts, in sequence
    webhooks: tuple[Webhook, ...]  # queued, delivered or given up, oldest first
    received: tuple[str, ...]  # an inbound message's parts' text, as kept, in sequence
    # The same webhooks, each with its state and its last attempts (the console's page).
    webhook_trails: tuple[WebhookTrail, ...] = ()
    received_parts: tuple[ReceivedPart, ...] = ()  # an inbound message's parts, in sequence
