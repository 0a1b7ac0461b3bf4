"""``smsgw simulate``: a simulated modem other AT software can open, on a pty or TCP."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

from aiohttp import web

from drivers import TransportError, parse_tcp_url
from drivers.simulated import (
    DEFAULT_REPORT_DELAY,
    PERSONALITIES,
    SimulatedModem,
    SimulatedNetwork,
    personality,
)
from drivers.simulated.serve import PtyServer, TcpServer
from gateway.cli.common import Parser, UsageError
from gateway.cli.simulate_control import control_app

DEFAULT_NUMBER = "+15550001001"


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
    parser.add_argument(
        "--number",
        action="append",
        metavar="NUMBER",
        help=f"phone number the modem owns (repeatable; default {DEFAULT_NUMBER})",
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
    if args.baud is not None and not args.pty:
        raise UsageError("--baud goes with --pty (a TCP link has no line speed)")
    if not 0 <= args.report_delay < float("inf"):  # NaN fails both
        raise UsageError("--report-delay must be a number of seconds, 0 or more")
    numbers = args.number or [DEFAULT_NUMBER]
    modem = SimulatedModem(
        numbers, personality(args.personality), pin=args.pin, report_delay=args.report_delay
    )
    try:
        pty = PtyServer(modem, args.pty, args.baud) if args.pty else None
        asyncio.run(_run(modem, numbers, pty, tcp, control))
    except TransportError as exc:
        raise UsageError(str(exc)) from None
    return 0


async def _run(
    modem: SimulatedModem,
    numbers: list[str],
    pty: PtyServer | None,
    tcp: tuple[str, int] | None,
    control: tuple[str, int],
) -> None:
    # Handlers first: once the simulator says where it is, SIGTERM means a clean stop.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    network = SimulatedNetwork()
    for number in numbers:
        network.attach(modem, number)
    server: PtyServer | TcpServer
    if pty is not None:
        server = pty
    else:
        assert tcp is not None
        server = TcpServer(modem, *tcp)
    await server.start()
    runner = web.AppRunner(control_app(modem, network, pty))
    await runner.setup()
    try:
        await web.TCPSite(runner, *control).start()
    except OSError as exc:
        await server.close()
        await runner.cleanup()
        raise TransportError(f"cannot listen on {control[0]}:{control[1]}: {exc}") from exc
    if isinstance(server, PtyServer):
        where = f"{server.path} ({server.device})"
        if server.baud is not None:
            where += f" at {server.baud} baud only"
    else:
        where = f"tcp://{server.host}:{server.port}"
    print(f"simulated modem {', '.join(numbers)} on {where}", flush=True)
    # Port 0 asks for a free one, so that two simulators started alike do not collide.
    port = runner.addresses[0][1]
    print(f"control: http://{control[0]}:{port}/state", flush=True)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        await server.close()
