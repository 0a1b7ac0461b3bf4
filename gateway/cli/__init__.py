"""The ``smsgw`` command line.

Every command reports bad input as one readable line on stderr and exits with status 2, and a
job it could not do (the gateway unreachable...) as one line with status 1; it never shows a
traceback for something the user typed or for the state of the machine.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any, Final, Protocol, cast

from gateway.cli.common import EXIT_FAILURE, EXIT_STATUSES, EXIT_USAGE, Failure, Parser, UsageError

# The modules that make up the command line, in the order ``smsgw --help`` lists them.
MODULES: Final = ("serve", "client", "pdu", "simulate", "detect", "init")
# A command that is the only one of its module: parsed by a parser that holds that module
# alone, so that the others (the simulator, port detection, the HTTP client...) are never
# imported. `smsgw serve` runs for months on a Pi: what it imported stays resident (about
# 0.35 MiB for these). Any other command line gets the whole parser.
_ALONE: Final = frozenset(MODULES) - {"client"}  # each names its one command; client has many


class _Command(Protocol):
    def register(self, commands: Any) -> None: ...


def build_parser(modules: Sequence[str] = MODULES) -> Parser:
    parser = Parser(
        prog="smsgw", description="A local, Twilio-compatible SMS gateway.", epilog=EXIT_STATUSES
    )
    commands = parser.add_subparsers(metavar="COMMAND", parser_class=Parser)
    for name in modules:
        command = cast(_Command, importlib.import_module(f"gateway.cli.{name}"))
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    alone = words[0] if words and words[0] in _ALONE else None
    parser = build_parser((alone,) if alone is not None else MODULES)
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
