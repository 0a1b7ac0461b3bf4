"""The peers of :mod:`bench.modem_send`: gammu-smsd and SMSTools3 sending to the same simulator.

Each peer is the real daemon from its Debian package (``apt-get install gammu-smsd smstools``),
run in the foreground with its own configuration and spool directories in a temporary directory,
against a fresh ``smsgw simulate --pty`` process (:mod:`bench.simulator`), once with its default
settings and once "tuned": every setting its manual offers to make it send faster, at the value
that sends fastest (:data:`GAMMU_TUNED`, :data:`SMSTOOLS_TUNED_GLOBAL`,
:data:`SMSTOOLS_TUNED_MODEM`).

The messages are queued in the peer's outbox before it starts, and the clock runs from launching
the daemon until the simulator has accepted all of them. Both ends are read off the same wall
clock: the launch time here, and the ``at`` timestamp the simulator gives each SMS-SUBMIT it
accepts (``GET /submissions``), so the figures do not depend on how often this module asks.
:class:`PeerRun` reports:

- the time to the last message: start-up, modem initialisation and every send, as a user waits;
- the steady pace, from the first accepted message to the last ((N - 1) intervals): what the
  daemon spends per message once it is running, the figure comparable to our round trip;
- the CPU time of the daemon and its children over the whole run (start-up included), read from
  ``getrusage(RUSAGE_CHILDREN)`` once the daemon has been reaped.

A peer that is not installed gives a row saying so; one that fails or times out gives a row with
the reason taken from its own log. Every process is ended and every temporary directory removed,
on success, failure or timeout alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

import aiohttp

from bench.simulator import simulator_on_pty

INSTALL_HINT: Final = "not installed (apt-get install gammu-smsd smstools)"
# Messages per run, (default settings, tuned): enough for a steady pace, few enough that the
# slow configurations (gammu about 0.7 s a message, SMSTools3's default 0.5 s) end in half a minute.
GAMMU_MESSAGES: Final = (20, 20)
SMSTOOLS_MESSAGES: Final = (50, 200)
# Only decide when to stop waiting: the figures come from the simulator's own timestamps.
WAIT_S: Final = 0.5  # how long one request waits for the last submission
POLL_INTERVAL_S: Final = 0.02  # pause between two requests that came back short
_STOP_TIMEOUT_S: Final = 15.0
_SBIN: Final = ("/usr/sbin", "/usr/local/sbin")  # smsd lives in sbin, off a user's PATH

# gammu-smsdrc(5), [smsd]: every setting that makes the daemon wait or talk to the modem between
# messages. LoopSleep 0 stops the main loop sleeping; CommTimeout 0 rescans an empty outbox at
# once; StatusFrequency 0 never refreshes the phone status; the three checks would otherwise send
# AT+CBC, AT+CSQ, AT+CREG=2, AT+CGREG=2 and AT+CGATT? between messages. What is left is libgammu's
# own AT send path, which sleeps 0.1 s after the prompt, 0.5 s after the PDU and 0.1 s after
# Ctrl-Z with no setting to change it: about 0.7 s a message whatever the configuration.
GAMMU_TUNED: Final[Mapping[str, str]] = {
    "LoopSleep": "0",
    "CommTimeout": "0",
    "StatusFrequency": "0",
    "CheckBattery": "0",
    "CheckSignal": "0",
    "CheckNetwork": "0",
}

# smsd.conf (/usr/share/doc/smstools/html/doc/configure.html), global part. trust_outgoing skips
# the check that a file has stopped growing, which costs the spooler 0.5 s per file and is what
# limits the default configuration; the other two skip sorting the outgoing directory by
# priority and age. delaytime and delaytime_mainprocess (default 10 s) only matter once the
# queue is empty: 1 s is their lowest value that does not make both processes spin (0 does, for
# no gain in the pace). blocktime and errorsleeptime only apply after errors; at their minimum so
# that no delay is left at its default.
SMSTOOLS_TUNED_GLOBAL: Final[Mapping[str, str]] = {
    "trust_outgoing": "yes",
    "ignore_outgoing_priority": "yes",
    "spool_directory_order": "yes",
    "delaytime": "1",
    "delaytime_mainprocess": "1",
    "blocktime": "0",
    "errorsleeptime": "0",
}
# The modem part. By default smsd listens 0.1 s for unexpected input before every command, polls
# the modem's answer every 20 ms (100 ms / poll_faster 5) and asks AT+CREG? before each message.
# poll_faster 1000 polls every 0.1 ms; larger values were measured no faster. send_delay,
# communication_delay, read_delay and sentsleeptime are 0 by default already.
SMSTOOLS_TUNED_MODEM: Final[Mapping[str, str]] = {
    "detect_unexpected_input": "no",
    "poll_faster": "1000",
    "check_network": "0",
}


class PeerFailed(Exception):
    """The peer could not send all its messages; the message says why, from its own log."""


@dataclass(frozen=True, slots=True)
class PeerRun:
    messages: int
    first_s: float  # from launch to the first message the simulator accepted
    last_s: float  # from launch to the last one
    cpu_s: float | None  # the daemon and its children over the whole run

    @property
    def steady_ms(self) -> float | None:
        """Milliseconds per message from the first accepted message to the last."""
        if self.messages < 2:
            return None
        return (self.last_s - self.first_s) / (self.messages - 1) * 1000

    @property
    def steady_per_second(self) -> float | None:
        steady = self.steady_ms
        return 1000 / steady if steady else None

    @property
    def overall_ms(self) -> float:
        """Milliseconds per message from launch to the last message, start-up included."""
        return self.last_s / self.messages * 1000

    @property
    def cpu_ms(self) -> float | None:
        return None if self.cpu_s is None else self.cpu_s / self.messages * 1000


@dataclass(frozen=True, slots=True)
class PeerResult:
    """One row: a peer in one configuration, its run or why there is none."""

    peer: str  # name and version, e.g. "gammu-smsd 1.42.0"
    settings: str  # "default" or "tuned"
    run: PeerRun | None
    problem: str | None = None


class Runner(Protocol):
    def __call__(
        self,
        device: str,
        control: str,
        destination: str,
        text: str,
        count: int,
        *,
        tuned: bool = False,
        timeout_s: float | None = None,
    ) -> Awaitable[PeerRun]: ...


@dataclass(frozen=True, slots=True)
class _Daemon:
    """How to start one peer daemon whose configuration and outbox are ready."""

    name: str
    argv: list[str]
    log: Path  # the daemon's own log, quoted when it fails
    # Files outside its directory that it removes when it exits cleanly but not when killed,
    # given its process id.
    leftovers: Callable[[int], Sequence[Path]] = lambda pid: ()

    @property
    def output(self) -> Path:
        """Where its standard output and error go (smsd reports a bad configuration there)."""
        return self.log.with_name(self.log.name + ".stdout")

    def reason(self) -> str:
        return _log_reason(self.log, self.output)


# --- finding the peers -------------------------------------------------------------------------


def _which(program: str) -> str | None:
    return shutil.which(program, path=os.pathsep.join([os.environ.get("PATH", ""), *_SBIN]))


def _version(argv: Sequence[str], pattern: str) -> str:
    try:
        output = subprocess.run(
            argv, capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    found = re.search(pattern, output)
    return found.group(1) if found else "?"


def gammu_version() -> str | None:
    """The installed gammu-smsd's version, or None when it (or its injector) is missing."""
    smsd, inject = _which("gammu-smsd"), _which("gammu-smsd-inject")
    if smsd is None or inject is None:
        return None
    return _version([smsd, "--version"], r"version (\d[\w.]*)")


