"""Create throughput and latency of the running gateway, durable commits, driven from outside.

``smsgw serve`` runs as its own process (:mod:`bench.gateway_process`: a temporary TOML
configuration with an explicit ``[[accounts]]`` and a temporary data directory, SQLite in WAL
mode with ``synchronous = FULL``, so a 201 is only sent once the message is on disk). Another
process sends ``POST /2010-04-01/Accounts/{AC}/Messages.json`` (form To/From/Body, HTTP Basic)
over 16 keep-alive connections, each request sent as soon as the previous answer arrived:

- ``wrk`` with a Lua script when it is installed (it is C and uses a few percent of a core,
  which matters on a 2-core machine where the load generator and the gateway share the CPUs);
- otherwise, and in any case once as a cross-check, :mod:`bench.load_client` (aiohttp) in a
  process of its own. This benchmark never installs anything.

Two gateway set-ups, each a fresh process and data directory for every run:

- "API + store": one modem whose serial device does not exist, so the gateway accepts and
  commits messages for its number but sends none: the figures are the API and the store alone;
- "API + store + sending": two in-process simulated modems answering at once, so the gateway
  also sends (three more commits and an ``AT+CMGS`` per message) while the creates run; how many
  it sent during the run is reported.

Each run: 2 s of warm-up, then 10 s measured; then the gateway is killed with SIGKILL and its
SQLite file opened read-only, to check that every 201 (warm-up included) names a message the file
holds, and that there was no other status and no socket error. wrk does not count the answers to
requests still in flight when it stops, so the file may hold up to 16 messages per load phase
more than the 201s counted; the Python client waits for them, so there the counts must match.

Run alone with ``.venv/bin/python -m bench.gateway_create`` (about 2 minutes).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.gateway_process import (
    ModemSpec,
    RunningGateway,
    authorization,
    cpu_times,
    gateway_process,
    sent_count,
    stored_sids,
    unreachable_modem,
)
from bench.harness import markdown_table, run_header
from bench.load_client import CONNECTIONS, LoadResult, form

DURATION_S: Final = 10.0
WARM_UP_S: Final = 2.0
RUNS: Final = 3  # runs per set-up with the main load generator; the median is judged
CROSS_CHECK_RUNS: Final = 1  # runs with the Python client when wrk is the main generator
WRK_THREADS: Final = 1  # one thread keeps 16 connections busy at a few percent of a core
TARGET_PER_SECOND: Final = 3000.0
TARGET_P99_MS: Final = 15.0
SENDER: Final = "+15550001001"
OTHER_MODEM: Final = "+15550002002"
DESTINATION: Final = "+447700900123"  # a virtual handset of the simulated network
TEXT: Final = "Benchmark message: one part of plain GSM 7-bit text."
_GENERATOR_TIMEOUT_S: Final = 60.0

# The script wrk runs: a fixed form body; every response's status counted and the SID of every
# 201 kept, per thread, and written by done() to the file named in SMSGW_BENCH_OUT with the
# latency percentiles (microseconds) and wrk's socket error counts.
_WRK_SCRIPT: Final = """\
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"

local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end

statuses = {{}}
sids = {{}}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    local sid = string.match(body, '"sid": "(SM%x+)"')
    if sid then sids[#sids + 1] = sid end
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("SMSGW_BENCH_OUT"), "w"))
  local counts = {{}}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    for _, sid in ipairs(thread:get("sids")) do
      out:write("sid ", sid, "\\n")
    end
  end
  for status, n in pairs(counts) do out:write("status ", status, " ", n, "\\n") end
  out:write("duration_us ", summary.duration, "\\n")
  for _, name in ipairs({{"connect", "read", "write", "timeout"}}) do
    out:write("error ", name, " ", summary.errors[name], "\\n")
  end
  for _, p in ipairs({{50, 90, 99}}) do
    out:write("latency p", p, " ", latency:percentile(p), "\\n")
  end
  out:write("latency max ", latency.max, "\\n")
  out:close()
end
"""


@dataclass(frozen=True, slots=True)
class SetUp:
    name: str
    modems: Callable[[Path], Sequence[ModemSpec]]
    sends: bool  # whether the gateway sends the messages during the run


SET_UPS: Final = (
    SetUp("API + store", lambda directory: [unreachable_modem("gsm", SENDER, directory)], False),
    SetUp(
        "API + store + sending",
        lambda _: [
            ModemSpec("alice", "simulated", SENDER),
            ModemSpec("bob", "simulated", OTHER_MODEM),
        ],
        True,
    ),
)


@dataclass(slots=True)
class Load:
    """What one load phase saw, whichever program generated it."""

    elapsed_s: float
    statuses: Counter[int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    sids: list[str]
    errors: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0  # the load generator's CPU time

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def per_second(self) -> float:
        return self.created / self.elapsed_s


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if path is None:
        return "not installed"
    # `wrk --version` prints "wrk debian/4.1.0-3+b2 [epoll] Copyright ..." (and exits 1).
    output = subprocess.run(
        [path, "--version"], capture_output=True, text=True, check=False, timeout=10
    ).stdout
    words = output.split()
    return " ".join(words[:2]) if words else "wrk (unknown version)"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _run_child(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Run a load generator to its end; its CPU seconds (it is the only child reaped meanwhile:
    the gateway outlives it)."""
    before = _children_cpu_s()
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), _GENERATOR_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode:
        raise RuntimeError(
            f"{Path(argv[0]).name} failed ({process.returncode}): {stderr.decode().strip()}"
        )
    return _children_cpu_s() - before


