"""A pool of 1, 8, 16, 32 and 64 modems on one host: does every modem keep the network's pace,
and what does the gateway spend doing it? (Issue 17, part 3.)

For each count N: one ``smsgw simulate --pty-dir DIR --count N`` process (N simulated modems,
each on its own pty, one network, one control interface), every send taking 1.5 s (``POST
/modems/{i}/latency``) and a status report 0.2 s after it; one ``smsgw serve`` process with N
``[[modems]] driver = "serial"`` on those ptys and one Messaging Service over all N numbers,
whose ``sms_url`` is a receiver in this process.

- A steady stream through the API: 2 messages per modem at once, then creates with
  ``MessagingServiceSid`` (each to its own recipient, so no sticky sender) paced at the pool's
  capacity plus 5 % (N / 1.5 s a second x 1.05), so that every modem always has work and the
  queue grows by a message per modem every 30 s. Create latency is timed at the client.
- After a warm-up, a steady window (``--seconds``, default 40): each modem's pace is read off
  the simulator's own time stamps of the SUBMITs it accepted (``GET /submissions``, ``at``):
  1.5 s over the mean interval between one modem's consecutive SUBMITs in the window, the
  fraction of the network's pace it kept (1.0: not a millisecond lost between sends).
- The gateway's CPU (utime + stime of all its threads, ``/proc/PID/task/*/stat``) over the
  window: % of one core, and ms per part sent. VmRSS, VmHWM and PSS (``smaps_rollup``) at its
  end.
- Inbound while every modem sends: a handset texts a random modem through the control (``POST
  /modems/{i}/inject``), one every 12.8 s / N (every 200 ms at 64 modems); the latency runs
  from the injection to the webhook reaching the receiver.

Run alone with ``.venv/bin/python -m bench.pool`` (about 5 minutes); ``--counts 1,64``,
``--seconds 20``; ``--cwd ../other-checkout`` runs that checkout's ``.venv/bin/smsgw`` (both
the simulator and the gateway) for an A/B comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bench.gateway_process import (
    ModemSpec,
    RunningGateway,
    authorization,
    cpu_times,
    free_port,
    gateway_process,
    memory,
    stop_process,
)
from bench.harness import markdown_table, run_header
from bench.simulator import cancelled_by_sigterm

COUNTS: Final = (1, 8, 16, 32, 64)
LATENCY_S: Final = 1.5  # each AT+CMGS, as a slow network takes
REPORT_DELAY_S: Final = 0.2
STEADY_S: Final = 40.0
WARM_UP_S: Final = 6.0  # the first sends, the first reports, the queue at its level
BACKLOG_PER_MODEM: Final = 2  # created at once, before the stream
OVERSUPPLY: Final = 1.05  # the stream's rate over the pool's capacity
# One inbound SMS per modem every 12.8 s on average: every 200 ms in all at 64 modems, the
# same share of each modem's time at every count (at 5 a second, one modem alone would spend
# more time reading than sending).
INBOUND_PER_MODEM_S: Final = 12.8
SERVICE_SID: Final = "MG" + "0b" * 16
FIRST_NUMBER: Final = "+15550001000"
TEXT: Final = "Pool benchmark: one part of plain GSM 7-bit text."
# The targets at 64 modems (issue 17).
TARGET_PACE: Final = 0.995
TARGET_CPU_PERCENT: Final = 25.0
TARGET_RSS_MIB: Final = 60.0
TARGET_CREATE_P99_MS: Final = 15.0
CONNECTIONS: Final = 16
_READY_TIMEOUT_S: Final = 60.0
_STOP_TIMEOUT_S: Final = 10.0
_INBOUND_GRACE_S: Final = 15.0  # for the webhooks of the last injections


# --- pure helpers --------------------------------------------------------------------------------


def pace(stamps: Iterable[float], latency_s: float) -> float | None:
    """The fraction of the network's pace one modem kept: ``latency_s`` over the mean interval
    between its consecutive sends (time stamps in seconds, any order); ``None`` with fewer than
    two. Intervals rather than a count in a window, which would be off by up to a send."""
    ordered = sorted(stamps)
    if len(ordered) < 2:
        return None
    mean_interval = (ordered[-1] - ordered[0]) / (len(ordered) - 1)
    return latency_s / mean_interval if mean_interval > 0 else None


def sends(
    submissions: Iterable[Mapping[str, Any]], numbers: Sequence[str], start: float, end: float
) -> dict[str, list[float]]:
    """Each number's SUBMITs between ``start`` and ``end``, as time stamps in order
    (``GET /submissions`` items: ``from`` and ``at``, an ISO 8601 time)."""
    stamps: dict[str, list[float]] = {number: [] for number in numbers}
    for item in submissions:
        at = datetime.fromisoformat(item["at"]).timestamp()
        if start <= at <= end and item["from"] in stamps:
            stamps[item["from"]].append(at)
    return {number: sorted(times) for number, times in stamps.items()}


def paces(stamps: Mapping[str, Sequence[float]], latency_s: float) -> dict[str, float | None]:
    """Each number's :func:`pace`."""
    return {number: pace(times, latency_s) for number, times in stamps.items()}


