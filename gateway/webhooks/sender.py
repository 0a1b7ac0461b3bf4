"""Webhooks: signed like Twilio's, delivered from a durable queue, retried with backoff.

A webhook is committed in the same transaction as what it reports (an inbound message, a
status change) and taken off the queue only once the receiver answered 2xx, so a restart
repeats only a webhook whose delivery was not confirmed. Failures back off exponentially up to
a limit; the primary URL's failure sends the webhook to the fallback URL next, when there is
one. Give-ups are logged with the message SID and counted.

Deliveries run side by side, each its own task, so that a receiver that is slow or hangs holds
up nobody else's webhooks: the sender keeps at most ``max_in_flight`` requests under way in all,
and at most ``per_destination`` to any one destination (the scheme, host and port a request goes
to, :mod:`gateway.domain.destinations`); the queue hands out no webhook for a destination that
has no room, so webhooks waiting for a hung receiver never stand in front of the others. A
message's webhooks still go one at a time, in order: the next only once the previous one is
delivered or given up. A fallback URL is a destination like any other: when the primary URL
fails, the webhook goes back to the queue marked for its fallback URL, due at once, and is taken
again as soon as that destination has room.

Each request is signed, and carries its idempotency token, as Twilio's do
(:mod:`gateway.webhooks.signing`); an inbound webhook's answer is read for TwiML replies
(:mod:`gateway.webhooks.answers`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol

import aiohttp

from gateway.domain.destinations import destination, without_urls
from gateway.domain.records import NewMessage, Webhook
from gateway.listeners import Listeners
from gateway.logs import fields
from gateway.metrics import Metrics
from gateway.store import InFlight, WebhookQueue
from gateway.tasks import Tasks
from gateway.waiting import seconds_until, stop_tasks, woken
from gateway.webhooks.answers import Answer, answer_of, twiml_replies
from gateway.webhooks.signing import USER_AGENT, signed_request

if TYPE_CHECKING:
    from gateway.webhooks import twiml

log = logging.getLogger(__name__)

BACKOFF: Final = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)  # seconds, by failed attempt
# Requests in flight to one destination. A receiver is often one small process (a Flask or
# Express app, a few workers, behind a tunnel): more at once than it serves only queue up in
# its accept backlog and bring it to time out. Four carry hundreds of webhooks a second to a
# receiver that answers in a few milliseconds, and 40 a second to one 100 ms away: more than a
# gateway's modems make (a part a second or so each, three callbacks a message). A receiver
# that hangs ties up four requests, not the sender.
PER_DESTINATION: Final = 4
# Requests in flight in all: aiohttp's own default for the connections of a session. Up to
# MAX_IN_FLIGHT / PER_DESTINATION (25) receivers can hang at once before the others wait.
MAX_IN_FLIGHT: Final = 100


class ReplyQueue(Protocol):
    """Where a TwiML answer's ``<Message>`` verbs go
    (:class:`gateway.webhooks.replies.TwimlReplies`)."""

    def prepare(
        self, webhook: Webhook, replies: Sequence[twiml.ReplyMessage]
    ) -> list[NewMessage]: ...

    def queued(self, messages: Sequence[NewMessage]) -> None: ...


@dataclass(frozen=True, slots=True)
class _Flight:
    task: asyncio.Task[None]
    destination: str


class WebhookSender:
    def __init__(
        self,
        store: WebhookQueue,
        replies: ReplyQueue,
        clock: Callable[[], datetime],
        *,
        timeout: float = 15.0,
        max_attempts: int = 10,
        backoff: tuple[float, ...] = BACKOFF,
        tasks: Tasks | None = None,
        per_destination: int = PER_DESTINATION,
        max_in_flight: int = MAX_IN_FLIGHT,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.tokens: Mapping[str, str] = {}  # auth token by account: given at start
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.tasks = tasks or Tasks()
        self.per_destination = per_destination
        self.max_in_flight = max_in_flight
        self.replies = replies
        self._listeners: Listeners[[Webhook, str | None]] = Listeners("a webhook's outcome")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._flights: dict[int, _Flight] = {}  # by webhook id
        self._load: Counter[str] = Counter()  # requests in flight by destination
        self._resting: dict[int, datetime] = {}  # webhook id: when it may go again

    def on_outcome(self, listener: Callable[[Webhook, str | None], None]) -> Callable[[], None]:
        """Call ``listener(webhook, error)`` after each attempt's outcome is committed
        (``error`` is ``None`` when the receiver took it)."""
        return self._listeners.subscribe(listener)

    def _tell(self, webhook: Webhook, error: str | None) -> None:
        self._listeners.announce(webhook, error)

    def wake(self) -> None:
        """A webhook was committed: deliver it now."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        """Deliveries under way."""
        return len(self._flights)

    def load(self) -> dict[str, int]:
        """Requests in flight by destination (those with any)."""
        return dict(self._load)

    def saturated(self) -> list[str]:
        """Destinations with no room for another request: their other webhooks wait."""
        if not self.per_destination:
            return []
        return sorted(d for d, count in self._load.items() if count >= self.per_destination)

    def reconfigure(self, tokens: Mapping[str, str], *, timeout: float, max_attempts: int) -> None:
        """A reload: sign with ``tokens`` (auth token by account) and give receivers
        ``timeout`` seconds from the next request on; give up after ``max_attempts``."""
        self.tokens = tokens
        self.timeout = timeout
        self.max_attempts = max_attempts

    def start(self, tokens: Mapping[str, str]) -> None:
        """Deliver from now on, signing each account's webhooks with its auth token from
        ``tokens`` (by account SID)."""
        self.tokens = tokens
        self._session = aiohttp.ClientSession(
            # No limit per host of aiohttp's: the destinations' limits are the sender's own,
            # and a connection pool that queued requests itself would put them back in line.
            connector=aiohttp.TCPConnector(limit=self.max_in_flight, limit_per_host=0),
            headers={"User-Agent": USER_AGENT},
        )
        self._task = self.tasks.spawn("webhooks", self._run)

    async def stop(self) -> None:
        """End the loop, then the deliveries under way: a webhook interrupted here was not
        delivered (or its delivery not committed) and goes again at the next start."""
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None
        await stop_tasks([flight.task for flight in self._flights.values()])
        # A task cancelled before it ever ran did not see itself out.
        self._flights.clear()
        self._load.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before looking: a webhook committed meanwhile is not missed
            room = self.max_in_flight - len(self._flights)
            if room <= 0:
                await self._wake.wait()  # a delivery ending wakes it
                continue
            due = await self.store.due_webhooks(self.clock(), room, self._busy())
            for webhook in due:
                self._launch(webhook)
            if len(due) < room:
                await self._sleep_until_due()

    def _busy(self) -> InFlight:
        now = self.clock()
        self._resting = {id_: until for id_, until in self._resting.items() if until > now}
        ids = frozenset(self._flights).union(self._resting)
        return InFlight(ids, dict(self._load), self.per_destination)

    async def _sleep_until_due(self) -> None:
        # A destination with no room has its turn when one of its requests ends, which wakes
        # the loop: until then only the others' webhooks count.
        due = await self.store.next_webhook_at(self._busy())
        rested = min(self._resting.values(), default=None)
        if rested is not None and (due is None or rested < due):
            due = rested
        await woken(self._wake, seconds_until(due, self.clock))

    def _launch(self, webhook: Webhook) -> None:
        destination = webhook.destination
        full = 0 < self.per_destination <= self._load[destination]
        if full or webhook.id in self._flights:
            return  # the queue left these out already: never two at once, never over the limit
        task = asyncio.get_running_loop().create_task(
            self._fly(webhook), name=f"webhook {webhook.id}"
        )
        self._flights[webhook.id] = _Flight(task, destination)
        self._load[destination] += 1

    async def _fly(self, webhook: Webhook) -> None:
        """One delivery: whatever goes wrong stays inside it."""
        try:
            await self._deliver(webhook)
        except Exception as exc:
            # A fault of ours: the webhook stays queued, to be retried, and the others go on.
            log.error("webhook %d for %s: %r", webhook.id, webhook.message_sid, exc)
            try:
                await self._failed(webhook, repr(exc), self.clock())
            except Exception:
                # The store took neither outcome (a full disk, say): still due, the webhook
                # would go again at once, and again. It rests here first, as after a failure.
                log.exception("webhook %d: its failure could not be recorded", webhook.id)
                self._resting[webhook.id] = self.clock() + timedelta(seconds=self.backoff[0])
        finally:
            self._landed(webhook.id)

    def _landed(self, webhook_id: int) -> None:
        flight = self._flights.pop(webhook_id)
        self._load[flight.destination] -= 1
        if not self._load[flight.destination]:
            del self._load[flight.destination]
        self._wake.set()  # its room goes to the next webhook

    async def request(
        self, webhook: Webhook, url: str, method: str, idempotency: str | None = None
    ) -> Answer:
        """Send ``webhook``'s parameters to ``url``, signed with its account's auth token,
        with its idempotency token (or ``idempotency``)."""
        assert self._session is not None, "start() first"
        token = self.tokens.get(webhook.account_sid, "")
        timeout = aiohttp.ClientTimeout(total=self.timeout)  # per request: a reload changes it
        signed = signed_request(webhook, url, method, token, idempotency)
        async with self._session.request(
            signed.method,
            signed.url,
            data=signed.body,
            headers=signed.headers,
            allow_redirects=False,
            timeout=timeout,
        ) as response:
            return await answer_of(response)

    async def _attempt(self, webhook: Webhook, url: str, method: str) -> Answer | str:
        try:
            answer = await self.request(webhook, url, method)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return answer if answer.ok else f"HTTP {answer.status} from {url}"

    async def _deliver(self, webhook: Webhook) -> None:
        url, method = webhook.target
        outcome = await self._attempt(webhook, url, method)
        if isinstance(outcome, str):
            if webhook.fallback_url and not webhook.use_fallback:
                # Back to the queue, due now: it goes once the fallback's destination has room.
                log.warning(
                    "%s: %s; trying the fallback URL",
                    webhook.message_sid,
                    _for_log(outcome, webhook),
                )
                await self.store.webhook_fallback(webhook.id, outcome, self.clock())
                return
            await self._failed(webhook, outcome, self.clock())
            self._tell(webhook, outcome)
            return
        queue = self.replies if webhook.kind == "inbound" else None
        replies: list[NewMessage] = []
        if queue is not None:
            answered = await twiml_replies(webhook, outcome, url, self.request)
            replies = queue.prepare(webhook, answered) if answered else []
        await self.store.webhook_delivered(
            webhook.id, self.clock(), replies, outcome=f"HTTP {outcome.status}"
        )
        self.metrics.webhooks_delivered += 1
        log.info(
            "%s: %s delivered to %s (attempt %d)",
            webhook.message_sid,
            _what(webhook),
            destination(url),  # not the URL: its user, path or query may hold a secret
            webhook.attempts + 1,
            extra=fields(
                sid=webhook.message_sid,
                kind=webhook.kind,
                status=_status(webhook),
                url=destination(url),
                attempts=webhook.attempts + 1,
            ),
        )
        if queue is not None and replies:
            queue.queued(replies)
        self._tell(webhook, None)

    async def _failed(self, webhook: Webhook, error: str, now: datetime) -> None:
        attempts = webhook.attempts + 1
        if attempts >= self.max_attempts:
            self.metrics.webhook_give_ups += 1
            log.error(
                "%s: %s to %s given up after %d attempts: %s (Twilio error 11200)",
                webhook.message_sid,
                _what(webhook),
                destination(webhook.target[0]),  # the fallback URL's, if it was tried last
                attempts,
                _for_log(error, webhook),
                extra=fields(
                    sid=webhook.message_sid,
                    kind=webhook.kind,
                    status=_status(webhook),
                    url=destination(webhook.target[0]),
                    attempts=attempts,
                    code=11200,
                ),
            )
            await self.store.webhook_failed(webhook.id, attempts, error, now)
            return
        self.metrics.webhook_retries += 1
        delay = self.backoff[min(attempts, len(self.backoff)) - 1]
        log.warning(
            "webhook for %s failed (%s); attempt %d of %d in %g s",
            webhook.message_sid,
            _for_log(error, webhook),
            attempts + 1,
            self.max_attempts,
            delay,
        )
        await self.store.webhook_retry(
            webhook.id, attempts, now + timedelta(seconds=delay), error, now
        )


def _status(webhook: Webhook) -> str | None:
    """The status a status callback reports (``MessageStatus``); ``None`` for another kind."""
    if webhook.kind != "status":
        return None
    return next((value for name, value in webhook.params if name == "MessageStatus"), None)


def _what(webhook: Webhook) -> str:
    """The webhook in words: ``inbound webhook``, ``status callback (sent)``."""
    status = _status(webhook)
    return f"status callback ({status})" if status else f"{webhook.kind} webhook"


def _for_log(error: str, webhook: Webhook) -> str:
    """``error`` with the webhook's URLs (named in "HTTP 500 from <url>") cut to where they
    go: a URL's user, path or query may hold a secret, and logs are kept and shipped."""
    return without_urls(error, (webhook.url, webhook.fallback_url))
