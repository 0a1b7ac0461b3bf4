"""Soak run: two simulated modems at 1.5 s per send, kept busy for a sustained period while
faults are injected on a fixed, seeded schedule.

The gateway runs as its own process (``smsgw serve``, :mod:`bench.gateway_process`) with two
``[[modems]] driver = "serial"`` on the ptys of two standalone simulated modems (``smsgw simulate
--pty``, :mod:`bench.simulator`, each with its own number and control port), every AT+CMGS taking
:data:`LATENCY_S` in the simulator, and a health check every :data:`HEALTH_INTERVAL_S`.

Load: for each modem, single-part messages are created through the API (From: that modem's
number) so that :data:`BACKLOG` of them are always due (queued or sending, not deferred to a
later attempt), read off the gateway's SQLite file (read-only); never more, so the gateway's
queue limit is never reached and the modems are never idle for want of work. Each text carries
the modem and a serial number, so each message can be matched to what the simulators' networks
accepted.

Faults (:func:`schedule`): a round of six, one after another on a modem picked by the seeded
random generator, spread over the run: a hang (resumed after :data:`HANG_S`), a burst of garbage
bytes, a dropped line (the pty unplugged, plugged back after :data:`DROP_S`), a burst of
temporary ``+CMS ERROR`` (42, congestion), a burst of permanent ones (1, unassigned number), and
registration lost for :data:`NO_SERVICE_S`, then regained. Longer runs repeat the round.

Report:

- throughput: messages whose part the networks accepted within the run (its first acceptance;
  a part sent twice counts once), per modem and together, against the theoretical limit of one
  part per :data:`LATENCY_S` per modem: over the whole run, and over the run minus the time the
  injected faults themselves took the modem away (the hang, the line away, registration lost,
  and :data:`LATENCY_S` per refused send); the target verdict (>= 98 %) uses the latter, so that
  what it measures is the gateway: its overhead, and how fast it notices and recovers;
- each fault: when, on which modem, what the gateway's modem state went through, and how long
  from the end of the fault to the next part the modem's network accepted;
- memory: the gateway's VmRSS every :data:`SAMPLE_S` (``/proc``), and its growth from the first
  sample after the warm-up to the last;
- correctness, after the queue drained: every message created (201) is in the database, nothing
  else is; each sent or delivered message's part was accepted by its modem's network exactly
  once, except a part that was on the air when its line dropped (the gateway never got the
  ``+CMGS``, so it sends it again: at-least-once, documented; counted apart); each failed message
  failed with the Twilio code of the permanent error injected, and no part of it went; nothing
  is left queued or sending.

Run alone with ``.venv/bin/python -m bench.soak [--minutes 10] [--seed 8] [--log PATH]`` (the
minutes of load, then the drain: a message deferred by a temporary error waits 30 s or more).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench.gateway_process import (
    ModemSpec,
    RunningGateway,
    authorization,
    gateway_process,
    memory,
)
from bench.harness import invocation, markdown_table, run_header
from bench.simulator import Simulator, simulator_on_pty

LATENCY_S: Final = 1.5  # each AT+CMGS, in the simulator
HEALTH_INTERVAL_S: Final = 10.0
BACKLOG: Final = 20  # messages kept due per modem
FEED_EVERY_S: Final = 0.25
SAMPLE_S: Final = 30.0
WARM_UP_S: Final = 120.0  # memory samples before this are the warm-up
STATE_EVERY_S: Final = 0.25  # how often the modems' states are polled
DRAIN_LIMIT_S: Final = 900.0
TARGET: Final = 0.98
FLAT_MIB: Final = 2.0  # VmRSS growth below this after the warm-up counts as none
HANG_S: Final = 5.0
DROP_S: Final = 5.0
NO_SERVICE_S: Final = 20.0
TEMPORARY: Final = (42, 3)  # +CMS ERROR code, how many sends in a row
PERMANENT: Final = (1, 2)
PERMANENT_TWILIO: Final = 30005  # gateway/domain/send_errors.py: unassigned number
FAULT_KINDS: Final = ("hang", "garbage", "drop", "temporary", "permanent", "registration")
MODEMS: Final = (("a", "+15550001001"), ("b", "+15550002002"))
DESTINATION: Final = "+447700900123"
TEXT: Final = "Soak"
DEFAULT_MINUTES: Final = 10.0
DEFAULT_SEED: Final = 8
_LEAD_S: Final = 45.0  # no fault in the first and last this many seconds
_US: Final = 1_000_000


class SoakFailed(Exception):
    """The run could not be carried out (not a finding: those are reported)."""


# --- the fault schedule --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    at_s: float  # seconds after the load started
    modem: str
    kind: str

    def description(self) -> str:
        return {
            "hang": f"hang, resumed after {HANG_S:g} s",
            "garbage": "16 bytes of garbage (0x80-0xFF) on the line",
            "drop": f"line dropped (pty unplugged), plugged back after {DROP_S:g} s",
            "temporary": f"next {TEMPORARY[1]} sends +CMS ERROR: {TEMPORARY[0]} (temporary)",
            "permanent": f"next {PERMANENT[1]} sends +CMS ERROR: {PERMANENT[0]} (permanent)",
            "registration": f"registration lost, regained after {NO_SERVICE_S:g} s",
        }[self.kind]


def schedule(duration_s: float, seed: int) -> list[Fault]:
    """Rounds of the six faults (one round per 10 minutes, at least one), evenly spread between
    :data:`_LEAD_S` after the start and as long before the end, each moved by up to a quarter of
    the spacing and put on a modem by ``random.Random(seed)``."""
    rng = random.Random(seed)
    rounds = max(1, round(duration_s / 600))
    kinds = [kind for _ in range(rounds) for kind in FAULT_KINDS]
    span = max(0.0, duration_s - 2 * _LEAD_S - NO_SERVICE_S)
    spacing = span / len(kinds)
    faults = []
    for index, kind in enumerate(kinds):
        jitter = rng.uniform(-0.25, 0.25) * spacing
        at = _LEAD_S + (index + 0.5) * spacing + jitter
        faults.append(Fault(round(at, 1), rng.choice(MODEMS)[0], kind))
    return faults


@dataclass(slots=True)
class Injected:
    fault: Fault
    started: float = 0.0  # wall clock (time.time())
    ended: float = 0.0  # the fault is over (resumed, plugged back, registered, requested)
    downtime_s: float = 0.0  # the time the fault itself took the modem away
    drop_returned: float = 0.0  # "drop": when the unplug finished (the part on the air ended)


async def _control(
    session: aiohttp.ClientSession, simulator: Simulator, action: str, body: dict[str, Any]
) -> None:
    async with session.post(f"{simulator.control}/{action}", json=body) as response:
        if response.status != 200:
            raise SoakFailed(f"{action}: {response.status} {await response.text()}")


async def inject(
    session: aiohttp.ClientSession, simulator: Simulator, fault: Fault, record: Injected
) -> None:
    record.started = time.time()
    if fault.kind == "hang":
        await _control(session, simulator, "hang", {})
        await asyncio.sleep(HANG_S)
        await _control(session, simulator, "resume", {})
    elif fault.kind == "garbage":
        await _control(session, simulator, "garbage", {})
    elif fault.kind == "drop":
        await _control(session, simulator, "drop", {})
        record.drop_returned = time.time()
        await asyncio.sleep(max(0.0, record.started + DROP_S - time.time()))
        await _control(session, simulator, "plug", {})
    elif fault.kind in ("temporary", "permanent"):
        code, count = TEMPORARY if fault.kind == "temporary" else PERMANENT
        await _control(session, simulator, "fail", {"code": code, "count": count})
    elif fault.kind == "registration":
        await _control(session, simulator, "registration", {"stat": 0})
        await asyncio.sleep(NO_SERVICE_S)
        await _control(session, simulator, "registration", {"stat": 1})
    record.ended = time.time()
    if fault.kind in ("temporary", "permanent"):
        # Each refused send still takes the simulator's latency: modem time the fault used.
        count = TEMPORARY[1] if fault.kind == "temporary" else PERMANENT[1]
        record.downtime_s = count * LATENCY_S
    elif fault.kind != "garbage":
        record.downtime_s = record.ended - record.started


# --- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Created:
    modem: str
    text: str
    sid: str


@dataclass(frozen=True, slots=True)
class Sample:
    at_s: float
    rss_mib: float
    hwm_mib: float
    accepted: dict[str, int]  # parts the networks accepted so far, by modem
    storage: dict[str, str]  # what each simulated modem holds: "SR 1/20, ME 0/100, SM 0/30"


@dataclass(frozen=True, slots=True)
class StateChange:
    at: float
    modem: str
    state: str
    error: str | None


@dataclass(slots=True)
class Run:
    minutes: float
    seed: int
    started: float = 0.0  # the load's start, wall clock
    duration_s: float = 0.0
    created: list[Created] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)  # non-201 answers to creates
    faults: list[Injected] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    states: list[StateChange] = field(default_factory=list)
    most_outstanding: dict[str, int] = field(default_factory=dict)
    drain_s: float | None = None
    after_drain: Sample | None = None
    submissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    messages: list[tuple[str, str, str, int | None, str, int]] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    log_problems: Counter[str] = field(default_factory=Counter)
    tracebacks: int = 0


def _read_only(database: Path) -> sqlite3.Connection:
    # Read-only, so the benchmark can never change what it checks; WAL lets it read while the
    # gateway writes. Autocommit: no read transaction stays open to hold the WAL back.
    return sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10, isolation_level=None)


def _outstanding(db: sqlite3.Connection, modem: str) -> tuple[int, int]:
    """(due, all) of the modem's messages queued or sending; due: not deferred to later."""
    now_us = int(time.time() * _US)
    row = db.execute(
        "SELECT count(*), sum(next_attempt_at <= ?) FROM messages "
        "WHERE modem = ? AND status IN ('queued', 'sending')",
        (now_us, modem),
    ).fetchone()
    return int(row[1] or 0), int(row[0])


