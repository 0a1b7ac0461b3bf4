"""What the gateway writes to its disk per message, beside SMSTools3: the SD card's wear.

A Raspberry Pi keeps its database on an SD card, whose life is counted in bytes written. This
benchmark sends N short messages (default :data:`MESSAGES`; ``--messages``) one after another,
one a second, each waited for until delivered, and reads what reached the block layer:

- ``smsgw serve`` as its own process, with one modem on a real pty (``smsgw simulate --pty``,
  reports at once) and no status callback (``--callbacks``: each message has a StatusCallback
  to a local receiver, which adds a webhook row and its updates per status). Each message is
  created through the API, then its status is read (``GET``, which writes nothing) until it is
  ``delivered``.
- SMSTools3's ``smsd`` against its own simulator, the messages dropped into its outgoing spool
  one a second (``Report: yes``, so that it asks for the delivery report as the gateway does),
  each waited for until the simulator accepted it.

Figures, per message: ``write_bytes`` (proc(5) ``/proc/<pid>/io``: bytes the process caused to
be sent to the storage layer, counted when a page is dirtied, so a page dirtied twice before
writeback counts twice; always 0 on a tmpfs, so the data directory is made on a real disk,
checked with ``stat -f``), the write and fsync system calls (``strace -f -c`` on every thread
of the process), and the database and WAL size at the end. The gateway is measured from the
moment its modem is ready (the schema's creation left out) to its exit, its last checkpoint
included: the write bytes of a reaped child come back in ``getrusage(RUSAGE_CHILDREN)``
(``ru_oublock``, 512-byte blocks). SMSTools3 is measured the same way over its whole run.

``--cwd OTHER`` runs the gateway from another checkout (its ``.venv``), to compare two commits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web

from bench.gateway_process import (
    ModemSpec,
    RunningGateway,
    authorization,
    database_bytes,
    free_port,
    gateway_process,
    status_counts,
)
from bench.simulator import simulator_on_pty
from bench.smsd_peers import smstools_version

MESSAGES: Final = 120
INTERVAL_S: Final = 1.0  # one message a second: the pace of the measurement
SENDER: Final = "+15550001001"  # the simulator's default number
DESTINATION: Final = "+447700900123"
TEXT: Final = "SD card benchmark: one short part"
_DELIVERED_TIMEOUT_S: Final = 30.0
_POLL_S: Final = 0.05
_SYNCS: Final = ("fsync", "fdatasync", "sync_file_range", "msync")
_WRITES: Final = ("write", "pwrite64", "writev", "pwritev")
# Where the data directories go: a real disk (not /tmp, which may be a tmpfs).
_DISK_DIRS: Final = ("/var/tmp", "/work")


@dataclass(frozen=True, slots=True)
class Calls:
    """What ``strace`` saw the process do (all its threads)."""

    syncs: int  # fsync, fdatasync, sync_file_range, msync
    writes: int  # write, pwrite64, writev, pwritev (to files, pipes and sockets alike)
    wal_syncs: int  # fsync/fdatasync of a SQLite -wal file: one per commit, one per checkpoint
    wal_frames: int  # writes of a page into a -wal file (the 24-byte frame headers left out)
    database_pages: int  # writes of a page into the database file: checkpoints
    page_bytes: int  # the page size those writes had


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    messages: int
    delivered: int
    write_bytes: int  # the whole run, to the process's exit
    write_bytes_running: int | None  # before the stop (the gateway's last checkpoint left out)
    calls: Calls | None
    stored_bytes: int  # database + WAL, or the spool, at the end
    notes: str = ""

    def per_message(self, value: float) -> float:
        return value / self.messages


# --- measuring a process -----------------------------------------------------------------------


def _io(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = int(value)
    return fields


def _children_written() -> int:
    """Bytes the reaped children (and theirs) caused to be written: ru_oublock is write_bytes
    in 512-byte blocks (Linux, task_io_get_oublock)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_oublock * 512


