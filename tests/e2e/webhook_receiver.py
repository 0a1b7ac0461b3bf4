"""A real webhook receiver: an aiohttp server on a real port that checks every request's
``X-Twilio-Signature`` with the twilio package's own ``RequestValidator``, as a user's
application would, and answers what the test tells it to."""

from __future__ import annotations

import asyncio
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
        """Stop listening: connections are refused, as when the user's server is down."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        validator = RequestValidator(self.auth_token)
        signature = request.headers.get("X-Twilio-Signature", "")
        if request.method == "POST":
            params = dict((await request.post()).items())
            signed = validator.validate(str(request.url), params, signature)
        else:
            params = dict(request.query)
            signed = validator.validate(str(request.url), {}, signature)
        self.requests.append(
            Received(
                request.method,
                request.path,
                {key: str(value) for key, value in params.items()},
                signed,
                request.headers.get("User-Agent", ""),
            )
        )
        async with self._arrived:
            self._arrived.notify_all()
        answer = self.answers.get(request.path, Answer())
        return web.Response(
            status=answer.status, text=answer.body, content_type=answer.content_type
        )

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, once they have come."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.requests) >= count), timeout
            )
        return self.requests[:count]
