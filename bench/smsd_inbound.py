"""The peers of :mod:`bench.gateway_inbound`: gammu-smsd and SMSTools3 receiving SMS.

Each peer is the real daemon from its Debian package, started the way :mod:`bench.smsd_peers`
starts it (foreground, its own configuration, spool directories and log in a temporary
directory, a process group of its own that is ended on the way out), against a fresh simulated
modem on a pty that runs in this process (:mod:`bench.inbound_simulator`), so that the moment a
message is injected and the moment the peer hands it over are read off the same wall clock:

- gammu-smsd (FILES backend): ``RunOnReceive`` runs a script that appends ``date +%s.%N`` and
  ``$SMS_1_TEXT`` (gammu-smsd-run(7)) to a file;
- SMSTools3: ``eventhandler`` runs a script that, for a ``RECEIVED`` event, appends
  ``date +%s.%N`` and the text of the message file it is given.

Latency is from just before the injection (the modem stores the message and writes ``+CMTI``
at once) to that time stamp. Neither daemon reads a message when the modem announces it: both
poll the modem, gammu-smsd every ``ReceiveFrequency`` seconds (15 by default), SMSTools3 every
``delaytime`` seconds (10). So the messages are injected at points spread evenly over the
polling cycle: of n messages, one each after a pause of (i + 1/2)/n of the polling interval
(i = 0 ... n - 1, in a shuffled order) following the previous message's arrival, which is when
the daemon has just polled. The latency is then on average half an interval and at most one.
A warm-up message first makes sure the daemon is up and polling; it is not counted.

Each peer runs in three configurations (:data:`GAMMU_CONFIGURATIONS`,
:data:`SMSTOOLS_CONFIGURATIONS`): its defaults; polling every second (the shortest interval
their manuals offer short of not sleeping at all); and polling continuously (no sleep between
polls, which their manuals allow and warn costs CPU). Polling has a cost even when nothing
arrives: over an idle window after the messages, :class:`InboundPeerRun` counts the AT
commands the daemon sent to the modem and the CPU time its processes used.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shlex
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.inbound_simulator import PtyModem, modem_on_pty
from bench.simulator import cancelled_by_sigterm
from bench.smsd_peers import (
    GAMMU_TUNED,
    INSTALL_HINT,
    SMSTOOLS_TUNED_GLOBAL,
    SMSTOOLS_TUNED_MODEM,
    PeerFailed,
    _config,
    _Daemon,
    _running,
    _which,
    gammu_version,
    smstools_version,
)

NUMBER: Final = "+15550001001"  # the simulated SIM's number
HANDSET: Final = "+447700900123"  # who texts it
SEED: Final = 5  # the order of the pauses before each injection, the same in every run
HOOK_POLL_S: Final = 0.01  # how often the hook's file is read while waiting (decides nothing)
_TICKS: Final = os.sysconf("SC_CLK_TCK")
Sections = Mapping[str | None, Mapping[str, str]]  # section name (None: before the first) -> keys


@dataclass(frozen=True, slots=True)
class Configuration:
    """One way of running a peer: its settings beyond what receiving at all needs."""

    name: str
    poll_s: float  # how often it reads the modem: injections are spread over one interval
    messages: int  # measured, after the warm-up message
    sections: Sections = field(default_factory=dict)

    @property
    def idle_s(self) -> float:
        """The idle window: long enough to see at least one poll."""
        return max(5.0, self.poll_s + 1.0)


# gammu-smsdrc(5): ReceiveFrequency 0 reads the modem on every pass of the main loop, which
# LoopSleep 1 makes once a second and LoopSleep 0 continuous; CheckSecurity 0 skips the AT+CPIN?
# before every read; the rest as for sending (bench.smsd_peers.GAMMU_TUNED).
_GAMMU_FAST: Final[Mapping[str, str]] = {
    **GAMMU_TUNED,
    "ReceiveFrequency": "0",
    "CheckSecurity": "0",
}
GAMMU_CONFIGURATIONS: Final = (
    Configuration("default", 15.0, 5),
    Configuration("tuned, 1 s polling", 1.0, 10, {"smsd": {**_GAMMU_FAST, "LoopSleep": "1"}}),
    Configuration("tuned, continuous polling", 0.1, 20, {"smsd": _GAMMU_FAST}),
)

# smsd.conf (/usr/share/doc/smstools/html/doc/configure.html): the modem process reads
# incoming messages every delaytime seconds (1: the lowest that sleeps; 0 polls without a
# pause); detect_message_routing = no stops it listening 0.1 s for routed messages before every
# command (this modem stores messages, it never routes them); the rest as for sending
# (bench.smsd_peers.SMSTOOLS_TUNED_GLOBAL and SMSTOOLS_TUNED_MODEM).
_SMSTOOLS_FAST_MODEM: Final[Mapping[str, str]] = {
    **SMSTOOLS_TUNED_MODEM,
    "detect_message_routing": "no",
}
SMSTOOLS_CONFIGURATIONS: Final = (
    Configuration("default", 10.0, 5),
    Configuration(
        "tuned, 1 s polling",
        1.0,
        10,
        {None: SMSTOOLS_TUNED_GLOBAL, "GSM1": _SMSTOOLS_FAST_MODEM},
    ),
    Configuration(
        "tuned, continuous polling",
        0.1,
        20,
        {None: {**SMSTOOLS_TUNED_GLOBAL, "delaytime": "0"}, "GSM1": _SMSTOOLS_FAST_MODEM},
    ),
)


@dataclass(frozen=True, slots=True)
class InboundPeerRun:
    latencies_s: tuple[float, ...]  # injection to the hook's time stamp, one per message
    idle_s: float  # the idle window
    idle_commands: int  # AT commands the daemon sent the modem during it
    idle_cpu_s: float | None  # CPU time of the daemon's processes during it

    @property
    def commands_per_s(self) -> float:
        return self.idle_commands / self.idle_s

    @property
    def cpu_share(self) -> float | None:
        """CPU seconds per second while idle (1.0: one core busy)."""
        return None if self.idle_cpu_s is None else self.idle_cpu_s / self.idle_s


@dataclass(frozen=True, slots=True)
class InboundPeerResult:
    """One row: a peer in one configuration, its run or why there is none."""

    peer: str  # name and version
    configuration: Configuration
    run: InboundPeerRun | None
    problem: str | None = None


# --- the hook's file -----------------------------------------------------------------------------


class HookLog:
    """The lines the received-message hook appended: ``<seconds since the epoch> <text>``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def stamps(self) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        try:
            text = self.path.read_text(errors="replace")
        except FileNotFoundError:
            return found
        for line in text.splitlines():
            stamp, _, body = line.partition(" ")
            with contextlib.suppress(ValueError):
                found.setdefault(body.strip(), []).append(float(stamp))
        return found

    async def wait(self, text: str, timeout_s: float, alive: Callable[[], str | None]) -> float:
        """The time stamp of ``text``, once the hook wrote it; ``alive()`` returns why the
        daemon cannot deliver it any more (it exited), or None."""
        deadline = time.monotonic() + timeout_s
        while True:
            stamps = self.stamps().get(text)
            if stamps:
                return stamps[0]
            problem = alive()
            if problem is not None:
                raise PeerFailed(problem)
            if time.monotonic() > deadline:
                raise PeerFailed(f"{text!r} not received in {timeout_s:.0f} s")
            await asyncio.sleep(HOOK_POLL_S)