async def _create(
    session: aiohttp.ClientSession, gateway: RunningGateway, modem: str, number: str, serial: int
) -> tuple[int, Created | None]:
    text = f"{TEXT} {modem} #{serial:06d}"
    data = {"To": DESTINATION, "From": number, "Body": text}
    headers = {"Authorization": authorization()}
    async with session.post(gateway.messages_url, data=data, headers=headers) as response:
        body = await response.json(content_type=None)
        if response.status != 201:
            return response.status, None
        return 201, Created(modem, text, str(body["sid"]))


async def feed(
    run: Run, gateway: RunningGateway, session: aiohttp.ClientSession, stop_at: float
) -> None:
    """Keep :data:`BACKLOG` messages due for each modem until ``stop_at``."""
    db = _read_only(gateway.database)
    serials = dict.fromkeys((modem for modem, _ in MODEMS), 0)
    try:
        while time.time() < stop_at:
            for modem, number in MODEMS:
                due, outstanding = _outstanding(db, modem)
                run.most_outstanding[modem] = max(run.most_outstanding.get(modem, 0), outstanding)
                for _ in range(BACKLOG - due):
                    serials[modem] += 1
                    status, created = await _create(session, gateway, modem, number, serials[modem])
                    if created is None:
                        run.refused[status] += 1
                    else:
                        run.created.append(created)
            await asyncio.sleep(FEED_EVERY_S)
    finally:
        db.close()