def smstools_version() -> str | None:
    """The installed SMSTools3 smsd's version, or None when it is missing."""
    smsd = _which("smsd")
    if smsd is None:
        return None
    return _version([smsd, "-V"], r"Version (\d[\w.]*)")  # "Version 3.1.21, Copyright..."


# --- running one daemon --------------------------------------------------------------------------


async def _submissions(
    session: aiohttp.ClientSession, control: str, wait_for: int = 0
) -> list[dict[str, Any]]:
    """Every SUBMIT the simulator accepted; with ``wait_for``, once there are that many or after
    :data:`WAIT_S` (a long poll, so that this process stays off the two CPUs the daemon and the
    simulator share; a simulator without ``?wait`` answers at once and this becomes polling)."""
    query = f"?wait={wait_for}&timeout={WAIT_S}" if wait_for else ""
    async with session.get(f"{control}/submissions{query}") as response:
        response.raise_for_status()
        items: list[dict[str, Any]] = await response.json()
        return items


# A log line's time stamp and process: gammu's "Fri 2026/11/27 05:37:38 gammu-smsd[22835]: "
# and smsd's "2026-11-27 05:25:54,3, GSM1: ".
_LOG_PREFIX: Final = re.compile(
    r"^(\w{3} \d{4}/\d\d/\d\d \d\d:\d\d:\d\d \S+: |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S*, \S+: )"
)
_LOG_ERROR: Final = re.compile(r"error|fail|timeout|cannot", re.IGNORECASE)
# Not errors: gammu's "Stopping Gammu smsd: No error", smsd's "Bit Error Rate: not known".
_LOG_NOT_ERROR: Final = re.compile(r"no error|error rate", re.IGNORECASE)