def intervals(stamps: Mapping[str, Sequence[float]]) -> list[float]:
    """The intervals between each number's consecutive sends, all numbers together: their
    spread tells a steady loss on every send (all a little over the latency) from a modem
    left without work (a few long ones)."""
    return [
        later - earlier for times in stamps.values() for earlier, later in itertools.pairwise(times)
    ]


def percentile(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile (0.0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))
    return ordered[index]


def proportional_set_kib(pid: int) -> int | None:
    """PSS from ``/proc/PID/smaps_rollup`` (Linux 4.14+), ``None`` where there is none."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "Pss":
            return int(value.split()[0])
    return None


# --- the processes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Program:
    """How to run ``smsgw``: this interpreter's, or another checkout's."""

    argv: tuple[str, ...]
    cwd: Path | None = None
    profiles: Path | None = None  # where the gateway's cProfile output goes, if anywhere

    @classmethod
    def of(cls, checkout: Path | None, profiles: Path | None = None) -> Program:
        if checkout is None:
            return cls((sys.executable, "-m", "gateway"), profiles=profiles)
        smsgw = checkout.resolve() / ".venv" / "bin" / "smsgw"
        if not smsgw.exists():
            raise SystemExit(f"{smsgw} does not exist (make .venv/.installed-tools there)")
        if profiles is not None:
            raise SystemExit("--profile goes with this checkout only (not --cwd)")
        return cls((str(smsgw),), checkout.resolve())

    def gateway(self, count: int) -> tuple[str, ...]:
        """The gateway's command: under cProfile (its event loop's thread) with a profile
        directory, written when it stops."""
        if self.profiles is None:
            return self.argv
        output = self.profiles.resolve() / f"gateway-{count}.prof"
        return (sys.executable, "-m", "cProfile", "-o", str(output), "-m", "gateway")


@dataclass(frozen=True, slots=True)
class Fleet:
    control: str  # base URL of the control interface
    pid: int
    paths: tuple[str, ...]  # each modem's pty
    numbers: tuple[str, ...]  # each modem's number


@contextlib.asynccontextmanager
async def simulated_fleet(count: int, directory: Path, program: Program) -> AsyncIterator[Fleet]:
    """``smsgw simulate --pty-dir directory --count count``; stopped on the way out."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *program.argv,
        *("simulate", "--pty-dir", str(directory), "--count", str(count)),
        *("--number", FIRST_NUMBER, "--report-delay", str(REPORT_DELAY_S)),
        *("--control", f"127.0.0.1:{port}"),
        cwd=program.cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        # One line per modem, then the control's: all are up once that one is printed.
        async with asyncio.timeout(_READY_TIMEOUT_S):
            while not (line := await process.stdout.readline()).startswith(b"control:"):
                if not line:
                    raise RuntimeError(f"the simulator exited ({await process.wait()})")
        control = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{control}/modems") as response:
                modems = await response.json()
            for index in range(count):
                async with session.post(
                    f"{control}/modems/{index}/latency", json={"seconds": LATENCY_S}
                ) as response:
                    response.raise_for_status()
        yield Fleet(
            control,
            process.pid,
            tuple(modem["path"] for modem in modems),
            tuple(modem["numbers"][0] for modem in modems),
        )
    finally:
        # The gateway has let go of the ptys by now: a clean stop, as smsgw simulate expects.
        await stop_process(process)


@dataclass(slots=True)
class Receiver:
    """The webhook receiver: when each inbound text arrived (``time.time()``)."""

    url: str = ""
    arrived: dict[str, float] = field(default_factory=dict)


