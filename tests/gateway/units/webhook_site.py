"""The webhook side running for a test: a real HTTP server on 127.0.0.1 (real sockets, a port of
its own: a destination of its own) that answers as the test scripts it, and the webhook sender
over the in-memory store and the test clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.domain.records import Webhook
from gateway.webhooks.sender import WebhookSender
from tests.fakes.clock import Clock
from tests.fakes.store import MemoryStore
from tests.gateway.units.rig import TOKENS, WAIT, config, make_webhook_sender, outbound_alone


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: str = ""
    content_type: str = "text/plain"
    hold: bool = False  # answered only once the site is released (a receiver that hangs)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    url: str  # as the sender signed it: scheme, host, port, path and query
    headers: Mapping[str, str]
    params: dict[str, str]  # the form (POST) or the query (GET)


@dataclass
class Site:
    """Answers each path with its scripted replies in turn (the last one again and again;
    200 with no body when none is scripted), and remembers every request."""

    requests: list[Request] = field(default_factory=list)
    replies: defaultdict[str, list[Reply]] = field(default_factory=lambda: defaultdict(list))
    in_flight: int = 0
    most_in_flight: int = 0
    port: int = 0
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def destination(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, *replies: Reply) -> None:
        self.replies[path] = list(replies)

    def release(self) -> None:
        """Every held request is answered, and those to come are no longer held."""
        self._released.set()

    async def until(self, condition: Any) -> None:
        """Returns once ``condition(site)`` holds, looked at after each request and answer."""
        async with asyncio.timeout(WAIT):
            while not condition(self):
                self._changed.clear()
                await self._changed.wait()

    async def _handle(self, request: web.Request) -> web.Response:
        form = await request.post() if request.method == "POST" else request.query
        self.requests.append(
            Request(
                request.method,
                request.path,
                str(request.url),
                dict(request.headers),
                {name: str(value) for name, value in form.items()},
            )
        )
        scripted = self.replies[request.path]
        reply = (scripted.pop(0) if len(scripted) > 1 else scripted[0]) if scripted else Reply()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self._changed.set()
        try:
            if reply.hold:
                await self._released.wait()
            return web.Response(
                status=reply.status, text=reply.body, content_type=reply.content_type
            )
        finally:
            self.in_flight -= 1
            self._changed.set()


@contextlib.asynccontextmanager
async def site() -> AsyncIterator[Site]:
    served = Site()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", served._handle)
    runner = web.AppRunner(app, shutdown_timeout=0.0)
    await runner.setup()
    listener = web.TCPSite(runner, "127.0.0.1", 0)
    await listener.start()
    served.port = runner.addresses[0][1]
    try:
        yield served
    finally:
        served.release()  # nothing held is left hanging at the end
        await runner.cleanup()


@dataclass
class Delivering:
    """The webhook sender, started, over the in-memory store and the test clock; its TwiML
    replies go through a real Outbound (over simulated modems that are never started: a reply
    is committed with its webhook's delivery, and sent by a dispatcher not running here)."""

    store: MemoryStore
    clock: Clock
    sender: WebhookSender
    outcomes: list[tuple[Webhook, str | None]] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def _record(self, webhook: Webhook, error: str | None) -> None:
        self.outcomes.append((webhook, error))
        self._changed.set()

    async def enqueue(self, webhook: Webhook) -> int:
        """``webhook`` committed, as a flow commits one, and the sender woken; its id."""
        await self.store.enqueue_webhook(webhook, self.clock())
        self.sender.wake()
        return max(self.store.webhooks)

    def advance(self, seconds: float) -> None:
        """The clock moves on; the sender looks again, as its timer would have fired."""
        self.clock.advance(seconds)
        self.sender.wake()

    async def outcome(self, count: int) -> list[str | None]:
        """The errors of the first ``count`` outcomes (``None``: delivered), once committed."""
        async with asyncio.timeout(WAIT):
            while len(self.outcomes) < count:
                self._changed.clear()
                await self._changed.wait()
        return [error for _, error in self.outcomes[:count]]


@contextlib.asynccontextmanager
async def delivering(**options: Any) -> AsyncIterator[Delivering]:
    store, clock = MemoryStore(), Clock()
    sender = make_webhook_sender(
        store, clock, outbound=outbound_alone(config(), store, clock), **options
    )
    unit = Delivering(store, clock, sender)
    sender.on_outcome(unit._record)
    sender.start(TOKENS)
    try:
        yield unit
    finally:
        await sender.stop()
