"""Finding modems: which serial ports answer AT, and what modem is behind each.

A USB modem exposes several ports (diagnostics, NMEA, PPP, one or two AT ports), and the AT
port is often not the first. Each candidate is opened, asked ``AT`` with a short timeout, and
if it answers, asked only questions (``+CGMI``, ``+CGMM``, ``+CGMR``, ``+CGSN``, ``+CIMI``,
``+CNUM``, ``+CSQ``, ``+CREG?``): nothing is set (no ``ATE0``, no PDU mode, no storage, no
notifications), so the port is left as it was found, for whatever uses it next. Ports of one
modem are grouped by its IMEI.

A GPIO HAT (SIM800, SIM7600, Quectel boards) sits on a UART (``/dev/serial0``, ``ttyAMA*``,
``ttyS*``), where the line speed matters: a modem that does not autobaud answers only at the
speed it was set to. Where ``AT`` gets no answer at 115200 on a UART, 9600 and 57600 are tried
too; a USB modem's ports (``ttyUSB*``, ``ttyACM*``) are virtual, and their speed means nothing.
Whatever speed a probe sets, the port's line settings are put back as they were found (the
kernel keeps them across opens), and a port the kernel has given to a line discipline of its
own (a Pi's Bluetooth on ``ttyAMA0``, PPP) is not touched at all: bytes written there, or a
speed set under it, would break what it carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import glob
import os
import re
import struct
import termios
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from drivers.at import replies
from drivers.at.channel import AtChannel, Timeouts
from drivers.at.transport import open_link
from drivers.errors import AtCommandError, AtReplyError, AtTimeout, DriverError

PROBE_TIMEOUT: Final = 1.5  # seconds a port has to answer AT (an idle modem answers in ms)
DEFAULT_BAUD: Final = 115200
# On a UART, in this order: the default of SIMCom and Quectel modules (and what an autobauding
# SIM800 takes), then the speeds boards and guides commonly fix with AT+IPR.
UART_BAUDS: Final = (DEFAULT_BAUD, 9600, 57600)
NO_ANSWER: Final = "no answer to AT"
DEVICES: Final = "/dev"
# Where modems appear on Linux, under /dev: the stable names first (udev's by-id links, our own
# rules'), then the kernel's USB ports, then a Raspberry Pi's UARTs (serial0 is the one on the
# GPIO header, a link to ttyS0 or ttyAMA0 by model; serial1 the other) and any other UART.
CANDIDATE_PATTERNS: Final = (
    "serial/by-id/*",
    "smsgw-*",
    "ttyUSB*",
    "ttyACM*",
    "serial[0-9]",
    "ttyAMA*",
    "ttyS*",
)
_UART: Final = re.compile(r"(?:serial|ttyAMA|ttyS|ttySC)[0-9]+")  # ttySC: SC16IS7xx HATs
_N_TTY: Final = 0  # the line discipline of a terminal that a program reads and writes


@dataclass(frozen=True, slots=True)
class Found:
    """A port that answered AT, and what the modem said of itself."""

    port: str
    manufacturer: str
    model: str
    revision: str
    imei: str
    imsi: str | None
    numbers: tuple[str, ...]
    rssi: int | None
    registration: int | None  # <stat>: 1 home, 5 roaming, 0/2/3/4 not registered
    baud: int = DEFAULT_BAUD  # the line speed it answered at


@dataclass(frozen=True, slots=True)
class Silent:
    """A port that is not a modem's AT port (or could not be opened)."""

    port: str
    reason: str


@dataclass(frozen=True, slots=True)
class DetectedModem:
    """One modem: every port of it that answered AT, the preferred one first."""

    ports: tuple[Found, ...] = field(default_factory=tuple)

    @property
    def best(self) -> Found:
        return self.ports[0]


def candidates(patterns: Iterable[str] = CANDIDATE_PATTERNS, root: str = DEVICES) -> list[str]:
    """Serial ports to probe (``patterns`` under ``root``), each device once, under its most
    stable name (``serial0`` rather than the ``ttyS0`` it links to), ``ttyS2`` before
    ``ttyS10``."""
    seen: set[str] = set()
    ports = []
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(root, pattern)), key=_natural):
            device = os.path.realpath(path)
            if device not in seen:
                seen.add(device)
                ports.append(path)
    return ports


def _natural(path: str) -> tuple[str | int, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"([0-9]+)", path))


def is_uart(port: str) -> bool:
    """Whether ``port`` is named as a UART is (``serial0``, ``ttyAMA0``, ``ttyS0``,
    ``ttySC0``), or links to one."""
    if port.startswith("tcp://"):
        return False
    names = (os.path.basename(port), os.path.basename(os.path.realpath(port)))
    return any(_UART.fullmatch(name) for name in names)


def bauds_for(port: str) -> tuple[int, ...]:
    """The line speeds to try on ``port``, in order."""
    return UART_BAUDS if is_uart(port) else (DEFAULT_BAUD,)