async def faults(
    run: Run, simulators: dict[str, Simulator], session: aiohttp.ClientSession
) -> None:
    for fault in schedule(run.duration_s, run.seed):
        await asyncio.sleep(max(0.0, run.started + fault.at_s - time.time()))
        record = Injected(fault)
        run.faults.append(record)
        print(f"soak: {fault.at_s:6.1f} s {fault.modem}: {fault.description()}", file=sys.stderr)
        await inject(session, simulators[fault.modem], fault, record)


async def _accepted(session: aiohttp.ClientSession, simulator: Simulator) -> list[dict[str, Any]]:
    async with session.get(f"{simulator.control}/submissions") as response:
        response.raise_for_status()
        items: list[dict[str, Any]] = await response.json()
        return items


async def _sample(
    run: Run,
    gateway: RunningGateway,
    simulators: dict[str, Simulator],
    session: aiohttp.ClientSession,
) -> Sample:
    accepted = {m: len(await _accepted(session, s)) for m, s in simulators.items()}
    storage = {m: await _storage(session, s) for m, s in simulators.items()}
    now = memory(gateway.pid)
    return Sample(time.time() - run.started, now.rss_mib, now.hwm_mib, accepted, storage)


async def _storage(session: aiohttp.ClientSession, simulator: Simulator) -> str:
    """The simulated modem's storages, used of capacity: a status report (SR) or message left
    there is one the gateway did not delete after reading it."""
    async with session.get(f"{simulator.control}/state") as response:
        response.raise_for_status()
        storages: dict[str, dict[str, int]] = (await response.json())["storages"]
    return ", ".join(f"{name} {s['used']}/{s['capacity']}" for name, s in sorted(storages.items()))


