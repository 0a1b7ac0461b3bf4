"""Resident memory of a running gateway: idle, and as the number of stored messages grows.

``smsgw serve`` runs as its own process (:mod:`bench.gateway_process`); its memory is read from
``/proc/<pid>/status``: VmRSS (resident now) and VmHWM (the peak so far). Messages are created
the way a user does, through ``POST .../Messages.json`` (16 keep-alive connections, from this
process), 25,000 at a time, and the memory read after each batch (after a second's rest), at 0,
25k, 50k, 75k and 100k stored messages. Then every message is read back through
``GET .../Messages.json`` (PageSize 1000, following ``next_page_uri``), to see that reads do not
blow memory up either.

Two gateway set-ups, each a fresh process and data directory:

- "store only": two modems whose serial devices do not exist, so every message stays queued
  in the SQLite file and nothing else in the gateway changes: whether memory grows with the
  number of stored messages;
- "two simulated modems": the two in-process simulated modems of ``config/gateway.toml``, the
  messages sent to a virtual handset while they are created and after; the idle figure of the
  issue, and what sending adds (the in-process simulated network is part of the gateway process
  then). Once the 100k are created, the benchmark waits (up to :data:`DRAIN_LIMIT_S`) for the
  gateway to send them all, and reads the memory again.

A first row gives the interpreter with the gateway's modules imported and nothing running, the
floor under every other figure.

Run alone with ``.venv/bin/python -m bench.gateway_memory`` (about 5 minutes: 2 x 100,000
creates through the API, and the simulated modems sending 100,000 messages).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench.gateway_process import (
    SENT_STATUSES,
    Memory,
    ModemSpec,
    RunningGateway,
    authorization,
    database_bytes,
    gateway_process,
    memory,
    status_counts,
    unreachable_modem,
)
from bench.harness import markdown_table, run_header
from bench.load_client import CONNECTIONS, drive, numbered

TOTAL: Final = 100_000
STEP: Final = 25_000
PAGE_SIZE: Final = 1000
DRAIN_LIMIT_S: Final = 300.0
# The "45 MB", read strictly as 45 x 10^6 bytes (42.9 MiB); the table is in MiB.
TARGET_BYTES: Final = 45_000_000
TARGET_MIB: Final = TARGET_BYTES / 2**20
# Growth from 25k to 100k messages below this counts as none: a few pages of the allocator or
# SQLite's page cache settling, not memory per message.
FLAT_MIB: Final = 2.0
SENDER: Final = "+15550001001"
OTHER: Final = "+15550002002"
DESTINATION: Final = "+447700900123"
TEXT: Final = "Benchmark message: one part of plain GSM 7-bit text."
_REST_S: Final = 1.0
_IMPORTS: Final = "import gateway.cli, gateway.runtime"


@dataclass(frozen=True, slots=True)
class SetUp:
    name: str
    modems: Callable[[Path], Sequence[ModemSpec]]
    sends: bool


SET_UPS: Final = (
    SetUp(
        "store only (modems not connected)",
        lambda directory: [
            unreachable_modem("alice", SENDER, directory),
            unreachable_modem("bob", OTHER, directory),
        ],
        False,
    ),
    SetUp(
        "two simulated modems (in-process), sending",
        lambda _: [ModemSpec("alice", "simulated", SENDER), ModemSpec("bob", "simulated", OTHER)],
        True,
    ),
)


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    stored: int
    sent: int
    memory: Memory
    database_mib: float
    seconds: float  # how long getting here took (creating, draining or listing)


@dataclass(slots=True)
class Series:
    set_up: SetUp
    points: list[Point] = field(default_factory=list)
    listed: int = 0
    problem: str | None = None

    def at(self, label: str) -> Point | None:
        return next((point for point in self.points if point.label == label), None)


def imports_only() -> Memory:
    """VmRSS and VmHWM of an interpreter that imported the gateway and does nothing else."""
    script = f"{_IMPORTS}; import sys; sys.stdout.write(open('/proc/self/status').read())"
    status = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    fields = {
        key: int(value.split()[0])
        for key, _, value in (line.partition(":") for line in status.splitlines())
        if key in ("VmRSS", "VmHWM")
    }
    return Memory(fields["VmRSS"], fields["VmHWM"])


async def _point(gateway: RunningGateway, label: str, seconds: float) -> Point:
    await asyncio.sleep(_REST_S)  # let the last answers and commits finish
    counts = status_counts(gateway.database)
    return Point(
        label,
        sum(counts.values()),
        sum(counts.get(status, 0) for status in SENT_STATUSES),
        memory(gateway.pid),
        database_bytes(gateway.database) / 2**20,
        seconds,
    )


async def _drain(gateway: RunningGateway) -> float:
    """Wait until nothing is queued or sending any more; the seconds it took (capped)."""
    start = time.monotonic()
    while time.monotonic() - start < DRAIN_LIMIT_S:
        counts = status_counts(gateway.database)
        if not counts.get("queued", 0) and not counts.get("sending", 0):
            break
        await asyncio.sleep(1.0)
    return time.monotonic() - start


async def _list_all(gateway: RunningGateway) -> int:
    """Page through every message, newest first; how many were listed."""
    headers = {"Authorization": authorization()}
    url: str | None = f"{gateway.messages_url}?PageSize={PAGE_SIZE}"
    listed = 0
    async with aiohttp.ClientSession() as session:
        while url is not None:
            async with session.get(url, headers=headers) as response:
                response.raise_for_status()
                page: dict[str, Any] = await response.json()
            listed += len(page["messages"])
            next_uri = page["next_page_uri"]
            url = f"{gateway.base_url}{next_uri}" if next_uri else None
    return listed


async def measure_set_up(set_up: SetUp) -> Series:
    series = Series(set_up)
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-memory-") as directory:
        modems = set_up.modems(Path(directory))
        async with gateway_process(modems, directory=Path(directory)) as gateway:
            if set_up.sends:
                await gateway.wait_modems_ready()
            await asyncio.sleep(2 * _REST_S)  # idle: start-up done, nothing to do
            series.points.append(await _point(gateway, "idle", 0.0))
            body = numbered(DESTINATION, SENDER, TEXT)
            for done in range(STEP, TOTAL + 1, STEP):
                start = time.monotonic()
                result = await drive(gateway.messages_url, authorization(), body, count=STEP)
                if result.created != STEP:
                    series.problem = (
                        f"{result.created} of {STEP} creates answered 201 "
                        f"({dict(result.statuses)}, errors {dict(result.errors)})"
                    )
                elapsed = time.monotonic() - start
                series.points.append(await _point(gateway, f"{done // 1000}k created", elapsed))
            if set_up.sends:
                drained = await _drain(gateway)
                series.points.append(await _point(gateway, "queue drained", drained))
            start = time.monotonic()
            series.listed = await _list_all(gateway)
            series.points.append(await _point(gateway, "all listed", time.monotonic() - start))
    return series


async def measure() -> list[Series]:
    return [await measure_set_up(set_up) for set_up in SET_UPS]


_HEADER: Final = (
    "gateway set-up",
    "point",
    "messages stored",
    "of them sent",
    "VmRSS MiB",
    "VmHWM MiB",
    "SQLite file + WAL MiB",
    "time to get here",
)


def _rows(series: Series) -> list[list[str]]:
    rows = []
    for point in series.points:
        rows.append(
            [
                series.set_up.name,
                point.label,
                f"{point.stored:,}",
                f"{point.sent:,}",
                f"{point.memory.rss_mib:.1f}",
                f"{point.memory.hwm_mib:.1f}",
                f"{point.database_mib:.1f}",
                f"{point.seconds:.1f} s" if point.seconds else "-",
            ]
        )
    return rows


def _growth(series: Series) -> float | None:
    first, last = series.at(f"{STEP // 1000}k created"), series.at(f"{TOTAL // 1000}k created")
    if first is None or last is None:
        return None
    return last.memory.rss_mib - first.memory.rss_mib


def _judge(label: str, mib: float) -> str:
    verdict = "met" if mib < TARGET_MIB else "NOT met"
    return f"{label} {mib:.1f} MiB ({mib * 2**20 / 1e6:.1f} MB) {verdict}"


def _verdicts(all_series: Sequence[Series]) -> list[str]:
    lines = []
    for series in all_series:
        idle = series.points[0].memory.rss_mib
        full = series.at(f"{TOTAL // 1000}k created")
        peak = max(point.memory.hwm_mib for point in series.points)
        growth = _growth(series)
        flat = growth is not None and growth < FLAT_MIB
        growth_text = "-" if growth is None else f"{growth:+.1f} MiB"
        under = [_judge("idle", idle)]
        if full is not None:
            under.append(_judge(f"with {TOTAL // 1000}k stored", full.memory.rss_mib))
        under.append(_judge("peak VmHWM of the whole run (listing included)", peak))
        lines.append(
            f"- {series.set_up.name}: under {TARGET_BYTES / 1e6:g} MB: {'; '.join(under)}. "
            f"No growth with stored messages: {'met' if flat else 'NOT met'} "
            f"(VmRSS from {STEP // 1000}k to {TOTAL // 1000}k: {growth_text}). "
            f"Listed {series.listed:,} of {TOTAL:,} messages"
            + (f". PROBLEM: {series.problem}" if series.problem else "")
        )
    return lines


def report(floor: Memory, all_series: Sequence[Series]) -> str:
    method = (
        f"{TOTAL:,} messages created through the API in steps of {STEP:,} over {CONNECTIONS} "
        f"connections, memory read {_REST_S:g} s after each step; then every message listed, "
        f"PageSize {PAGE_SIZE}"
    )
    rows = [
        [
            f"no gateway: `python -c '{_IMPORTS}'`",
            "imports only",
            "-",
            "-",
            f"{floor.rss_mib:.1f}",
            f"{floor.hwm_mib:.1f}",
            "-",
            "-",
        ]
    ]
    for series in all_series:
        rows += _rows(series)
    lines = [
        "## Resident memory of the gateway process",
        "",
        run_header(method=method),
        "",
        markdown_table(_HEADER, rows),
        "",
        "- VmRSS: resident set now; VmHWM: its peak since the process started (/proc/<pid>/"
        "status). MiB = 2^20 bytes.",
        "- time to get here: creating that step's messages through the API; draining: the "
        "simulated modems sending what was still queued; listing: every page.",
        "",
        f"Targets (issue): under {TARGET_BYTES / 1e6:g} MB ({TARGET_MIB:.1f} MiB), with no "
        f"growth from the number of stored messages (growth of VmRSS from {STEP // 1000}k to "
        f"{TOTAL // 1000}k stored under {FLAT_MIB:g} MiB counts as none):",
        "",
        *_verdicts(all_series),
    ]
    return "\n".join(lines)


def main() -> None:
    floor = imports_only()
    all_series = asyncio.run(measure())
    print(report(floor, all_series))


if __name__ == "__main__":
    main()
