"""Live updates: ``GET /console/events``, a session's server-sent events (HTML Standard §9.2:
``text/event-stream``), which ``static/live.js`` applies to the page open (the overview's
modems and queue, a message's status, a conversation's new messages); and the console's
scripts, served from the package like its style sheet.

What a stream carries, and when it ends, is the feed's (gateway.console.feed).
"""

from __future__ import annotations

import contextlib
from importlib import resources
from typing import Final

from aiohttp import web

from gateway.console.feed import Stream
from gateway.console.headers import NOT_FOUND, SECURITY_HEADERS, error_page
from gateway.console.parts import CONSOLE, ConsoleParts
from gateway.console.sessions import Session
from gateway.console.views import signed_in

# The scripts of the pages (no inline script: the CSP allows only the console's own files).
SCRIPTS: Final = ("live.js", "compose.js")
# How long a browser waits before it connects again after a stream ends (§9.2.6 "retry").
RETRY_MS: Final = 5000


@signed_in
async def events(
    request: web.Request, console: ConsoleParts, session: Session
) -> web.StreamResponse:
    transport = request.transport
    last = request.headers.get("Last-Event-ID", "")  # a reconnection: what it saw last
    stream = console.live.open(
        session.token,
        session.account,
        transport.abort if transport else lambda: None,
        int(last) if last.isdigit() and len(last) < 19 else None,
    )
    if stream is None:
        return error_page(503, "Too many live pages are open; this one is not updated live.")
    response = web.StreamResponse(
        headers={
            **SECURITY_HEADERS,
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each event on as it comes
        }
    )
    try:
        await response.prepare(request)
        await _write(response, stream, f"retry: {RETRY_MS}\n: live\n\n".encode())
        while (chunk := await stream.queue.get()) is not None:
            await _write(response, stream, chunk)
    except ConnectionError:
        pass  # the browser went away (or was cut off as too slow)
    finally:
        console.live.close(stream)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


async def _write(response: web.StreamResponse, stream: Stream, chunk: bytes) -> None:
    stream.writing = True
    try:
        await response.write(chunk)
    finally:
        stream.writing = False


async def script(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in SCRIPTS:
        return error_page(404, NOT_FOUND)
    body = resources.files("gateway.console").joinpath("static", name).read_bytes()
    response = web.Response(body=body, content_type="text/javascript", charset="utf-8")
    response.headers["Cache-Control"] = "no-cache"  # revalidated: a new release shows at once
    return response


async def _stop(app: web.Application) -> None:
    await app[CONSOLE].live.stop()


def register(app: web.Application) -> None:
    """The routes (before the views', whose last route takes every path), and the end of
    every stream when the gateway stops (aiohttp's on_shutdown comes before it waits for
    the requests under way: an open page never holds the stop)."""
    app.add_routes(
        [
            web.get("/events", events, allow_head=False),
            web.get(r"/static/{name:[a-z]+\.js}", script, allow_head=False),
        ]
    )
    app.on_shutdown.append(_stop)
