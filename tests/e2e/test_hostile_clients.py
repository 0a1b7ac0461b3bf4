"""Hostile HTTP clients against ``smsgw serve`` run as its own process, as systemd runs it:
malformed requests are answered 400 and write no ERROR line or traceback to the journal, and
thousands of idle connections plus a client sending its head a byte at a time do not take the
gateway offline, within the unit's default limit of 1024 open files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from twilio.rest import Client

from gateway.api.connections import ACCEPT_BATCH, RESERVED_FILES
from tests.e2e.served import SMSGW, GatewayToml, TomlValue, free_port
from tests.gateway.gateway_rig import ACCOUNT, ALICE, basic_auth
from tests.gateway.raw_http import Connection, Reply, request

WAIT: Final = 30.0  # seconds: generous, the machine may be busy with 2,000 connections
MESSAGES: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"
AUTHORIZATION: Final = f"Authorization: {basic_auth()['Authorization']}"
FORM: Final = "Content-Type: application/x-www-form-urlencoded"
UNIT_OPEN_FILES: Final = 1024  # systemd's default LimitNOFILE soft limit
IDLE_CONNECTIONS: Final = 2000


@dataclass
class Served:
    """A running ``smsgw serve``: its port and everything it wrote (stdout and stderr)."""

    process: asyncio.subprocess.Process
    port: int
    lines: list[str] = field(default_factory=list)
    _new_line: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def read_output(self, ready: asyncio.Event) -> None:
        assert self.process.stdout is not None
        while line := (await self.process.stdout.readline()).decode(errors="replace"):
            self.lines.append(line)
            if "smsgw is listening on " in line:
                ready.set()
            self._new_line.set()

    async def line_with(self, text: str) -> str:
        async with asyncio.timeout(WAIT):
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                self._new_line.clear()
                await self._new_line.wait()


def open_files_like_the_unit() -> None:
    """In the child, before it runs: the open-file limit a systemd service gets by default."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (UNIT_OPEN_FILES, hard))


