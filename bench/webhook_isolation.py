"""Webhook isolation: one receiver that hangs, with hundreds of callbacks waiting for it, must
not delay another receiver's webhooks.

The gateway runs as its own process (``smsgw serve``, :mod:`bench.gateway_process`) with one
modem that never connects (:func:`bench.gateway_process.unreachable_modem`): every message
created through the API stays queued, and its ``queued`` status callback, committed with it,
is the only webhook it makes. Two receivers run in this process, aiohttp servers that check
every request's ``X-Twilio-Signature`` with the twilio package's ``RequestValidator``:

- the hanging one accepts a request and never answers (until the benchmark ends); it counts
  the requests it holds open (a request the gateway gave up on is not), the most at once too;
- the other one answers 204 at once and notes when each message's callback arrived
  (``time.perf_counter``, when its handler starts).

t0 is just before the create request is sent (the API commits the message and its callback
before it answers 201); t1 when the other receiver's handler starts on that message's
callback. Between them: the create request, its commit, the webhook sender reading its queue,
and the callback's request.

- Without the hanging receiver: :data:`WARM_UP` messages, then :data:`STREAM` messages to the
  other receiver, one every :data:`INTERVAL_S` (an open loop: each create starts on time,
  whether or not the previous one was answered).
- With it: :data:`HANGING` messages whose callback is for the hanging receiver, created through
  the API (16 connections); once it holds as many requests as it will get, the same stream
  again. The gateway's webhook timeout is its default (15 s), longer than the stream: the
  hanging receiver holds its requests all the while.
- Afterwards: the most requests the hanging receiver held at once, how many it was sent in
  all, the gateway's ``/metrics`` on webhooks in flight while it hung, and every stream
  callback's signature checked.

Run alone with ``.venv/bin/python -m bench.webhook_isolation [--hanging 500] [--stream 300]``
(about 30 seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bench.gateway_inbound import SIGNATURE_HEADER, format_ms, percentile
from bench.gateway_process import (
    AUTH_TOKEN,
    RunningGateway,
    authorization,
    free_port,
    gateway_process,
    unreachable_modem,
)
from bench.harness import invocation, markdown_table, run_header
from bench.load_client import drive

HANGING: Final = 500  # callbacks waiting for the hanging receiver
STREAM: Final = 300  # callbacks for the other receiver, per run
WARM_UP: Final = 30
INTERVAL_S: Final = 0.02  # between two creates of the stream (50 a second)
CALLBACK_TIMEOUT_S: Final = 60.0  # for one stream callback, once created
HOLD_TIMEOUT_S: Final = 60.0  # for the hanging receiver to hold what it will be sent
SETTLE_S: Final = 1.0  # after the hanging receiver's count stops moving
SENDER: Final = "+15550001001"
RECIPIENT: Final = "+447700900123"


@dataclass
class HangingReceiver:
    """Accepts a request and never answers it (until :meth:`release`)."""

    port: int = field(default_factory=free_port)
    received: int = 0
    open: int = 0
    most_open: int = 0
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/status"

    async def _handle(self, request: web.Request) -> web.Response:
        self.received += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await self._released.wait()
            return web.Response(status=204)
        finally:
            self.open -= 1

    def release(self) -> None:
        self._released.set()

    async def settled(self, timeout_s: float) -> None:
        """Until it holds requests and has been sent no more for :data:`SETTLE_S`."""
        async with asyncio.timeout(timeout_s):
            while not self.open:
                await asyncio.sleep(0.01)
            seen = -1
            while seen != self.received:
                seen = self.received
                await asyncio.sleep(SETTLE_S)

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[HangingReceiver]:
        async with _serving(self.port, self._handle, hangs=True):
            try:
                yield self
            finally:
                self.release()  # the server's shutdown waits for its handlers


@dataclass
class StreamReceiver:
    """Answers at once; notes when each message's callback arrived."""

    port: int = field(default_factory=free_port)
    arrivals: dict[str, float] = field(default_factory=dict)  # by MessageSid
    invalid: int = 0
    _validator: RequestValidator = field(default_factory=lambda: RequestValidator(AUTH_TOKEN))
    _waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/status"

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()  # before anything else: the callback is here
        params = {name: str(value) for name, value in (await request.post()).items()}
        if not self._validator.validate(
            self.url, params, request.headers.get(SIGNATURE_HEADER, "")
        ):
            self.invalid += 1
        sid = params.get("MessageSid", "")
        self.arrivals.setdefault(sid, arrived)
        waiter = self._waiting.pop(sid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrived)
        return web.Response(status=204)

    async def arrival(self, sid: str, timeout_s: float) -> float:
        if sid in self.arrivals:
            return self.arrivals[sid]
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[sid] = future
        async with asyncio.timeout(timeout_s):
            return await future

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[StreamReceiver]:
        async with _serving(self.port, self._handle):
            yield self


