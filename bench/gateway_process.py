"""A real ``smsgw serve`` process for the gateway benchmarks, and what they read off it.

Shared by :mod:`bench.gateway_create`, :mod:`bench.gateway_send` and :mod:`bench.gateway_memory`:
each starts the gateway the way a user does, as its own process with a TOML configuration (an
explicit ``[[accounts]]``) and a data directory, both in a temporary directory, and talks to it
over HTTP only. The gateway is stopped (SIGTERM, then SIGKILL) and the directory removed on
success, failure, timeout or interruption alike.

Also here: the process's memory and CPU time from ``/proc`` (Linux), and a read-only look into
its SQLite file, to check what the API answered against what was committed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp

# Shared with the simulator, so that both are stopped the same way when the benchmark is ended.
from bench.simulator import cancelled_by_sigterm

ACCOUNT_SID: Final = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN: Final = "benchmark-auth-token-0123456789"
DATABASE_NAME: Final = "smsgw.sqlite3"  # gateway.store.sqlite.DATABASE_NAME, read from outside
_READY_TIMEOUT_S: Final = 30.0
_STOP_TIMEOUT_S: Final = 15.0
_BANNER: Final = "smsgw is listening on "
_TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ModemSpec:
    """One ``[[modems]]`` table of the temporary configuration."""

    id: str
    driver: str  # "simulated", "serial" or "tcp"
    number: str
    port: str = ""
    send_rate: float = 0.0

    def toml(self) -> str:
        lines = [
            "[[modems]]",
            f'id = "{self.id}"',
            f'driver = "{self.driver}"',
            f'numbers = ["{self.number}"]',
        ]
        if self.port:
            lines.append(f'port = "{self.port}"')
        if self.send_rate:
            lines.append(f"send_rate = {self.send_rate}")
        if self.driver == "simulated":
            lines.append("report_delay = 0")  # the gateway timed, not a network's seconds
        # A benchmark measures throughput: the queue limit (HTTP 429 past four hours of a
        # modem's traffic) would only cut the load short.
        lines.append("max_backlog = 0")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class RunningGateway:
    process: asyncio.subprocess.Process
    base_url: str
    database: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    async def crash(self) -> None:
        """SIGKILL, as a crash or a power cut would end it (minus the page cache): whatever the
        SQLite file holds afterwards was committed before the process died."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()

    async def modems(self) -> list[dict[str, Any]]:
        """``GET /smsgw/modems.json``: each modem's id, state and error."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{self.base_url}/smsgw/modems.json", headers={"Authorization": authorization()}
            ) as response,
        ):
            response.raise_for_status()
            modems: list[dict[str, Any]] = await response.json()
            return modems

    async def wait_modems_ready(self, timeout_s: float = 30.0) -> None:
        """Until every modem is connected and initialised (``state`` ``ready``)."""
        deadline = time.monotonic() + timeout_s
        while True:
            modems = await self.modems()
            if all(modem["state"] == "ready" for modem in modems):
                return
            if time.monotonic() > deadline:
                states = ", ".join(f"{m['id']}: {m['state']} ({m['error']})" for m in modems)
                raise RuntimeError(f"modems not ready after {timeout_s:.0f} s: {states}")
            await asyncio.sleep(0.05)


def authorization() -> str:
    """The ``Authorization`` header value of the benchmark account (HTTP Basic, as Twilio's)."""
    token = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    return f"Basic {token}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unreachable_modem(modem_id: str, number: str, directory: Path) -> ModemSpec:
    """A serial modem whose device does not exist: the gateway accepts and stores messages for
    its number but never sends one (its worker waits for the modem to become ready, which it
    never does), so the figures are the API and the store alone."""
    return ModemSpec(modem_id, "serial", number, port=str(directory / f"no-such-tty-{modem_id}"))


def config_text(
    port: int,
    data_dir: Path,
    modems: Sequence[ModemSpec],
    settings: Sequence[str] = (),
    *,
    log_level: str = "warning",
    tables: Sequence[str] = (),
) -> str:
    """The configuration; ``settings`` are more ``key = value`` lines of ``[gateway]``,
    ``tables`` more tables after the modems' (e.g. a ``[[services]]``)."""
    return "\n\n".join(
        [
            "[gateway]",
            f'listen = "127.0.0.1:{port}"\ndata_dir = "{data_dir}"\nlog_level = "{log_level}"',
            *settings,
            f'[[accounts]]\nsid = "{ACCOUNT_SID}"\nauth_token = "{AUTH_TOKEN}"',
            *(modem.toml() for modem in modems),
            *tables,
        ]
    )


@contextlib.asynccontextmanager
async def gateway_process(
    modems: Sequence[ModemSpec],
    *,
    directory: Path | None = None,
    settings: Sequence[str] = (),
    tables: Sequence[str] = (),
    program: Sequence[str] = (sys.executable, "-m", "gateway"),
    cwd: Path | None = None,
    checkout: Path | None = None,
) -> AsyncIterator[RunningGateway]:
    """Start ``smsgw serve`` with ``modems`` and a fresh data directory; stop it on the way out.

    ``directory`` (default: a new temporary one, removed afterwards) holds the configuration,
    the data directory and the gateway's log; ``settings`` are more lines of ``[gateway]``
    (e.g. ``health_interval = 10``), ``tables`` more tables (:func:`config_text`).
    ``program`` and ``cwd``: how to run ``smsgw`` (another checkout's ``.venv/bin/smsgw``, for
    an A/B comparison); ``checkout``, instead of them: another smsgw checkout to run the
    gateway from (its ``.venv``), to compare two commits on the same machine.
    """
    with contextlib.ExitStack() as stack:
        # SIGTERM to the benchmark then stops this gateway too, as SIGINT already does.
        stack.enter_context(cancelled_by_sigterm())
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smsgw-gw-")))
        data_dir = directory / "data"
        config = directory / "gateway.toml"
        port = free_port()
        if checkout is not None:
            program, cwd = (_python(checkout), "-m", "gateway"), checkout
        config.write_text(config_text(port, data_dir, modems, settings, tables=tables))
        log = directory / "gateway.log"
        with log.open("wb") as sink:  # a file, not a pipe that could fill up unread
            process = await asyncio.create_subprocess_exec(
                *program,
                *("serve", "--config", str(config)),
                cwd=cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            await _wait_ready(process, log)
            yield RunningGateway(process, f"http://127.0.0.1:{port}", data_dir / DATABASE_NAME, log)
        finally:
            await stop_process(process)


def _python(checkout: Path | None) -> str:
    if checkout is None:
        return sys.executable
    python = checkout / ".venv" / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"{checkout} has no .venv: run make there first")
    return str(python)


async def _wait_ready(process: asyncio.subprocess.Process, log: Path) -> None:
    # The banner is printed once the API listens and the modems were started.
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while _BANNER not in log.read_text(errors="replace"):
        if process.returncode is not None:
            raise RuntimeError(f"smsgw serve exited ({process.returncode}): {_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"smsgw serve not ready in {_READY_TIMEOUT_S:.0f} s: {_tail(log)}")
        await asyncio.sleep(0.05)


def _tail(log: Path, lines: int = 5) -> str:
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (a clean stop), then SIGKILL if it is still there after a while."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


# --- /proc ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Memory:
    rss_kib: int  # VmRSS: resident now
    hwm_kib: int  # VmHWM: the peak resident set so far

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024

    @property
    def hwm_mib(self) -> float:
        return self.hwm_kib / 1024


def memory(pid: int) -> Memory:
    """VmRSS and VmHWM of ``pid`` from ``/proc/<pid>/status`` (proc(5))."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])  # "   12345 kB"
    return Memory(fields["VmRSS"], fields["VmHWM"])


def _stat_cpu_s(path: Path) -> float:
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (proc(5))


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """CPU seconds of a process: its main thread (the gateway's event loop) and the others
    (the gateway's SQLite writer and reader threads)."""

    main_s: float
    other_threads_s: float

    @property
    def total_s(self) -> float:
        return self.main_s + self.other_threads_s

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.main_s - other.main_s, self.other_threads_s - other.other_threads_s)


def cpu_times(pid: int) -> CpuTimes:
    """Per-thread CPU time from ``/proc/<pid>/task/*/stat``; a thread that ended meanwhile is
    left out (the gateway's threads live as long as it does)."""
    main = 0.0
    others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            seconds = _stat_cpu_s(task / "stat")
        except OSError:
            continue
        if task.name == str(pid):
            main = seconds
        else:
            others += seconds
    return CpuTimes(main, others)


# --- the SQLite file, read from outside --------------------------------------------------------


def connect_read_only(database: Path) -> sqlite3.Connection:
    # Read-only, so the benchmark can never change what it checks; WAL lets it read while the
    # gateway writes.
    return sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)


def stored_sids(database: Path) -> set[str]:
    connection = connect_read_only(database)
    try:
        return {sid for (sid,) in connection.execute("SELECT sid FROM messages")}
    finally:
        connection.close()


def status_counts(database: Path) -> dict[str, int]:
    connection = connect_read_only(database)
    try:
        rows = connection.execute("SELECT status, count(*) FROM messages GROUP BY status")
        counts: dict[str, int] = dict(rows)
        return counts
    finally:
        connection.close()


# The statuses of a message that went out: the simulated network reports delivery, so a message
# the modem sent is soon delivered (or undelivered), not left "sent".
SENT_STATUSES: Final = ("sent", "delivered", "undelivered")


def sent_count(database: Path) -> int:
    """Messages that went out, whatever their delivery report said since."""
    counts = status_counts(database)
    return sum(counts.get(status, 0) for status in SENT_STATUSES)


def database_bytes(database: Path) -> int:
    """The database with its WAL: what the stored messages take on disk."""
    return sum(
        path.stat().st_size
        for path in (database, database.with_name(database.name + "-wal"))
        if path.exists()
    )
