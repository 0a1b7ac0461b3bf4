"""A real webhook receiver: an aiohttp server on a real port that checks every request's
``X-Twilio-Signature`` with the twilio package's own ``RequestValidator``, as a user's
application would, and answers what the test tells it to.

It can also hang, as a receiver that accepts a request and never answers: requests to a path
in ``hold`` wait until the test releases them. It counts the requests it has open (the most at
once too), and notes one that came while another of the same message was still open."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from twilio.request_validator import RequestValidator


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    params: dict[str, str]
    signed: bool  # RequestValidator accepted X-Twilio-Signature
    user_agent: str
    token: str  # I-Twilio-Idempotency-Token


@dataclass
class Answer:
    status: int = 200
    body: str = "<Response/>"
    content_type: str = "application/xml"


@dataclass
class Receiver:
    auth_token: str
    answers: dict[str, Answer] = field(default_factory=dict)  # by path; default <Response/>
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    hold: set[str] = field(default_factory=set)  # paths whose requests wait for release()
    open: list[Received] = field(default_factory=list)  # arrived, not yet answered
    most_open: int = 0
    answered: int = 0
    overlapping: list[Received] = field(default_factory=list)  # came while its message's was open
    _held: list[asyncio.Future[None]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def url(self, path: str = "/sms") -> str:
        assert self.port, "start() first"
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def listening(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Listen (again, on the same port once it has one)."""
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening: connections are refused, as when the user's server is down.
        Requests still held are answered first (a hang ends with the test)."""
        self.release_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def release(self) -> None:
        """Answer the newest request held."""
        self._held.pop().set_result(None)

    def release_all(self) -> None:
        """Answer every request held, and hold no more."""
        self.hold = set()
        while self._held:
            self.release()

    async def _handle(self, request: web.Request) -> web.Response:
        received = await self._receive(request)
        self.open.append(received)
        self.most_open = max(self.most_open, len(self.open))
        try:
            await self._notify()
            if request.path in self.hold:
                held = asyncio.get_running_loop().create_future()
                self._held.append(held)
                await held
            answer = self.answers.get(request.path, Answer())
            return web.Response(
                status=answer.status, text=answer.body, content_type=answer.content_type
            )
        finally:
            self.open.remove(received)
            self.answered += 1
            await self._notify()

    async def _receive(self, request: web.Request) -> Received:
        validator = RequestValidator(self.auth_token)
        signature = request.headers.get("X-Twilio-Signature", "")
        if request.method == "POST":
            params = dict((await request.post()).items())
            signed = validator.validate(str(request.url), params, signature)
        else:
            params = dict(request.query)
            signed = validator.validate(str(request.url), {}, signature)
        received = Received(
            request.method,
            request.path,
            {key: str(value) for key, value in params.items()},
            signed,
            request.headers.get("User-Agent", ""),
            request.headers.get("I-Twilio-Idempotency-Token", ""),
        )
        sid = received.params.get("MessageSid")
        if sid and any(other.params.get("MessageSid") == sid for other in self.open):
            self.overlapping.append(received)
        self.requests.append(received)
        return received

    async def _notify(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    async def until(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        """Until ``check()`` holds, looked at whenever a request comes or is answered."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(check), timeout)

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, once they have come."""
        await self.until(lambda: len(self.requests) >= count, timeout)
        return self.requests[:count]

    async def wait_for(self, sid: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The requests for message ``sid`` (its ``MessageSid``), once ``count`` of them have
        come: all of them, in the order they came."""

        def its() -> list[Received]:
            return [r for r in self.requests if r.params.get("MessageSid") == sid]

        await self.until(lambda: len(its()) >= count, timeout)
        return its()