def _hook(path: Path, log: Path, body: str) -> Path:
    path.write_text(
        "#!/bin/sh\n"
        f"{body}\n"
        "stamp=$(date +%s.%N)\n"  # first thing: the moment the daemon handed the message over
        f'printf "%s %s\\n" "$stamp" "$text" >> {shlex.quote(str(log))}\n'
    )
    path.chmod(0o755)
    return path


def group_cpu_s(group: int) -> float | None:
    """User + system CPU time of every live process in process group ``group`` (Linux /proc)."""
    total = 0.0
    found = False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        if int(fields[2]) == group:  # pgrp (proc(5))
            found = True
            total += (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return total if found else None


# --- one run -----------------------------------------------------------------------------------


def _texts(tag: str, count: int) -> list[str]:
    # Unique, so that each hook line names its message; plain GSM 7-bit, one part.
    return [f"inbound {tag} {index:03d}" for index in range(count)]


async def _measure(
    daemon: _Daemon, modem: PtyModem, hook_log: HookLog, configuration: Configuration, tag: str
) -> InboundPeerRun:
    commands = 0

    def count(_: str) -> None:
        nonlocal commands
        commands += 1

    undo = modem.observe(count)
    warm_up = f"inbound {tag} warm-up"
    texts = _texts(tag, configuration.messages)
    pauses = [(i + 0.5) / len(texts) * configuration.poll_s for i in range(len(texts))]
    random.Random(SEED).shuffle(pauses)
    timeout_s = 60.0 + 3 * configuration.poll_s
    try:
        async with _running(daemon) as process:

            def alive() -> str | None:
                if process.returncode is None:
                    return None
                return f"{daemon.name} exited ({process.returncode}): {daemon.reason()}"

            modem.inject(HANDSET, warm_up)  # received once the daemon is up and polling
            await hook_log.wait(warm_up, timeout_s, alive)
            latencies: list[float] = []
            for text, pause in zip(texts, pauses, strict=True):
                await asyncio.sleep(pause)
                injected = time.time()  # the hook's `date +%s.%N` reads the same clock
                modem.inject(HANDSET, text)
                latencies.append(await hook_log.wait(text, timeout_s, alive) - injected)
            commands_before, cpu_before = commands, group_cpu_s(process.pid)
            await asyncio.sleep(configuration.idle_s)
            idle_commands, cpu_after = commands - commands_before, group_cpu_s(process.pid)
    finally:
        undo()
    stamps = hook_log.stamps()
    twice = [text for text in [warm_up, *texts] if len(stamps.get(text, ())) != 1]
    if twice:
        raise PeerFailed(f"{daemon.name} handed {len(twice)} message(s) over more than once")
    idle_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return InboundPeerRun(tuple(latencies), configuration.idle_s, idle_commands, idle_cpu)


async def run_gammu(configuration: Configuration) -> InboundPeerRun:
    """gammu-smsd (FILES backend) receives ``configuration.messages`` messages."""
    smsd = _which("gammu-smsd")
    if smsd is None:
        raise PeerFailed(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-gammu-in-") as directory:
        spool = Path(directory)
        folders = {name: spool / name for name in ("inbox", "outbox", "sent", "error")}
        for folder in folders.values():
            folder.mkdir()
        log = spool / "gammu-smsd.log"
        hook_log = HookLog(spool / "received.txt")
        # gammu-smsd-run(7): the text is in the environment; all file descriptors are closed.
        hook = _hook(spool / "on-receive.sh", hook_log.path, 'text="$SMS_1_TEXT"')
        async with modem_on_pty(NUMBER) as modem:
            smsd_settings = {
                "Service": "files",
                "LogFile": str(log),
                "InboxPath": f"{folders['inbox']}/",
                "OutboxPath": f"{folders['outbox']}/",
                "SentSMSPath": f"{folders['sent']}/",
                "ErrorSMSPath": f"{folders['error']}/",
                "RunOnReceive": str(hook),
                **configuration.sections.get("smsd", {}),
            }
            config = spool / "smsdrc"
            config.write_text(
                _config(
                    [
                        ("gammu", {"device": modem.device, "connection": "at"}),
                        ("smsd", smsd_settings),
                    ]
                )
            )
            daemon = _Daemon(
                "gammu-smsd",
                [smsd, "--config", str(config), "--max-failures", "1", "--suicide", "900"],
                log,
            )
            return await _measure(daemon, modem, hook_log, configuration, "gammu")


async def run_smstools(configuration: Configuration) -> InboundPeerRun:
    """SMSTools3's smsd receives ``configuration.messages`` messages."""
    smsd = _which("smsd")
    if smsd is None:
        raise PeerFailed(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-smstools-in-") as directory:
        spool = Path(directory)
        folders = {
            name: spool / name for name in ("outgoing", "checked", "failed", "sent", "incoming")
        }
        for folder in folders.values():
            folder.mkdir()
        log = spool / "smsd.log"
        hook_log = HookLog(spool / "received.txt")
        # eventhandler.html: "$1" is the event, "$2" the message file, whose text follows the
        # headers and an empty line (fileformat.html).
        hook = _hook(
            spool / "eventhandler.sh",
            hook_log.path,
            '[ "$1" = RECEIVED ] || exit 0\ntext=$(sed \'1,/^$/d\' "$2")',
        )
        async with modem_on_pty(NUMBER) as modem:
            global_settings = {
                "devices": "GSM1",
                **{name: str(folder) for name, folder in folders.items()},
                "logfile": str(log),
                "infofile": str(spool / "smsd.working"),
                "pidfile": str(spool / "smsd.pid"),
                "eventhandler": str(hook),
                **configuration.sections.get(None, {}),
            }
            modem_settings = {
                "device": modem.device,
                "incoming": "yes",  # default no: smsd only sends
                # The simulator numbers storage slots from 0, as some modems do; with the
                # default 1, smsd misses slot 0 on its first pass and then says to set this.
                "memory_start": "0",
                **configuration.sections.get("GSM1", {}),
            }
            config = spool / "smsd.conf"
            config.write_text(_config([(None, global_settings), ("GSM1", modem_settings)]))
            daemon = _Daemon(
                "smsd",
                [smsd, f"-c{config}", "-t"],
                log,
                leftovers=lambda pid: [Path(f"/tmp/mm_smsd_{pid}.sem")],
            )
            return await _measure(daemon, modem, hook_log, configuration, "smstools")


# --- all of them ---------------------------------------------------------------------------------


async def measure_inbound_peers() -> list[InboundPeerResult]:
    """Every peer in every configuration, one run at a time; a missing peer gets a row saying so."""
    peers: Sequence[tuple[str, str | None, Sequence[Configuration]]] = [
        ("gammu-smsd", gammu_version(), GAMMU_CONFIGURATIONS),
        ("SMSTools3 smsd", smstools_version(), SMSTOOLS_CONFIGURATIONS),
    ]
    results: list[InboundPeerResult] = []
    with cancelled_by_sigterm():  # SIGTERM stops the daemon and removes its files too
        for name, version, configurations in peers:
            await _each_configuration(name, version, configurations, results)
    return results


async def _each_configuration(
    name: str,
    version: str | None,
    configurations: Sequence[Configuration],
    results: list[InboundPeerResult],
) -> None:
    if version is None:
        results.append(InboundPeerResult(name, Configuration("-", 0.0, 0), None, INSTALL_HINT))
        return
    runner = run_gammu if name == "gammu-smsd" else run_smstools
    for configuration in configurations:
        peer = f"{name} {version}"
        try:
            run = await runner(configuration)
        except PeerFailed as failure:
            results.append(InboundPeerResult(peer, configuration, None, f"failed: {failure}"))
            continue
        results.append(InboundPeerResult(peer, configuration, run))


def configuration_notes() -> list[str]:
    """What each configuration set, one line per peer and configuration."""

    def listed(sections: Sections) -> str:
        parts = []
        for section, settings in sections.items():
            where = "global" if section is None else f"[{section}]"
            keys = ", ".join(f"`{key} = {value}`" for key, value in settings.items())
            parts.append(f"{where}: {keys}")
        return "; ".join(parts) or "nothing more"

    lines = [
        "every configuration: the device, the spool directories, the log and the hook "
        "(gammu-smsd `RunOnReceive`, SMSTools3 `eventhandler`); SMSTools3 also `[GSM1] "
        "incoming = yes` (it only sends by default) and `memory_start = 0` (the simulator "
        "numbers storage slots from 0; with the default 1, smsd misses slot 0 on its first "
        "pass, then says in its log to set this)"
    ]
    for name, configurations in (
        ("gammu-smsd", GAMMU_CONFIGURATIONS),
        ("SMSTools3 smsd", SMSTOOLS_CONFIGURATIONS),
    ):
        for configuration in configurations:
            lines.append(f"{name}, {configuration.name}: {listed(configuration.sections)}")
    return lines