async def wrk_load(gateway: RunningGateway, seconds: float) -> Load:
    wrk = wrk_path()
    assert wrk is not None
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-wrk-") as directory:
        script = Path(directory) / "create.lua"
        out = Path(directory) / "out.txt"
        script.write_text(
            _WRK_SCRIPT.format(body=form(DESTINATION, SENDER, TEXT), authorization=authorization())
        )
        argv = [
            wrk,
            f"-t{WRK_THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            gateway.messages_url,
        ]
        cpu = await _run_child(argv, {**os.environ, "SMSGW_BENCH_OUT": str(out)})
        return _parse_wrk(out.read_text(), cpu)


def _parse_wrk(text: str, cpu_s: float) -> Load:
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    latency: dict[str, float] = {}
    sids: list[str] = []
    duration_us = 0.0
    for line in text.splitlines():
        kind, *values = line.split()
        if kind == "sid":
            sids.append(values[0])
        elif kind == "status":
            statuses[int(values[0])] += int(values[1])
        elif kind == "error" and int(values[1]):
            errors[f"wrk {values[0]}"] += int(values[1])
        elif kind == "latency":
            latency[values[0]] = float(values[1]) / 1000  # wrk reports microseconds
        elif kind == "duration_us":
            duration_us = float(values[0])
    return Load(
        duration_us / 1e6,
        statuses,
        latency["p50"],
        latency["p90"],
        latency["p99"],
        latency["max"],
        sids,
        errors,
        cpu_s,
    )


async def python_load(gateway: RunningGateway, seconds: float) -> Load:
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-client-") as directory:
        out = Path(directory) / "result.json"
        argv = [
            sys.executable,
            *("-m", "bench.load_client", "--url", gateway.messages_url),
            *("--authorization", authorization(), "--to", DESTINATION, "--from", SENDER),
            *("--text", TEXT, "--connections", str(CONNECTIONS), "--duration", f"{seconds:g}"),
            *("--out", str(out)),
        ]
        cpu = await _run_child(argv)
        result = LoadResult.from_json(json.loads(out.read_text()))
    return Load(
        result.elapsed_s,
        result.statuses,
        result.percentile_ms(50),
        result.percentile_ms(90),
        result.percentile_ms(99),
        result.percentile_ms(100),
        result.sids,
        result.errors,
        cpu,
    )


@dataclass(frozen=True, slots=True)
class Run:
    generator: str
    set_up: SetUp
    load: Load
    warm_up: Load
    gateway_main_cpu_s: float  # the event loop's thread, during the measured load
    gateway_other_cpu_s: float  # the SQLite writer and reader threads
    sent: int  # messages the gateway sent during the measured load
    stored: int  # rows in the SQLite file after SIGKILL
    missing: int  # SIDs answered with 201 that the file does not hold
    duplicates: int  # SIDs answered twice

    @property
    def acknowledged(self) -> int:
        return self.load.created + self.warm_up.created

    @property
    def non_201(self) -> int:
        return self.load.answered - self.load.created + self.warm_up.answered - self.warm_up.created

    @property
    def socket_errors(self) -> int:
        return sum(self.load.errors.values()) + sum(self.warm_up.errors.values())

    @property
    def unacknowledged(self) -> int:
        """Rows without a counted 201: requests in flight when the generator stopped."""
        return self.stored - self.acknowledged

    @property
    def clean(self) -> bool:
        return (
            self.missing == 0
            and self.duplicates == 0
            and self.non_201 == 0
            and self.socket_errors == 0
            and 0 <= self.unacknowledged <= 2 * CONNECTIONS
        )


async def one_run(generator: str, set_up: SetUp) -> Run:
    loader = wrk_load if generator == "wrk" else python_load
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-create-") as directory:
        async with gateway_process(set_up.modems(Path(directory)), directory=Path(directory)) as gw:
            if set_up.sends:
                await gw.wait_modems_ready()
            warm_up = await loader(gw, WARM_UP_S)
            sent_before = sent_count(gw.database)
            before = cpu_times(gw.pid)
            measured = await loader(gw, DURATION_S)
            cpu = cpu_times(gw.pid) - before
            sent = sent_count(gw.database) - sent_before
            await gw.crash()
            stored = stored_sids(gw.database)
    answered = warm_up.sids + measured.sids
    return Run(
        generator,
        set_up,
        measured,
        warm_up,
        cpu.main_s,
        cpu.other_threads_s,
        sent,
        len(stored),
        len(set(answered) - stored),
        len(answered) - len(set(answered)),
    )