async def sample_memory(
    run: Run,
    gateway: RunningGateway,
    simulators: dict[str, Simulator],
    session: aiohttp.ClientSession,
) -> None:
    """A sample every :data:`SAMPLE_S` from the start, up to and including the end."""
    index = 0
    while (at := index * SAMPLE_S) <= run.duration_s + 0.01:
        await asyncio.sleep(max(0.0, run.started + at - time.time()))
        sample = await _sample(run, gateway, simulators, session)
        run.samples.append(sample)
        print(
            f"soak: {sample.at_s:6.1f} s VmRSS {sample.rss_mib:.1f} MiB, accepted "
            + ", ".join(f"{m} {n}" for m, n in sample.accepted.items()),
            file=sys.stderr,
        )
        index += 1


async def watch_states(run: Run, gateway: RunningGateway) -> None:
    """Every modem state change the gateway reports (``GET /healthz``, polled), until cancelled.

    ``/healthz``, not ``/smsgw/modems.json``: the latter answered 500 once a health check had
    run, up to effe2aa."""
    last: dict[str, str] = {}
    url = f"{gateway.base_url}/healthz"
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    body = await response.json()  # 200 ready, 503 not: the same body
            except aiohttp.ClientError:
                await asyncio.sleep(STATE_EVERY_S)
                continue
            for modem, status in body["modems"].items():
                if last.get(modem) != status["state"]:
                    last[modem] = status["state"]
                    change = StateChange(time.time(), modem, status["state"], status["error"])
                    run.states.append(change)
            await asyncio.sleep(STATE_EVERY_S)


_METRICS: Final = (
    "smsgw_modem_parts_sent_total",
    "smsgw_modem_refusals_total",
    "smsgw_modem_recoveries_total",
    "smsgw_modem_reports_total",
)


async def modem_metrics(gateway: RunningGateway, session: aiohttp.ClientSession) -> list[str]:
    """The per-modem counters of ``GET /metrics`` that tell what the faults did."""
    async with session.get(f"{gateway.base_url}/metrics") as response:
        response.raise_for_status()
        text = await response.text()
    return [line for line in text.splitlines() if line.startswith(_METRICS)]


async def drain(run: Run, gateway: RunningGateway) -> None:
    db = _read_only(gateway.database)
    start = time.monotonic()
    try:
        while True:
            left = sum(_outstanding(db, modem)[1] for modem, _ in MODEMS)
            if not left:
                run.drain_s = time.monotonic() - start
                return
            if time.monotonic() - start > DRAIN_LIMIT_S:
                return
            await asyncio.sleep(0.5)
    finally:
        db.close()


def _read_messages(database: Path) -> list[tuple[str, str, str, int | None, str, int]]:
    db = _read_only(database)
    try:
        rows = db.execute(
            "SELECT sid, status, coalesce(modem, ''), error_code, body, attempts FROM messages "
            "WHERE direction != 'inbound'"
        ).fetchall()
        return [(str(a), str(b), str(c), d, str(e), int(f)) for a, b, c, d, e, f in rows]
    finally:
        db.close()


def _log_problems(log: Path) -> tuple[Counter[str], int]:
    """The gateway's WARNING and ERROR lines, by what they say (SIDs and numbers folded)."""
    problems: Counter[str] = Counter()
    tracebacks = 0
    for line in log.read_text(errors="replace").splitlines():
        # A traceback is on its record's line, its line breaks written as \n (gateway/logs.py).
        tracebacks += line.count("Traceback (most recent call last)")
        if " WARNING " in line or " ERROR " in line or " CRITICAL " in line:
            text = line.split(" ", 2)[-1] if line[:2].isdigit() else line
            problems[_fold(text.split("\\n", 1)[0])[:300]] += 1
    return problems, tracebacks


def _fold(text: str) -> str:
    words = []
    for word in text.split():
        if word.startswith("SM") and len(word.rstrip(":;,")) == 34:
            words.append("SM…")
        elif sum(char.isdigit() for char in word) >= 4:  # times, paths, long numbers
            words.append("#")
        else:
            words.append(word)
    return " ".join(words)


