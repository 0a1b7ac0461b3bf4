"""A standalone simulated modem for the benchmarks: ``smsgw simulate`` on a pty, in its own process.

Shared by :mod:`bench.modem_send` (our driver) and :mod:`bench.smsd_peers` (gammu-smsd and
SMSTools3), so that every sender in a comparison talks to the same simulator, started the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_READY_TIMEOUT_S: Final = 30.0
_STOP_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class Simulator:
    """A running simulated modem: the pty to open, its process id and its control interface."""

    device: str
    pid: int
    control: str  # base URL of the JSON control interface, e.g. http://127.0.0.1:8765


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


_sigterm_blocks: list[asyncio.AbstractEventLoop] = []  # the cancelled_by_sigterm() blocks open


@contextlib.contextmanager
def cancelled_by_sigterm() -> Iterator[None]:
    """SIGTERM cancels the current task instead of killing this process outright, so that the
    ``finally`` blocks on the way out stop the simulator and any peer daemon talking to it
    (SIGINT already does so under :func:`asyncio.run`).

    Nested uses share one handler: the outermost installs it and removes it, so leaving an
    inner block does not leave the outer one unprotected."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if not _sigterm_blocks:
        try:
            loop.add_signal_handler(signal.SIGTERM, task.cancel if task else lambda: None)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no Unix signals
            yield
            return
    _sigterm_blocks.append(loop)
    try:
        yield
    finally:
        _sigterm_blocks.pop()
        if not _sigterm_blocks:
            loop.remove_signal_handler(signal.SIGTERM)


@contextlib.asynccontextmanager
async def simulator_on_pty(number: str | None = None) -> AsyncIterator[Simulator]:
    """Start ``smsgw simulate --pty`` in a temporary directory; stop it on the way out.

    ``number``: the phone number the simulated modem owns (default: the simulator's own)."""
    with (
        cancelled_by_sigterm(),
        tempfile.TemporaryDirectory(prefix="smsgw-bench-sim-") as directory,
    ):
        device = str(Path(directory) / "ttySIM0")
        port = _free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "gateway", "simulate", "--pty", device),
            *("--control", f"127.0.0.1:{port}"),
            # Reports at once: the benchmarks time the gateway, not a network's seconds before a
            # handset's report (the simulator's realistic default, 3 s).
            *("--report-delay", "0"),
            *(("--number", number) if number else ()),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            # It prints its first line once the pty and the control interface are both up.
            ready = await asyncio.wait_for(process.stdout.readline(), _READY_TIMEOUT_S)
            if not ready:
                raise RuntimeError(
                    f"the simulator exited before it was ready ({process.returncode})"
                )
            yield Simulator(device, process.pid, f"http://127.0.0.1:{port}")
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
                except TimeoutError:
                    process.kill()
                    await process.wait()