async def measure() -> list[Run]:
    plan: list[tuple[str, int]] = []
    if wrk_path() is not None:
        plan = [("wrk", RUNS), ("python", CROSS_CHECK_RUNS)]
    else:
        plan = [("python", RUNS)]
    runs: list[Run] = []
    for generator, count in plan:
        for set_up in SET_UPS:
            for _ in range(count):
                runs.append(await one_run(generator, set_up))
    return runs


def _generator_name(generator: str) -> str:
    if generator == "wrk":
        return f"{wrk_version()}, {WRK_THREADS} thread"
    return "Python aiohttp client (own process)"


_HEADER: Final = (
    "load generator",
    "gateway set-up",
    "creates/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "non-201",
    "socket errors",
    "201s found in the file",
    "rows without a counted 201",
    "gateway CPU, cores (loop + SQLite threads)",
    "generator CPU, cores",
    "sent during the run (per s)",
)


def _row(run: Run) -> list[str]:
    load = run.load
    elapsed = load.elapsed_s
    main = run.gateway_main_cpu_s / elapsed
    other = run.gateway_other_cpu_s / elapsed
    sent = f"{run.sent:,} ({run.sent / elapsed:,.0f})" if run.set_up.sends else "- (no modem)"
    found = run.acknowledged - run.missing
    return [
        _generator_name(run.generator),
        run.set_up.name,
        f"{load.per_second:,.0f}",
        f"{load.p50_ms:.2f}",
        f"{load.p90_ms:.2f}",
        f"{load.p99_ms:.2f}",
        f"{load.max_ms:.1f}",
        f"{run.non_201}",
        f"{run.socket_errors}",
        f"{found:,} of {run.acknowledged:,}",
        f"{run.unacknowledged}",
        f"{main + other:.2f} ({main:.2f} + {other:.2f})",
        f"{load.cpu_s / elapsed:.2f}",
        sent,
    ]


def _verdict(runs: Sequence[Run], set_up: SetUp) -> str:
    mine = [run for run in runs if run.set_up is set_up and run.generator == runs[0].generator]
    rate = statistics.median(run.load.per_second for run in mine)
    p99 = statistics.median(run.load.p99_ms for run in mine)
    every = all(
        run.load.per_second >= TARGET_PER_SECOND and run.load.p99_ms < TARGET_P99_MS for run in mine
    )
    met = rate >= TARGET_PER_SECOND and p99 < TARGET_P99_MS
    return (
        f"{set_up.name}, {_generator_name(mine[0].generator)}: "
        f"{'met' if met else 'NOT met'} (median of {len(mine)} runs: {rate:,.0f} creates/s, "
        f"p99 {p99:.2f} ms; {'every run met it' if every else 'not every run met it'})"
    )


def report(runs: Sequence[Run]) -> str:
    method = (
        f"{CONNECTIONS} keep-alive connections, closed loop; per run a fresh gateway process "
        f"and data directory, {WARM_UP_S:g} s warm-up then {DURATION_S:g} s measured, then "
        "SIGKILL and the SQLite file checked"
    )
    problems = [run for run in runs if not run.clean]
    lines = [
        "## Create throughput and latency (gateway process, durable commits)",
        "",
        run_header(method=method),
        "",
        markdown_table(_HEADER, [_row(run) for run in runs]),
        "",
        "- creates/s: 201 responses per second of the measured phase; latencies from the load "
        "generator (wrk: its histogram; Python: every request timed).",
        "- 201s found in the file: SIDs of every 201 (warm-up and measured) looked up in the "
        "SQLite file after SIGKILL; rows without a counted 201 are requests in flight when the "
        f"generator stopped (wrk drops their answers; at most {CONNECTIONS} per phase).",
        "- gateway CPU: CPU seconds of the gateway's main thread (event loop) and its other "
        "threads (SQLite writer and reader) per second of the measured phase, from "
        "/proc/<pid>/task; the machine has 2 cores for the gateway and the generator together.",
        "- sent during the run: messages the in-process simulated modem sent (status sent) "
        "during the measured phase, while the creates ran.",
        "",
        f"Target (issue): at least {TARGET_PER_SECOND:,.0f} creates/s at {CONNECTIONS} "
        f"connections with p99 under {TARGET_P99_MS:g} ms:",
        "",
        *(f"- {_verdict(runs, set_up)}" for set_up in SET_UPS),
        "- checks: "
        + (
            "every 201 was found in the SQLite file after SIGKILL; no non-201, no socket error"
            if not problems
            else "PROBLEMS in "
            + "; ".join(
                f"{run.generator}/{run.set_up.name}: {run.missing} missing, {run.duplicates} "
                f"duplicated, {run.non_201} non-201 ({dict(run.load.statuses)}), "
                f"{run.socket_errors} socket errors, {run.unacknowledged} unacknowledged rows"
                for run in problems
            )
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    runs = asyncio.run(measure())
    print(report(runs))


if __name__ == "__main__":
    main()
