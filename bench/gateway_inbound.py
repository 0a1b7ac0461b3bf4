"""Inbound SMS through the gateway: the modem's notification to the webhook, one message at a
time and in a burst; gammu-smsd and SMSTools3 receiving through the same simulator in the same
run.

The gateway runs as its own process (``smsgw serve``, started by :mod:`bench.gateway_process`
with a temporary TOML configuration): one ``[[modems]] driver = "serial"`` on a real pty, and a
``[[numbers]]`` table whose ``sms_url`` is an aiohttp receiver in this process that checks every
request's ``X-Twilio-Signature`` with the twilio package's ``RequestValidator``, as a user's
application would. The simulated modem runs in this process too, served on the pty
(:mod:`bench.inbound_simulator`), so both ends are timed on one clock: t0 just before
``SimulatedNetwork.inject`` (the modem stores the SMS and writes ``+CMTI`` to the pty at once),
t1 when the receiver's handler starts on the POST carrying that text. Between them: the pty, the
driver's ``AT+CMGL``, two commits (the part, then the message with its queued webhook), the
webhook sender reading its queue, and an HTTP request.

- Latency: 30 warm-up messages, then 300 one at a time, each after the previous one's webhook
  and a 20 ms pause (the gateway deletes the message from the modem and commits the webhook's
  delivery meanwhile). Also timed: when ``AT+CMGL`` reached the modem, which splits the latency
  into the notification's way to the gateway and the rest.
- Burst: 1000 messages with unique texts injected in one go, timed until the last webhook. The
  modem's storage holds 100 (``ME``, the one the gateway chooses); the simulated network holds
  the rest and delivers each as a slot is freed, as a real network retries a full SIM. Every
  text must reach the receiver exactly once (the receiver counts, 2 s after the last one too),
  with a valid signature, and afterwards the gateway must report every webhook delivered and
  none pending or failed (``GET /smsgw/webhooks.json``).
- Idle: over 5 s with nothing arriving, the AT commands the gateway sent and its CPU time, for
  comparison with the peers, which poll.

The peers (:mod:`bench.smsd_inbound`), each against a fresh in-process simulated modem, with
their default settings and tuned: a handful of messages each, since they poll.

Run alone with ``.venv/bin/python -m bench.gateway_inbound`` (about 4 minutes, most of it the
peers' default polling).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bench.gateway_process import (
    AUTH_TOKEN,
    ModemSpec,
    RunningGateway,
    authorization,
    cpu_times,
    free_port,
    gateway_process,
    status_counts,
)
from bench.harness import markdown_table, run_header
from bench.inbound_simulator import PtyModem, modem_on_pty
from bench.simulator import cancelled_by_sigterm
from bench.smsd_inbound import (
    HANDSET,
    NUMBER,
    InboundPeerResult,
    configuration_notes,
    measure_inbound_peers,
)
from bench.smsd_peers import INSTALL_HINT

WARM_UP: Final = 30
MESSAGES: Final = 300
PAUSE_S: Final = 0.02  # after each webhook, before the next message
BURST: Final = 1000
IDLE_S: Final = 5.0
QUIET_S: Final = 2.0  # after the burst, for late duplicates
MESSAGE_TIMEOUT_S: Final = 10.0
BURST_TIMEOUT_S: Final = 300.0
TARGET_P50_MS: Final = 20.0  # the issue: notification to webhook, p50 under 20 ms
SIGNATURE_HEADER: Final = "X-Twilio-Signature"
# A warning or an error in the gateway's log ("%(asctime)s %(levelname)s %(name)s: ...").
PROBLEM_LINE: Final = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) ")


@dataclass(frozen=True, slots=True)
class WebhookModem(ModemSpec):
    """A modem and, for its number, a ``[[numbers]]`` table with the webhook URL."""

    sms_url: str = ""

    def toml(self) -> str:
        number = f'[[numbers]]\nnumber = "{self.number}"\nsms_url = "{self.sms_url}"'
        return f"{ModemSpec.toml(self)}\n\n{number}"


# --- the receiver --------------------------------------------------------------------------------


@dataclass
class Receiver:
    """The user's application: takes inbound webhooks, checks their signature, answers with an
    empty TwiML document, and notes when each text arrived (``time.perf_counter``)."""

    port: int = field(default_factory=free_port)
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    invalid: int = 0  # requests whose signature RequestValidator rejected
    _validator: RequestValidator = field(default_factory=lambda: RequestValidator(AUTH_TOKEN))
    _waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    _expected: int = 0
    _all_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()  # before anything else: the webhook is here
        params = {name: str(value) for name, value in (await request.post()).items()}
        if not self._validator.validate(
            self.url, params, request.headers.get(SIGNATURE_HEADER, "")
        ):
            self.invalid += 1
        body = params.get("Body", "")
        self.arrivals.setdefault(body, []).append(arrived)
        waiter = self._waiting.pop(body, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrived)
        if self._expected and len(self.arrivals) >= self._expected:
            self._all_arrived.set()
        return web.Response(text="<Response/>", content_type="text/xml")

    def expect(self, text: str) -> asyncio.Future[float]:
        """A future set to the arrival time of ``text``'s webhook."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[text] = future
        return future

    async def wait_distinct(self, count: int, timeout_s: float) -> None:
        """Until webhooks for ``count`` different texts have arrived (this run's and earlier)."""
        self._expected = count
        self._all_arrived.clear()
        if len(self.arrivals) < count:
            async with asyncio.timeout(timeout_s):
                await self._all_arrived.wait()

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[Receiver]:
        app = web.Application()
        app.router.add_post("/sms", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            yield self
        finally:
            await runner.cleanup()


# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    total_ms: tuple[float, ...]  # injection to webhook
    to_read_ms: tuple[float, ...]  # injection to AT+CMGL reaching the modem
    gateway_cpu_ms: float  # per message, the gateway's process (all threads)


@dataclass(frozen=True, slots=True)
class Burst:
    messages: int
    storage: tuple[str, int]  # the storage the gateway reads and its capacity
    first_s: float  # injection of the burst to the first webhook
    last_s: float  # to the last
    exactly_once: int
    duplicates: int  # extra webhooks for texts that had one already
    missing: int
    gateway_cpu_ms: float  # per message

    @property
    def per_second(self) -> float:
        return self.messages / self.last_s


@dataclass(frozen=True, slots=True)
class Idle:
    seconds: float
    commands: int
    cpu_s: float

    @property
    def commands_per_s(self) -> float:
        return self.commands / self.seconds

    @property
    def cpu_share(self) -> float:
        return self.cpu_s / self.seconds


@dataclass(frozen=True, slots=True)
class Ours:
    latency: Latency
    burst: Burst
    idle: Idle
    invalid_signatures: int
    webhooks: dict[str, Any]  # GET /smsgw/webhooks.json after everything
    received_rows: int  # messages with status "received" in the SQLite file
    injected: int
    log_lines: int  # warnings and errors in the gateway's log


class Commands:
    """The AT commands the modem received, with the time each arrived."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str]] = []

    def __call__(self, command: str) -> None:
        self.log.append((time.perf_counter(), command))

    def first_from(self, start: int, prefix: str) -> float | None:
        """When the first command starting with ``prefix`` from ``log[start]`` on arrived."""
        for at, command in self.log[start:]:
            if command.upper().startswith(prefix):
                return at
        return None


async def _one_by_one(
    receiver: Receiver, modem: PtyModem, commands: Commands, tag: str, count: int
) -> tuple[list[float], list[float]]:
    totals: list[float] = []
    reads: list[float] = []
    for index in range(count):
        text = f"inbound {tag} {index:04d}"
        arrival = receiver.expect(text)
        mark = len(commands.log)
        injected = time.perf_counter()
        modem.inject(HANDSET, text)
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation (SIGTERM,
        # Ctrl-C) that comes as the webhook arrives, and the run would go on.
        async with asyncio.timeout(MESSAGE_TIMEOUT_S):
            arrived = await arrival
        totals.append((arrived - injected) * 1000)
        read = commands.first_from(mark, "AT+CMGL")
        reads.append(math.nan if read is None else (read - injected) * 1000)
        await asyncio.sleep(PAUSE_S)
    return totals, reads


async def _latency(
    gateway: RunningGateway, receiver: Receiver, modem: PtyModem, commands: Commands
) -> Latency:
    await _one_by_one(receiver, modem, commands, "warm-up", WARM_UP)
    before = cpu_times(gateway.pid)
    totals, reads = await _one_by_one(receiver, modem, commands, "latency", MESSAGES)
    cpu = (cpu_times(gateway.pid) - before).total_s
    return Latency(tuple(totals), tuple(reads), cpu / MESSAGES * 1000)


async def _burst(gateway: RunningGateway, receiver: Receiver, modem: PtyModem) -> Burst:
    texts = [f"inbound burst {index:04d}" for index in range(BURST)]
    earlier = len(receiver.arrivals)
    storage = modem.storage_in_use()
    before = cpu_times(gateway.pid)
    injected = time.perf_counter()
    for text in texts:
        modem.inject(HANDSET, text)
    await receiver.wait_distinct(earlier + BURST, BURST_TIMEOUT_S)
    cpu = (cpu_times(gateway.pid) - before).total_s
    await asyncio.sleep(QUIET_S)
    counts = [len(receiver.arrivals.get(text, ())) for text in texts]
    stamps = [receiver.arrivals[text][0] for text in texts if text in receiver.arrivals]
    return Burst(
        messages=BURST,
        storage=storage,
        first_s=min(stamps) - injected,
        last_s=max(stamps) - injected,
        exactly_once=sum(1 for count in counts if count == 1),
        duplicates=sum(count - 1 for count in counts if count > 1),
        missing=sum(1 for count in counts if count == 0),
        gateway_cpu_ms=cpu / BURST * 1000,
    )


async def _idle(gateway: RunningGateway, commands: Commands) -> Idle:
    sent_before = len(commands.log)
    before = cpu_times(gateway.pid)
    await asyncio.sleep(IDLE_S)
    cpu = (cpu_times(gateway.pid) - before).total_s
    return Idle(IDLE_S, len(commands.log) - sent_before, cpu)


async def webhook_states(gateway: RunningGateway) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{gateway.base_url}/smsgw/webhooks.json", headers={"Authorization": authorization()}
        ) as response,
    ):
        response.raise_for_status()
        states: dict[str, Any] = await response.json()
        return states


async def measure_ours() -> Ours:
    receiver = Receiver()
    commands = Commands()
    with cancelled_by_sigterm():  # SIGTERM stops the gateway and closes the pty too
        return await _measure_ours(receiver, commands)


async def _measure_ours(receiver: Receiver, commands: Commands) -> Ours:
    async with receiver.listening(), modem_on_pty(NUMBER) as modem:
        undo = modem.observe(commands)
        spec = WebhookModem("gsm", "serial", NUMBER, port=modem.device, sms_url=receiver.url)
        try:
            async with gateway_process([spec]) as gateway:
                await gateway.wait_modems_ready()
                await asyncio.sleep(1.0)  # the sweep on connecting is over
                idle = await _idle(gateway, commands)
                latency = await _latency(gateway, receiver, modem, commands)
                burst = await _burst(gateway, receiver, modem)
                webhooks = await webhook_states(gateway)
                received = status_counts(gateway.database).get("received", 0)
                log = gateway.log.read_text(errors="replace").splitlines()
                log_lines = sum(1 for line in log if PROBLEM_LINE.match(line))
        finally:
            undo()
    injected = WARM_UP + MESSAGES + BURST
    return Ours(latency, burst, idle, receiver.invalid, webhooks, received, injected, log_lines)


# --- the report ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 is the median as the ceil(n/2)-th value)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def format_ms(value: float) -> str:
    return f"{value:,.1f}" if value >= 100 else f"{value:,.2f}"


_LATENCY_HEADER: Final = (
    "receiver",
    "settings",
    "messages",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "mean ms",
    "AT commands/s while idle",
    "CPU while idle, % of a core",
)


def _latency_cells(values_ms: Sequence[float]) -> list[str]:
    count = len(values_ms)
    return [
        f"{count}",
        format_ms(percentile(values_ms, 0.5)),
        format_ms(percentile(values_ms, 0.9)) if count >= 10 else "-",
        format_ms(percentile(values_ms, 0.99)) if count >= 100 else "-",
        format_ms(max(values_ms)),
        format_ms(statistics.fmean(values_ms)),
    ]


def _peer_row(result: InboundPeerResult, note: int | None) -> list[str]:
    run = result.run
    if run is None:
        status = INSTALL_HINT if note is None else f"failed (note {note})"
        return [
            result.peer,
            result.configuration.name,
            status,
            *["-"] * (len(_LATENCY_HEADER) - 3),
        ]
    share = run.cpu_share
    return [
        result.peer,
        result.configuration.name,
        *_latency_cells([latency * 1000 for latency in run.latencies_s]),
        f"{run.commands_per_s:,.1f}",
        "-" if share is None else f"{share * 100:,.1f}",
    ]


def report(ours: Ours, peers: list[InboundPeerResult]) -> str:
    latency, burst, idle = ours.latency, ours.burst, ours.idle
    rows = [
        [
            "smsgw gateway (webhook)",
            "-",
            *_latency_cells(latency.total_ms),
            f"{idle.commands_per_s:,.1f}",
            f"{idle.cpu_share * 100:,.1f}",
        ]
    ]
    failures: list[str] = []
    for result in peers:
        note = None
        if result.run is None and result.problem != INSTALL_HINT:
            failures.append(result.problem or "failed")
            note = len(failures)
        rows.append(_peer_row(result, note))
    reads = [value for value in latency.to_read_ms if not math.isnan(value)]
    rest = [
        total - read
        for total, read in zip(latency.total_ms, latency.to_read_ms, strict=True)
        if not math.isnan(read)
    ]
    storage, capacity = burst.storage
    burst_rows = [
        [
            f"{burst.messages:,}",
            f"{storage}, {capacity} slots",
            f"{burst.first_s * 1000:,.1f} ms",
            f"{burst.last_s:,.2f} s",
            f"{burst.per_second:,.0f}",
            f"{burst.exactly_once:,} of {burst.messages:,}",
            f"{burst.duplicates}",
            f"{burst.missing}",
            f"{burst.gateway_cpu_ms:,.2f}",
        ]
    ]
    webhooks = ours.webhooks
    method = (
        f"smsgw: {WARM_UP} warm-up messages, then {MESSAGES} one at a time ({PAUSE_S * 1000:g} ms "
        f"after each webhook), then a burst of {BURST}; peers: one run per configuration, a "
        "warm-up message, then messages injected at points spread evenly over the polling cycle"
    )
    lines = [
        "## Inbound: notification to webhook",
        "",
        run_header(method=method),
        "",
        markdown_table(_LATENCY_HEADER, rows),
        "",
        "- Latency: from just before the simulated modem stores the SMS and writes `+CMTI` to "
        "the moment the receiver gets it: for smsgw, its webhook handler starting (the "
        "signature is checked after); for the peers, their received-message hook's "
        "`date +%s.%N` (gammu-smsd `RunOnReceive`, SMSTools3 `eventhandler`).",
        f"- smsgw's latency, split at `AT+CMGL` reaching the modem: notification to read p50 "
        f"{format_ms(percentile(reads, 0.5))} ms (p99 {format_ms(percentile(reads, 0.99))}); "
        f"read to webhook p50 {format_ms(percentile(rest, 0.5))} ms (p99 "
        f"{format_ms(percentile(rest, 0.99))}). "
        f"Gateway CPU {latency.gateway_cpu_ms:,.2f} ms per message.",
        "- Peers: neither reads a message when the modem announces it; both poll, gammu-smsd "
        "every `ReceiveFrequency` (15 s by default), SMSTools3 every `delaytime` (10 s). The "
        "messages were injected at points spread evenly over one polling interval after the "
        "previous one arrived, so their latency averages about half an interval.",
        f"- Idle: AT commands the modem received and the receiver's CPU time over "
        f"{idle.seconds:g} s (smsgw) or a polling interval plus 1 s, at least 5 s (peers) "
        "with nothing arriving.",
        *(f"- Settings, {line}" for line in configuration_notes()),
        *(f"- Note {index}: {reason}" for index, reason in enumerate(failures, start=1)),
        "",
        markdown_table(
            (
                "burst",
                "modem storage (network holds the rest)",
                "first webhook",
                "last webhook",
                "messages/s",
                "webhooks exactly once",
                "duplicates",
                "missing",
                "gateway CPU ms per message",
            ),
            burst_rows,
        ),
        "",
        f"- After the burst: {ours.received_rows:,} messages `received` in the SQLite file "
        f"({ours.injected:,} injected); webhooks delivered {webhooks.get('delivered')}, "
        f"pending {webhooks.get('pending')}, failed {webhooks.get('failed')}, with a failed "
        f"attempt {len(webhooks.get('troubled', []))}; signatures rejected by "
        f"RequestValidator: {ours.invalid_signatures}; warnings and errors in the gateway's "
        f"log: {ours.log_lines}.",
    ]
    p50 = percentile(latency.total_ms, 0.5)
    verdict = "met" if p50 < TARGET_P50_MS else "NOT met"
    lines += [
        "",
        f"Target (issue): notification to webhook p50 under {TARGET_P50_MS:g} ms: {verdict} "
        f"(p50 {format_ms(p50)} ms, p99 {format_ms(percentile(latency.total_ms, 0.99))} ms).",
    ]
    return "\n".join(lines)


def main() -> None:
    ours = asyncio.run(measure_ours())
    peers = asyncio.run(measure_inbound_peers())
    print(report(ours, peers))


if __name__ == "__main__":
    main()
