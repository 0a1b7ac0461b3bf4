"""``smsgw serve``: run the gateway until SIGINT or SIGTERM; SIGHUP reloads the configuration.

A reload reads the file again with the same command-line overrides, checks it as a start does,
and applies it (:meth:`gateway.runtime.Gateway.reload`). A configuration with a mistake is
refused with the line a start would print, logged at ERROR, and the gateway runs on as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from gateway import config as configuration
from gateway import logs
from gateway.api import tls
from gateway.cli import locate
from gateway.cli.common import Parser, UsageError
from gateway.config import Account
from gateway.domain.errors import ConfigError, GatewayError
from gateway.runtime import Gateway
from gateway.waiting import stop_tasks

EXIT_FAILURE = 1

log = logging.getLogger(__name__)


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


def _checked_config(args: argparse.Namespace) -> configuration.Config:
    """The configuration, checked as a start needs it; :class:`UsageError` otherwise."""
    config = load_config(args)
    try:
        tls.server_context(config)  # read now: a bad file is a configuration mistake (exit 2)
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None
    return config


def _serve(args: argparse.Namespace) -> int:
    config = _checked_config(args)
    logs.configure(config.log_level, config.log_format)
    try:
        asyncio.run(_run(config, args))
    except GatewayError as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


async def _run(config: configuration.Config, args: argparse.Namespace) -> None:
    # Handlers first: once the gateway says it is listening, SIGTERM means a clean stop; a
    # SIGHUP that comes during the start is kept for when it is done (its default action
    # would end the process).
    stop, hangup = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hangup.set)
    gateway = Gateway(config)
    await gateway.start()
    reloads = gateway.tasks.spawn("reloads", functools.partial(_reloads, gateway, args, hangup))
    try:
        _announce(gateway)
        await stop.wait()
    finally:
        await gateway.stop()  # a reload under way ends with it
        await stop_tasks([reloads])


async def _reloads(gateway: Gateway, args: argparse.Namespace, hangup: asyncio.Event) -> None:
    """Each SIGHUP, the configuration read again and applied (several at once: one reload)."""
    while True:
        await hangup.wait()
        hangup.clear()
        await _reload(gateway, args)


async def _reload(gateway: Gateway, args: argparse.Namespace) -> None:
    try:
        new = _checked_config(args)
    except UsageError as exc:
        log.error("%s; not reloaded: the gateway runs on as it was", exc)
        return
    before, generated = gateway.config, gateway.generated
    try:
        await gateway.reload(new)
    except GatewayError as exc:
        log.error("reloading the configuration failed: %s; the gateway runs on as it was", exc)
        return
    if (new.log_level, new.log_format) != (before.log_level, before.log_format):
        logs.configure(new.log_level, new.log_format)
    if gateway.generated is not None and gateway.generated is not generated:
        # Every [[accounts]] removed, and none in the database: shown once, as at a start.
        print("\n".join(_new_account(gateway.generated)), flush=True)


def _announce(gateway: Gateway) -> None:
    lines = [f"smsgw is listening on {gateway.base_url}"]
    if gateway.generated is not None:
        lines += _new_account(gateway.generated)
    for handle in gateway.modems.handles.values():
        numbers = ", ".join(handle.config.numbers)
        lines.append(f"  modem {handle.id} ({handle.config.driver}): {numbers}")
    print("\n".join(lines), flush=True)


def _new_account(account: Account) -> list[str]:
    return [
        "A new account was created (shown this once; `smsgw accounts` shows it again):",
        f"  Account SID: {account.sid}",
        f"  Auth token:  {account.auth_token}",
    ]
