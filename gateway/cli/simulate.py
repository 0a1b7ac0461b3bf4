"""``smsgw simulate``: a simulated modem other AT software can open, on a pty or TCP; or a
fleet of them, each on its own pty, in one process on one simulated network."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from drivers import TransportError, parse_tcp_url
from drivers.simulated import (
    DEFAULT_ACK_TIMEOUT,
    DEFAULT_REPORT_DELAY,
    PERSONALITIES,
    SimulatedFleet,
)
from drivers.simulated.serve import PtyServer, TcpServer
from gateway.cli.common import Parser, UsageError
from gateway.cli.simulate_control import control_app, fleet_control_app

DEFAULT_NUMBER = "+15550001001"
# A pool big enough to emulate any real one; beyond it a typo (an extra zero) more likely
# than a wish, and each modem holds a pty (the kernel's are limited: /proc/sys/kernel/pty/max).
MAX_COUNT: Final = 64
_NUMBER: Final = re.compile(r"(\+?)([0-9]+)")


def register(commands: Any) -> None:
    parser: Parser = commands.add_parser(
        "simulate",
        help="run a simulated modem on a pty or a TCP port",
        description=(
            "Run a simulated GSM modem that speaks real AT commands, for trying the gateway "
            "or other SMS software without hardware. Messages it sends go to virtual handsets "
            "(delivered unless a rule says otherwise); inject inbound SMS and faults through "
            "the control interface."
        ),
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", metavar="PATH", help="create a pty and link it at PATH")
    where.add_argument("--tcp", metavar="HOST:PORT", help="listen for one TCP client")
    where.add_argument(
        "--pty-dir",
        metavar="DIR",
        help="run a fleet of --count modems, on ptys DIR/ttySIM0, DIR/ttySIM1...",
    )
    parser.add_argument(
        "--count",
        type=int,
        metavar="N",
        help=f"with --pty-dir: how many modems (1 to {MAX_COUNT}; default 1)",
    )
    parser.add_argument(
        "--number",
        action="append",
        metavar="NUMBER",
        help=(
            f"phone number the modem owns (repeatable; default {DEFAULT_NUMBER}); with "
            "--pty-dir, once: the first modem's, the next ones' counting up from it"
        ),
    )
    parser.add_argument(
        "--personality",
        default="generic",
        choices=sorted(PERSONALITIES),
        metavar="NAME",
        help="vendor behaviour: " + ", ".join(sorted(PERSONALITIES)),
    )
    parser.add_argument("--pin", metavar="PIN", help="the SIM asks for this PIN")
    parser.add_argument(
        "--baud",
        type=int,
        metavar="N",
        help=(
            "with --pty: answer only a host that set this line speed, as a modem on a UART "
            "that does not autobaud (default: any)"
        ),
    )
    parser.add_argument(
        "--report-delay",
        type=float,
        default=DEFAULT_REPORT_DELAY,
        metavar="SECONDS",
        help=(
            "how long the network takes to report on a message sent, as a real one takes "
            f"seconds (default {DEFAULT_REPORT_DELAY:g}; 0: at once; POST /report-delay "
            "changes it)"
        ),
    )
    parser.add_argument(
        "--ack-timeout",
        type=float,
        default=DEFAULT_ACK_TIMEOUT,
        metavar="SECONDS",
        help=(
            "how long a routed +CMT/+CDS waits for AT+CNMA (with AT+CSMS=1) before the modem "
            "turns routing off and the network keeps it for later, TS 27.005 3.4.1 (default "
            f"{DEFAULT_ACK_TIMEOUT:g}; 0: for ever; POST /ack-timeout changes it)"
        ),
    )
    parser.add_argument(
        "--control",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where the JSON control interface listens (default: a free port on 127.0.0.1, "
        "printed at start; port 0 is any free one)",
    )
    parser.set_defaults(handler=_simulate, prog=parser.prog)


def _host_port(value: str, option: str) -> tuple[str, int]:
    try:
        return parse_tcp_url(f"tcp://{value}")
    except TransportError:
        raise UsageError(f"{option} must be HOST:PORT, not {value!r}") from None


def _simulate(args: argparse.Namespace) -> int:
    control = _host_port(args.control, "--control")
    tcp = _host_port(args.tcp, "--tcp") if args.tcp else None
    if args.baud is not None and tcp is not None:
        raise UsageError("--baud goes with --pty (a TCP link has no line speed)")
    if args.count is not None and not args.pty_dir:
        raise UsageError("--count goes with --pty-dir")
    if not 0 <= args.report_delay < float("inf"):  # NaN fails both
        raise UsageError("--report-delay must be a number of seconds, 0 or more")
    if not 0 <= args.ack_timeout < float("inf"):
        raise UsageError("--ack-timeout must be a number of seconds, 0 or more")
    if args.pty_dir and not Path(args.pty_dir).is_dir():
        raise UsageError(f"--pty-dir {args.pty_dir} is not a directory")
    fleet = SimulatedFleet()
    # Modem i owns numbers[i] (all of them with --pty / --tcp, which serve one modem).
    numbers = _fleet_numbers(args) if args.pty_dir else [args.number or [DEFAULT_NUMBER]]
    modems = [
        fleet.modem(str(i), owned, args.personality, args.pin, args.report_delay)
        for i, owned in enumerate(numbers)
    ]
    for modem in modems:
        modem.ack_timeout = args.ack_timeout or None
    try:
        if args.pty_dir:
            ptys = [
                PtyServer(modem, Path(args.pty_dir) / f"ttySIM{i}", args.baud)
                for i, modem in enumerate(modems)
            ]
            app = fleet_control_app(fleet.network, ptys)
            asyncio.run(_run(ptys, app, control, "/modems"))
        else:
            (modem,) = modems
            pty = PtyServer(modem, args.pty, args.baud) if args.pty else None
            server: PtyServer | TcpServer
            if pty is not None:
                server = pty
            else:
                assert tcp is not None
                server = TcpServer(modem, *tcp)
            app = control_app(modem, fleet.network, pty)
            asyncio.run(_run([server], app, control, "/state"))
    except TransportError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _fleet_numbers(args: argparse.Namespace) -> list[list[str]]:
    """Each modem's number for ``--pty-dir``: ``--number`` and the ones after it."""
    count = 1 if args.count is None else args.count
    if not 1 <= count <= MAX_COUNT:
        raise UsageError(f"--count must be from 1 to {MAX_COUNT}, not {count}")
    if args.number is not None and len(args.number) > 1:
        raise UsageError("--pty-dir takes one --number: the first modem's")
    first = args.number[0] if args.number else DEFAULT_NUMBER
    match = _NUMBER.fullmatch(first)
    if match is None:
        raise UsageError(f"--number must be digits (after a +) to count up from, not {first!r}")
    plus, digits = match.groups()
    last = int(digits) + count - 1
    if len(str(last)) > len(digits):
        raise UsageError(f"{count} numbers from {first} do not fit in {len(digits)} digits")
    return [[f"{plus}{int(digits) + i:0{len(digits)}d}"] for i in range(count)]