@contextlib.asynccontextmanager
async def _serving(port: int, handler: Any, *, hangs: bool = False) -> AsyncIterator[None]:
    app = web.Application()
    app.router.add_post("/status", handler)
    # A hung request the gateway gave up on (its timeout) ends here too: what is counted open
    # is what the gateway still waits for.
    runner = web.AppRunner(app, access_log=None, handler_cancellation=hangs)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield
    finally:
        await runner.cleanup()


# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stream:
    latency_ms: tuple[float, ...]  # create sent to callback arrived
    created_ms: tuple[float, ...]  # create sent to 201 received
    missing: int  # no callback within CALLBACK_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class Run:
    baseline: Stream
    hung: Stream
    hanging_sent: int  # requests the hanging receiver was sent in all
    hanging_most_open: int
    hanging_created: int
    metrics: dict[str, str]  # webhook lines of /metrics while it hung
    invalid_signatures: int


async def _create(session: aiohttp.ClientSession, url: str, callback: str, text: str) -> str:
    form = {"To": RECIPIENT, "From": SENDER, "Body": text, "StatusCallback": callback}
    headers = {"Authorization": authorization()}
    async with session.post(url, data=form, headers=headers) as response:
        answer: dict[str, Any] = await response.json()
        if response.status != 201:
            raise RuntimeError(f"create answered {response.status}: {answer}")
        return str(answer["sid"])


async def _one(
    session: aiohttp.ClientSession, gateway: RunningGateway, receiver: StreamReceiver, text: str
) -> tuple[float, float] | None:
    """(create to callback, create to 201) in ms; ``None`` if no callback came in time."""
    started = time.perf_counter()
    sid = await _create(session, gateway.messages_url, receiver.url, text)
    created = time.perf_counter()
    try:
        arrived = await receiver.arrival(sid, CALLBACK_TIMEOUT_S)
    except TimeoutError:
        return None
    return (arrived - started) * 1000, (created - started) * 1000


async def _stream(
    gateway: RunningGateway, receiver: StreamReceiver, count: int, label: str
) -> Stream:
    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        tasks = []
        for index in range(count):
            # An open loop: each create on its own schedule.
            await asyncio.sleep(max(0.0, start + index * INTERVAL_S - time.perf_counter()))
            text = f"stream {label} #{index:05d}"
            tasks.append(asyncio.create_task(_one(session, gateway, receiver, text)))
        results = await asyncio.gather(*tasks)
    timed = [result for result in results if result is not None]
    return Stream(
        latency_ms=tuple(latency for latency, _ in timed),
        created_ms=tuple(created for _, created in timed),
        missing=len(results) - len(timed),
    )


async def _webhook_metrics(gateway: RunningGateway) -> dict[str, str]:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway.base_url}/metrics") as r:
        text = await r.text()
    lines = (line for line in text.splitlines() if line.startswith("smsgw_webhook"))
    return dict(line.rsplit(" ", 1) for line in lines if "_total" not in line)