async def soak(minutes: float, seed: int, keep_log: Path | None) -> Run:
    run = Run(minutes, seed, duration_s=minutes * 60)
    with tempfile.TemporaryDirectory(prefix="smsgw-soak-") as directory:
        async with (
            simulator_on_pty(MODEMS[0][1]) as first,
            simulator_on_pty(MODEMS[1][1]) as second,
            aiohttp.ClientSession() as session,
        ):
            simulators = {MODEMS[0][0]: first, MODEMS[1][0]: second}
            for simulator in simulators.values():
                await _control(session, simulator, "latency", {"seconds": LATENCY_S})
            specs = [
                ModemSpec(modem, "serial", number, port=simulators[modem].device)
                for modem, number in MODEMS
            ]
            settings = [f"health_interval = {HEALTH_INTERVAL_S:g}"]
            try:
                async with gateway_process(
                    specs, directory=Path(directory), settings=settings
                ) as gateway:
                    await _soak(run, gateway, simulators, session)
            finally:
                log = Path(directory) / "gateway.log"
                if log.exists():
                    run.log_problems, run.tracebacks = _log_problems(log)
                    if keep_log is not None:
                        shutil.copyfile(log, keep_log)
    return run


async def _soak(
    run: Run,
    gateway: RunningGateway,
    simulators: dict[str, Simulator],
    session: aiohttp.ClientSession,
) -> None:
    await gateway.wait_modems_ready()
    watcher = asyncio.create_task(watch_states(run, gateway))
    try:
        run.started = time.time()
        stop_at = run.started + run.duration_s
        await asyncio.gather(
            feed(run, gateway, session, stop_at),
            faults(run, simulators, session),
            sample_memory(run, gateway, simulators, session),
        )
        print("soak: load over, draining", file=sys.stderr)
        await drain(run, gateway)
        await asyncio.sleep(1.0)  # the last status reports and commits
        run.after_drain = await _sample(run, gateway, simulators, session)
        run.metrics = await modem_metrics(gateway, session)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    for modem, simulator in simulators.items():
        run.submissions[modem] = await _accepted(session, simulator)
    run.messages = _read_messages(gateway.database)


# --- the analysis ------------------------------------------------------------------------------


def _stamp(item: dict[str, Any]) -> float:
    return datetime.fromisoformat(item["at"]).timestamp()


@dataclass(slots=True)
class Check:
    """What the database and the simulators' networks say about every message."""

    stored_missing: list[str] = field(default_factory=list)  # 201, and not in the database
    unexpected: list[str] = field(default_factory=list)  # in the database, never answered 201
    by_status: Counter[str] = field(default_factory=Counter)
    exactly_once: int = 0
    at_least_once: list[str] = field(default_factory=list)  # in flight at a line drop
    duplicated: list[str] = field(default_factory=list)
    never_accepted: list[str] = field(default_factory=list)  # sent/delivered, no part went
    wrong_modem: list[str] = field(default_factory=list)
    failed_as_injected: int = 0
    failed_otherwise: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    phantom: list[str] = field(default_factory=list)  # accepted texts of no message

    @property
    def problems(self) -> int:
        return sum(
            len(items)
            for items in (
                self.stored_missing,
                self.unexpected,
                self.duplicated,
                self.never_accepted,
                self.wrong_modem,
                self.failed_otherwise,
                self.stuck,
                self.phantom,
            )
        )


def check(run: Run) -> Check:
    result = Check()
    created = {item.sid: item for item in run.created}
    stored = {message[0] for message in run.messages}
    result.stored_missing = sorted(set(created) - set(stored))
    result.unexpected = sorted(set(stored) - set(created))
    stamps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for modem, items in run.submissions.items():
        for item in items:
            stamps[modem, item["text"]].append(_stamp(item))
    drops = [
        (record.fault.modem, record.started, record.drop_returned)
        for record in run.faults
        if record.fault.kind == "drop"
    ]
    texts = set()
    for sid, status, modem, error_code, body, _ in run.messages:
        texts.add(body)
        result.by_status[status] += 1
        mine = stamps.get((modem, body), [])
        others = [m for m, _ in MODEMS if m != modem and (m, body) in stamps]
        if others:
            result.wrong_modem.append(sid)
        if status in ("queued", "sending", "accepted", "scheduled"):
            result.stuck.append(sid)
        elif status == "failed":
            if error_code == PERMANENT_TWILIO and not mine:
                result.failed_as_injected += 1
            else:
                result.failed_otherwise.append(f"{sid} ({error_code}, {len(mine)} accepted)")
        elif not mine:
            result.never_accepted.append(f"{sid} ({status})")
        elif len(mine) == 1:
            result.exactly_once += 1
        elif len(mine) == 2 and any(
            drop_modem == modem and start <= stamp <= end
            for stamp in mine
            for drop_modem, start, end in drops
        ):
            result.at_least_once.append(sid)
        else:
            result.duplicated.append(f"{sid} ({len(mine)} times)")
    result.phantom = sorted(text for (_, text) in stamps if text not in texts)
    return result


