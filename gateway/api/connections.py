"""The HTTP server's connections: how long a client may take, and how many it may hold.

Whatever clients do with their connections, the gateway keeps answering. Each connection is in
one phase at a time, with a deadline:

* **idle**, just opened or kept alive after an answer, no byte of a request yet: closed after
  ``idle_timeout``;
* **head**, a request's first byte came: the head (request line and headers) must be complete
  ``head_timeout`` later, or the client is answered 408 and the connection closed. A head sent a
  byte at a time ("slowloris") would otherwise hold a connection for ever: aiohttp's own
  keep-alive timer stops counting once a request is under way;
* **busy**, a request is being answered: its body is read within ``body_timeout``
  (:func:`gateway.api.forms.read_form`), the rest is the handler's own time.

At most ``max_connections`` are open at once (:func:`connection_cap` keeps it below the limit
of open files, with a reserve for the modems, the database and webhooks). A new connection
over the cap closes the one idle longest; when every connection is answering a request, the
newcomer is answered a Twilio-shaped 503 and closed. Malformed HTTP is answered a Twilio-shaped
400, counted, and logged at DEBUG only: nothing a client sends writes an ERROR line.

The pieces are aiohttp's, subclassed where it offers no setting: :class:`GuardedHandler` (its
per-connection protocol), :class:`GuardedServer` (which makes them) and :class:`GuardedRunner`
(which makes that server for the application).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import resource
import ssl
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.streams import StreamReader

from gateway.domain.errors import ApiError

log = logging.getLogger(__name__)

# Connections the event loop accepts at one wake-up of the listening socket (its listen
# backlog): they hold their files before the guard hears of them and can close others.
ACCEPT_BATCH: Final = 32
# Open files the gateway keeps for itself, out of its limit: aiohttp's webhook connection pool
# (100 sockets at most), the database (two connections, each with its file, WAL and index),
# the modems' serial ports, the listening socket, the event loop's own, stdio and logs; and
# three batches of accepted connections not yet counted, or closed but not yet let go (seen:
# EMFILE in accept() with 2,000 clients connecting at once and a reserve of 160).
RESERVED_FILES: Final = 160 + 3 * ACCEPT_BATCH
# Refused newcomers that may wait for the client to read their 503 at once; past this, more
# are closed without an answer. Part of the reserve above.
_MAX_REFUSING: Final = 32
# How long an answered connection (408, 503) waits for the client to read the answer and
# close, before it is closed anyway.
_LINGER: Final = 2.0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    head_timeout: float  # seconds
    body_timeout: float  # seconds
    idle_timeout: float  # seconds
    max_connections: int


def open_file_limit() -> int:
    """The process's soft ``RLIMIT_NOFILE`` (systemd's ``LimitNOFILE=``)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_cap(configured: int | None, open_files: int) -> int:
    """``max_connections`` as configured, but never more than ``open_files`` (the process's
    ``RLIMIT_NOFILE``) less :data:`RESERVED_FILES`; unset, exactly that."""
    allowed = max(open_files - RESERVED_FILES, 1)
    if configured is None:
        return allowed
    if configured > allowed:
        log.warning(
            "max_connections = %d lowered to %d: the gateway may open %d files "
            "(LimitNOFILE in its systemd unit) and keeps %d for modems, database and webhooks",
            configured,
            allowed,
            open_files,
            RESERVED_FILES,
        )
    return min(configured, allowed)