async def _hang(gateway: RunningGateway, hanging: HangingReceiver, count: int) -> int:
    def body(index: int) -> str:
        text = f"for the hanging receiver #{index:05d}"
        form = {"To": RECIPIENT, "From": SENDER, "Body": text, "StatusCallback": hanging.url}
        return urlencode(form)

    load = await drive(gateway.messages_url, authorization(), body, count=count)
    await hanging.settled(HOLD_TIMEOUT_S)
    return load.created


async def measure(hanging_count: int, stream_count: int) -> Run:
    hanging, receiver = HangingReceiver(), StreamReceiver()
    with TemporaryDirectory(prefix="smsgw-isolation-") as directory:
        modems = [unreachable_modem("gsm", SENDER, Path(directory))]
        async with (
            receiver.listening(),
            hanging.listening(),
            gateway_process(modems, directory=Path(directory)) as gateway,
        ):
            await _stream(gateway, receiver, WARM_UP, "warm-up")
            baseline = await _stream(gateway, receiver, stream_count, "alone")
            created = await _hang(gateway, hanging, hanging_count)
            hung = await _stream(gateway, receiver, stream_count, "beside")
            metrics = await _webhook_metrics(gateway)
    return Run(
        baseline=baseline,
        hung=hung,
        hanging_sent=hanging.received,
        hanging_most_open=hanging.most_open,
        hanging_created=created,
        metrics=metrics,
        invalid_signatures=receiver.invalid,
    )


# --- the report ----------------------------------------------------------------------------------


def _row(name: str, stream: Stream) -> list[str]:
    values = stream.latency_ms or (float("nan"),)
    return [
        name,
        f"{len(stream.latency_ms):,}",
        f"{stream.missing}",
        format_ms(percentile(values, 0.5)),
        format_ms(percentile(values, 0.9)),
        format_ms(percentile(values, 0.99)),
        format_ms(max(values)),
        format_ms(statistics.fmean(values)),
        format_ms(percentile(stream.created_ms or (float("nan"),), 0.5)),
    ]


def report(run: Run, command: str, hanging_count: int) -> str:
    method = (
        f"{WARM_UP} warm-up messages, then {len(run.baseline.latency_ms) + run.baseline.missing}"
        f" one every {INTERVAL_S * 1000:g} ms with no receiver hanging, then {hanging_count} "
        "callbacks for a receiver that hangs and the same stream again"
    )
    metrics = ", ".join(f"`{name} {value}`" for name, value in run.metrics.items()) or "none"
    lines = [
        "## Webhook isolation: another receiver's callbacks beside one that hangs",
        "",
        run_header(command=command, method=method),
        "",
        markdown_table(
            (
                "stream of status callbacks",
                "callbacks",
                f"none in {CALLBACK_TIMEOUT_S:g} s",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "mean ms",
                "create to 201, p50 ms",
            ),
            [
                _row("no receiver hanging", run.baseline),
                _row(f"{hanging_count:,} callbacks waiting for one that hangs", run.hung),
            ],
        ),
        "",
        "- Latency: from just before the create request is sent (its message and its `queued` "
        "callback are committed before the 201) to the moment the other receiver's handler "
        "starts on the callback.",
        f"- The hanging receiver: {run.hanging_created:,} messages created for it; it was sent "
        f"{run.hanging_sent:,} requests in all (the gateway's 15 s timeout ends a hung request, "
        f"which is retried later), at most {run.hanging_most_open} at once.",
        f"- `/metrics` while it hung: {metrics}.",
        f"- Signatures rejected by RequestValidator: {run.invalid_signatures}.",
    ]
    return "\n".join(lines)


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_isolation", description=__doc__)
    parser.add_argument(
        "--hanging", type=int, default=HANGING, help=f"callbacks for it (default {HANGING})"
    )
    parser.add_argument(
        "--stream", type=int, default=STREAM, help=f"callbacks per stream (default {STREAM})"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = _arguments(arguments)
    run = asyncio.run(measure(args.hanging, args.stream))
    print(report(run, " ".join([invocation(), *arguments]), args.hanging))


if __name__ == "__main__":
    main()
