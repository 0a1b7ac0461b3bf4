"""The ``smsgw`` command line.

Every command reports bad input as one readable line on stderr and exits with status 2, and a
job it could not do (the gateway unreachable...) as one line with status 1; it never shows a
traceback for something the user typed or for the state of the machine.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gateway.cli import client, detect, init, pdu, serve, simulate
from gateway.cli.common import EXIT_FAILURE, EXIT_STATUSES, EXIT_USAGE, Failure, Parser, UsageError


def build_parser() -> Parser:
    parser = Parser(
        prog="smsgw", description="A local, Twilio-compatible SMS gateway.", epilog=EXIT_STATUSES
    )
    commands = parser.add_subparsers(metavar="COMMAND", parser_class=Parser)
    serve.register(commands)
    client.register(commands)
    pdu.register(commands)
    simulate.register(commands)
    detect.register(commands)
    init.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status: int = handler(args)
    except UsageError as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Failure as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return status