def _error_lines(lines: Sequence[str]) -> list[str]:
    errors: list[str] = []
    in_error = False  # smsd lists the details of a problem on the lines after it, as "- ..."
    for line in lines:
        if _LOG_ERROR.search(line) and not _LOG_NOT_ERROR.search(line):
            errors.append(line)
            in_error = True
        elif in_error and line.startswith("- "):
            errors[-1] += " " + line
        else:
            in_error = False
    return errors


def _log_reason(*logs: Path, limit: int = 200) -> str:
    """The first and the last error line of the first of ``logs`` that has any (the first is
    usually the cause, the last what the daemon did about it), else the last line of them all."""
    everything: list[str] = []
    for log in logs:
        try:
            text = log.read_text(errors="replace")
        except OSError:
            continue
        lines = [_LOG_PREFIX.sub("", line.strip()) for line in text.splitlines() if line.strip()]
        everything += lines
        errors = _error_lines(lines)
        if errors:
            chosen = list(dict.fromkeys([errors[0], errors[-1]]))
            return " / ".join(
                line[: limit - 3] + "..." if len(line) > limit else line for line in chosen
            )
    return everything[-1] if everything else "nothing in its log"


@contextlib.asynccontextmanager
async def _running(daemon: _Daemon) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run the daemon in a process group of its own and end the whole group on the way out.

    smsd forks a process per modem, so ending only the first process could leave one behind.
    """
    with daemon.output.open("wb") as sink:  # a file, not a pipe nobody reads that could fill up
        process = await asyncio.create_subprocess_exec(
            *daemon.argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended below by that group's id
        )
    try:
        yield process
    finally:
        await _stop(process)
        for leftover in daemon.leftovers(process.pid):
            leftover.unlink(missing_ok=True)


async def _stop(process: asyncio.subprocess.Process) -> None:
    group = process.pid  # a session leader's process group id is its pid
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)  # both daemons finish the message in hand and exit
        try:
            await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            await process.wait()
    # Anything of the group still there (a child that outlived its parent) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stamp(item: Mapping[str, Any]) -> float:
    return datetime.fromisoformat(item["at"]).timestamp()


async def _timed_run(
    daemon: _Daemon, control: str, destination: str, texts: Sequence[str], timeout_s: float
) -> PeerRun:
    """Start the daemon (its outbox already holds ``texts``) and wait until the simulator has
    accepted every one of them."""
    wanted = set(texts)
    # What children reaped so far used (the simulator is not reaped: it outlives this run).
    cpu_before = _children_cpu_s()
    async with aiohttp.ClientSession() as session:
        # Whatever the simulator accepted before this run is not this run's.
        earlier = len(await _submissions(session, control))
        launched = time.time()  # the simulator stamps submissions with the same wall clock
        async with _running(daemon) as process:
            deadline = time.monotonic() + timeout_s
            while True:
                answer = await _submissions(session, control, earlier + len(wanted))
                items = [
                    item
                    for item in answer[earlier:]
                    if item["to"] == destination and item["text"] in wanted
                ]
                if len({item["text"] for item in items}) == len(wanted):
                    break
                if process.returncode is not None:
                    raise PeerFailed(
                        f"{daemon.name} exited ({process.returncode}) after {len(items)} of "
                        f"{len(wanted)} messages: {daemon.reason()}"
                    )
                if time.monotonic() > deadline:
                    raise PeerFailed(
                        f"{daemon.name} timed out after {timeout_s:.0f} s with {len(items)} of "
                        f"{len(wanted)} messages sent: {daemon.reason()}"
                    )
                await asyncio.sleep(POLL_INTERVAL_S)
        # Leaving the block reaped the daemon (and smsd reaps its modem process before it exits).
        cpu = _children_cpu_s() - cpu_before
    if len(items) != len(wanted):
        raise PeerFailed(f"{daemon.name} sent {len(items) - len(wanted)} message(s) twice")
    stamps = sorted(_stamp(item) for item in items)
    return PeerRun(len(wanted), stamps[0] - launched, stamps[-1] - launched, cpu)


def _texts(text: str, count: int) -> list[str]:
    # Numbered, so that a lost or duplicated message shows; still one GSM 7-bit part.
    return [f"{text} #{index:03d}" for index in range(count)]


def _config(sections: Sequence[tuple[str | None, Mapping[str, str]]]) -> str:
    """An ini-style file; a section named None is the part before the first header."""
    lines: list[str] = []
    for name, settings in sections:
        if name is not None:
            lines.append(f"\n[{name}]")
        lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


# --- gammu-smsd --------------------------------------------------------------------------------


async def run_gammu(
    device: str,
    control: str,
    destination: str,
    text: str,
    count: int = GAMMU_MESSAGES[0],
    *,
    tuned: bool = False,
    timeout_s: float | None = None,
) -> PeerRun:
    """gammu-smsd (FILES backend) sends ``count`` messages through the simulator at ``device``."""
    smsd, inject = _which("gammu-smsd"), _which("gammu-smsd-inject")
    if smsd is None or inject is None:
        raise PeerFailed(INSTALL_HINT)
    texts = _texts(text, count)
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-gammu-") as directory:
        spool = Path(directory)
        folders = {name: spool / name for name in ("inbox", "outbox", "sent", "error")}
        for folder in folders.values():
            folder.mkdir()
        log = spool / "gammu-smsd.log"
        smsd_settings = {
            "Service": "files",
            "LogFile": str(log),  # DebugLevel stays 0: the daemon's own notices only
            # gammu-smsdrc(5): the paths need their trailing separator.
            "InboxPath": f"{folders['inbox']}/",
            "OutboxPath": f"{folders['outbox']}/",
            "SentSMSPath": f"{folders['sent']}/",
            "ErrorSMSPath": f"{folders['error']}/",
            **(GAMMU_TUNED if tuned else {}),
        }
        config = spool / "smsdrc"
        config.write_text(
            _config([("gammu", {"device": device, "connection": "at"}), ("smsd", smsd_settings)])
        )
        for message in texts:
            await _check_call([inject, "-c", str(config), "TEXT", destination, "-text", message])
        daemon = _Daemon(
            "gammu-smsd",
            # --max-failures 1: a daemon that cannot initialise the modem stops at once (and
            # says why) instead of retrying until the timeout; a healthy run never fails.
            # --suicide: it ends itself even if this process dies before it can stop it.
            [smsd, "--config", str(config), "--max-failures", "1", "--suicide", "900"],
            log,
        )
        return await _timed_run(daemon, control, destination, texts, timeout_s or 60 + 3.0 * count)


async def _check_call(argv: Sequence[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise PeerFailed(f"{Path(argv[0]).name} did not finish in 30 s") from None
    if process.returncode:
        last = output.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise PeerFailed(f"{Path(argv[0]).name} failed ({process.returncode}): {last[0]}")


# --- SMSTools3 ---------------------------------------------------------------------------------


async def run_smstools(
    device: str,
    control: str,
    destination: str,
    text: str,
    count: int = SMSTOOLS_MESSAGES[0],
    *,
    tuned: bool = False,
    timeout_s: float | None = None,
    tuned_modem: Mapping[str, str] = SMSTOOLS_TUNED_MODEM,
) -> PeerRun:
    """SMSTools3's smsd sends ``count`` messages through the simulator at ``device``.

    ``tuned_modem`` replaces the ``[GSM1]`` settings of the tuned configuration (e.g. to keep
    the default 20 ms polling while tuning everything else)."""
    smsd = _which("smsd")
    if smsd is None:
        raise PeerFailed(INSTALL_HINT)
    texts = _texts(text, count)
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-smstools-") as directory:
        spool = Path(directory)
        folders = {
            name: spool / name for name in ("outgoing", "checked", "failed", "sent", "incoming")
        }
        for folder in folders.values():
            folder.mkdir()
        log = spool / "smsd.log"
        global_settings = {
            "devices": "GSM1",
            **{name: str(folder) for name, folder in folders.items()},
            "logfile": str(log),  # loglevel stays at its default
            # Out of /var/run: needs no root and never meets a system smsd's files.
            "infofile": str(spool / "smsd.working"),
            "pidfile": str(spool / "smsd.pid"),
            **(SMSTOOLS_TUNED_GLOBAL if tuned else {}),
        }
        modem_settings = {"device": device, **(tuned_modem if tuned else {})}
        config = spool / "smsd.conf"
        config.write_text(_config([(None, global_settings), ("GSM1", modem_settings)]))
        # The SMS file format (fileformat.html): the number in international format without "+".
        # Written aside and renamed in, so smsd never reads half a file (trust_outgoing relies
        # on it).
        for index, message in enumerate(texts):
            draft = spool / f"draft-{index:04d}"
            draft.write_text(f"To: {destination.lstrip('+')}\n\n{message}\n")
            draft.rename(folders["outgoing"] / f"bench-{index:04d}")
        # -t: run in the terminal, in the foreground, instead of as a daemon (smsd -h).
        daemon = _Daemon(
            "smsd",
            [smsd, f"-c{config}", "-t"],
            log,
            # Its shared memory's lock file (libmm), at a path compiled into smsd.
            leftovers=lambda pid: [Path(f"/tmp/mm_smsd_{pid}.sem")],
        )
        return await _timed_run(daemon, control, destination, texts, timeout_s or 60 + 2.0 * count)


# --- all of them ---------------------------------------------------------------------------------


async def _one(
    peer: str, settings: str, runner: Runner, count: int, *, destination: str, text: str
) -> PeerResult:
    # A fresh simulator for every run: no state (echo, CMEE, message references) carried over.
    try:
        async with simulator_on_pty() as simulator:
            run = await runner(
                simulator.device,
                simulator.control,
                destination,
                text,
                count,
                tuned=settings == "tuned",
            )
    except PeerFailed as failure:
        return PeerResult(peer, settings, None, f"failed: {failure}")
    return PeerResult(peer, settings, run)


async def measure_peers(destination: str, text: str) -> list[PeerResult]:
    """Every peer in both configurations, one run at a time; a missing peer gets a row saying so."""
    peers: list[tuple[str, str | None, Runner, tuple[int, int]]] = [
        ("SMSTools3 smsd", smstools_version(), run_smstools, SMSTOOLS_MESSAGES),
        ("gammu-smsd", gammu_version(), run_gammu, GAMMU_MESSAGES),
    ]
    results: list[PeerResult] = []
    for name, version, runner, counts in peers:
        if version is None:
            results.append(PeerResult(name, "-", None, INSTALL_HINT))
            continue
        for settings, count in zip(("default", "tuned"), counts, strict=True):
            peer = f"{name} {version}"
            run = await _one(peer, settings, runner, count, destination=destination, text=text)
            results.append(run)
    return results


def tuned_settings() -> list[str]:
    """What "tuned" changed, one line per peer, for the notes under the table."""

    def listed(settings: Mapping[str, str]) -> str:
        return ", ".join(f"`{key} = {value}`" for key, value in settings.items())

    return [
        f"gammu-smsd, [smsd]: {listed(GAMMU_TUNED)}",
        f"SMSTools3 smsd, global: {listed(SMSTOOLS_TUNED_GLOBAL)}; "
        f"[GSM1]: {listed(SMSTOOLS_TUNED_MODEM)}",
    ]
