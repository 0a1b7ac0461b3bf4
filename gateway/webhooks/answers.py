"""A webhook's answer: taken (2xx) or not, and, for an inbound webhook, the messages of its
TwiML, ``<Redirect>`` verbs followed (at most :data:`MAX_REDIRECTS`). The document itself is
parsed by :mod:`gateway.webhooks.twiml`; each Redirect fetch is a request the sender makes
(:meth:`gateway.webhooks.sender.WebhookSender.request`), with a token of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import aiohttp

from gateway.domain.records import Webhook
from gateway.webhooks.signing import redirect_token

if TYPE_CHECKING:
    from gateway.webhooks import twiml

# The webhook path logs under one name, as it did before the answer had a module of its own:
# a journal filtered on it (README, "Logs") still shows what a TwiML answer did.
log = logging.getLogger("gateway.webhooks.sender")

MAX_RESPONSE: Final = 64 * 1024
MAX_REDIRECTS: Final = 10


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str
    content_type: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def answer_of(response: aiohttp.ClientResponse) -> Answer:
    """What ``response`` answered (its body read up to :data:`MAX_RESPONSE`)."""
    raw = await response.content.read(MAX_RESPONSE)
    return Answer(response.status, raw.decode("utf-8", "replace"), response.content_type or "")


# A request for a Redirect: (webhook, url, method, idempotency token) to its answer.
Fetch = Callable[[Webhook, str, str, str | None], Awaitable[Answer]]


async def twiml_replies(
    webhook: Webhook, answer: Answer, url: str, fetch: Fetch
) -> tuple[twiml.ReplyMessage, ...]:
    """The messages of the TwiML the receiver answered with (Redirects followed, at most
    ``MAX_REDIRECTS``); a faulty document is logged with Twilio's code and sends nothing."""
    # TwiML's reader on the first answer to read: a gateway whose numbers have no webhook
    # never loads it (start-up and memory, issue 17).
    from gateway.webhooks import twiml  # noqa: PLC0415

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
            redirected = await fetch(
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


def _twiml_text(answer: Answer) -> str:
    # TwiML is XML; anything else (a plain "OK", JSON) is no reply at all.
    body = answer.body.strip()
    if "xml" in answer.content_type or body.startswith("<"):
        return body
    return ""
