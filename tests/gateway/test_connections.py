"""The HTTP connections' deadlines and cap (:mod:`gateway.api.connections`), each provoked on a real
socket against an in-process gateway with small timeouts.

The waits are the deadlines themselves (a few tenths of a second), each bounded by
:data:`~tests.gateway.raw_http.WAIT`. A client that trickles its bytes paces them itself: that
pace is the behaviour under test, not a wait for the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from gateway.api.connections import RESERVED_FILES, connection_cap
from gateway.runtime import Gateway
from tests.gateway.gateway_rig import ACCOUNT, basic_auth, config, running
from tests.gateway.raw_http import WAIT, Connection, Reply, request

MESSAGES: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"
MESSAGES_ROUTE: Final = "/2010-04-01/Accounts/{account}/Messages.json"
AUTHORIZATION: Final = f"Authorization: {basic_auth()['Authorization']}"
FORM: Final = "Content-Type: application/x-www-form-urlencoded"
SHORT: Final = 0.3  # seconds: the deadline a test provokes
PACE: Final = 0.05  # seconds between the bytes of a trickling client


@contextlib.asynccontextmanager
async def gateway(tmp_path: Path, **limits: Any) -> AsyncIterator[Gateway]:
    async with running(config(tmp_path, **limits)) as started:
        yield started


@contextlib.asynccontextmanager
async def connected(started: Gateway) -> AsyncIterator[Connection]:
    connection = await Connection.open("127.0.0.1", started.port)
    try:
        yield connection
    finally:
        await connection.close()


def assert_twilio(reply: Reply, status: int, code: int) -> None:
    body = reply.json()
    assert (reply.status, body["status"], body["code"]) == (status, status, code), body
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


async def trickle(connection: Connection, data: bytes) -> None:
    """Send ``data`` a byte at a time, :data:`PACE` apart, until done or disconnected."""
    for byte in data:
        try:
            await connection.send(bytes([byte]))
        except ConnectionError:
            return
        await asyncio.sleep(PACE)


async def stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# --- deadlines ----------------------------------------------------------------------------------


async def test_a_silent_connection_is_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    async with gateway(tmp_path, idle_timeout=SHORT) as started, connected(started) as silent:
        assert await silent.closed_by_server()
        assert started.connections.timeouts["idle"] == 1


async def test_a_kept_alive_connection_is_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    async with gateway(tmp_path, idle_timeout=SHORT) as started, connected(started) as client:
        assert (await client.exchange(request("GET", "/healthz"))).status == 200
        assert (await client.exchange(request("GET", "/healthz"))).status == 200
        assert await client.closed_by_server()


async def test_a_head_sent_a_byte_at_a_time_is_answered_408_and_closed(tmp_path: Path) -> None:
    head = request("GET", "/healthz", AUTHORIZATION, "X-Padding: " + "x" * 200)
    async with gateway(tmp_path, head_timeout=SHORT) as started, connected(started) as slow:
        trickling = asyncio.create_task(trickle(slow, head))
        reply = await slow.reply()
        assert_twilio(reply, 408, 20001)
        assert reply.headers["connection"] == "close"
        assert await slow.closed_by_server()  # its write side at once, after the answer
        await stopped(trickling)
        assert started.connections.timeouts["head"] == 1


async def test_the_head_timeout_counts_from_the_first_byte_not_from_idle(tmp_path: Path) -> None:
    """A connection kept alive longer than head_timeout still has all of it for its head."""
    async with (
        gateway(tmp_path, head_timeout=SHORT, idle_timeout=WAIT) as started,
        connected(started) as client,
    ):
        assert (await client.exchange(request("GET", "/healthz"))).status == 200
        await asyncio.sleep(2 * SHORT)  # the client's own pause: idle, not late with a head
        assert (await client.exchange(request("GET", "/healthz"))).status == 200
        assert started.connections.timeouts == {}


async def test_a_body_sent_too_slowly_is_answered_408_and_closed(tmp_path: Path) -> None:
    body = b"To=%2B15558675310&From=%2B15550001001&Body=slow"
    head = request("POST", MESSAGES, AUTHORIZATION, FORM, f"Content-Length: {len(body)}")
    async with gateway(tmp_path, body_timeout=SHORT) as started, connected(started) as slow:
        await slow.send(head)
        trickling = asyncio.create_task(trickle(slow, body[:-1]))  # never all of it
        reply = await slow.reply()
        assert_twilio(reply, 408, 20001)
        assert reply.headers["connection"] == "close"
        assert await slow.closed_by_server()
        await stopped(trickling)
        assert started.metrics.http_requests[MESSAGES_ROUTE, "POST", 408] == 1
        assert not any((await started.store.queue_counts()).values())  # nothing was created


class Events(logging.Handler):
    """Log records as they come, awaitable."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.arrived.set()

    async def first(self, wanted: str) -> logging.LogRecord:
        """The first record at ERROR or above, or whose message contains ``wanted``."""
        async with asyncio.timeout(WAIT):
            while True:
                for record in self.records:
                    if record.levelno >= logging.ERROR or wanted in record.getMessage():
                        return record
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.contextmanager
def log_events() -> Iterator[Events]:
    events = Events()
    root = logging.getLogger()
    level = root.level
    root.addHandler(events)
    root.setLevel(logging.DEBUG)
    try:
        yield events
    finally:
        root.removeHandler(events)
        root.setLevel(level)


