"""``smsgw detect``: find the modems plugged in, and print the configuration for them."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from typing import Any

from drivers.at_replies import rssi_dbm
from drivers.detect import PROBE_TIMEOUT, Found, Modem, Silent, candidates, detect
from gateway.cli.common import Parser, UsageError, to_jsonable

EXIT_NONE_FOUND = 1
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
            "Probe serial ports (the stable /dev/serial/by-id names first) for modems that "
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
    parser.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
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
    if args.baud <= 0 or args.timeout <= 0:
        raise UsageError("--baud and --timeout must be positive")
    ports = args.port or candidates()
    if not ports:
        print("no serial ports found (is the modem plugged in? try --port /dev/ttyUSB2)")
        return EXIT_NONE_FOUND
    modems, silent = asyncio.run(detect(ports, args.baud, args.timeout))
    if args.json:
        print(json.dumps({"modems": to_jsonable(modems), "not_modems": to_jsonable(silent)}))
    else:
        print(_report(modems, silent, args.baud))
    return 0 if modems else EXIT_NONE_FOUND


def _report(modems: list[Modem], silent: list[Silent], baud: int) -> str:
    lines = [f"Found {len(modems)} modem{'' if len(modems) == 1 else 's'}."]
    blocks = []
    for index, modem in enumerate(modems, 1):
        best = modem.best
        lines.append("")
        lines.append(f"{best.port}")
        lines.append(f"  {_describe(best)}")
        for other in modem.ports[1:]:
            lines.append(f"  also answers AT: {other.port}")
        blocks.append(_block(best, index, baud))
    if silent:
        lines.append("")
        lines.append("Not modems (or not their AT port):")
        lines += [f"  {port.port}: {port.reason}" for port in silent]
    if blocks:
        lines.append("")
        lines.append("For the configuration file:")
        for block in blocks:
            lines.append("")
            lines.append(block)
    return "\n".join(lines)


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
    return ", ".join(parts)


def _block(found: Found, index: int, baud: int) -> str:
    name = re.sub(r"[^a-z0-9]+", "", found.model.lower())[:16] or f"modem{index}"
    if found.numbers:
        numbers = ", ".join(f'"{number}"' for number in found.numbers)
        number_line = f"numbers = [{numbers}]  # from AT+CNUM: check it"
    else:
        number_line = 'numbers = ["+15550000000"]  # the SIM does not say its number: put it here'
    return "\n".join(
        [
            "[[modems]]",
            f'id = "{name}{index if index > 1 else ""}"',
            'driver = "serial"',
            f'port = "{found.port}"',
            f"baud = {baud}",
            number_line,
            *(['# pin = "1234"  # the SIM is locked: its PIN'] if not found.imsi else []),
        ]
    )
