"""50 open consoles with live updates: what they add to the gateway's memory, and whether it
leaks (issue 18: "50 open consoles with live updates add under 5 MB of RSS and no leak over 10
minutes").

``smsgw simulate --pty-dir DIR --count 2 --control`` (two simulated modems on ptys, each send
taking 1.5 s, a delivery report 0.2 s after it: :func:`bench.pool.simulated_fleet`) and ``smsgw
serve`` with two ``[[modems]] driver = "serial"`` on those ptys (:mod:`bench.gateway_process`),
each its own process. Traffic from the start to the end, the same in both phases: a message
created through the API every :data:`CREATE_EVERY_S` (from each modem in turn, each to its own
handset), and an inbound SMS injected through the simulator's control (``POST
/modems/{i}/inject``) every :data:`INJECT_EVERY_S`, alternately to each modem. Every status
change (sending, sent, delivered) and every inbound message is an event on each open page of
the account.

1. Baseline (``--baseline-minutes``, default 3): the traffic, nobody signed in, no stream
   (the console's feed then keeps nothing). Its last minute's median RSS is the "before".
2. ``--streams`` (default 50) sessions signed in through the console's form, as a browser
   does (its page first, then the POST; each its own client and cookie jar), and each opens
   ``GET /console/events`` on its own connection, read line by line as an ``EventSource``
   would, for ``--minutes`` (default 10, the issue's figure).

The gateway's VmRSS (``/proc/PID/status``) and PSS (``/proc/PID/smaps_rollup``) are read every
:data:`SAMPLE_S` seconds throughout. Reported: RSS before, once the streams are open, at the
end; what the streams added (target < 5 MB, read strictly as 5 x 10^6 bytes); the slope of a
least-squares line through the last :func:`tail_minutes` of each phase (a leak: a steady
slope; the baseline's own slope and the residuals' spread are the noise to read it against);
events received per stream; streams refused or ended by the gateway (a client that reads is
never cut: expect 0).

Run alone with ``.venv/bin/python -m bench.console_live`` (13 minutes and a half);
``--minutes 3`` for a quicker look.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import aiohttp

from bench.gateway_process import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    ModemSpec,
    RunningGateway,
    authorization,
    gateway_process,
    memory,
)
from bench.harness import markdown_table, run_header
from bench.pool import Fleet, Program, proportional_set_kib, simulated_fleet
from bench.simulator import cancelled_by_sigterm

STREAMS: Final = 50
MODEMS: Final = 2
MINUTES: Final = 10.0
BASELINE_MINUTES: Final = 3.0
SAMPLE_S: Final = 10.0
# Below what two modems at 1.5 s a send can take (1.33 a second, less the inbound reads), so
# that the queue stays short and the traffic is the same from the first minute to the last.
CREATE_EVERY_S: Final = 2.0
INJECT_EVERY_S: Final = 4.0
TARGET_BYTES: Final = 5_000_000  # the "5 MB", read strictly
TARGET_MIB: Final = TARGET_BYTES / 2**20
TEXT: Final = "Console benchmark: one part of plain GSM 7-bit text."
_OPEN_TIMEOUT_S: Final = 30.0
# The streams are read for as long as they last: no total or read timeout (a quiet stream
# still has its heartbeat every 15 s, but the benchmark must not be the one that cuts it).
_NO_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, sock_read=None)


# --- pure helpers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # seconds since the run began
    rss_kib: int
    pss_kib: int | None


def tail_minutes(minutes: float) -> float:
    """How much of a phase its slope is read over: its second half, at most 5 minutes (the
    first minutes still see the allocator and SQLite's cache settle)."""
    return min(5.0, minutes / 2)


@dataclass(frozen=True, slots=True)
class Slope:
    mib_per_minute: float
    residual_mib: float  # the residuals' standard deviation: the noise around the line
    samples: int


def slope(samples: Sequence[Sample], since: float) -> Slope | None:
    """The least-squares line through the RSS samples at or after ``since`` (seconds); None
    with fewer than three."""
    chosen = [s for s in samples if s.at >= since]
    if len(chosen) < 3:
        return None
    xs = [s.at / 60 for s in chosen]
    ys = [s.rss_kib / 1024 for s in chosen]
    fit = statistics.linear_regression(xs, ys)
    residuals = [y - (fit.slope * x + fit.intercept) for x, y in zip(xs, ys, strict=True)]
    return Slope(fit.slope, statistics.pstdev(residuals), len(chosen))


def median_rss_mib(samples: Sequence[Sample], since: float, until: float) -> float:
    chosen = [s.rss_kib for s in samples if since <= s.at <= until]
    if not chosen:
        raise ValueError("no sample in that window")
    return statistics.median(chosen) / 1024


# --- the traffic -----------------------------------------------------------------------------


@dataclass(slots=True)
class Traffic:
    created: int = 0
    create_failures: int = 0
    injected: int = 0


async def paced(every_s: float) -> AsyncIterator[int]:
    """0, 1, 2, ... one every ``every_s`` seconds, on a fixed schedule (no drift)."""
    start = time.perf_counter()
    for index in itertools.count():
        await asyncio.sleep(max(0.0, start + index * every_s - time.perf_counter()))
        yield index


async def creates(gateway: RunningGateway, numbers: Sequence[str], traffic: Traffic) -> None:
    headers = {"Authorization": authorization()}
    async with aiohttp.ClientSession() as http:
        async for index in paced(CREATE_EVERY_S):
            form = {"To": f"+44770{index:07d}", "From": numbers[index % len(numbers)], "Body": TEXT}
            try:
                async with http.post(gateway.messages_url, data=form, headers=headers) as answer:
                    await answer.read()
                    ok = answer.status == 201
            except aiohttp.ClientError:
                ok = False
            if ok:
                traffic.created += 1
            else:
                traffic.create_failures += 1


async def injections(fleet: Fleet, traffic: Traffic) -> None:
    async with aiohttp.ClientSession() as http:
        async for index in paced(INJECT_EVERY_S):
            modem = index % len(fleet.numbers)
            text = {"from": f"+44780{index:07d}", "text": f"console benchmark inbound #{index}"}
            async with http.post(f"{fleet.control}/modems/{modem}/inject", json=text) as answer:
                answer.raise_for_status()
            traffic.injected += 1


async def sampler(pid: int, began: float, samples: list[Sample]) -> None:
    async for _ in paced(SAMPLE_S):
        samples.append(
            Sample(time.perf_counter() - began, memory(pid).rss_kib, proportional_set_kib(pid))
        )


# --- the consoles ----------------------------------------------------------------------------


@dataclass(slots=True)
class Console:
    """One browser: its own client (cookie jar, connection) and what its stream received."""

    http: aiohttp.ClientSession
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    status: int | None = None
    events: int = 0
    heartbeats: int = 0
    ended_by_gateway: bool = False
    error: str = ""


async def sign_in(base_url: str) -> Console:
    """The sign-in page, then its form posted, as a browser does: a 303 and the cookie."""
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1: an IP
    http = aiohttp.ClientSession(cookie_jar=jar, timeout=_NO_TIMEOUT)
    try:
        async with http.get(f"{base_url}/console/sign-in") as page:
            await page.read()
            page.raise_for_status()
        form = {"username": ACCOUNT_SID, "secret": AUTH_TOKEN}
        async with http.post(
            f"{base_url}/console/sign-in",
            data=form,
            headers={"Sec-Fetch-Site": "same-origin"},  # what a browser says of its own form
            allow_redirects=False,
        ) as answer:
            if answer.status != 303 or not any(c.key == "smsgw_console" for c in jar):
                raise RuntimeError(f"sign-in refused: {answer.status} {await answer.text()}")
    except BaseException:
        await http.close()
        raise
    return Console(http)


async def read_events(console: Console, base_url: str) -> None:
    """The stream, line by line, until cancelled (the benchmark's end) or the gateway ends it."""
    try:
        async with console.http.get(
            f"{base_url}/console/events", headers={"Accept": "text/event-stream"}
        ) as response:
            console.status = response.status
            if response.status != 200:
                console.error = f"{response.status}"
                console.opened.set()
                return
            async for line in response.content:
                if line.startswith(b": live"):
                    console.opened.set()
                elif line.startswith(b"event:"):
                    console.events += 1
                elif line.startswith(b": heartbeat"):
                    console.heartbeats += 1
            console.ended_by_gateway = True  # the body ended: the gateway closed it
    except aiohttp.ClientError as exc:
        console.ended_by_gateway = True
        console.error = type(exc).__name__
    finally:
        console.opened.set()


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    streams: int
    minutes: float
    baseline_minutes: float
    samples: list[Sample]
    opened_at: float  # seconds since the run began: every stream open
    ended_at: float
    consoles: list[Console]
    traffic: Traffic
    open_seconds: float  # to sign in and open every stream


async def run(streams: int, minutes: float, baseline_minutes: float) -> Result:
    program = Program.of(None)
    with (
        cancelled_by_sigterm(),
        tempfile.TemporaryDirectory(prefix="smsgw-bench-console-live-") as name,
    ):
        directory = Path(name)
        (directory / "ptys").mkdir()
        async with simulated_fleet(MODEMS, directory / "ptys", program) as fleet:
            modems = [
                ModemSpec(f"m{i}", "serial", number, port=path)
                for i, (number, path) in enumerate(zip(fleet.numbers, fleet.paths, strict=True))
            ]
            async with gateway_process(modems, directory=directory) as gateway:
                await gateway.wait_modems_ready(60)
                return await _measure(streams, minutes, baseline_minutes, fleet, gateway)


async def _measure(
    streams: int,
    minutes: float,
    baseline_minutes: float,
    fleet: Fleet,
    gateway: RunningGateway,
) -> Result:
    traffic = Traffic()
    samples: list[Sample] = []
    consoles: list[Console] = []
    readers: list[asyncio.Task[None]] = []
    began = time.perf_counter()
    background = [
        asyncio.create_task(creates(gateway, fleet.numbers, traffic)),
        asyncio.create_task(injections(fleet, traffic)),
        asyncio.create_task(sampler(gateway.pid, began, samples)),
    ]
    try:
        await asyncio.sleep(baseline_minutes * 60)
        opening = time.perf_counter()
        for _ in range(streams):
            console = await sign_in(gateway.base_url)
            consoles.append(console)
            readers.append(asyncio.create_task(read_events(console, gateway.base_url)))
        async with asyncio.timeout(_OPEN_TIMEOUT_S):
            await asyncio.gather(*(console.opened.wait() for console in consoles))
        opened_at = time.perf_counter() - began
        open_seconds = time.perf_counter() - opening
        samples.append(
            Sample(opened_at, memory(gateway.pid).rss_kib, proportional_set_kib(gateway.pid))
        )
        await asyncio.sleep(minutes * 60)
        ended_at = time.perf_counter() - began
        samples.append(
            Sample(ended_at, memory(gateway.pid).rss_kib, proportional_set_kib(gateway.pid))
        )
    finally:
        for task in (*background, *readers):
            task.cancel()
        await asyncio.gather(*background, *readers, return_exceptions=True)
        for console in consoles:
            await console.http.close()
    if any(isinstance(t.exception(), Exception) for t in background if not t.cancelled()):
        raise RuntimeError("the traffic failed: " + repr([t.exception() for t in background]))
    samples.sort(key=lambda s: s.at)
    return Result(
        streams,
        minutes,
        baseline_minutes,
        samples,
        opened_at,
        ended_at,
        consoles,
        traffic,
        open_seconds,
    )


# --- the report ------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def _slope_text(fit: Slope | None) -> str:
    if fit is None:
        return "too few samples"
    return (
        f"{fit.mib_per_minute * 1024:+.0f} KiB/min over {fit.samples} samples "
        f"(residuals ± {fit.residual_mib * 1024:.0f} KiB)"
    )


def report(result: Result, command: str) -> str:
    samples = result.samples
    baseline_end = result.opened_at - result.open_seconds
    before = median_rss_mib(samples, baseline_end - 60, baseline_end)
    at_open = next(s for s in samples if s.at >= result.opened_at)
    at_end = samples[-1]
    base_fit = slope(
        [s for s in samples if s.at <= baseline_end],
        baseline_end - tail_minutes(result.baseline_minutes) * 60,
    )
    live_fit = slope(samples, result.ended_at - tail_minutes(result.minutes) * 60)
    pss = [s.pss_kib for s in (at_open, at_end) if s.pss_kib is not None]
    before_pss = [
        s.pss_kib
        for s in samples
        if baseline_end - 60 <= s.at <= baseline_end and s.pss_kib is not None
    ]
    added_end = at_end.rss_kib / 1024 - before
    events = [c.events for c in result.consoles]
    refused = sum(1 for c in result.consoles if c.status != 200)
    cut = sum(1 for c in result.consoles if c.ended_by_gateway)
    rows = [
        ["RSS before the streams (median of the baseline's last minute)", f"{before:.1f} MiB"],
        ["RSS with the streams just open", f"{at_open.rss_kib / 1024:.1f} MiB"],
        [f"RSS at the end ({result.minutes:g} min later)", f"{at_end.rss_kib / 1024:.1f} MiB"],
        [
            "PSS before / just open / at the end",
            " / ".join(
                f"{value / 1024:.1f}"
                for value in ([statistics.median(before_pss)] if before_pss else []) + pss
            )
            + " MiB",
        ],
        [
            f"added by {_streams(result.streams)}: just open / at the end",
            f"{at_open.rss_kib / 1024 - before:+.2f} / {added_end:+.2f} MiB",
        ],
        [
            f"slope, baseline's last {tail_minutes(result.baseline_minutes):g} min",
            _slope_text(base_fit),
        ],
        [
            f"slope, streams' last {tail_minutes(result.minutes):g} min",
            _slope_text(live_fit),
        ],
        [
            "events per stream: min / median / max",
            f"{min(events, default=0)} / {statistics.median(events or [0]):.0f} / "
            f"{max(events, default=0)}",
        ],
        ["streams refused / ended by the gateway", f"{refused} / {cut}"],
        [
            "traffic: created (failed) / inbound injected",
            f"{result.traffic.created} ({result.traffic.create_failures}) / "
            f"{result.traffic.injected}",
        ],
        [
            f"{result.streams} sign-ins and {_streams(result.streams)} opened in",
            f"{result.open_seconds:.1f} s",
        ],
    ]
    method = (
        f"{MODEMS} modems (smsgw simulate on ptys, 1.5 s a send), a create every "
        f"{CREATE_EVERY_S:g} s and an inbound SMS every {INJECT_EVERY_S:g} s throughout; "
        f"{result.baseline_minutes:g} min with no stream, then {_streams(result.streams)} "
        f"signed in for {result.minutes:g} min; RSS/PSS every {SAMPLE_S:g} s"
    )
    errors = sorted({c.error for c in result.consoles if c.error})
    lines = [
        f"## Open consoles with live updates, {result.streams} at once (`bench/console_live.py`)",
        "",
        run_header(command, method),
        "",
        markdown_table(["figure", "value"], rows),
        "",
        f"Targets: added RSS < {TARGET_BYTES / 1e6:g} MB ({TARGET_MIB:.2f} MiB): "
        f"{_met(added_end < TARGET_MIB)}; no stream cut: {_met(cut == 0 and refused == 0)}; "
        "every stream received events: "
        f"{_met(min(events, default=0) > 0)}.",
    ]
    if errors:
        lines.append("Stream errors: " + ", ".join(errors) + ".")
    lines += [
        "",
        "RSS samples (MiB, every 10 s; | marks the streams' opening):",
        "",
        _series(samples, result.opened_at),
    ]
    return "\n".join(lines)


def _streams(count: int) -> str:
    return f"{count} stream" + ("" if count == 1 else "s")


def _series(samples: Sequence[Sample], opened_at: float) -> str:
    parts: list[str] = []
    marked = False
    for s in samples:
        if not marked and s.at >= opened_at:
            parts.append("|")
            marked = True
        parts.append(f"{s.rss_kib / 1024:.1f}")
    text = " ".join(parts)
    return "\n".join(_wrap(text, 96))


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.console_live", description=__doc__)
    parser.add_argument("--streams", type=int, default=STREAMS, help="(default %(default)s)")
    parser.add_argument(
        "--minutes", type=float, default=MINUTES, help="with the streams (default %(default)s)"
    )
    parser.add_argument(
        "--baseline-minutes",
        type=float,
        default=BASELINE_MINUTES,
        help="the traffic with no stream, first (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.streams <= 64:
        parser.error("--streams: from 1 to 64 (the console's limit of open streams)")
    if not args.minutes >= 1 or not args.baseline_minutes >= 1:
        parser.error("--minutes and --baseline-minutes: 1 at least")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    command = "python -m bench.console_live " + " ".join(sys.argv[1:] if argv is None else argv)
    with contextlib.suppress(KeyboardInterrupt):
        result = asyncio.run(run(args.streams, args.minutes, args.baseline_minutes))
        print(report(result, command.strip()))


if __name__ == "__main__":
    main()