async def test_a_client_gone_in_the_middle_of_its_body_writes_no_error(tmp_path: Path) -> None:
    head = request("POST", MESSAGES, AUTHORIZATION, FORM, "Content-Length: 100")
    with log_events() as events:
        async with gateway(tmp_path) as started:
            async with connected(started) as leaving:
                await leaving.send(head + b"To=%2B1555")
            record = await events.first("cut short")
    assert record.levelno == logging.DEBUG, record.getMessage()
    assert not [r for r in events.records if r.levelno >= logging.WARNING]


# --- the cap ------------------------------------------------------------------------------------


async def test_over_the_cap_the_connection_idle_longest_is_closed(tmp_path: Path) -> None:
    async with gateway(tmp_path, max_connections=2) as started:
        async with connected(started) as first, connected(started) as second:
            for client in (first, second):  # accepted, answered, idle: first the longest
                assert (await client.exchange(request("GET", "/healthz"))).status == 200
            async with connected(started) as third:
                assert (await third.exchange(request("GET", "/healthz"))).status == 200
                assert await first.closed_by_server()
                assert (await second.exchange(request("GET", "/healthz"))).status == 200
        assert (started.connections.evicted, started.connections.refused) == (1, 0)


async def busy(client: Connection) -> None:
    """Make ``client`` busy: a create whose body is awaited. ``Expect: 100-continue`` makes
    the gateway say when the handler has started (RFC 9110 §10.1.1)."""
    await client.send(
        request("POST", MESSAGES, AUTHORIZATION, FORM, "Expect: 100-continue", "Content-Length: 9")
    )
    async with asyncio.timeout(WAIT):
        assert await client.reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"


async def test_with_every_connection_busy_a_newcomer_is_answered_503(tmp_path: Path) -> None:
    async with (
        gateway(tmp_path, max_connections=2, body_timeout=WAIT) as started,
        connected(started) as first,
        connected(started) as second,
    ):
        await busy(first)
        await busy(second)
        async with connected(started) as newcomer:
            reply = await newcomer.exchange(request("GET", "/healthz"))
            assert_twilio(reply, 503, 20503)
            assert reply.headers["connection"] == "close"
            assert await newcomer.closed_by_server()
        await first.send(b"Body=done")  # the busy ones are still served
        assert (await first.reply()).status == 400  # no To: 21604... a Twilio refusal
        assert (started.connections.evicted, started.connections.refused) == (0, 1)


async def test_the_metrics_count_what_the_guard_did(tmp_path: Path) -> None:
    async with (
        gateway(tmp_path, max_connections=3, idle_timeout=WAIT) as started,
        connected(started) as a,
        connected(started) as b,
        connected(started) as c,
    ):
        for client in (a, b, c):
            assert (await client.exchange(request("GET", "/healthz"))).status == 200
        assert (await a.exchange(b"GET / HTTP/9.9\r\n\r\n")).status == 400
        assert await a.closed_by_server()
        metrics = (await b.exchange(request("GET", "/metrics"))).body.decode()
    lines = set(metrics.splitlines())
    assert {
        "smsgw_http_connections 2",  # a was closed after its 400
        "smsgw_http_connections_limit 3",
        "smsgw_http_connections_evicted_total 0",
        "smsgw_http_connections_refused_total 0",
        "smsgw_http_malformed_requests_total 1",
        'smsgw_http_timeouts_total{phase="head"} 0',
    } <= lines


# --- the cap's size -----------------------------------------------------------------------------


def test_the_cap_leaves_the_reserve_of_open_files() -> None:
    assert connection_cap(None, 1024) == 1024 - RESERVED_FILES == 768
    assert connection_cap(100, 1024) == 100
    assert connection_cap(None, 100) == 1  # a limit too small still serves one at a time


def test_a_cap_over_the_open_file_limit_is_lowered_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert connection_cap(5000, 4096) == 4096 - RESERVED_FILES
    (record,) = caplog.records
    assert "max_connections = 5000 lowered to 3840" in record.getMessage()
