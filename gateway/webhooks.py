"""Webhooks: signed like Twilio's, delivered from a durable queue, retried with backoff.

A webhook is committed in the same transaction as what it reports (an inbound message, a
status change) and taken off the queue only once the receiver answered 2xx, so a restart
repeats only a webhook whose delivery was not confirmed. Failures back off exponentially up to
a limit; the primary URL's failure goes to the fallback URL at once, when there is one. Give-ups
are logged with the message SID and counted.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from gateway import twiml
from gateway.store import NewMessage, Store, Webhook
from gateway.tasks import Tasks
from gateway.waiting import seconds_until, stop_tasks, woken

log = logging.getLogger(__name__)

USER_AGENT: Final = "TwilioProxy/1.1"  # what Twilio's own webhook requests carry
SIGNATURE_HEADER: Final = "X-Twilio-Signature"
MAX_RESPONSE: Final = 64 * 1024
MAX_REDIRECTS: Final = 10
BACKOFF: Final = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0)  # seconds, by failed attempt

Params = Sequence[tuple[str, str]]


class ReplyQueue(Protocol):
    """Where a TwiML answer's ``<Message>`` verbs go (:class:`gateway.replies.TwimlReplies`)."""

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


class WebhookSender:
    def __init__(
        self,
        store: Store,
        tokens: Mapping[str, str],
        clock: Callable[[], datetime],
        *,
        timeout: float = 15.0,
        max_attempts: int = 10,
        backoff: tuple[float, ...] = BACKOFF,
        tasks: Tasks | None = None,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.clock = clock
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.tasks = tasks or Tasks()
        self.delivered = 0
        self.retries = 0
        self.give_ups = 0
        self.replies: ReplyQueue | None = None
        self._listeners: list[Callable[[Webhook, str | None], None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def on_outcome(self, listener: Callable[[Webhook, str | None], None]) -> Callable[[], None]:
        """Call ``listener(webhook, error)`` after each attempt's outcome is committed
        (``error`` is ``None`` when the receiver took it)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _tell(self, webhook: Webhook, error: str | None) -> None:
        for listener in list(self._listeners):
            listener(webhook, error)

    def wake(self) -> None:
        """A webhook was committed: deliver it now."""
        self._wake.set()

    def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": USER_AGENT},
        )
        self._task = self.tasks.spawn("webhooks", self._run)

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before looking: a webhook committed meanwhile is not missed
            due = await self.store.due_webhooks(self.clock())
            if not due:
                await self._sleep_until_due()
                continue
            # Different messages' webhooks go out side by side; one message's stay in order.
            outcomes = await asyncio.gather(
                *(self._deliver(webhook) for webhook in due), return_exceptions=True
            )
            for webhook, outcome in zip(due, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    # A fault of ours: the webhook stays queued and the others still go.
                    log.error("webhook %d for %s: %r", webhook.id, webhook.message_sid, outcome)
                    await self._failed(webhook, repr(outcome), self.clock())

    async def _sleep_until_due(self) -> None:
        due = await self.store.next_webhook_at()
        await woken(self._wake, seconds_until(due, self.clock))

    async def request(self, webhook: Webhook, url: str, method: str) -> Answer:
        """Send ``webhook``'s parameters to ``url``, signed with its account's auth token."""
        assert self._session is not None, "start() first"
        token = self.tokens.get(webhook.account_sid, "")
        headers = {"Accept": "*/*"}
        if method == "GET":
            target = with_query(url, webhook.params)
            headers[SIGNATURE_HEADER] = signature(token, target)
            request = self._session.get(_exact(target), headers=headers, allow_redirects=False)
        else:
            headers[SIGNATURE_HEADER] = signature(token, url, webhook.params)
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
            body = urlencode(list(webhook.params)).encode()
            request = self._session.post(
                _exact(url), data=body, headers=headers, allow_redirects=False
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
        outcome = await self._attempt(webhook, webhook.url, webhook.method)
        used_url = webhook.url
        if isinstance(outcome, str) and webhook.fallback_url:
            log.warning("%s: %s; trying the fallback URL", webhook.message_sid, outcome)
            fallback = webhook.fallback_method or "POST"
            outcome = await self._attempt(webhook, webhook.fallback_url, fallback)
            used_url = webhook.fallback_url
        if isinstance(outcome, str):
            await self._failed(webhook, outcome, self.clock())
            self._tell(webhook, outcome)
            return
        queue = self.replies if webhook.kind == "inbound" else None
        replies: list[NewMessage] = []
        if queue is not None:
            answered = await self._twiml(webhook, outcome, used_url)
            replies = queue.prepare(webhook, answered) if answered else []
        await self.store.webhook_delivered(webhook.id, self.clock(), replies)
        self.delivered += 1
        if queue is not None and replies:
            queue.queued(replies)
        self._tell(webhook, None)

    async def _failed(self, webhook: Webhook, error: str, now: datetime) -> None:
        attempts = webhook.attempts + 1
        if attempts >= self.max_attempts:
            self.give_ups += 1
            log.error(
                "webhook for %s to %s given up after %d attempts: %s (Twilio error 11200)",
                webhook.message_sid,
                webhook.url,
                attempts,
                error,
            )
            await self.store.webhook_failed(webhook.id, attempts, error, now)
            return
        self.retries += 1
        delay = self.backoff[min(attempts, len(self.backoff)) - 1]
        log.warning(
            "webhook for %s failed (%s); attempt %d of %d in %g s",
            webhook.message_sid,
            error,
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
            for _ in range(MAX_REDIRECTS):
                messages.extend(document.messages)
                if document.redirect is None:
                    return tuple(messages)
                redirected = await self.request(
                    webhook, document.redirect.url, document.redirect.method
                )
                if not redirected.ok:
                    raise twiml.TwimlError(11200, f"HTTP {redirected.status} from the Redirect")
                document = twiml.parse(_twiml_text(redirected), document.redirect.url)
            raise twiml.TwimlError(14106, f"more than {MAX_REDIRECTS} Redirects")
        except twiml.TwimlError as exc:
            log.error("TwiML answered for %s: error %s", webhook.message_sid, exc)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.error("TwiML Redirect for %s: error 11200 (%s)", webhook.message_sid, exc)
        return ()


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
