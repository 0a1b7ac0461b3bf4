"""``smsgw detect``: find the modems plugged in, and print the configuration for them."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from drivers import (
    DEFAULT_BAUD,
    DEVICES,
    PROBE_TIMEOUT,
    DetectedModem,
    Found,
    Silent,
    candidates,
    detect,
    rssi_dbm,
)
from gateway.cli.common import Parser, UsageError, to_jsonable

EXIT_NONE_FOUND = 1
MAX_ID: Final = 20
_PRODUCT: Final = re.compile(r"[a-z]+[0-9]+")
_WORD: Final = re.compile(r"[a-z0-9]+")
_NUMBERED: Final = re.compile(r"(.*?)(0|[1-9][0-9]*)")  # no leading zero: written back the same
_REGISTRATION = {
    0: "not registered",
    1: "registered (home)",
    2: "searching",
    3: "registration denied",
    4: "registration unknown",
    5: "registered (roaming)",
}


def register(commands: Any) -> None:
    parser: Parser = commands.add_parser(
        "detect",
        help="find the modems plugged in and print their [[modems]] configuration",
        description=(
            "Probe serial ports (the stable /dev/serial/by-id names first, then USB ports, "
            "then a Raspberry Pi's UARTs: /dev/serial0, ttyAMA*, ttyS*) for modems that "
            "answer AT, identify each, and print a [[modems]] block for the configuration. "
            "It only asks questions: nothing is set on any port."
        ),
    )
    parser.add_argument(
        "--port",
        action="append",
        metavar="PATH",
        help="probe this port (repeatable; default: /dev/serial/by-id/*, /dev/ttyUSB*, ...)",
    )
    parser.add_argument(
        "--dev",
        default=DEVICES,
        metavar="DIR",
        help=f"look for the default ports under DIR (default {DEVICES})",
    )
    parser.add_argument(
        "--baud",
        type=int,
        help=(
            f"probe at this baud rate only (default: {DEFAULT_BAUD}, and on a UART that does "
            "not answer, 9600 and 57600)"
        ),
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=PROBE_TIMEOUT,
        metavar="SECONDS",
        help=f"how long a port has to answer AT (default {PROBE_TIMEOUT:g})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_detect, prog=parser.prog)


def _detect(args: argparse.Namespace) -> int:
    if (args.baud is not None and args.baud <= 0) or args.timeout <= 0:
        raise UsageError("--baud and --timeout must be positive")
    ports = args.port or candidates(root=args.dev)
    if not ports:
        print(
            f"no serial ports found under {args.dev} (is the modem plugged in, or the Pi's "
            "UART enabled? try --port /dev/ttyUSB2)"
        )
        return EXIT_NONE_FOUND
    modems, silent = asyncio.run(detect(ports, args.baud, args.timeout))
    if args.json:
        print(json.dumps({"modems": to_jsonable(modems), "not_modems": to_jsonable(silent)}))
    else:
        print(_report(modems, silent))
    return 0 if modems else EXIT_NONE_FOUND


def _report(modems: list[DetectedModem], silent: list[Silent]) -> str:
    lines = [f"Found {len(modems)} modem{'' if len(modems) == 1 else 's'}."]
    for modem in modems:
        best = modem.best
        lines.append("")
        lines.append(f"{best.port}")
        lines.append(f"  {_describe(best)}")
        for other in modem.ports[1:]:
            lines.append(f"  also answers AT: {other.port}")
    if silent:
        lines.append("")
        lines.append("Not modems (or not their AT port):")
        lines += _silent_lines(silent)
    if modems:
        lines.append("")
        lines.append("For the configuration file:")
        ids = modem_ids([modem.best for modem in modems])
        for modem, modem_id in zip(modems, ids, strict=True):
            lines.append("")
            lines.append(_block(modem.best, modem_id))
    return "\n".join(lines)


def _silent_lines(silent: list[Silent]) -> list[str]:
    """One line per reason, its ports together (32 ttyS ports a PC has and nothing answers
    on are one line, not 32)."""
    by_reason: dict[str, list[str]] = {}
    for port in silent:
        by_reason.setdefault(port.reason, []).append(port.port)
    return [f"  {port_ranges(ports)}: {reason}" for reason, ports in by_reason.items()]


def port_ranges(ports: Sequence[str]) -> str:
    """``ports`` in short: numbered names of one stem as brace ranges, as the shell writes
    them (``/dev/ttyS{0..3,5}``); the others as they are; in the order first seen."""
    stems: dict[str, list[int]] = {}
    order: list[str] = []
    for port in ports:
        numbered = _NUMBERED.fullmatch(port)
        if numbered is None:
            order.append(port)
            continue
        stem = numbered.group(1)
        if stem not in stems:
            stems[stem] = []
            order.append(stem)
        stems[stem].append(int(numbered.group(2)))
    return ", ".join(_ranged(item, stems[item]) if item in stems else item for item in order)


def _ranged(stem: str, numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"{stem}{numbers[0]}"
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    spans = [f"{run[0]}..{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs]
    return f"{stem}{{{','.join(spans)}}}"


def modem_id(manufacturer: str, model: str) -> str:
    """A readable ``[[modems]]`` id: the model's product code (from ``+CGMM``, lower case,
    the first run of letters followed by digits: ``SIMCOM_SIM7600E-H`` gives ``sim7600``,
    ``EC25`` ``ec25``, ``E3372`` ``e3372``); else the maker's first word (from ``+CGMI``:
    ``WAVECOM MODEM`` gives ``wavecom``, and the simulator, ``smsgw``); else ``modem``."""
    product = _PRODUCT.search(model.lower())
    if product is not None:
        return product.group()[:MAX_ID]
    word = _WORD.search(manufacturer.lower())
    return word.group()[:MAX_ID] if word is not None else "modem"


def modem_ids(found: Sequence[Found]) -> list[str]:
    """:func:`modem_id` for each modem, in order; a name that comes again gets ``-2``,
    ``-3``... (``sim7600``, ``sim7600-2``)."""
    seen: Counter[str] = Counter()
    ids = []
    for modem in found:
        name = modem_id(modem.manufacturer, modem.model)
        seen[name] += 1
        ids.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return ids


def _describe(found: Found) -> str:
    parts = [f"{found.manufacturer} {found.model}".strip() or "unknown modem"]
    if found.revision:
        parts.append(f"firmware {found.revision}")
    if found.imei:
        parts.append(f"IMEI {found.imei}")
    parts.append(f"SIM {found.imsi}" if found.imsi else "SIM locked or missing (no IMSI)")
    if found.numbers:
        parts.append("number " + ", ".join(found.numbers))
    dbm = rssi_dbm(found.rssi) if found.rssi is not None else None
    parts.append(f"signal {dbm} dBm" if dbm is not None else "signal unknown")
    if found.registration is not None:
        parts.append(_REGISTRATION.get(found.registration, f"registration {found.registration}"))
    if found.baud != DEFAULT_BAUD:
        parts.append(f"at {found.baud} baud")
    return ", ".join(parts)


def _block(found: Found, modem_id: str) -> str:
    if found.numbers:
        numbers = ", ".join(f'"{number}"' for number in found.numbers)
        number_line = f"numbers = [{numbers}]  # from AT+CNUM: check it"
    else:
        number_line = 'numbers = ["+15550000000"]  # the SIM does not say its number: put it here'
    return "\n".join(
        [
            "[[modems]]",
            f'id = "{modem_id}"',
            'driver = "serial"',
            f'port = "{found.port}"',
            *([f"baud = {found.baud}"] if found.baud != DEFAULT_BAUD else []),
            number_line,
            *(['# pin = "1234"  # the SIM is locked: its PIN'] if not found.imsi else []),
        ]
    )
