"""The webhooks page (``/console/webhooks``): the account's webhooks still to deliver, failing,
and given up, as the store's durable queue has them (:mod:`gateway.webhooks.sender` works it),
each with "retry now".

"Retry now" makes the webhook due at once through the store (a given-up one is pending again
for one more attempt, its attempts so far kept) and wakes the sender, which takes it like any
due webhook: signed the same, with the same idempotency token, to its destination's turn.
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web
from yarl import URL

from gateway.console.headers import error_page
from gateway.console.parts import ConsoleParts
from gateway.console.rendering import render
from gateway.console.sessions import Session
from gateway.console.views import page_context, signed_in
from gateway.domain.destinations import destination
from gateway.domain.models import is_sid
from gateway.store import QueuedWebhook

WEBHOOKS: Final = "/console/webhooks"
# Rows per list: a receiver down for a day leaves thousands pending; the page shows the
# first (a count of "100+"). The lists are read through the pending webhooks' index and the
# troubled ones' (schema migration 20), never the whole table (bench.console).
SHOWN: Final = 100
# A URL in an error text ("HTTP 503 from <url>"): shown as shown_url shows the webhook's own.
_URL_IN_TEXT: Final = re.compile(r"https?://[^\s<>\"')]+")


def shown_url(url: str) -> str:
    """Where a webhook goes, without what may be a secret: a URL's user and password (Twilio
    sends HTTP basic credentials given in it) or its query (a receiver's key, often)."""
    try:
        path = URL(url, encoded=True).path
    except (ValueError, UnicodeError):
        path = ""
    return destination(url) + path


def _row(webhook: QueuedWebhook) -> dict[str, object]:
    linked = webhook.message_sid is not None and (
        is_sid(webhook.message_sid, "SM") or is_sid(webhook.message_sid, "MM")
    )
    return {
        "id": webhook.id,
        "about": webhook.message_sid or "",
        "linked": linked,  # a call's CallSid has no page
        "kind": webhook.kind,
        "url": shown_url(webhook.url),
        "attempts": webhook.attempts,
        "last_error": _URL_IN_TEXT.sub(lambda m: shown_url(m[0]), webhook.last_error or ""),
        "next_attempt_at": webhook.next_attempt_at,
        "updated_at": webhook.updated_at,
    }


@signed_in
async def webhooks(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    store = console.api.store
    pending = await store.account_webhooks(session.account, "pending", SHOWN)
    given_up = await store.account_webhooks(session.account, "failed", SHOWN)
    # Failing: tried and not taken yet (a primary URL that failed, its fallback next, counts).
    failing = [w for w in pending if w.attempts > 0 or w.last_error]
    waiting = [w for w in pending if not (w.attempts > 0 or w.last_error)]
    context = page_context(
        session,
        failing=[_row(w) for w in failing],
        waiting=[_row(w) for w in waiting],
        given_up=[_row(w) for w in given_up],
        shown=SHOWN,
        now=console.clock(),
    )
    return render("webhooks.html", context)


@signed_in
async def retry(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    raw = request.match_info["id"]
    webhook_id = int(raw) if raw.isdigit() and len(raw) < 19 else None  # an SQLite integer
    retried = webhook_id is not None and await console.api.store.retry_webhook_now(
        session.account, webhook_id, console.clock()
    )
    if not retried:
        return error_page(
            404, "There is no such webhook waiting or given up in this account (delivered?)."
        )
    console.wake_webhooks()
    return web.Response(status=303, headers={"Location": WEBHOOKS})  # RFC 9110 §15.4.4


def routes() -> list[web.RouteDef]:
    return [
        web.get("/webhooks", webhooks, allow_head=False),
        web.post("/webhooks/{id}/retry", retry),
    ]
