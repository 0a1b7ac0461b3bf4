"""The HTTP API under hostile clients: how fast ``/healthz`` and a create answer with and without
2,000 idle connections and clients sending their heads a byte at a time, and what 10,000 refused
requests leave in the gateway's memory.

``smsgw serve`` runs as its own process (:mod:`bench.gateway_process`) with the default timeouts
and ``max_connections = 1888``, what the systemd unit's ``LimitNOFILE=2048`` gives. The creates
are for a modem whose serial device does not exist, so a create is the API and the store alone
(a durable commit); a simulated modem keeps ``/healthz`` at 200.
Requests are sent one at a time over one keep-alive connection (aiohttp), each timed from this
process:

- "quiet": nothing else connected;
- "hostile": 2,000 connections opened and left silent first (past 1,888 the gateway closes the
  idlest to make room), and 20 clients that each send a request head a byte every half second
  all along (the gateway answers them 408 after ``head_timeout``, 10 s, and they start again).

Then, memory (VmRSS from ``/proc``) after 10,000 requests with a wrong password, and after
10,000 requests for a path that does not exist, each on one keep-alive connection after a
warm-up: what stays is what a client could pile up.

Run alone with ``.venv/bin/python -m bench.http_hostile`` (about a minute).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import resource
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp

from bench.gateway_process import (
    ACCOUNT_SID,
    ModemSpec,
    RunningGateway,
    authorization,
    gateway_process,
    memory,
    unreachable_modem,
)
from bench.harness import markdown_table, run_header

MAX_CONNECTIONS: Final = 1888  # LimitNOFILE=2048 less the 160 files the gateway keeps
IDLE_CONNECTIONS: Final = 2000
TRICKLERS: Final = 20
TRICKLE_PACE_S: Final = 0.5
HEALTH_REQUESTS: Final = 2000
CREATES: Final = 1000
REFUSED: Final = 10_000
WARM_UP: Final = 500
SENDER: Final = "+15550001001"
OTHER: Final = "+15550002002"
DESTINATION: Final = "+447700900123"
WRONG: Final = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:wrong".encode()).decode()
HEAD: Final = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Padding: " + b"x" * 64 + b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Latency:
    p50_ms: float
    p99_ms: float
    max_ms: float


def latency(samples_s: list[float]) -> Latency:
    cuts = statistics.quantiles(samples_s, n=100)
    return Latency(cuts[49] * 1000, cuts[98] * 1000, max(samples_s) * 1000)


async def timed(count: int, request: Callable[[], Awaitable[int]], status: int) -> Latency:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        answered = await request()
        samples.append(time.perf_counter() - start)
        if answered != status:
            raise RuntimeError(f"expected HTTP {status}, got {answered}")
    return latency(samples)


async def until_healthy(gateway: RunningGateway, timeout_s: float = 30.0) -> None:
    """Until ``/healthz`` answers 200: the simulated modem is ready (another process: asked)."""
    async with aiohttp.ClientSession(gateway.base_url) as http, asyncio.timeout(timeout_s):
        while True:
            async with http.get("/healthz") as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.05)


async def measure(gateway: RunningGateway) -> tuple[Latency, Latency]:
    """/healthz and create latency, one request at a time on one keep-alive connection."""
    headers = {"Authorization": authorization()}
    form = {"To": DESTINATION, "From": SENDER, "Body": "benchmark"}
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(gateway.base_url, connector=connector) as http:

        async def health() -> int:
            async with http.get("/healthz") as response:
                await response.read()
                return response.status

        async def create() -> int:
            async with http.post(gateway.messages_url, data=form, headers=headers) as response:
                await response.read()
                return response.status

        await timed(100, health, 200)  # warm-up
        return await timed(HEALTH_REQUESTS, health, 200), await timed(CREATES, create, 201)


async def trickle(port: int, stop: asyncio.Event) -> None:
    """Send :data:`HEAD` a byte at a time, over and over, until ``stop``."""
    while not stop.is_set():
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for byte in HEAD:
                if stop.is_set():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(TRICKLE_PACE_S)  # the hostile client's pace
        except ConnectionError:
            pass  # answered 408 and closed: start again
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def hostile(gateway: RunningGateway) -> AsyncIterator[None]:
    port = int(gateway.base_url.rsplit(":", 1)[1])
    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(IDLE_CONNECTIONS)]
    stop = asyncio.Event()
    tricklers = [asyncio.create_task(trickle(port, stop)) for _ in range(TRICKLERS)]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tricklers, return_exceptions=True)
        for _, writer in idle:
            writer.close()


async def rss_after(
    gateway: RunningGateway, path: str, headers: dict[str, str], count: int = REFUSED
) -> float:
    """VmRSS (MiB) after ``count`` requests for ``path`` on one connection."""
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(gateway.base_url, connector=connector) as http:
        for _ in range(count):
            async with http.get(path, headers=headers) as response:
                await response.read()
    return memory(gateway.pid).rss_mib


async def metrics(gateway: RunningGateway) -> dict[str, str]:
    """``/metrics`` as {sample with its labels: value}."""
    async with aiohttp.ClientSession() as http, http.get(f"{gateway.base_url}/metrics") as got:
        text = await got.text()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            sample, _, value = line.rpartition(" ")
            values[sample] = value
    return values


async def latencies(gateway: RunningGateway) -> list[tuple[str, str, str, str]]:
    rows = []
    quiet_rss = memory(gateway.pid).rss_mib
    health, create = await measure(gateway)
    rows.append(row("quiet", health, create, quiet_rss))
    async with hostile(gateway):
        hostile_rss = memory(gateway.pid).rss_mib
        health, create = await measure(gateway)
    name = f"{IDLE_CONNECTIONS:,} idle + {TRICKLERS} tricklers"
    rows.append(row(name, health, create, hostile_rss))
    return rows


async def refusals_memory(gateway: RunningGateway) -> list[tuple[str, str, str]]:
    messages = gateway.messages_url.removeprefix(gateway.base_url)
    wrong = {"Authorization": WRONG}
    before = await rss_after(gateway, messages, wrong, WARM_UP)  # lazily made objects
    after_auth = await rss_after(gateway, messages, wrong)
    after_404 = await rss_after(gateway, "/no/such/path", {})
    return [
        ("warm-up", f"{before:.1f} MiB", ""),
        (f"{REFUSED:,} wrong passwords", f"{after_auth:.1f} MiB", f"{after_auth - before:+.2f}"),
        (f"{REFUSED:,} unknown paths", f"{after_404:.1f} MiB", f"{after_404 - after_auth:+.2f}"),
    ]


async def run(directory: Path) -> None:
    modems = [unreachable_modem("gsm", SENDER, directory), ModemSpec("sim", "simulated", OTHER)]
    settings = [f"max_connections = {MAX_CONNECTIONS}"]
    async with gateway_process(modems, directory=directory, settings=settings) as gateway:
        await until_healthy(gateway)
        rows = await latencies(gateway)
        counts = await metrics(gateway)
        memory_rows = await refusals_memory(gateway)
    header = ("clients", "/healthz p50 / p99 / max", "create p50 / p99 / max", "VmRSS")
    print(markdown_table(header, rows))
    print()
    evicted = counts["smsgw_http_connections_evicted_total"]
    refused = counts["smsgw_http_connections_refused_total"]
    idle = counts['smsgw_http_timeouts_total{phase="idle"}']
    head = counts['smsgw_http_timeouts_total{phase="head"}']
    print(
        f"Connections closed to make room: {evicted}; refused: {refused}; "
        f"closed for a timeout: {idle} idle, {head} head (408)."
    )
    print()
    print(markdown_table(("after", "VmRSS", "growth (MiB)"), memory_rows))


def row(name: str, health: Latency, create: Latency, rss_mib: float) -> tuple[str, str, str, str]:
    def cell(value: Latency) -> str:
        return f"{value.p50_ms:.2f} / {value.p99_ms:.2f} / {value.max_ms:.1f} ms"

    return (name, cell(health), cell(create), f"{rss_mib:.1f} MiB")


def raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"bench.http_hostile needs {needed} open files; the limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def main() -> None:
    print("## HTTP under hostile clients\n")
    print(run_header(method="requests one at a time on one keep-alive connection; p50, p99, max"))
    print()
    raise_open_files(IDLE_CONNECTIONS + TRICKLERS + 256)
    with tempfile.TemporaryDirectory(prefix="smsgw-hostile-") as directory:
        asyncio.run(run(Path(directory)))


if __name__ == "__main__":
    main()
