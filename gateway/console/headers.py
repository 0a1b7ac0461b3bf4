"""What every answer under ``/console/`` carries, and what a refusal looks like there: a page,
not Twilio's JSON, with the same headers.

The headers (OWASP Secure Headers): a Content-Security-Policy that allows only the console's
own files (no inline script or style: a script an SMS smuggled in would not run even if
escaping failed), no framing (clickjacking), no MIME sniffing, no Referer (a page's address
leaves nothing in another site's logs), and no caching of pages (they show messages).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from gateway.console.rendering import render

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
NOT_FOUND: Final = "There is no such page, or it is not yours to see."
_REASONS: Final = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
}


def error_page(status: int, explanation: str) -> web.Response:
    title = _REASONS.get(status, "Refused")
    # No account's name and no form on a refusal: it may answer someone not signed in.
    context = {"title": title, "explanation": explanation, "account": None}
    return render("error.html", context, status)


@web.middleware
async def secured(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer with the headers; an HTTP error, or a bug, as a readable page."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect: it carries the headers too
            exc.headers.update(SECURITY_HEADERS)
            exc.headers.setdefault("Cache-Control", "no-store")
            raise
        if exc.status == 404 and request.path == "/console":
            raise web.HTTPPermanentRedirect("/console/", headers=SECURITY_HEADERS) from None
        explanation = NOT_FOUND if exc.status == 404 else (exc.text or "")
        response = error_page(exc.status, explanation)
        if exc.status == 405:
            response.headers["Allow"] = exc.headers.get("Allow", "")
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        response = error_page(500, "The console failed to answer; the gateway's log says why.")
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