@dataclass(frozen=True, slots=True)
class Throughput:
    modem: str
    messages: int  # first acceptances within the run
    accepted: int  # every acceptance within the run, repeats included
    downtime_s: float
    pace_s: float  # the median interval between two parts accepted in a row

    def limit(self, duration_s: float) -> float:
        return duration_s / LATENCY_S

    def limit_in_service(self, duration_s: float) -> float:
        return (duration_s - self.downtime_s) / LATENCY_S


def throughput(run: Run) -> list[Throughput]:
    end = run.started + run.duration_s
    rows = []
    for modem, _ in MODEMS:
        firsts: dict[str, float] = {}
        accepted = 0
        for item in run.submissions.get(modem, []):
            stamp = _stamp(item)
            firsts[item["text"]] = min(stamp, firsts.get(item["text"], stamp))
            accepted += run.started < stamp <= end
        messages = sum(run.started < stamp <= end for stamp in firsts.values())
        downtime = sum(r.downtime_s for r in run.faults if r.fault.modem == modem)
        stamps = sorted(
            stamp
            for stamp in map(_stamp, run.submissions.get(modem, []))
            if run.started < stamp <= end
        )
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        pace = statistics.median(gaps) if gaps else 0.0
        rows.append(Throughput(modem, messages, accepted, downtime, pace))
    return rows


def _states_during(run: Run, record: Injected, until: float) -> str:
    """The modem's states from the fault's start until ``until``, e.g. ready > lost > ready."""
    modem = record.fault.modem
    before = [c.state for c in run.states if c.modem == modem and c.at <= record.started]
    seen = [before[-1]] if before else []
    for change in run.states:
        if change.modem == modem and record.started < change.at <= until:
            seen.append(change.state)
    return " > ".join(seen) if len(seen) > 1 else f"{seen[0] if seen else '?'} throughout"


def _errors_during(run: Run, record: Injected, until: float) -> str:
    errors = [
        c.error
        for c in run.states
        if c.modem == record.fault.modem and record.started < c.at <= until and c.error
    ]
    return "; ".join(dict.fromkeys(_PTY.sub("<pty>", error) for error in errors))


_PTY: Final = re.compile(r"'?/\S*/ttySIM0'?")


def _fault_rows(run: Run) -> list[list[str]]:
    rows = []
    for record in run.faults:
        fault = record.fault
        stamps = sorted(_stamp(item) for item in run.submissions.get(fault.modem, []))
        before = [s for s in stamps if s <= record.started]
        after = [s for s in stamps if s > record.ended]
        following = [s for s in stamps if s > record.started]
        last_before = before[-1] if before else record.started
        next_after = after[0] if after else None
        gap = None
        if next_after is not None:
            # The longest wait between two accepted parts from just before the fault to the
            # first after it ended.
            window = [last_before, *[s for s in following if s <= next_after]]
            gap = max(b - a for a, b in itertools.pairwise(window))
        until = next_after if next_after is not None else record.ended + 60
        rows.append(
            [
                f"{fault.at_s:,.0f} s",
                fault.modem,
                fault.description(),
                f"{record.downtime_s:,.1f} s",
                _states_during(run, record, until),
                "-" if next_after is None else f"{next_after - record.ended:,.1f} s",
                "-" if gap is None else f"{gap:,.1f} s",
                _errors_during(run, record, until) or "-",
            ]
        )
    return rows


_FAULT_HEADER: Final = (
    "at",
    "modem",
    "fault",
    "downtime injected",
    "gateway's modem state",
    "fault over to next part accepted",
    "longest gap between accepted parts",
    "errors the gateway reported",
)