def _filesystem(path: Path) -> str:
    return subprocess.run(
        ["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def disk_directory() -> Path:
    """A directory on a real disk, where write_bytes counts (a tmpfs never writes back)."""
    for candidate in _DISK_DIRS:
        path = Path(candidate)
        if path.is_dir() and os.access(path, os.W_OK) and _filesystem(path) != "tmpfs":
            return path
    raise RuntimeError(f"none of {', '.join(_DISK_DIRS)} is a writable real disk")


@contextlib.asynccontextmanager
async def _strace(argv_or_pid: Sequence[str] | int, output: Path) -> AsyncIterator[Any]:
    """``strace -f -y`` attached to a running process (all its threads) or running a command:
    each write and sync call, with the file it was made on, goes to ``output``."""
    traced = ",".join((*_SYNCS, *_WRITES))
    base = ["strace", "-f", "-y", "-s", "0", "-o", str(output), "-e", f"trace={traced}"]
    if isinstance(argv_or_pid, int):
        argv = [*base, "-p", str(argv_or_pid)]
    else:
        argv = [*base, *argv_or_pid]
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if isinstance(argv_or_pid, int):
            await asyncio.sleep(0.5)  # strace has attached to every thread by then
        yield process
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()


# "1234  pwrite64(5</path/smsgw.sqlite3-wal>, ""..., 4096, 32) = 4096" (-f: the thread first;
# a call another thread interrupted is its "<... pwrite64 resumed>" line, counted once).
_CALL: Final = re.compile(r"^\d+\s+(\w+)\((?:\d+<([^>]*)>)?")


def _calls(log: Path) -> Calls | None:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    syncs = writes = wal_syncs = wal_frames = database_pages = 0
    page = 0
    for line in lines:
        found = _CALL.match(line)
        if found is None or "resumed>" in line:
            continue
        name, path = found.group(1), found.group(2) or ""
        if name in _SYNCS:
            syncs += 1
            wal_syncs += path.endswith("-wal")
        elif name in _WRITES:
            writes += 1
            size = line.rsplit(", ", 2)[-2] if name == "pwrite64" else ""
            if path.endswith("-wal") and size.isdigit() and int(size) >= 512:
                wal_frames += 1
                page = int(size)
            elif path.endswith(".sqlite3") and size.isdigit():
                database_pages += 1
    return Calls(syncs, writes, wal_syncs, wal_frames, database_pages, page)


# --- the gateway -------------------------------------------------------------------------------


async def _create(session: aiohttp.ClientSession, url: str, body: str, callback: str) -> str:
    form = {"To": DESTINATION, "From": SENDER, "Body": body}
    if callback:
        form["StatusCallback"] = callback
    headers = {"Authorization": authorization()}
    async with session.post(url, data=form, headers=headers) as response:
        if response.status != 201:
            raise RuntimeError(f"create answered {response.status}: {await response.text()}")
        sid: str = (await response.json())["sid"]
        return sid


async def _wait_delivered(session: aiohttp.ClientSession, url: str) -> bool:
    deadline = time.monotonic() + _DELIVERED_TIMEOUT_S
    while time.monotonic() < deadline:
        async with session.get(url, headers={"Authorization": authorization()}) as response:
            status = (await response.json())["status"]
        if status == "delivered":
            return True
        if status in ("failed", "undelivered"):
            return False
        await asyncio.sleep(_POLL_S)
    return False


@contextlib.asynccontextmanager
async def _callback_receiver() -> AsyncIterator[str]:
    async def receive(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/status", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/status"
    finally:
        await runner.cleanup()


async def _send_all(gateway: RunningGateway, count: int, callback: str) -> int:
    delivered = 0
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for index in range(count):
            # One a second, on a fixed schedule: a slow delivery does not push the next ones.
            await asyncio.sleep(max(0.0, started + index * INTERVAL_S - time.monotonic()))
            sid = await _create(session, gateway.messages_url, f"{TEXT} #{index:04d}", callback)
            url = gateway.messages_url.removesuffix(".json") + f"/{sid}.json"
            delivered += await _wait_delivered(session, url)
    return delivered


async def measure_gateway(
    count: int,
    *,
    callbacks: bool,
    checkout: Path | None,
    settings: Sequence[str] = (),
    keep: bool = False,
) -> Run:
    """``keep``: leave the temporary directory (data, strace's log) for a look."""
    directory = Path(tempfile.mkdtemp(prefix="smsgw-sd-", dir=disk_directory()))
    try:
        async with contextlib.AsyncExitStack() as stack:
            simulator = await stack.enter_async_context(simulator_on_pty(SENDER))
            callback = await stack.enter_async_context(_callback_receiver()) if callbacks else ""
            modem = ModemSpec("gsm", "serial", SENDER, port=simulator.device)
            reaped_before = _children_written()
            async with gateway_process(
                [modem], directory=directory, settings=settings, checkout=checkout
            ) as gateway:
                await gateway.wait_modems_ready()
                at_ready = _io(gateway.pid)["write_bytes"]
                summary = directory / "strace.txt"
                async with _strace(gateway.pid, summary):
                    delivered = await _send_all(gateway, count, callback)
                    running = _io(gateway.pid)["write_bytes"] - at_ready
                    stored = database_bytes(gateway.database)
                    counts = status_counts(gateway.database)
            # Out of the block: the gateway exited (its last checkpoint done) and was reaped.
            total = _children_written() - reaped_before - at_ready
        calls = _calls(summary)
    finally:
        if not keep:
            subprocess.run(["rm", "-rf", str(directory)], check=False)
    name = f"smsgw{' (' + str(checkout) + ')' if checkout else ''}"
    notes = "callbacks" if callbacks else "no callbacks"
    notes += f"; statuses {counts}"
    return Run(name, count, delivered, total, running, calls, stored, notes)


# --- SMSTools3 ---------------------------------------------------------------------------------


async def _accepted(session: aiohttp.ClientSession, control: str, wanted: int) -> int:
    async with session.get(f"{control}/submissions?wait={wanted}&timeout=0.5") as response:
        return len(await response.json())


async def measure_smstools(count: int, *, keep: bool = False) -> Run:
    version = smstools_version()
    if version is None:
        raise RuntimeError("SMSTools3 is not installed (apt-get install smstools)")
    directory = Path(tempfile.mkdtemp(prefix="smsgw-sd-smsd-", dir=disk_directory()))
    try:
        spool = directory
        names = ("outgoing", "checked", "failed", "sent", "incoming", "report")
        folders = {name: spool / name for name in names}
        for folder in folders.values():
            folder.mkdir()
        # The default settings (smsd.conf(5)) but for how long it sleeps with nothing to do
        # (delaytime, default 10 s: at one message a second it would batch ten), the spool and
        # logs under the temporary directory.
        config = spool / "smsd.conf"
        lines = [
            "devices = GSM1",
            "delaytime = 1",
            "delaytime_mainprocess = 1",
            *(f"{name} = {folder}" for name, folder in folders.items()),
            f"logfile = {spool / 'smsd.log'}",
            f"infofile = {spool / 'smsd.working'}",
            f"pidfile = {spool / 'smsd.pid'}",
            "[GSM1]",
        ]
        summary = spool / "strace.txt"
        async with simulator_on_pty(SENDER) as simulator, aiohttp.ClientSession() as session:
            config.write_text("\n".join([*lines, f"device = {simulator.device}"]) + "\n")
            reaped_before = _children_written()
            async with _strace(["/usr/sbin/smsd", f"-c{config}", "-t"], summary) as process:
                started = time.monotonic()
                for index in range(count):
                    await asyncio.sleep(max(0.0, started + index * INTERVAL_S - time.monotonic()))
                    draft = spool / f"draft-{index:04d}"
                    draft.write_text(
                        f"To: {DESTINATION.lstrip('+')}\nReport: yes\n\n{TEXT} #{index:04d}\n"
                    )
                    draft.rename(folders["outgoing"] / f"sd-{index:04d}")
                deadline = time.monotonic() + _DELIVERED_TIMEOUT_S
                while (sent := await _accepted(session, simulator.control, count)) < count:
                    if time.monotonic() > deadline:
                        break
                await asyncio.sleep(2 * INTERVAL_S)  # its last file moved to sent/
                running = sum(_io(pid)["write_bytes"] for pid in _group(process.pid))
            Path(f"/tmp/mm_smsd_{process.pid}.sem").unlink(missing_ok=True)
        total = _children_written() - reaped_before
        calls = _calls(summary)
        stored = sum(p.stat().st_size for p in spool.rglob("*") if p.is_file())
        reports = sum(1 for p in folders["incoming"].iterdir()) + sum(
            1 for p in folders["report"].iterdir()
        )
    finally:
        if not keep:
            subprocess.run(["rm", "-rf", str(directory)], check=False)
    notes = f"default settings but delaytime 1 s; {sent} accepted by the simulator; "
    notes += f"{reports} report files"
    return Run(f"SMSTools3 smsd {version}", count, sent, total, running, calls, stored, notes)


def _group(leader: int) -> list[int]:
    """The processes of ``leader``'s session (strace, smsd and its modem process)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == leader:  # field 6: session id
                    pids.append(int(entry.name))
    return pids


# --- the report --------------------------------------------------------------------------------


def _kib(value: float) -> str:
    return f"{value / 1024:.1f}"


def report(runs: Sequence[Run]) -> str:
    lines = [
        "## What is written to the disk per message (SD card wear)",
        "",
        f"{runs[0].messages} short messages, one a second, each waited for until delivered "
        "(`python -m bench.sd_writes`).",
        "",
        "| sender | delivered | KiB written / msg | KiB / msg while running | fsyncs / msg "
        "| writes / msg | WAL frames / msg | DB pages / msg | on disk at the end | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        calls = run.calls or Calls(0, 0, 0, 0, 0, 0)
        lines.append(
            f"| {run.name} | {run.delivered}/{run.messages} "
            f"| {_kib(run.per_message(run.write_bytes))} "
            f"| {_kib(run.per_message(run.write_bytes_running or 0))} "
            f"| {run.per_message(calls.syncs):.2f} "
            f"| {run.per_message(calls.writes):.1f} "
            f"| {run.per_message(calls.wal_frames):.1f} "
            f"| {run.per_message(calls.database_pages):.1f} "
            f"| {_kib(run.stored_bytes)} KiB | {run.notes}"
            + (f"; page {calls.page_bytes} B" if calls.page_bytes else "")
            + " |"
        )
    lines += [
        "",
        "KiB written: `write_bytes` of `/proc/<pid>/io` (whole run to exit, from "
        "`getrusage(RUSAGE_CHILDREN)`), smsgw counted from its modem being ready; "
        "fsyncs: fsync + fdatasync + sync_file_range + msync, writes: write + pwrite64 + writev "
        "+ pwritev, on every thread (`strace -f`), sockets and pipes included; WAL frames: "
        "pages written into the -wal file (a commit's fsync is on it too); DB pages: pages "
        "written into the database file (checkpoints, until the gateway's exit).",
    ]
    return "\n".join(lines)


async def _measure(args: argparse.Namespace) -> list[Run]:
    runs = []
    for checkout in [None, *(args.cwd or [])]:
        runs.append(
            await measure_gateway(
                args.messages,
                callbacks=args.callbacks,
                checkout=checkout,
                settings=args.setting,
                keep=args.keep,
            )
        )
    if not args.no_smstools:
        runs.append(await measure_smstools(args.messages, keep=args.keep))
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sd_writes", description=__doc__)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--callbacks", action="store_true", help="a StatusCallback per message")
    parser.add_argument(
        "--cwd", type=Path, action="append", help="(repeatable) another checkout's gateway"
    )
    parser.add_argument(
        "--setting", action="append", default=[], help="a `key = value` line of [gateway]"
    )
    parser.add_argument("--no-smstools", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data and strace logs")
    args = parser.parse_args(argv)
    print(report(asyncio.run(_measure(args))))


if __name__ == "__main__":
    main()
