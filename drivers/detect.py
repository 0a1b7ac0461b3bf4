"""Finding modems: which serial ports answer AT, and what modem is behind each.

A USB modem exposes several ports (diagnostics, NMEA, PPP, one or two AT ports), and the AT
port is often not the first. Each candidate is opened, asked ``AT`` with a short timeout, and
if it answers, asked only questions (``+CGMI``, ``+CGMM``, ``+CGMR``, ``+CGSN``, ``+CIMI``,
``+CNUM``, ``+CSQ``, ``+CREG?``): nothing is set (no ``ATE0``, no PDU mode, no storage, no
notifications), so the port is left as it was found, for whatever uses it next. Ports of one
modem are grouped by its IMEI.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from drivers import at_replies
from drivers.at_channel import AtChannel, Timeouts
from drivers.errors import AtCommandError, AtReplyError, AtTimeout, DriverError
from drivers.transport import open_link

PROBE_TIMEOUT: Final = 1.5  # seconds a port has to answer AT (an idle modem answers in ms)
# Where modems appear on Linux: the stable names first (udev's by-id links, our own rules'),
# then the kernel's.
CANDIDATE_PATTERNS: Final = (
    "/dev/serial/by-id/*",
    "/dev/smsgw-*",
    "/dev/ttyUSB*",
    "/dev/ttyACM*",
)


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


@dataclass(frozen=True, slots=True)
class Silent:
    """A port that is not a modem's AT port (or could not be opened)."""

    port: str
    reason: str


@dataclass(frozen=True, slots=True)
class Modem:
    """One modem: every port of it that answered AT, the preferred one first."""

    ports: tuple[Found, ...] = field(default_factory=tuple)

    @property
    def best(self) -> Found:
        return self.ports[0]


def candidates(patterns: Iterable[str] = CANDIDATE_PATTERNS) -> list[str]:
    """Serial ports to probe, each device once, under its most stable name."""
    seen: set[str] = set()
    ports = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            device = os.path.realpath(path)
            if device not in seen:
                seen.add(device)
                ports.append(path)
    return ports


async def probe(
    port: str, baudrate: int = 115200, timeout: float = PROBE_TIMEOUT
) -> Found | Silent:
    """Ask ``port`` who it is, changing nothing on it."""
    try:
        link = await asyncio.wait_for(open_link(port, baudrate), timeout)
    except (OSError, DriverError, TimeoutError) as exc:
        return Silent(port, f"cannot open: {exc}")
    channel = AtChannel(link, Timeouts(default=timeout, prompt=timeout, submit=timeout))
    try:
        channel.start()
        try:
            await channel.command("AT")
        except AtTimeout:
            with contextlib.suppress(AtTimeout, AtCommandError):  # an autobauding modem
                await channel.command("AT")
                return await _identify(port, channel)
            return Silent(port, "no answer to AT")
        except AtCommandError as exc:
            return Silent(port, f"answers AT with {exc}")
        return await _identify(port, channel)
    except DriverError as exc:
        return Silent(port, str(exc))
    finally:
        with contextlib.suppress(DriverError, OSError):
            await channel.close()


async def _identify(port: str, channel: AtChannel) -> Found:
    async def text(command: str, prefix: str) -> str:
        with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
            return at_replies.parse_text((await channel.command(command)).lines, prefix)
        return ""

    numbers: tuple[str, ...] = ()
    with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
        numbers = tuple(at_replies.parse_cnum((await channel.command("AT+CNUM")).lines))
    rssi = registration = None
    with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
        rssi = at_replies.parse_csq((await channel.command("AT+CSQ")).lines)[0]
    with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
        reply = await channel.command("AT+CREG?")
        registration = at_replies.parse_registration(reply.lines, "+CREG:").stat
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
    )


async def detect(
    ports: Sequence[str], baudrate: int = 115200, timeout: float = PROBE_TIMEOUT
) -> tuple[list[Modem], list[Silent]]:
    """Probe ``ports`` side by side; the modems found (ports of one modem grouped by IMEI,
    in the order given) and the ports that are not modems."""
    results = await asyncio.gather(*(probe(port, baudrate, timeout) for port in ports))
    groups: dict[str, list[Found]] = {}
    silent = []
    for result in results:
        if isinstance(result, Silent):
            silent.append(result)
        else:
            groups.setdefault(result.imei or result.port, []).append(result)
    return [Modem(tuple(found)) for found in groups.values()], silent
