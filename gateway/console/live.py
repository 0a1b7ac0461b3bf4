"""Live updates: ``GET /console/events``, a session's server-sent events (HTML Standard §9.2:
``text/event-stream``), which ``static/live.js`` applies to the page open (the overview's
modems and queue, a message's status, a conversation's new messages); and the console's
scripts, served from the package like its style sheet.

What a stream carries, and when it ends, is the feed's (gateway.console.feed).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
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


# --- messages per minute -----------------------------------------------------------------------

CHART_HOURS: Final = 3
_LEFT, _RIGHT, _TOP, _BOTTOM, _WIDTH, _HEIGHT = 44, 752, 12, 132, 760, 156
_TEXT: Final = 'font-size="12" font-family="sans-serif" fill="#1b1f24"'  # as console.css's


@signed_in
async def chart(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    """The account's messages sent and received per minute over the last
    :data:`CHART_HOURS` hours, as an SVG the overview shows (an image: the CSP allows the
    console's own; live.js loads it again as messages come). Counted by the store in one
    query (by DateSent), drawn here: bars, the busiest minute's count, the hours."""
    now = console.clock().astimezone(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=CHART_HOURS * 60 - 1)
    counts = await console.api.store.messages_per_minute(session.account, start)
    return web.Response(
        text=chart_svg(counts, start, CHART_HOURS * 60),
        content_type="image/svg+xml",
        charset="utf-8",
    )


def chart_svg(counts: dict[datetime, int], start: datetime, minutes: int) -> str:
    """Numbers and times only: nothing in it comes from a message."""
    peak = max(counts.values(), default=0)
    step = (_RIGHT - _LEFT) / minutes
    height = _BOTTOM - _TOP
    total = sum(counts.values())
    shapes = [
        f"<title>Messages per minute, {start:%H:%M} to "
        f"{start + timedelta(minutes=minutes - 1):%H:%M} UTC: {total} in all, "
        f"at most {peak} in a minute</title>",
        f'<line x1="{_LEFT}" y1="{_BOTTOM}" x2="{_RIGHT}" y2="{_BOTTOM}" stroke="#4a5361"/>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 10}" text-anchor="end" {_TEXT}>{peak}</text>',
        f'<text x="{_LEFT - 6}" y="{_BOTTOM}" text-anchor="end" {_TEXT}>0</text>',
    ]
    for minute in range(minutes):
        at = start + timedelta(minutes=minute)
        count = counts.get(at, 0)
        x = _LEFT + minute * step
        if count:
            tall = max(1.0, height * count / peak)
            shapes.append(
                f'<rect x="{x:.1f}" y="{_BOTTOM - tall:.1f}" width="{max(step - 0.5, 1):.1f}" '
                f'height="{tall:.1f}" fill="#0b5cad"/>'
            )
        if at.minute == 0:
            shapes.append(
                f'<text x="{x:.1f}" y="{_HEIGHT - 6}" text-anchor="middle" {_TEXT}>'
                f"{at:%H:%M}</text>"
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'width="{_WIDTH}" height="{_HEIGHT}" role="img">{"".join(shapes)}</svg>'
    )


async def _stop(app: web.Application) -> None:
    await app[CONSOLE].live.stop()


def register(app: web.Application) -> None:
    """The routes (before the views', whose last route takes every path), and the end of
    every stream when the gateway stops (aiohttp's on_shutdown comes before it waits for
    the requests under way: an open page never holds the stop)."""
    app.add_routes(
        [
            web.get("/events", events, allow_head=False),
            web.get("/chart.svg", chart, allow_head=False),
            web.get(r"/static/{name:[a-z]+\.js}", script, allow_head=False),
        ]
    )
    app.on_shutdown.append(_stop)
