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

Every request carries ``I-Twilio-Idempotency-Token``, as Twilio's do: a random UUID made with
the webhook and kept with it, the same on every attempt, on the primary and the fallback URL and
across restarts, so that a receiver can drop a webhook it has already taken (the gateway
repeats one whose answer it did not commit). A TwiML ``<Redirect>`` fetch is a request of its
own, for another document: it carries a token of its own, derived from the webhook's, the same
again if the webhook is delivered again. The token is not signed: twilio's ``RequestValidator``
checks the URL and the parameters only.

The signature (``X-Twilio-Signature``) is what twilio's ``RequestValidator`` checks: HMAC-SHA1,
keyed with the account's auth token, of the exact configured URL followed, for a POST, by each
parameter name and value in sorted order (``../shared/docs/twilio-messages-api.md`` §6).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from gateway.domain.destinations import destination
from gateway.domain.records import NewMessage, Webhook
from gateway.listeners import Listeners
from gateway.logs import fields
from gateway.metrics import Metrics
from gateway.store import InFlight, WebhookQueue
from gateway.tasks import Tasks
from gateway.waiting import seconds_until, stop_tasks, woken
from gateway.webhooks import twiml

log = logging.getLogger(__name__)

USER_AGENT: Final = "TwilioProxy/1.1"  # what Twilio's own webhook requests carry
SIGNATURE_HEADER: Final = "X-Twilio-Signature"
IDEMPOTENCY_HEADER: Final = "I-Twilio-Idempotency-Token"
MAX_RESPONSE: Final = 64 * 1024
MAX_REDIRECTS: Final = 10
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

Params = Sequence[tuple[str, str]]


class ReplyQueue(Protocol):
    """Where a TwiML answer's ``<Message>`` verbs go
    (:class:`gateway.webhooks.replies.TwimlReplies`)."""

    def prepare(
        self, webhook: Webhook, replies: Sequence[twiml.ReplyMessage]
    ) -> list[NewMessage]: ...

    def queued(self, messages: Sequence[NewMessage]) -> None: ...


def signature(auth_token: str, url: str, params: Params = ()) -> str:
    """``X-Twilio-Signature`` for ``url`` (query string included) and the POST ``params``."""
    data = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def with_query(url: str, params: Params) -> str:
    """A GET webhook: the parameters go in the query string (and into the signed URL)."""
    if not params:
        return url  # not "url?": a bare "?" is dropped on the way and the signature breaks
    return f"{url}{'&' if '?' in url else '?'}{urlencode(list(params))}"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str
    content_type: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


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
        headers = {"Accept": "*/*"}
        if idempotency or webhook.token:
            headers[IDEMPOTENCY_HEADER] = idempotency or webhook.token
        if method == "GET":
            target = with_query(url, webhook.params)
            headers[SIGNATURE_HEADER] = signature(token, target)
            request = self._session.get(
                _exact(target), headers=headers, allow_redirects=False, timeout=timeout
            )
        else:
            headers[SIGNATURE_HEADER] = signature(token, url, webhook.params)
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
            body = urlencode(list(webhook.params)).encode()
            request = self._session.post(
                _exact(url), data=body, headers=headers, allow_redirects=False, timeout=timeout
            )
        async with request as response:
            raw = await response.content.read(MAX_RESPONSE)
            return Answer(
                response.status, raw.decode("utf-8", "replace"), response.content_type or ""
            )

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
            answered = await self._twiml(webhook, outcome, url)
            replies = queue.prepare(webhook, answered) if answered else []
        await self.store.webhook_delivered(webhook.id, self.clock(), replies)
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

    async def _twiml(
        self, webhook: Webhook, answer: Answer, url: str
    ) -> tuple[twiml.ReplyMessage, ...]:
        """The messages of the TwiML the receiver answered with (Redirects followed, at most
        ``MAX_REDIRECTS``); a faulty document is logged with Twilio's code and sends nothing."""
        messages: list[twiml.ReplyMessage] = []
        try:
            document = twiml.parse(_twiml_text(answer), url)
            followed = 0
            while True:
                messages.extend(document.messages)
                if document.redirect is None:
                    return tuple(messages)
                if followed == MAX_REDIRECTS:
                    # Refused before it is fetched; a chain of exactly MAX_REDIRECTS is
                    # followed to its end.
                    raise twiml.TwimlError(14106, f"more than {MAX_REDIRECTS} Redirects")
                followed += 1
                # Made under the slot of the request it follows: the receiver's own choice of
                # URL, usually its own application.
                target, method = document.redirect.url, document.redirect.method
                redirected = await self.request(
                    webhook, target, method, redirect_token(webhook, followed, target, method)
                )
                if not redirected.ok:
                    raise twiml.TwimlError(11200, f"HTTP {redirected.status} from the Redirect")
                document = twiml.parse(_twiml_text(redirected), document.redirect.url)
        except twiml.TwimlError as exc:
            log.error("TwiML answered for %s: error %s", webhook.message_sid, exc)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.error("TwiML Redirect for %s: error 11200 (%s)", webhook.message_sid, exc)
        return ()


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
    for url in (webhook.url, webhook.fallback_url):
        if url:
            error = error.replace(url, destination(url))
    return error


def redirect_token(webhook: Webhook, number: int, url: str, method: str) -> str:
    """The idempotency token of a TwiML ``<Redirect>`` fetch: not the webhook's (a receiver
    that drops repeats would drop the fetch), but the same whenever the webhook is delivered
    again and its TwiML redirects the same way (UUID version 5 of both)."""
    name = f"{webhook.token} redirect {number} {method} {url}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _exact(url: str) -> URL:
    # The URL goes out exactly as signed: left to itself, yarl would re-quote it ("%2C"
    # becomes ",") and the receiver's validator would compute another signature.
    return URL(url, encoded=True)


def _twiml_text(answer: Answer) -> str:
    # TwiML is XML; anything else (a plain "OK", JSON) is no reply at all.
    body = answer.body.strip()
    if "xml" in answer.content_type or body.startswith("<"):
        return body
    return ""