@contextlib.asynccontextmanager
async def serve(tmp_path: Path, **settings: TomlValue) -> AsyncIterator[Served]:
    """``smsgw serve`` with one simulated modem, ``settings`` more keys of ``[gateway]``, and
    the unit's open-file limit; stopped with SIGTERM on the way out."""
    port = free_port()
    toml = GatewayToml(f"127.0.0.1:{port}", tmp_path / "data", settings)
    toml.modem("alice", "simulated", [ALICE])
    configuration = toml.write(tmp_path / "gateway.toml")
    child = await asyncio.create_subprocess_exec(
        str(SMSGW),
        *("serve", "--config", str(configuration)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        preexec_fn=open_files_like_the_unit,
    )
    served = Served(child, port)
    ready = asyncio.Event()
    reading = asyncio.create_task(served.read_output(ready))
    try:
        await asyncio.wait_for(ready.wait(), WAIT)
        yield served
    finally:
        if child.returncode is None:
            child.terminate()
        await asyncio.wait_for(child.wait(), WAIT)
        await reading


def assert_no_error_logged(lines: list[str]) -> None:
    """Nothing a client sent wrote an ERROR line or a traceback (text log format)."""
    errors = [line for line in lines if " ERROR " in line or "Traceback" in line]
    assert not errors


def assert_twilio(reply: Reply, status: int) -> None:
    body = reply.json()
    assert (reply.status, body["status"]) == (status, status), body
    assert set(body) == {"code", "message", "more_info", "status"}, body


MALFORMED: Final = {
    "bad chunk size": request("POST", MESSAGES, "Transfer-Encoding: chunked") + b"zz\r\nab\r\n",
    "Content-Length and Transfer-Encoding": request(
        "POST", MESSAGES, "Content-Length: 5", "Transfer-Encoding: chunked"
    )
    + b"0\r\n\r\n",
    "a header line of 20 KB": request("GET", "/healthz", "X-Big: " + "a" * 20_000),
    "300 headers": request("GET", "/healthz", *(f"X-{n}: a" for n in range(300))),
    "bad Content-Length": request("POST", MESSAGES, "Content-Length: 1x"),
    "bad HTTP version": b"GET /healthz HTTP/9.9\r\nHost: gateway\r\n\r\n",
    "NUL in the path": b"GET /\x00 HTTP/1.1\r\nHost: gateway\r\n\r\n",
    "a second request that is not HTTP": request("GET", "/healthz")
    + b"\x16\x03\x01\x02\x00\r\n\r\n",
}


async def expect_continue(connection: Connection, *headers: str) -> None:
    """Send a create's head with ``Expect: 100-continue`` and wait for the gateway to ask for
    the body: its handler is then reading it (RFC 9110 §10.1.1)."""
    await connection.send(
        request("POST", MESSAGES, AUTHORIZATION, FORM, "Expect: 100-continue", *headers)
    )
    async with asyncio.timeout(WAIT):
        assert await connection.reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"


async def test_malformed_http_is_answered_400_and_writes_no_error(tmp_path: Path) -> None:
    async with serve(tmp_path, log_level="debug") as gateway:
        for name, data in MALFORMED.items():
            connection = await Connection.open("127.0.0.1", gateway.port)
            try:
                reply = await connection.exchange(data)
                if name == "a second request that is not HTTP" and reply.status == 200:
                    reply = await connection.reply()  # the first was fine
                assert_twilio(reply, 400)
                assert await connection.closed_by_server(), name
            finally:
                await connection.close()

        # A chunked body that goes bad while the handler reads it.
        broken = await Connection.open("127.0.0.1", gateway.port)
        await expect_continue(broken, "Transfer-Encoding: chunked")
        assert_twilio(await broken.exchange(b"5\r\nTo=%2\r\nzz\r\n"), 400)
        assert await broken.closed_by_server()
        await broken.close()

        # A client that goes away in the middle of its body.
        leaving = await Connection.open("127.0.0.1", gateway.port)
        await expect_continue(leaving, "Content-Length: 100")
        await leaving.send(b"To=%2B1555")
        await leaving.close()
        await gateway.line_with("request body cut short")

        async with aiohttp.ClientSession(gateway.base_url) as http:
            async with http.get("/healthz") as health:
                assert health.status == 200
            async with http.get("/metrics") as metrics:
                text = await metrics.text()
        assert f"smsgw_http_malformed_requests_total {len(MALFORMED)}" in text.splitlines()
    assert_no_error_logged(gateway.lines)


@contextlib.contextmanager
def open_files_for_the_test(needed: int) -> Iterator[None]:
    """This process's own open-file limit raised (to its hard limit) for ``needed`` sockets,
    or the test skipped when the hard limit does not allow them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"{needed} open files needed, this process may open {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def create_with_the_twilio_client(base_url: str) -> Any:
    def create() -> Any:
        client = Client(ACCOUNT.sid, ACCOUNT.auth_token)
        client.api.base_url = base_url
        return client.messages.create(to="+15558675310", from_=ALICE, body="still here")

    return await asyncio.to_thread(create)


async def open_idle_connections(
    port: int, count: int
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """``count`` connections that send nothing, opened back to back, a full listen backlog
    (:data:`ACCEPT_BATCH`) at a time.

    The kernel completes a handshake before the gateway accepts the connection, so a client
    that only opened them would outrun the gateway's accept queue; the kernel then drops the
    SYN and the client sends it again a second later (TCP's initial RTO, RFC 6298 §2.1): some
    35 stalls of a second over 2,000 connections, which prove nothing. A request on a
    connection of its own after each batch is accepted after every connection before it (the
    queue is first in, first out), so its answer says the queue is empty again; the gateway
    still gets a whole backlog of newcomers at each wake-up."""
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    while len(opened) < count:
        for _ in range(min(ACCEPT_BATCH - 1, count - len(opened))):
            opened.append(await asyncio.open_connection("127.0.0.1", port))
        probe = await Connection.open("127.0.0.1", port)
        try:
            # Any answer will do: /healthz says 503 while the modem is still starting.
            await probe.exchange(request("GET", "/healthz"))
        finally:
            await probe.close()
    return opened


async def trickle(connection: Connection, data: bytes, pace: float) -> None:
    for byte in data:
        try:
            await connection.send(bytes([byte]))
        except ConnectionError:
            return
        await asyncio.sleep(pace)  # the client's own pace: the behaviour under test


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def test_idle_connections_and_a_trickler_do_not_take_the_gateway_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    with open_files_for_the_test(IDLE_CONNECTIONS + 256):
        async with serve(tmp_path, head_timeout=2) as gateway:
            idle = await open_idle_connections(gateway.port, IDLE_CONNECTIONS)
            slow = await Connection.open("127.0.0.1", gateway.port)
            head = request("GET", "/healthz", "X-Padding: " + "x" * 40)  # 4 s at this pace
            trickling = asyncio.create_task(trickle(slow, head, pace=0.05))
            try:
                async with asyncio.timeout(WAIT):
                    async with (
                        aiohttp.ClientSession(gateway.base_url) as http,
                        http.get("/healthz") as health,
                    ):
                        assert health.status == 200
                    message = await create_with_the_twilio_client(gateway.base_url)
                    assert message.sid.startswith("SM")
                    assert message.status == "queued"
                    assert_twilio(await slow.reply(), 408)  # its head took over 2 s
                    assert open_files(gateway.process.pid) < UNIT_OPEN_FILES
                    async with (
                        aiohttp.ClientSession(gateway.base_url) as http,
                        http.get("/metrics") as response,
                    ):
                        metrics = (await response.text()).splitlines()
            finally:
                trickling.cancel()
                await slow.close()
                for _, writer in idle:
                    writer.close()
        limit = UNIT_OPEN_FILES - RESERVED_FILES
        assert f"smsgw_http_connections_limit {limit}" in metrics
        (evicted,) = [line for line in metrics if line.startswith("smsgw_http_connections_ev")]
        assert int(evicted.split()[1]) >= IDLE_CONNECTIONS - limit
        assert_no_error_logged(gateway.lines)