async def _run(
    servers: Sequence[PtyServer | TcpServer],
    app: web.Application,
    control: tuple[str, int],
    landing: str,
) -> None:
    """Serve the modems and the control ``app`` until SIGINT or SIGTERM; the banner names
    each modem's pty (or port), then the control's ``landing`` page."""
    # Handlers first: once the simulator says where it is, SIGTERM means a clean stop.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app)
    started: list[PtyServer | TcpServer] = []
    try:
        for server in servers:
            await server.start()
            started.append(server)
        await runner.setup()
        try:
            await web.TCPSite(runner, *control).start()
        except OSError as exc:
            raise TransportError(f"cannot listen on {control[0]}:{control[1]}: {exc}") from exc
        for server in servers:
            print(f"simulated modem {', '.join(server.modem.numbers)} on {_where(server)}")
        # Port 0 asks for a free one, so that two simulators started alike do not collide.
        port = runner.addresses[0][1]
        print(f"control: http://{control[0]}:{port}{landing}", flush=True)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        for server in started:
            await server.close()


def _where(server: PtyServer | TcpServer) -> str:
    if isinstance(server, TcpServer):
        return f"tcp://{server.host}:{server.port}"
    where = f"{server.path} ({server.device})"
    if server.baud is not None:
        where += f" at {server.baud} baud only"
    return where
