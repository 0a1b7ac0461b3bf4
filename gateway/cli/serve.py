"""``smsgw serve``: run the gateway until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from gateway import config as configuration
from gateway import logs, tls
from gateway.cli import locate
from gateway.cli.common import Parser, UsageError
from gateway.errors import ConfigError, GatewayError
from gateway.runtime import Gateway

EXIT_FAILURE = 1


def register(commands: Any) -> None:
    parser: Parser = commands.add_parser(
        "serve",
        help="run the gateway",
        description="Run the gateway: the Twilio-compatible API, the modems and the queue.",
    )
    add_config_options(parser)
    parser.add_argument("--listen", metavar="HOST:PORT", help="override [gateway] listen")
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="override [gateway] data_dir")
    parser.set_defaults(handler=_serve, prog=parser.prog)


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="the TOML configuration (default: $SMSGW_CONFIG, else /etc/smsgw/gateway.toml, "
        "else config/gateway.toml)",
    )


def load_config(args: argparse.Namespace) -> configuration.Config:
    try:
        return configuration.load(
            locate.config_path(args.config),
            listen=getattr(args, "listen", None),
            data_dir=getattr(args, "data_dir", None),
        )
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args)
    try:
        tls.server_context(config)  # read now: a bad file is a configuration mistake (exit 2)
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None
    logs.configure(config.log_level, config.log_format)
    try:
        asyncio.run(_run(config))
    except GatewayError as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


async def _run(config: configuration.Config) -> None:
    # Handlers first: once the gateway says it is listening, SIGTERM means a clean stop.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    gateway = Gateway(config)
    await gateway.start()
    try:
        _announce(gateway)
        await stop.wait()
    finally:
        await gateway.stop()


def _announce(gateway: Gateway) -> None:
    lines = [f"smsgw is listening on {gateway.base_url}"]
    if gateway.generated is not None:
        account = gateway.generated
        lines += [
            "A new account was created (shown this once; `smsgw accounts` shows it again):",
            f"  Account SID: {account.sid}",
            f"  Auth token:  {account.auth_token}",
        ]
    for handle in gateway.modems.handles.values():
        numbers = ", ".join(handle.config.numbers)
        lines.append(f"  modem {handle.id} ({handle.config.driver}): {numbers}")
    print("\n".join(lines), flush=True)