def _memory_rows(run: Run) -> list[list[str]]:
    rows = []
    for sample in run.samples:
        rows.append(
            [
                f"{sample.at_s:,.0f} s" + (" (warm-up)" if sample.at_s < WARM_UP_S - 1 else ""),
                f"{sample.rss_mib:.1f}",
                f"{sample.hwm_mib:.1f}",
                ", ".join(f"{m} {n:,}" for m, n in sample.accepted.items()),
                "; ".join(f"{m}: {text}" for m, text in sample.storage.items()),
            ]
        )
    if run.after_drain is not None:
        sample = run.after_drain
        rows.append(
            [
                f"after the drain ({sample.at_s:,.0f} s)",
                f"{sample.rss_mib:.1f}",
                f"{sample.hwm_mib:.1f}",
                ", ".join(f"{m} {n:,}" for m, n in sample.accepted.items()),
                "; ".join(f"{m}: {text}" for m, text in sample.storage.items()),
            ]
        )
    return rows


def _slope_mib_per_hour(samples: Sequence[Sample]) -> float:
    if len(samples) < 2:
        return 0.0
    xs = [s.at_s / 3600 for s in samples]
    ys = [s.rss_mib for s in samples]
    return statistics.linear_regression(xs, ys).slope


def _percent(value: float, limit: float) -> str:
    return f"{value / limit * 100:.1f} %" if limit else "-"