_TWIML_EMPTY: Final = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()

    async def sms(request: web.Request) -> web.Response:
        form = await request.post()
        body = form.get("Body")
        if isinstance(body, str):
            receiver.arrived.setdefault(body, time.time())
        return web.Response(text=_TWIML_EMPTY, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/sms", sms)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/sms"
    try:
        yield receiver
    finally:
        await runner.cleanup()


def service_table(numbers: Sequence[str], sms_url: str) -> str:
    listed = ", ".join(f'"{number}"' for number in numbers)
    return "\n".join(
        [
            "[[services]]",
            f'sid = "{SERVICE_SID}"',
            'name = "Pool benchmark"',
            f"numbers = [{listed}]",
            f'sms_url = "{sms_url}"',
            # Each message has its own recipient anyway; no stickiness to skew the spread.
            "sticky_sender = false",
        ]
    )


# --- the load ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Creates:
    """Every create: when it was sent (``time.time()``), its latency and its status."""

    sent_at: list[float] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    failures: int = 0

    def latencies_between(self, start: float, end: float) -> list[float]:
        return [
            latency
            for at, latency in zip(self.sent_at, self.latencies_s, strict=True)
            if start <= at <= end
        ]


async def _create(session: aiohttp.ClientSession, url: str, index: int, creates: Creates) -> None:
    data = urlencode({"To": f"+44770{index:07d}", "MessagingServiceSid": SERVICE_SID, "Body": TEXT})
    headers = {
        "Authorization": authorization(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    sent_at, started = time.time(), time.perf_counter()
    try:
        async with session.post(url, data=data, headers=headers) as response:
            await response.read()
            ok = response.status == 201
    except aiohttp.ClientError:
        ok = False
    if not ok:
        creates.failures += 1
        return
    creates.latencies_s.append(time.perf_counter() - started)
    creates.sent_at.append(sent_at)


async def stream(gateway: RunningGateway, count: int, creates: Creates) -> None:
    """The backlog at once, then creates paced at the pool's capacity plus 5 %, until
    cancelled; each create its own task, so a slow answer does not delay the next."""
    interval = LATENCY_S / count / OVERSUPPLY
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    pending: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            backlog = BACKLOG_PER_MODEM * count
            for index in range(backlog):
                await _create(session, gateway.messages_url, index, creates)
            start = time.perf_counter()
            for step in itertools.count():
                await asyncio.sleep(max(0.0, start + step * interval - time.perf_counter()))
                index = backlog + step
                task = asyncio.create_task(_create(session, gateway.messages_url, index, creates))
                pending.add(task)
                task.add_done_callback(pending.discard)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


async def inbound(fleet: Fleet, injected: dict[str, float]) -> None:
    """A handset texts a random modem, one every :data:`INBOUND_PER_MODEM_S` / N, until
    cancelled."""
    chooser = random.Random(17)  # the same modems in every run
    interval = INBOUND_PER_MODEM_S / len(fleet.numbers)
    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        for index in itertools.count():
            due = start + index * interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            text = f"pool inbound #{index:06d}"
            modem = chooser.randrange(len(fleet.numbers))
            injected[text] = time.time()
            body = {"from": f"+44780{index:07d}", "text": text}
            async with session.post(
                f"{fleet.control}/modems/{modem}/inject", json=body
            ) as response:
                response.raise_for_status()


# --- one run -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolResult:
    count: int
    window_s: float
    paces: dict[str, float | None]
    intervals_s: list[float]  # between consecutive sends of a modem, all modems
    parts: int  # SUBMITs accepted in the window, all modems
    cpu_s: float
    main_thread_cpu_s: float
    simulator_cpu_s: float  # the other end's, all N modems: it shares the machine
    rss_mib: float
    hwm_mib: float
    pss_mib: float | None
    create_latencies_s: list[float]
    create_failures: int
    inbound_latencies_s: list[float]
    inbound_lost: int

    @property
    def known_paces(self) -> list[float]:
        return [value if value is not None else 0.0 for value in self.paces.values()]

    @property
    def min_pace(self) -> float:
        return min(self.known_paces)

    @property
    def median_pace(self) -> float:
        return statistics.median(self.known_paces)

    @property
    def slow_modems(self) -> int:
        return sum(1 for value in self.known_paces if value < TARGET_PACE)

    @property
    def cpu_percent(self) -> float:
        return self.cpu_s / self.window_s * 100

    @property
    def cpu_ms_per_part(self) -> float:
        return self.cpu_s * 1000 / self.parts if self.parts else 0.0

    def create_ms(self, percent: float) -> float:
        return percentile(self.create_latencies_s, percent) * 1000

    def inbound_ms(self, percent: float) -> float:
        return percentile(self.inbound_latencies_s, percent) * 1000


async def _submissions(control: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{control}/modems/0/submissions") as response,
    ):
        response.raise_for_status()
        items: list[dict[str, Any]] = await response.json()
        return items


async def run_pool(count: int, seconds: float, program: Program) -> PoolResult:
    with (
        cancelled_by_sigterm(),
        tempfile.TemporaryDirectory(prefix="smsgw-bench-pool-") as name,
    ):
        directory = Path(name)
        (directory / "ptys").mkdir()
        async with (
            simulated_fleet(count, directory / "ptys", program) as fleet,
            webhook_receiver() as receiver,
        ):
            modems = [
                ModemSpec(f"m{i}", "serial", number, port=path)
                for i, (number, path) in enumerate(zip(fleet.numbers, fleet.paths, strict=True))
            ]
            async with gateway_process(
                modems,
                directory=directory,
                tables=[service_table(fleet.numbers, receiver.url)],
                program=program.gateway(count),
                cwd=program.cwd,
            ) as gateway:
                await gateway.wait_modems_ready(_READY_TIMEOUT_S)
                return await _measure(count, seconds, fleet, gateway, receiver)


async def _measure(
    count: int, seconds: float, fleet: Fleet, gateway: RunningGateway, receiver: Receiver
) -> PoolResult:
    creates = Creates()
    injected: dict[str, float] = {}
    load = asyncio.create_task(stream(gateway, count, creates))
    texts = None
    try:
        await asyncio.sleep(WARM_UP_S)
        start, cpu_before = time.time(), cpu_times(gateway.pid)
        simulator_before = cpu_times(fleet.pid)
        texts = asyncio.create_task(inbound(fleet, injected))
        await asyncio.sleep(seconds)
        end, cpu_after = time.time(), cpu_times(gateway.pid)
        simulator_after = cpu_times(fleet.pid)
        used = memory(gateway.pid)
        pss = proportional_set_kib(gateway.pid)
    finally:
        for task in (load, texts):
            if task is not None:
                task.cancel()
        await asyncio.gather(load, *([texts] if texts else []), return_exceptions=True)
    # The last injections' webhooks, which may still be on their way.
    deadline = time.monotonic() + _INBOUND_GRACE_S
    while set(injected) - set(receiver.arrived) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    submissions = await _submissions(fleet.control)
    stamps = sends(submissions, fleet.numbers, start, end)
    cpu = cpu_after - cpu_before
    return PoolResult(
        count=count,
        window_s=end - start,
        paces=paces(stamps, LATENCY_S),
        intervals_s=intervals(stamps),
        parts=sum(len(times) for times in stamps.values()),
        cpu_s=cpu.total_s,
        main_thread_cpu_s=cpu.main_s,
        simulator_cpu_s=(simulator_after - simulator_before).total_s,
        rss_mib=used.rss_mib,
        hwm_mib=used.hwm_mib,
        pss_mib=pss / 1024 if pss is not None else None,
        create_latencies_s=creates.latencies_between(start, end),
        create_failures=creates.failures,
        inbound_latencies_s=[
            receiver.arrived[text] - at for text, at in injected.items() if text in receiver.arrived
        ],
        inbound_lost=len(set(injected) - set(receiver.arrived)),
    )


# --- the report --------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(results: Sequence[PoolResult], command: str) -> str:
    rows = [
        [
            str(r.count),
            f"{r.min_pace:.4f}",
            f"{r.median_pace:.4f}",
            str(r.slow_modems),
            " / ".join(f"{percentile(r.intervals_s, p) * 1000:.0f}" for p in (50, 90, 99, 100)),
            str(r.parts),
            f"{r.cpu_percent:.1f} % ({r.main_thread_cpu_s / r.window_s * 100:.1f} % loop)",
            f"{r.cpu_ms_per_part:.2f}",
            f"{r.simulator_cpu_s / r.window_s * 100:.1f} %",
            f"{r.rss_mib:.1f} / {r.hwm_mib:.1f}"
            + (f" / {r.pss_mib:.1f}" if r.pss_mib is not None else ""),
            f"{r.create_ms(50):.1f} / {r.create_ms(99):.1f}",
            f"{r.inbound_ms(50):.0f} / {r.inbound_ms(99):.0f}"
            + (f" ({r.inbound_lost} lost)" if r.inbound_lost else ""),
        ]
        for r in results
    ]
    header = [
        "modems",
        "min pace",
        "median pace",
        "< 99.5 %",
        "send interval p50 / p90 / p99 / max ms",
        "parts",
        "gateway CPU (of one core)",
        "CPU ms/part",
        "simulator CPU",
        "RSS / HWM / PSS MiB",
        "create p50 / p99 ms",
        "inbound webhook p50 / p99 ms",
    ]
    lines = [
        "## A pool of modems on one host (`bench/pool.py`)",
        "",
        run_header(
            command,
            f"{LATENCY_S:g} s per send, reports after {REPORT_DELAY_S:g} s, one Messaging "
            f"Service over all modems, creates at capacity + {OVERSUPPLY * 100 - 100:.0f} %, "
            f"an inbound SMS per modem every {INBOUND_PER_MODEM_S:g} s; {WARM_UP_S:g} s warm-up "
            f"then a {results[0].window_s if results else STEADY_S:.0f} s steady window",
        ),
        "",
        markdown_table(header, rows),
    ]
    failures = [
        f"{r.count} modems: {r.create_failures} creates failed"
        for r in results
        if r.create_failures
    ]
    if failures:
        lines += ["", "Failed creates: " + "; ".join(failures) + "."]
    largest = max(results, key=lambda r: r.count, default=None)
    if largest is not None:
        lines += [
            "",
            f"Targets at {largest.count} modems: every modem >= {TARGET_PACE * 100:.1f} % of the "
            f"network's pace: {_met(largest.slow_modems == 0)} (min {largest.min_pace:.4f}); "
            f"gateway CPU < {TARGET_CPU_PERCENT:.0f} % of one core: "
            f"{_met(largest.cpu_percent < TARGET_CPU_PERCENT)} ({largest.cpu_percent:.1f} %); "
            f"RSS < {TARGET_RSS_MIB:.0f} MB: {_met(largest.rss_mib < TARGET_RSS_MIB)} "
            f"({largest.rss_mib:.1f} MiB); create p99 < {TARGET_CREATE_P99_MS:.0f} ms: "
            f"{_met(largest.create_ms(99) < TARGET_CREATE_P99_MS)} "
            f"({largest.create_ms(99):.1f} ms).",
        ]
    return "\n".join(lines)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pool", description=__doc__)
    parser.add_argument(
        "--counts",
        default=",".join(str(count) for count in COUNTS),
        help="how many modems in each run, comma-separated (default %(default)s; 1 to 64)",
    )
    parser.add_argument(
        "--seconds", type=float, default=STEADY_S, help="the steady window (default %(default)s)"
    )
    parser.add_argument(
        "--cwd", type=Path, help="another checkout: run its .venv/bin/smsgw (an A/B comparison)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run the gateway under cProfile, one DIR/gateway-N.prof per count (its figures "
        "are then the profiler's too)",
    )
    args = parser.parse_args(argv)
    try:
        args.counts = [int(count) for count in args.counts.split(",")]
    except ValueError:
        parser.error(f"--counts: numbers separated by commas, not {args.counts!r}")
    if not all(1 <= count <= 64 for count in args.counts):
        parser.error("--counts: each from 1 to 64 (smsgw simulate's limit)")
    if not args.seconds > 0:
        parser.error("--seconds must be more than 0")
    return args


async def _run_all(counts: Sequence[int], seconds: float, program: Program) -> list[PoolResult]:
    results = []
    for count in counts:
        results.append(await run_pool(count, seconds, program))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    program = Program.of(args.cwd, args.profile)
    results = asyncio.run(_run_all(args.counts, args.seconds, program))
    command = "python -m bench.pool " + " ".join(sys.argv[1:] if argv is None else argv)
    print(report(results, command.strip()))


if __name__ == "__main__":
    main()