class ConnectionGuard:
    """The open connections, which of them are idle (longest first), and what was done."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.evicted = 0  # idle connections closed to make room
        self.refused = 0  # newcomers refused (503) with every connection busy
        self.malformed = 0  # requests refused as malformed HTTP (400)
        self.timeouts: Counter[str] = Counter()  # connections closed for a deadline, by phase
        self._open: set[GuardedHandler] = set()
        self._idle: OrderedDict[GuardedHandler, None] = OrderedDict()
        self._refusing = 0

    @property
    def open(self) -> int:
        return len(self._open)

    def reconfigure(self, limits: HttpLimits) -> None:
        """New limits (a reload), for the deadlines set and the connections made from now on:
        none open is closed for a lower cap, it makes room as it goes idle."""
        self.limits = limits

    def admit(self, connection: GuardedHandler) -> bool:
        """Count in a new connection, closing the idlest one if the cap is reached; ``False``
        if there is none to close (the newcomer is to be refused)."""
        if len(self._open) >= self.limits.max_connections:
            if not self._idle:
                self.refused += 1
                return False
            oldest, _ = self._idle.popitem(last=False)
            self._open.discard(oldest)
            self.evicted += 1
            oldest.force_close()
        self._open.add(connection)
        return True

    def idle(self, connection: GuardedHandler) -> None:
        if connection in self._open:
            self._idle[connection] = None
            self._idle.move_to_end(connection)

    def busy(self, connection: GuardedHandler) -> None:
        self._idle.pop(connection, None)

    def closed(self, connection: GuardedHandler) -> None:
        self._open.discard(connection)
        self._idle.pop(connection, None)

    def refusing(self, change: int) -> bool:
        """Count a refused connection in (``+1``: ``False`` if too many already) or out."""
        if change > 0 and self._refusing >= _MAX_REFUSING:
            return False
        self._refusing += change
        return True


class _Phase(enum.Enum):
    IDLE = "idle"
    HEAD = "head"
    BUSY = "busy"
    CLOSING = "closing"  # answered by the guard (408, 503): what the client sends is dropped


class GuardedHandler(web.RequestHandler):
    """aiohttp's connection protocol with the guard's deadlines, cap and quiet refusals."""

    __slots__ = ("_deadline", "_guard", "_payload", "_phase", "_refused")

    def __init__(self, manager: web.Server, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._phase = _Phase.IDLE
        self._deadline: asyncio.TimerHandle | None = None
        self._payload: StreamReader | None = None  # the body of the last request parsed
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self._guard.admit(self):
            self._become_idle()
        elif self._guard.refusing(+1):
            self._refused = True
            limit = self._guard.limits.max_connections
            message = f"Service Unavailable: {limit} connections are all answering requests"
            self._answer_and_close(ApiError(20503, message, 503))
        else:
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        self._guard.closed(self)
        if self._refused:
            self._refused = False
            self._guard.refusing(-1)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase is _Phase.CLOSING:
            return
        if data and self._phase is _Phase.IDLE and self._body_done():
            self._phase = _Phase.HEAD
            self._arm(self._guard.limits.head_timeout, self._head_expired)
        parsed, body = self._request_count, self._payload
        super().data_received(data)
        if self._request_count != parsed:  # a head came (or a malformed one, answered 400)
            self._phase = _Phase.BUSY
            self._disarm()
            self._guard.busy(self)
            if body is not None and not body.is_eof():
                # Nothing but an error can follow a body cut short: aiohttp's parser refused
                # what came (a bad chunk size...), queued a 400 for after this request, and left
                # its body waiting for ever. Fail the body, and its handler answers at once;
                # ended too, so that aiohttp does not read it again after the answer.
                body.set_exception(web.RequestPayloadError("the body is not valid HTTP"))
                body.feed_eof()
            if self._messages:
                self._payload = self._messages[-1][1]

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        answered = await super().finish_response(request, resp, start_time)
        if not resp.keep_alive:
            # The connection closes after this answer. aiohttp first reads what is left of an
            # unread body, for up to 10 s: the client has a little time to take the answer.
            self._arm(_LINGER, self.force_close)
        elif self._phase is _Phase.BUSY and not self._messages:
            self._become_idle()
        return answered

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp's parser refused (400): Twilio's error body, one DEBUG line. A
        5xx is ours, a bug: aiohttp logs it with its traceback."""
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            return super().handle_error(request, status, exc, message)
        self._guard.malformed += 1
        reason = _first_line(message or str(exc or "") or HTTPStatus(status).phrase)
        log.debug("malformed request from %s: %s", request.remote, reason)
        writer: AbstractStreamWriter = request.writer
        if writer.output_size > 0:  # an answer was under way: only closing is left
            raise ConnectionError("malformed request after an answer began")
        error = ApiError(20001, f"Malformed HTTP request: {reason}", status)
        response = web.json_response(error.body(), status=status)
        response.force_close()
        return response

    def _body_done(self) -> bool:
        return self._payload is None or self._payload.is_eof()

    def _become_idle(self) -> None:
        self._phase = _Phase.IDLE
        self._arm(self._guard.limits.idle_timeout, self._idle_expired)
        self._guard.idle(self)

    def _idle_expired(self) -> None:
        self._deadline = None
        if self._phase is _Phase.IDLE:
            self._guard.timeouts["idle"] += 1
            self.force_close()

    def _head_expired(self) -> None:
        self._deadline = None
        if self._phase is _Phase.HEAD:
            self._guard.timeouts["head"] += 1
            seconds = self._guard.limits.head_timeout
            message = f"Request Timeout: the request's head took longer than {seconds:g} s"
            self._answer_and_close(ApiError(20001, message, 408))

    def _answer_and_close(self, error: ApiError) -> None:
        """Answer ``error`` and close without reading a request. The write side is closed
        first: closing outright with the client's bytes unread would reset the connection,
        and the client could lose the answer (RFC 9112 §9.6)."""
        self._phase = _Phase.CLOSING
        self._guard.busy(self)
        transport = self.transport
        if transport is None:
            return
        transport.write(_raw_response(error))
        if transport.can_write_eof():
            transport.write_eof()
            self._arm(_LINGER, self.force_close)  # or sooner, when the client closes
        else:
            self.force_close()  # TLS: its close_notify follows the answer

    def _arm(self, seconds: float, expired: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self._loop.call_later(seconds, expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def _first_line(text: str) -> str:
    # aiohttp's parser messages quote the offending bytes after a colon on the same or the next
    # lines ("Invalid character in chunk size:\n\n  b'zz'"): the reason, not the client's bytes.
    return text.strip().splitlines()[0].split(":")[0].strip() if text.strip() else "bad request"


def _raw_response(error: ApiError) -> bytes:
    body = json.dumps(error.body()).encode()
    head = (
        f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedServer(web.Server):
    """aiohttp's server whose connections are :class:`GuardedHandler`."""

    def __init__(self, handler: Any, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.guard = guard

    def __call__(self) -> GuardedHandler:
        # The backstop follows the guard's limits, which a reload may change.
        options = self._kwargs | {"keepalive_timeout": _backstop(self.guard.limits)}
        return GuardedHandler(self, self.guard, loop=self._loop, **options)


def _backstop(limits: HttpLimits) -> float:
    """aiohttp's own keep-alive timer, a backstop: it never fires before the guard's."""
    return limits.idle_timeout + limits.head_timeout


class GuardedRunner(web.AppRunner):
    """aiohttp's application runner, serving through a :class:`GuardedServer`."""

    def __init__(self, app: web.Application, guard: ConnectionGuard) -> None:
        self._options: dict[str, Any] = {
            "access_log": None,
            "logger": log,
            "keepalive_timeout": _backstop(guard.limits),
        }
        super().__init__(app, **self._options)
        self.guard = guard

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()  # the application started and frozen
        return GuardedServer(
            made.request_handler,
            self.guard,
            request_factory=made.request_factory,
            **self._options,
        )


class GuardedSite(web.BaseSite):
    """A listening socket for a :class:`GuardedRunner`, on ``host:port``, over TLS with ``tls``.

    aiohttp's ``TCPSite`` but for one thing: a TLS connection reaches the guard only once its
    handshake is done, so the handshake, and the closing one, are bounded by ``head_timeout``
    here (asyncio's default is a minute each, which ``TCPSite`` cannot change). A site of the
    runner's like any other: ``runner.addresses`` says where it listens, and the runner's
    cleanup closes it first.
    """

    __slots__ = ("_host", "_port")

    def __init__(
        self, runner: GuardedRunner, host: str, port: int, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(runner, ssl_context=tls, backlog=ACCEPT_BATCH)
        self._host, self._port = host, port

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        runner = self._runner
        assert isinstance(runner, GuardedRunner) and runner.server is not None
        handshakes: dict[str, Any] = {}
        if self._ssl_context is not None:
            seconds = runner.guard.limits.head_timeout
            handshakes = {"ssl_handshake_timeout": seconds, "ssl_shutdown_timeout": seconds}
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            runner.server,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            **handshakes,
        )
