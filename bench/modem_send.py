"""``AT+CMGS`` round trips through the real driver to a zero-latency simulated modem on a pty.

The simulated modem runs as its own process (``smsgw simulate --pty``), so the figures are what
a host sees talking to a serial device: parts per second end to end, and the driver's own
overhead per part — the CPU time this process spends per part (encoding nothing: the PDU is
ready; writing the command, waiting for the prompt, writing the PDU, parsing ``+CMGS``). The
simulator's CPU time per part is read from ``/proc`` for comparison: it is the modem's share.

Run alone with ``.venv/bin/python -m bench.modem_send``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.harness import markdown_table, run_header
from drivers.at_channel import AtChannel
from drivers.modem import GsmModem
from drivers.pdu import encode_text
from drivers.simulated import SimulatedModem, SimulatedNetwork
from drivers.transport import open_link, pipe

PARTS: Final = 3000
WARM_UP: Final = 200
ROUNDS: Final = 3
DESTINATION: Final = "+447700900123"
TEXT: Final = "Benchmark message: one part of plain GSM 7-bit text."
_TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Run:
    parts: int
    wall_s: float
    driver_cpu_s: float
    modem_cpu_s: float | None

    @property
    def per_second(self) -> float:
        return self.parts / self.wall_s

    @property
    def round_trip_us(self) -> float:
        return self.wall_s / self.parts * 1e6

    @property
    def driver_us(self) -> float:
        return self.driver_cpu_s / self.parts * 1e6

    @property
    def modem_us(self) -> float | None:
        return None if self.modem_cpu_s is None else self.modem_cpu_s / self.parts * 1e6


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (proc(5))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def simulator_on_pty() -> AsyncIterator[tuple[str, int]]:
    """A standalone simulated modem process; yields (pty path, its pid)."""
    with tempfile.TemporaryDirectory() as directory:
        device = str(Path(directory) / "ttySIM0")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "gateway", "simulate", "--pty", device),
            *("--control", f"127.0.0.1:{_free_port()}"),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            await asyncio.wait_for(process.stdout.readline(), 30)  # ready once it prints
            yield device, process.pid
        finally:
            process.terminate()
            await process.wait()


async def _send(modem: GsmModem, pdu: str, length: int, count: int) -> None:
    for _ in range(count):
        await modem.send_pdu(pdu, length)


async def _timed(modem: GsmModem, pdu: str, length: int, modem_pid: int | None) -> Run:
    await _send(modem, pdu, length, WARM_UP)
    before_modem = _cpu_seconds(modem_pid) if modem_pid else None
    cpu = time.process_time()
    start = time.perf_counter()
    await _send(modem, pdu, length, PARTS)
    wall = time.perf_counter() - start
    driver_cpu = time.process_time() - cpu
    after_modem = _cpu_seconds(modem_pid) if modem_pid else None
    modem_cpu = (
        after_modem - before_modem if before_modem is not None and after_modem is not None else None
    )
    return Run(PARTS, wall, driver_cpu, modem_cpu)


async def measure_pty() -> Run:
    (part,) = encode_text(DESTINATION, TEXT)
    async with simulator_on_pty() as (device, pid):
        modem = GsmModem(AtChannel(await open_link(device)))
        await modem.initialize()
        try:
            runs = [await _timed(modem, part.pdu, part.tpdu_length, pid) for _ in range(ROUNDS)]
        finally:
            await modem.close()
    return min(runs, key=lambda run: run.wall_s)


async def measure_pipe() -> Run:
    """Driver and simulator in one process over the in-memory pipe (CPU shared)."""
    (part,) = encode_text(DESTINATION, TEXT)
    network = SimulatedNetwork()
    sim = SimulatedModem(["+15550001001"])
    network.attach(sim, "+15550001001")
    host, device = pipe()
    sim.start(device)
    modem = GsmModem(AtChannel(host))
    await modem.initialize()
    try:
        runs = [await _timed(modem, part.pdu, part.tpdu_length, None) for _ in range(ROUNDS)]
    finally:
        await modem.close()
    return min(runs, key=lambda run: run.wall_s)


def _row(name: str, run: Run) -> list[str]:
    modem_us = run.modem_us
    return [
        name,
        f"{run.parts}",
        f"{run.per_second:,.0f}",
        f"{run.round_trip_us:,.0f}",
        f"{run.driver_us:,.0f}",
        "-" if modem_us is None else f"{modem_us:,.0f}",
    ]


def main() -> None:
    pty = asyncio.run(measure_pty())
    in_process = asyncio.run(measure_pipe())
    print("## AT+CMGS round trip (driver to simulated modem)\n")
    method = f"best of {ROUNDS} runs of {PARTS} one-part sends after {WARM_UP} warm-up sends"
    print(run_header(method=method) + "\n")
    header = [
        "link",
        "parts",
        "parts/s",
        "µs per part (wall)",
        "driver CPU µs per part",
        "simulator CPU µs per part",
    ]
    print(
        markdown_table(
            header,
            [
                _row("real pty, simulator in its own process", pty),
                _row("in-memory pipe, one process (shared CPU)", in_process),
            ],
        )
    )
    target = 2000.0
    verdict = "met" if pty.driver_us < target else "NOT met"
    print(
        f"\nTarget (issue): under {target:,.0f} µs of driver overhead per part over a real pty: "
        f"{verdict} ({pty.driver_us:,.0f} µs)."
    )


if __name__ == "__main__":
    main()