async def probe(
    port: str, bauds: Sequence[int] = (DEFAULT_BAUD,), timeout: float = PROBE_TIMEOUT
) -> Found | Silent:
    """Ask ``port`` who it is, at each of ``bauds`` in turn until it answers, changing nothing
    on it (its line settings are put back as they were)."""
    with _settings_kept(port) as refusal:
        if refusal is not None:
            return Silent(port, refusal)
        for attempt, baud in enumerate(bauds):
            # An autobauding modem (a SIM800) takes the first AT to learn the speed.
            result = await _ask(port, baud, timeout, tries=2 if attempt == 0 else 1)
            if not isinstance(result, Silent) or result.reason != NO_ANSWER:
                return result
    if len(bauds) > 1:
        return Silent(port, f"{NO_ANSWER} at {', '.join(map(str, bauds))} baud")
    return Silent(port, NO_ANSWER)


@contextlib.contextmanager
def _settings_kept(port: str) -> Iterator[str | None]:
    """Why ``port`` must not be probed (``None``: it may be); its line settings are put back
    afterwards, since a probe at another speed would otherwise leave it at that speed under
    whatever uses the port next (a serial console's getty, the gateway)."""
    if port.startswith("tcp://"):
        yield None
        return
    try:
        # Non-blocking: a UART's open would otherwise wait for a carrier that never comes.
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        yield f"cannot open: {exc.strerror or exc}"
        return
    try:
        try:
            saved = termios.tcgetattr(fd)
            (discipline,) = struct.unpack("i", fcntl.ioctl(fd, termios.TIOCGETD, bytes(4)))
        except (termios.error, OSError) as exc:
            yield f"not a serial port ({exc})"
            return
        if discipline != _N_TTY:
            yield f"in use by the kernel (line discipline {discipline}: Bluetooth, PPP...)"
            return
        try:
            yield None
        finally:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(fd, termios.TCSANOW, saved)
    finally:
        os.close(fd)


async def _ask(port: str, baud: int, timeout: float, tries: int) -> Found | Silent:
    """``AT`` at ``baud`` (up to ``tries`` times unanswered), then the questions if it answered."""
    try:
        link = await asyncio.wait_for(open_link(port, baud), timeout)
    except (OSError, DriverError, TimeoutError) as exc:
        return Silent(port, _cannot_open(exc))
    channel = AtChannel(link, Timeouts(default=timeout, prompt=timeout, submit=timeout))
    try:
        channel.start()
        refusal = await _greet(channel, tries)
        if refusal is not None:
            return Silent(port, refusal)
        return await _identify(port, channel, baud)
    except DriverError as exc:
        return Silent(port, str(exc))
    finally:
        with contextlib.suppress(DriverError, OSError):
            await channel.close()


async def _greet(channel: AtChannel, tries: int) -> str | None:
    """``None`` once ``AT`` is answered ``OK``, else why not. An error is asked again once:
    noise in the modem's command line (bytes sent at another speed, a modem starting up)
    spoils the first command after it."""
    refusal = NO_ANSWER
    for attempt in range(max(tries, 2)):
        try:
            await channel.command("AT")
            return None
        except AtTimeout:
            if attempt + 1 >= tries:
                return NO_ANSWER
        except AtCommandError as exc:
            refusal = f"answers AT with {exc}"
    return refusal


def _cannot_open(exc: BaseException) -> str:
    """The reason, without the port's name (ports that fail alike are listed together)."""
    cause = exc.__cause__ or exc
    number = getattr(cause, "errno", None)
    if isinstance(number, int):
        return f"cannot open: {os.strerror(number)}"
    return f"cannot open: {exc}"


async def _identify(port: str, channel: AtChannel, baud: int) -> Found:
    async def text(command: str, prefix: str) -> str:
        with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
            return replies.parse_text((await channel.command(command)).lines, prefix)
        return ""

    numbers: tuple[str, ...] = ()
    with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
        numbers = tuple(replies.parse_cnum((await channel.command("AT+CNUM")).lines))
    rssi = registration = None
    with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
        rssi = replies.parse_csq((await channel.command("AT+CSQ")).lines)[0]
    with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
        reply = await channel.command("AT+CREG?")
        registration = replies.parse_registration(reply.lines, "+CREG:").stat
    return Found(
        port=port,
        manufacturer=await text("AT+CGMI", "+CGMI:"),
        model=await text("AT+CGMM", "+CGMM:"),
        revision=await text("AT+CGMR", "+CGMR:"),
        imei=await text("AT+CGSN", "+CGSN:"),
        imsi=await text("AT+CIMI", "+CIMI:") or None,  # needs the SIM unlocked
        numbers=numbers,
        rssi=rssi,
        registration=registration,
        baud=baud,
    )


async def detect(
    ports: Sequence[str], baud: int | None = None, timeout: float = PROBE_TIMEOUT
) -> tuple[list[DetectedModem], list[Silent]]:
    """Probe ``ports`` side by side (at ``baud`` only, or at the speeds :func:`bauds_for`
    gives each); the modems found (ports of one modem grouped by IMEI, in the order given) and
    the ports that are not modems."""
    results = await asyncio.gather(
        *(probe(port, (baud,) if baud else bauds_for(port), timeout) for port in ports)
    )
    groups: dict[str, list[Found]] = {}
    silent = []
    for result in results:
        if isinstance(result, Silent):
            silent.append(result)
        else:
            groups.setdefault(result.imei or result.port, []).append(result)
    return [DetectedModem(tuple(found)) for found in groups.values()], silent