def report(run: Run, command: str | None = None) -> str:
    rates = throughput(run)
    result = check(run)
    duration = run.duration_s
    total = sum(r.messages for r in rates)
    limit = sum(r.limit(duration) for r in rates)
    in_service = sum(r.limit_in_service(duration) for r in rates)
    rows = [
        [
            r.modem,
            f"{r.messages:,}",
            f"{r.messages / duration:.4f}",
            f"{r.limit(duration):,.1f}",
            _percent(r.messages, r.limit(duration)),
            f"{r.downtime_s:,.1f} s",
            f"{r.limit_in_service(duration):,.1f}",
            _percent(r.messages, r.limit_in_service(duration)),
            f"{r.accepted:,}",
        ]
        for r in rates
    ]
    rows.append(
        [
            "both",
            f"{total:,}",
            f"{total / duration:.4f}",
            f"{limit:,.1f}",
            _percent(total, limit),
            f"{sum(r.downtime_s for r in rates):,.1f} s",
            f"{in_service:,.1f}",
            _percent(total, in_service),
            f"{sum(r.accepted for r in rates):,}",
        ]
    )
    header = (
        "modem",
        "messages accepted by the network in the run",
        "messages/s",
        f"limit: run / {LATENCY_S:g} s",
        "of the limit",
        "injected downtime",
        "limit in service: (run - downtime) / 1.5 s",
        "of the limit in service",
        "parts accepted (repeats included)",
    )
    steady = [s for s in run.samples if s.at_s >= WARM_UP_S - 1]
    growth = steady[-1].rss_mib - steady[0].rss_mib if len(steady) >= 2 else 0.0
    slope = _slope_mib_per_hour(steady)
    peak = max((s.hwm_mib for s in run.samples), default=0.0)
    if run.after_drain is not None:
        peak = max(peak, run.after_drain.hwm_mib)
    ratio = total / in_service if in_service else 0.0
    rate_met = ratio >= TARGET
    memory_met = len(steady) >= 2 and growth < FLAT_MIB
    correct = result.problems == 0 and not run.refused and run.drain_s is not None
    permanent_injected = sum(
        PERMANENT[1] for record in run.faults if record.fault.kind == "permanent"
    )
    method = (
        f"{run.minutes:g} min of load, fault seed {run.seed}, {LATENCY_S:g} s per AT+CMGS, "
        f"{BACKLOG} messages kept due per modem, health_interval = {HEALTH_INTERVAL_S:g} s, "
        f"VmRSS every {SAMPLE_S:g} s"
    )
    lines = [
        "### Output",
        "",
        run_header(command=command, method=method),
        "",
        "Faults (what the gateway went through, from its `GET /healthz` polled every "
        f"{STATE_EVERY_S:g} s; parts accepted: the simulators' networks' time stamps):",
        "",
        markdown_table(_FAULT_HEADER, _fault_rows(run)),
        "",
        "Throughput (a message counts once, at its first acceptance within the run):",
        "",
        markdown_table(header, rows),
        "",
        "- steady pace (the median interval between two parts a modem's network accepted in "
        "a row): "
        + ", ".join(
            f"{r.modem} {r.pace_s * 1000:,.1f} ms ({(r.pace_s - LATENCY_S) * 1000:+,.1f} ms over "
            f"the {LATENCY_S:g} s the simulator takes)"
            for r in rates
        ),
        "",
        "Memory (VmRSS and VmHWM of the gateway process, MiB; parts accepted so far; what the "
        "simulated modems hold, from their `GET /state`: a report left in SR was read and not "
        "deleted):",
        "",
        markdown_table(
            ("at", "VmRSS", "VmHWM", "parts accepted", "simulated modems' storage used"),
            _memory_rows(run),
        ),
        "",
        "Correctness, after the drain:",
        "",
        f"- created (201): {len(run.created):,}; other answers to creates: "
        + (", ".join(f"{n:,} x {s}" for s, n in sorted(run.refused.items())) or "none")
        + "; most outstanding (queued or sending) for one modem: "
        + ", ".join(f"{m} {n}" for m, n in sorted(run.most_outstanding.items())),
        f"- in the database: {len(run.messages):,} outbound; by status: "
        + ", ".join(f"{s} {n:,}" for s, n in sorted(result.by_status.items())),
        f"- created but not in the database: {len(result.stored_missing)}; in the database but "
        f"never created: {len(result.unexpected)}",
        f"- sent or delivered, accepted by the network exactly once: {result.exactly_once:,}; "
        f"twice, on the air when its line dropped (at-least-once): {len(result.at_least_once)}; "
        f"duplicated otherwise: {len(result.duplicated)}; never accepted: "
        f"{len(result.never_accepted)}; accepted on the other modem: {len(result.wrong_modem)}",
        f"- failed with {PERMANENT_TWILIO} and no part accepted: {result.failed_as_injected} "
        f"(permanent errors injected: {permanent_injected}); failed otherwise: "
        f"{len(result.failed_otherwise)}",
        f"- left queued or sending: {len(result.stuck)}; accepted texts of no message: "
        f"{len(result.phantom)}; drain: "
        + (
            f"{run.drain_s:,.1f} s"
            if run.drain_s is not None
            else f"not done in {DRAIN_LIMIT_S:g} s"
        ),
        *(
            f"  - {label}: {', '.join(items[:10])}{' ...' if len(items) > 10 else ''}"
            for label, items in (
                ("not stored", result.stored_missing),
                ("never created", result.unexpected),
                ("at-least-once", result.at_least_once),
                ("duplicated", result.duplicated),
                ("never accepted", result.never_accepted),
                ("on the other modem", result.wrong_modem),
                ("failed otherwise", result.failed_otherwise),
                ("stuck", result.stuck),
                ("phantom", result.phantom),
            )
            if items
        ),
        "- the gateway's counters at the end (`GET /metrics`): "
        + ", ".join(f"`{line}`" for line in run.metrics),
        f"- gateway log: {run.tracebacks} tracebacks; warnings and errors (numbers folded):",
        *(f"  - {count} x {text}" for text, count in run.log_problems.most_common(15)),
        "",
        "Targets (issue):",
        "",
        f"- throughput at least {TARGET:.0%} of the theoretical limit, over the time the "
        f"injected faults left the modems in service: {'met' if rate_met else 'NOT met'} "
        f"({ratio:.1%}; {total / limit:.1%} of the limit over the whole run)",
        f"- memory, no growth (VmRSS from the first sample after {WARM_UP_S:g} s to the last "
        f"under {FLAT_MIB:g} MiB): {'met' if memory_met else 'NOT met'} ({growth:+.1f} MiB, "
        f"slope {slope:+.2f} MiB/hour, peak VmHWM {peak:.1f} MiB)",
        f"- zero lost or duplicated messages: {'met' if correct else 'NOT met'} "
        f"({result.problems} problems; {len(result.at_least_once)} at-least-once repeat(s) of a "
        "part on the air at a line drop, as documented)",
    ]
    return "\n".join(lines)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument(
        "--minutes", type=float, default=DEFAULT_MINUTES, help="minutes of load (default 10)"
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="the fault schedule's seed (default 8)"
    )
    parser.add_argument("--log", type=Path, help="keep the gateway's log at this path")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    if args.minutes * 60 < 2 * _LEAD_S + NO_SERVICE_S + 30:
        raise SystemExit("--minutes: at least 2.5 (room for the faults)")
    run = asyncio.run(soak(args.minutes, args.seed, args.log))
    print(report(run, " ".join([invocation(), *(sys.argv[1:] if argv is None else argv)])))


if __name__ == "__main__":
    main()
