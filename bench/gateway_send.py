"""End-to-end send rate of the gateway through one simulated modem on a real pty, and its
overhead per message when every send takes 0.5 s; gammu-smsd and SMSTools3 in the same run.

The gateway runs as its own process (``smsgw serve``, :mod:`bench.gateway_process`) with one
``[[modems]] driver = "serial"`` on the pty of a standalone simulated modem (``smsgw simulate
--pty``, :mod:`bench.simulator`), so every message goes API -> SQLite -> dispatcher -> AT+CMGS
over a real pty -> another process. N messages are queued through the API (16 keep-alive
connections, from this process); the clock runs from sending the first create to the moment
the simulator accepted the N-th SUBMIT, read off the simulator's own time stamps
(``GET /submissions``; the same wall clock as this process's). Every message is numbered and
must arrive exactly once; afterwards the SQLite file must say ``sent`` for all of them.

- Zero latency (the simulator answers at once): messages per second, best of 3 rounds of 1000
  after 20 warm-up messages. What is measured is the gateway's own cost per message.
- 0.5 s per send (``POST /latency {"seconds": 0.5}``): the gateway's overhead per message,
  (time for N messages - N x 0.5 s) / N, with N = 40; and, for comparison, the same simulator
  set-up driven by our driver alone (no API, no store, no dispatcher), 10 sends.

The peers (:mod:`bench.smsd_peers`), each against a fresh simulator started the same way: with
zero latency, default and tuned (SMSTools3 also "tuned, 20 ms polling": tuned but with its
default ``poll_faster``, the configuration the issue's "about 190/s with 20 ms polling" seems to
describe); with 0.5 s per send, tuned only. Their messages are queued before they start, so their
"launch to last" includes their start-up and the modem's initialisation; the steady pace (first
accepted SUBMIT to the last) is the figure comparable between all senders.

Run alone with ``.venv/bin/python -m bench.gateway_send`` (about 3 minutes, most of it the peers).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import aiohttp

from bench.gateway_process import (
    ModemSpec,
    RunningGateway,
    authorization,
    cpu_times,
    gateway_process,
    sent_count,
    status_counts,
)
from bench.harness import markdown_table, run_header
from bench.load_client import CONNECTIONS, drive, numbered
from bench.simulator import Simulator, simulator_on_pty
from bench.smsd_peers import (
    INSTALL_HINT,
    SMSTOOLS_TUNED_MODEM,
    PeerFailed,
    PeerResult,
    PeerRun,
    gammu_version,
    measure_peers,
    run_gammu,
    run_smstools,
    smstools_version,
    tuned_settings,
)
from drivers.at.channel import AtChannel
from drivers.at.transport import open_link
from drivers.codec.pdu import encode_text
from drivers.modem.driver import GsmModem

SENDER: Final = "+15550001001"  # the simulator's default number
DESTINATION: Final = "+447700900123"
TEXT: Final = "Benchmark message: one part of plain GSM 7-bit text."
WARM_UP: Final = 20
MESSAGES: Final = 1000
ROUNDS: Final = 3
LATENCY_S: Final = 0.5
LATENCY_MESSAGES: Final = 40
DRIVER_LATENCY_SENDS: Final = 10
PEER_LATENCY_MESSAGES: Final = {"SMSTools3 smsd": 20, "gammu-smsd": 10}
SMSTOOLS_POLLING_MESSAGES: Final = 200
# SMSTools3 tuned, but polling the modem's answer every 20 ms, its default (poll_faster unset).
SMSTOOLS_TUNED_20MS: Final = {k: v for k, v in SMSTOOLS_TUNED_MODEM.items() if k != "poll_faster"}
TARGET_PER_SECOND: Final = 200.0
TARGET_OVERHEAD_MS: Final = 5.0
_WAIT_S: Final = 30.0  # one long poll of the simulator
_DEADLINE_S: Final = 300.0  # a round that takes longer than this has gone wrong
_SETTLE_S: Final = 15.0  # for the store to say "sent" after the simulator accepted


class SendFailed(Exception):
    """Messages were lost, doubled or not marked sent: a bug, reported in the table."""


@dataclass(frozen=True, slots=True)
class Round:
    messages: int
    latency_s: float
    created_s: float  # first create sent -> last 201 received
    first_s: float  # first create sent -> first SUBMIT accepted
    last_s: float  # first create sent -> last SUBMIT accepted
    gateway_cpu_s: float
    simulator_cpu_s: float

    @property
    def per_second(self) -> float:
        return self.messages / self.last_s

    @property
    def steady_ms(self) -> float:
        return (self.last_s - self.first_s) / (self.messages - 1) * 1000

    @property
    def overhead_ms(self) -> float:
        """(time for N messages - N x latency) / N: what the gateway adds to each send."""
        return (self.last_s - self.messages * self.latency_s) / self.messages * 1000

    @property
    def steady_overhead_ms(self) -> float:
        return self.steady_ms - self.latency_s * 1000


def _stamp(item: dict[str, Any]) -> float:
    return datetime.fromisoformat(item["at"]).timestamp()


async def _submissions(session: aiohttp.ClientSession, control: str, wait_for: int) -> list[Any]:
    query = f"?wait={wait_for}&timeout={_WAIT_S}"
    async with session.get(f"{control}/submissions{query}") as response:
        response.raise_for_status()
        items: list[Any] = await response.json()
        return items


async def _set_latency(session: aiohttp.ClientSession, control: str, seconds: float) -> None:
    async with session.post(f"{control}/latency", json={"seconds": seconds}) as response:
        response.raise_for_status()


async def _wait_sent(gateway: RunningGateway, total: int) -> None:
    """Until the SQLite file says all ``total`` messages went out (``sent``, or ``delivered``
    once the simulated network's report came; recorded just after the simulator's answer)."""
    deadline = time.monotonic() + _SETTLE_S
    while sent_count(gateway.database) < total:
        if time.monotonic() > deadline:
            counts = status_counts(gateway.database)
            raise SendFailed(f"after {_SETTLE_S:g} s the store says {counts}, not {total} sent")
        await asyncio.sleep(0.05)


async def _round(
    gateway: RunningGateway,
    simulator: Simulator,
    session: aiohttp.ClientSession,
    label: str,
    *,
    count: int,
    latency_s: float,
) -> Round:
    earlier = len(await _submissions(session, simulator.control, 0))
    stored_before = sum(status_counts(gateway.database).values())
    cpu_before = cpu_times(gateway.pid).total_s
    simulator_before = cpu_times(simulator.pid).total_s
    text = f"{TEXT} {label}"
    load = await drive(
        gateway.messages_url,
        authorization(),
        numbered(DESTINATION, SENDER, text),
        connections=CONNECTIONS,
        count=count,
    )
    if load.created != count:
        raise SendFailed(
            f"{label}: {load.created} of {count} creates answered 201: {load.statuses}"
        )
    deadline = time.monotonic() + _DEADLINE_S
    while len(items := await _submissions(session, simulator.control, earlier + count)) < (
        earlier + count
    ):
        if time.monotonic() > deadline:
            raise SendFailed(f"{label}: the simulator accepted {len(items) - earlier} of {count}")
    gateway_cpu = cpu_times(gateway.pid).total_s - cpu_before
    simulator_cpu = cpu_times(simulator.pid).total_s - simulator_before
    mine = [item for item in items[earlier:] if item["text"].startswith(text)]
    texts = {item["text"] for item in mine}
    if len(mine) != count or len(texts) != count:
        raise SendFailed(
            f"{label}: the simulator accepted {len(mine)} SUBMITs, {len(texts)} different, "
            f"for {count} messages"
        )
    await _wait_sent(gateway, stored_before + count)
    stamps = sorted(_stamp(item) for item in mine)
    return Round(
        count,
        latency_s,
        load.elapsed_s,
        stamps[0] - load.started,
        stamps[-1] - load.started,
        gateway_cpu,
        simulator_cpu,
    )


@dataclass(frozen=True, slots=True)
class Ours:
    zero: list[Round]
    latency: Round
    driver_ms: float  # our driver alone, one send with the simulator's latency, milliseconds


async def measure_ours() -> Ours:
    async with simulator_on_pty() as simulator:
        modem = ModemSpec("gsm", "serial", SENDER, port=simulator.device)
        async with gateway_process([modem]) as gateway, aiohttp.ClientSession() as session:
            await gateway.wait_modems_ready()
            await _round(gateway, simulator, session, "warm-up", count=WARM_UP, latency_s=0.0)
            zero = [
                await _round(
                    gateway, simulator, session, f"round {index}", count=MESSAGES, latency_s=0.0
                )
                for index in range(ROUNDS)
            ]
            await _set_latency(session, simulator.control, LATENCY_S)
            latency = await _round(
                gateway,
                simulator,
                session,
                "latency",
                count=LATENCY_MESSAGES,
                latency_s=LATENCY_S,
            )
    driver_ms = await measure_driver(LATENCY_S, DRIVER_LATENCY_SENDS)
    return Ours(zero, latency, driver_ms)


async def measure_driver(latency_s: float, sends: int) -> float:
    """Our driver alone (:mod:`bench.modem_send`'s set-up) against a simulator that takes
    ``latency_s`` per send: milliseconds per send, to tell the gateway's overhead from the
    driver's and the simulator's."""
    (part,) = encode_text(DESTINATION, TEXT)
    async with simulator_on_pty() as simulator, aiohttp.ClientSession() as session:
        await _set_latency(session, simulator.control, latency_s)
        modem = GsmModem(AtChannel(await open_link(simulator.device)))
        try:
            await modem.initialize()
            start = time.perf_counter()
            for _ in range(sends):
                await modem.send_pdu(part.pdu, part.tpdu_length)
            return (time.perf_counter() - start) / sends * 1000
        finally:
            await modem.close()


# --- the peers -----------------------------------------------------------------------------------


PeerRunner = Callable[[str, str, int], Awaitable[PeerRun]]


async def _peer_run(
    peer: str, settings: str, runner: PeerRunner, count: int, latency_s: float
) -> PeerResult:
    """One peer run against a fresh simulator that takes ``latency_s`` per send."""
    try:
        async with simulator_on_pty() as simulator:
            if latency_s:
                async with aiohttp.ClientSession() as session:
                    await _set_latency(session, simulator.control, latency_s)
            run = await runner(simulator.device, simulator.control, count)
    except PeerFailed as failure:
        return PeerResult(peer, settings, None, f"failed: {failure}")
    return PeerResult(peer, settings, run)


async def measure_more_peers() -> list[tuple[PeerResult, float]]:
    """SMSTools3 tuned with 20 ms polling at zero latency; both peers tuned at 0.5 s per send.
    Each with the latency its simulator had."""
    results: list[tuple[PeerResult, float]] = []
    smstools, gammu = smstools_version(), gammu_version()
    if smstools is None:
        results.append((PeerResult("SMSTools3 smsd", "-", None, INSTALL_HINT), LATENCY_S))
    else:
        name = f"SMSTools3 smsd {smstools}"

        def polling(device: str, control: str, count: int) -> Awaitable[PeerRun]:
            return run_smstools(
                device,
                control,
                DESTINATION,
                TEXT,
                count,
                tuned=True,
                tuned_modem=SMSTOOLS_TUNED_20MS,
            )

        def tuned_smstools(device: str, control: str, count: int) -> Awaitable[PeerRun]:
            return run_smstools(device, control, DESTINATION, TEXT, count, tuned=True)

        result = await _peer_run(
            name, "tuned, 20 ms polling", polling, SMSTOOLS_POLLING_MESSAGES, 0.0
        )
        results.append((result, 0.0))
        count = PEER_LATENCY_MESSAGES["SMSTools3 smsd"]
        result = await _peer_run(name, "tuned", tuned_smstools, count, LATENCY_S)
        results.append((result, LATENCY_S))
    if gammu is None:
        results.append((PeerResult("gammu-smsd", "-", None, INSTALL_HINT), LATENCY_S))
    else:

        def tuned_gammu(device: str, control: str, count: int) -> Awaitable[PeerRun]:
            return run_gammu(device, control, DESTINATION, TEXT, count, tuned=True)

        count = PEER_LATENCY_MESSAGES["gammu-smsd"]
        result = await _peer_run(f"gammu-smsd {gammu}", "tuned", tuned_gammu, count, LATENCY_S)
        results.append((result, LATENCY_S))
    return results


# --- the report --------------------------------------------------------------------------------

_HEADER: Final = (
    "sender",
    "settings",
    "latency per send",
    "messages",
    "first create (peers: launch) to last accepted",
    "messages/s",
    "steady ms per message",
    "overhead ms per message",
    "sender CPU ms per message",
    "simulator CPU ms per message",
)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _our_row(name: str, run: Round, overhead: str) -> list[str]:
    return [
        name,
        "-",
        f"{run.latency_s:g} s",
        f"{run.messages:,}",
        f"{run.last_s:,.2f} s (creates done {run.created_s:,.2f} s, first {run.first_s:,.3f} s)",
        f"{run.per_second:,.0f}" if run.per_second >= 10 else f"{run.per_second:,.2f}",
        _ms(run.steady_ms),
        overhead,
        _ms(run.gateway_cpu_s / run.messages * 1000),
        _ms(run.simulator_cpu_s / run.messages * 1000),
    ]


def _peer_row(result: PeerResult, latency_s: float, notes: list[str]) -> list[str]:
    run = result.run
    if run is None:
        if result.problem == INSTALL_HINT:
            status = INSTALL_HINT
        else:
            notes.append(result.problem or "failed")
            status = f"failed (note {len(notes)})"
        return [result.peer, result.settings, f"{latency_s:g} s", status, *["-"] * 6]
    steady = run.steady_ms
    overhead = None if steady is None or not latency_s else steady - latency_s * 1000
    per_second = run.steady_per_second
    return [
        result.peer,
        result.settings,
        f"{latency_s:g} s",
        f"{run.messages:,}",
        f"{run.last_s:,.2f} s (first {run.first_s:,.2f} s)",
        "-" if per_second is None else f"{per_second:,.1f} (steady)",
        _ms(steady),
        "-" if overhead is None else f"{overhead:,.2f} (steady)",
        _ms(run.cpu_ms),
        "-",
    ]


def report(
    ours: Ours,
    peers: Sequence[PeerResult],
    more_peers: Sequence[tuple[PeerResult, float]],
) -> str:
    best = max(ours.zero, key=lambda run: run.per_second)
    median_rate = statistics.median(run.per_second for run in ours.zero)
    latency = ours.latency
    driver_overhead = ours.driver_ms - LATENCY_S * 1000
    notes: list[str] = []
    rows = [
        _our_row(
            f"smsgw gateway, best of {ROUNDS} rounds",
            best,
            "-",
        ),
        _our_row(
            "smsgw gateway",
            latency,
            f"{latency.overhead_ms:,.2f} (steady {latency.steady_overhead_ms:,.2f})",
        ),
        [
            "smsgw driver alone (no API, store, dispatcher)",
            "-",
            f"{LATENCY_S:g} s",
            f"{DRIVER_LATENCY_SENDS}",
            "-",
            f"{1000 / ours.driver_ms:,.2f}",
            _ms(ours.driver_ms),
            _ms(driver_overhead),
            "-",
            "-",
        ],
    ]
    rows += [_peer_row(result, 0.0, notes) for result in peers]
    rows += [_peer_row(result, latency_s, notes) for result, latency_s in more_peers]
    method = (
        f"ours: {WARM_UP} warm-up messages, then {ROUNDS} rounds of {MESSAGES} queued through "
        f"the API over {CONNECTIONS} connections (best reported), then {LATENCY_MESSAGES} with "
        f"{LATENCY_S:g} s per send; peers: one run each, messages queued before the daemon starts"
    )
    rate_met = best.per_second >= TARGET_PER_SECOND
    overhead_met = latency.overhead_ms < TARGET_OVERHEAD_MS
    lines = [
        "## End-to-end send rate (API to simulated modem on a pty)",
        "",
        run_header(method=method),
        "",
        markdown_table(_HEADER, rows),
        "",
        "- Ours: from sending the first create to the simulator accepting the last SUBMIT (its "
        "time stamps); creates done: the last 201; the modem was connected and initialised "
        "before. Rounds at zero latency: "
        + ", ".join(f"{run.per_second:,.0f}/s" for run in ours.zero)
        + f" (median {median_rate:,.0f}/s). Every message arrived once and was `sent` in the "
        "SQLite file afterwards.",
        "- Overhead at 0.5 s: (time for N messages - N x 0.5 s) / N; steady: (last - first "
        "accepted) / (N - 1) - 0.5 s. The driver alone row is the same simulator set-up without "
        "the gateway: the simulator's and the driver's share of the overhead.",
        "- Peers: launch to last includes start-up and modem initialisation (the messages were "
        "queued before); messages/s and overhead are their steady pace (first accepted to last). "
        "Sender CPU is the daemon and its children over the whole run.",
        *(f"- Tuned, {line}" for line in tuned_settings()),
        "- Tuned, 20 ms polling: SMSTools3 tuned as above but without `poll_faster` (its "
        "default polls the modem's answer every 20 ms).",
        *(f"- Note {index}: {reason}" for index, reason in enumerate(notes, start=1)),
        "",
        "Targets (issue):",
        "",
        f"- at least {TARGET_PER_SECOND:,.0f} messages/s through one modem at zero latency: "
        f"{'met' if rate_met else 'NOT met'} ({best.per_second:,.0f}/s best, "
        f"{median_rate:,.0f}/s median)",
        f"- under {TARGET_OVERHEAD_MS:g} ms of gateway overhead per message at {LATENCY_S:g} s "
        f"per send: {'met' if overhead_met else 'NOT met'} ({latency.overhead_ms:,.2f} ms; "
        f"steady {latency.steady_overhead_ms:,.2f} ms, of which the driver and simulator alone "
        f"take {driver_overhead:,.2f} ms)",
    ]
    return "\n".join(lines)


def main() -> None:
    ours = asyncio.run(measure_ours())
    peers = asyncio.run(measure_peers(DESTINATION, TEXT))
    more_peers = asyncio.run(measure_more_peers())
    print(report(ours, peers, more_peers))


if __name__ == "__main__":
    main()
