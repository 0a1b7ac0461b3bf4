"""Foreign AT software against ``smsgw simulate --pty`` run as a separate process, as a person
would point it at the simulator: python-gsmmodem-new (``gsmmodem``) through its API, gammu
through its command line.

:func:`simulator` starts the simulator (a pty, its control port) and stops it; :func:`gsm_modem`
adds a connected :class:`gsmmodem.modem.GsmModem` with what its callbacks heard (messages,
calls). The simulator plays the ``personality`` fixture's vendor: ``generic`` unless a test
parametrizes ``personality``. python-gsmmodem is synchronous and threaded: its
calls run in the test's thread, each bounded by its own timeout, and its callbacks fill queues
the tests read with a timeout. Nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest
from gsmmodem.modem import GsmModem, IncomingCall, ReceivedSms

SMSGW: Final = Path(sys.executable).parent / "smsgw"
ME: Final = "+15550001001"  # the simulated modem's number
HANDSET: Final = "+447700900123"  # a virtual handset on the simulated network
WAIT: Final = 10.0  # the bound on anything a test awaits; none takes that long
# Long enough that a status report never races its own +CMGS answer (python-gsmmodem starts
# waiting for it only after reading that answer), short enough for a test to await.
REPORT_DELAY: Final = 0.3


@dataclass
class Simulator:
    """A running ``smsgw simulate --pty``: its device, and its control interface."""

    device: Path
    control: str  # http://127.0.0.1:PORT
    process: subprocess.Popen[str]

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.control + path,
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=WAIT) as reply:
            return json.load(reply)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.control + path, timeout=WAIT + 5) as reply:
            return json.load(reply)

    def commands(self, prefix: str, count: int) -> list[str]:
        """Every command line the modem received, once ``count`` of them start with
        ``prefix`` (the modem is then running the last of them: a URC waits for its answer)."""
        query = urllib.parse.urlencode({"wait": prefix, "count": count, "timeout": WAIT})
        received: list[str] = self.get("/commands?" + query)
        assert sum(line.startswith(prefix) for line in received) >= count, received
        return received


def _banner(process: subprocess.Popen[str]) -> tuple[str, str]:
    assert process.stdout is not None
    return process.stdout.readline(), process.stdout.readline()


@pytest.fixture
def personality() -> str:
    """The simulator's vendor behaviour (``smsgw simulate --personality``)."""
    return "generic"


@contextlib.contextmanager
def simulated(directory: Path, personality: str = "generic") -> Iterator[Simulator]:
    """``smsgw simulate --pty`` in its own process, its pty in ``directory``, until the end."""
    device = directory / "ttySIM0"
    process = subprocess.Popen(
        [
            *(str(SMSGW), "simulate", "--pty", str(device), "--number", ME),
            *("--personality", personality),
            *("--report-delay", str(REPORT_DELAY)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with ThreadPoolExecutor(1) as pool:
            # The banner says where it is; a simulator that never says so is killed below.
            where, control = pool.submit(_banner, process).result(timeout=WAIT)
        assert where.startswith(f"simulated modem {ME} on {device}"), where
        url = control.removeprefix("control: ").strip().removesuffix("/state")
        running = Simulator(device, url, process)
        assert running.get("/state")["report_delay"] == REPORT_DELAY
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
def simulator(tmp_path: Path, personality: str) -> Iterator[Simulator]:
    with simulated(tmp_path, personality) as running:
        yield running


@dataclass
class Connected:
    """A python-gsmmodem ``GsmModem`` connected to the simulator, and what it heard."""

    modem: GsmModem
    simulator: Simulator
    received: queue.Queue[ReceivedSms] = field(default_factory=queue.Queue)
    calls: queue.Queue[IncomingCall] = field(default_factory=queue.Queue)  # one for each ring

    def next_received(self) -> ReceivedSms:
        return self.received.get(timeout=WAIT)

    def next_ring(self) -> IncomingCall:
        return self.calls.get(timeout=WAIT)


@pytest.fixture
def gsm_modem(simulator: Simulator) -> Iterator[Connected]:
    received: queue.Queue[ReceivedSms] = queue.Queue()
    calls: queue.Queue[IncomingCall] = queue.Queue()
    modem = GsmModem(
        str(simulator.device),
        115200,
        smsReceivedCallbackFunc=received.put,
        incomingCallCallbackFunc=calls.put,
    )
    # Its reader thread wakes at each serial read timeout (1 s by default) to see whether it
    # should stop, so close() waits up to that long; a short one ends each test at once.
    modem.timeout = 0.05
    modem.connect()
    try:
        yield Connected(modem, simulator, received, calls)
    finally:
        modem.close()
