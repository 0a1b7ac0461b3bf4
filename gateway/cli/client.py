"""``smsgw accounts``, ``modems``, ``send``, ``messages``, ``webhooks`` and ``ussd``: the
running gateway as a person looks at it, over its HTTP API.

Each finds the configuration (:mod:`gateway.cli.locate`), the gateway's address in it (or
``--url``) and the credentials to use (:mod:`gateway.cli.credentials`: the configuration's
``[[accounts]]``, else the account generated in the data directory), and takes the same
options: ``--config``, ``--data-dir``, ``--url`` and ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from pathlib import Path
from typing import Any, Final

from drivers import rssi_dbm
from gateway.cli import credentials, locate
from gateway.cli.common import EXIT_STATUSES, Parser, UsageError
from gateway.cli.credentials import Credentials
from gateway.cli.remote import Remote, Unreachable
from gateway.cli.serve import add_config_options, load_config
from gateway.config import Account, Config

MESSAGES: Final = "/2010-04-01/Accounts/{account}/Messages.json"
MODEMS: Final = "/smsgw/modems.json"
HEALTH: Final = "/healthz"
WEBHOOKS: Final = "/smsgw/webhooks.json"
USSD: Final = "/smsgw/modems/{modem}/ussd.json"
# Seconds for each answer of the network: the API's default (drivers.USSD_TIMEOUT), written
# here because the command line talks HTTP and loads nothing of the modem side.
USSD_TIMEOUT: Final = 30
_USSD_FAILED: Final = ("timed_out", "not_supported")  # answers that did not do the job: exit 1
_ABOUT: Final = (
    "It talks to the running gateway at the configuration's listen address (or --url), with "
    "the configuration's [[accounts]] or the account the gateway made in its data directory."
)


def register(commands: Any) -> None:
    _command(
        commands, "accounts", "show the accounts and whether the gateway takes them", _accounts
    )
    _command(commands, "modems", "show the running gateway's modems", _modems)
    send = _command(commands, "send", "send a message through the gateway", _send)
    send.add_argument("--to", required=True, metavar="NUMBER")
    send.add_argument("--body", required=True, metavar="TEXT")
    send.add_argument("--from", dest="from_", metavar="NUMBER", help="default: the first modem's")
    messages = _command(commands, "messages", "list the newest messages", _messages)
    messages.add_argument("--limit", type=int, default=20, metavar="N", help="default 20")
    _command(
        commands, "webhooks", "show how webhooks stand: pending, delivered, given up", _webhooks
    )
    ussd = _command(commands, "ussd", "run a USSD code through a modem: a balance, a menu", _ussd)
    ussd.add_argument("modem", metavar="MODEM", help="the modem's id, as `smsgw modems` shows")
    ussd.add_argument("code", metavar="CODE", help="the USSD code, e.g. *100#")
    ussd.add_argument(
        "--reply",
        action="append",
        default=[],
        metavar="TEXT",
        help="the answer to a menu; repeat it for each menu in turn",
    )
    ussd.add_argument(
        "--timeout",
        type=int,
        default=USSD_TIMEOUT,
        metavar="SECONDS",
        help=f"for each answer of the network (default {USSD_TIMEOUT})",
    )


def _command(commands: Any, name: str, summary: str, handler: Any) -> Parser:
    parser: Parser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}. {_ABOUT}",
        epilog=EXIT_STATUSES,
    )
    add_config_options(parser)
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where the gateway keeps its database, when it runs with --data-dir "
        "(default: the configuration's data_dir)",
    )
    parser.add_argument(
        "--url", metavar="URL", help="the gateway's address (default: from listen and tls_cert)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=handler, prog=parser.prog)
    return parser


def _connect(args: argparse.Namespace) -> tuple[Config, Remote]:
    config = load_config(args)
    endpoint = locate.endpoint(config, args.url)
    return config, Remote(endpoint, _credentials(args, config))


def _credentials(args: argparse.Namespace, config: Config) -> Credentials:
    origin = "--data-dir" if args.data_dir is not None else f"data_dir in {config.path}"
    return credentials.find(config, origin, args.prog)


def _accounts(args: argparse.Namespace) -> int:
    config = load_config(args)
    endpoint = locate.endpoint(config, args.url)
    found = _credentials(args, config)
    if args.json:
        print(json.dumps([_account_json(account) for account in found.accounts], indent=2))
    else:
        print(f"accounts ({found.source}):")
        for account in found.accounts:
            print(f"  Account SID: {account.sid}\n  Auth token:  {account.auth_token}")
            for key in account.api_keys:
                print(f"    API key {key.sid}  secret {key.secret}")
    # Shown from the files; whether the running gateway takes them is worth knowing too (a
    # gateway started with another --data-dir does not): refused is a failure (exit 1).
    try:
        for account in found.accounts:
            Remote(endpoint, Credentials((account,), found.source)).get(MODEMS)
    except Unreachable as exc:
        print(f"{args.prog}: not checked with the gateway: {exc}", file=sys.stderr)
        return 0
    if not args.json:
        print(f"the gateway at {endpoint.url} takes {'them' if len(found.accounts) > 1 else 'it'}")
    return 0


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "sid": account.sid,
        "auth_token": account.auth_token,
        "api_keys": [{"sid": k.sid, "secret": k.secret} for k in account.api_keys],
    }


def _modems(args: argparse.Namespace) -> int:
    _, remote = _connect(args)
    modems = remote.get(MODEMS)
    if args.json:
        print(json.dumps(modems, indent=2))
        return 0
    if not modems:
        print("no modems")
    for modem in modems:
        _print_modem(modem)
    # /healthz answers 503 when the gateway is not ready, with the same body.
    health = remote.get(HEALTH, answers=frozenset({503}))
    print(_clock(health.get("clock") if isinstance(health, dict) else None))
    return 0


def _clock(clock: object) -> str:
    """``clock: NOT synchronised (adjtimex) since 2026-12-07T20:00:00+00:00; last jump
    +259200.0 s at 2026-12-10T20:00:05+00:00`` (issue 20)."""
    if not isinstance(clock, dict):
        return "clock: not reported (an older gateway?)"
    synchronised = clock.get("synchronised")
    if isinstance(synchronised, bool):
        word = "synchronised" if synchronised else "NOT synchronised"
        line = f"clock: {word} ({clock.get('source')})"
    else:
        line = "clock: state unknown"
    if clock.get("since"):
        line += f" since {clock['since']}"
    jump = clock.get("last_jump")
    if isinstance(jump, dict) and isinstance(seconds := jump.get("seconds"), int | float):
        line += f"; last jump {seconds:+g} s at {jump.get('at')}"
    return line


# The plan's caps as `smsgw modems` names them (gateway.domain.quota).
_QUOTA_LINES: Final = (
    ("parts today", "day"),
    ("parts this month", "month"),
    ("recipients this month", "recipients"),
)


def _print_modem(modem: dict[str, Any]) -> None:
    info = modem.get("info") or {}
    health = modem.get("health") or {}
    rssi = health.get("rssi", info.get("rssi"))
    dbm = rssi_dbm(rssi) if isinstance(rssi, int) else None
    signal = f"{dbm} dBm" if dbm is not None else "unknown"
    numbers = ", ".join(modem["numbers"])
    print(f"{modem['id']}: {modem['state']}  {modem['driver']} {modem['port']}  {numbers}")
    if info:
        identity = info.get("identity", {})
        print(f"  {identity.get('manufacturer', '')} {identity.get('model', '')}, signal {signal}")
    network = health.get("network") or info.get("network")
    if network:
        print(f"  network: {_network(network)}")
    sim = modem.get("sim")
    if sim:
        print(f"  SIM: {_sim(sim)}")
    if info.get("smsc"):
        print(f"  SMSC {info['smsc']}")
    if health.get("storage_total"):
        used, total = health["storage_used"], health["storage_total"]
        print(f"  storage {health['storage']}: {used} of {total} used")
    if modem.get("recoveries"):
        print(f"  brought back into service {modem['recoveries']} times")
    if modem.get("error"):
        print(f"  last error: {modem['error']}")
    if modem.get("trouble"):
        print(f"  refusing to send: {modem['trouble']} ({modem['troubles']} times so far)")
    if modem.get("balance"):
        print(f"  balance {modem['balance']['value']:g} (read {modem['balance']['at']})")
    quota = modem.get("quota") or {}
    for name, period in _QUOTA_LINES:
        if cap := quota.get(period):
            used, limit, left = cap["used"], cap["limit"], cap["left"]
            print(f"  quota: {used} of {limit} {name}, {left} left until {cap['resets_at']}")


def _network(network: dict[str, Any]) -> str:
    """``Vodafone.de (26202), UTRAN, roaming, LAC 0502 cell 0404736D``."""
    if not network["registered"]:
        return f"not registered (+CREG <stat> {network['stat']})"
    operator = network["operator"] or network["code"] or "unknown operator"
    if network["operator"] and network["code"]:
        operator += f" ({network['code']})"
    parts = [operator, network["technology"], "roaming" if network["roaming"] else "home"]
    if network["lac"] or network["ci"]:
        parts.append(f"LAC {network['lac'] or '?'} cell {network['ci'] or '?'}")
    return ", ".join(part for part in parts if part)


def _sim(sim: dict[str, Any]) -> str:
    """``PIN required, 2 PIN attempts left, 10 PUK attempts left``."""
    state = {"pin_required": "PIN required", "puk_required": "PUK required"}.get(
        sim["state"], sim["state"]
    )
    left = [
        f"{count} {code} attempt{'' if count == 1 else 's'} left"
        for code, count in (("PIN", sim["pin_attempts"]), ("PUK", sim["puk_attempts"]))
        if count is not None
    ]
    return ", ".join([state, *left])


def _webhooks(args: argparse.Namespace) -> int:
    _, remote = _connect(args)
    states = remote.get(WEBHOOKS)
    if args.json:
        print(json.dumps(states, indent=2))
        return 0
    print(
        f"{states['pending']} pending, {states['delivered']} delivered, {states['failed']} given up"
    )
    for item in states["troubled"]:
        when = f"next try {item['next_attempt']}" if item["next_attempt"] else "given up"
        print(f"  {item['message_sid']}  {item['kind']} to {item['url']}")
        print(f"    {item['attempts']} attempts, {when}: {item['last_error']}")
    return 0


def _send(args: argparse.Namespace) -> int:
    config, remote = _connect(args)
    sender = args.from_ or (config.modems[0].numbers[0] if config.modems else "")
    message = remote.post(MESSAGES, {"To": args.to, "From": sender, "Body": args.body})
    if args.json:
        print(json.dumps(message, indent=2, ensure_ascii=False))
        return 0
    segments = message["num_segments"]
    print(
        f"{message['sid']} {message['status']}: {message['from']} -> {message['to']}, "
        f"{segments} segment{'s' if segments != '1' else ''}"
    )
    return 0


def _messages(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 1000:
        raise UsageError("--limit must be between 1 and 1000")
    _, remote = _connect(args)
    messages = remote.get(MESSAGES, {"PageSize": str(args.limit)})["messages"]
    if args.json:
        print(json.dumps(messages, indent=2, ensure_ascii=False))
        return 0
    if not messages:
        print("no messages yet")
    for message in messages:
        body = message["body"].replace("\n", " ")
        body = body if len(body) <= 40 else body[:39] + "…"
        when = message["date_sent"] or message["date_created"]
        print(
            f"{message['sid']}  {when}  {message['direction']:<14} {message['status']:<11} "
            f"{message['from']} -> {message['to']}  {body}"
        )
    return 0


def _ussd(args: argparse.Namespace) -> int:
    if args.timeout < 1:
        # The gateway refuses it too, but the wait for its answer is computed from it first:
        # a negative one is no socket timeout at all (ValueError).
        raise UsageError(f"--timeout must be 1 second or more, not {args.timeout}")
    _, remote = _connect(args)
    form = [("Code", args.code), *(("Reply", reply) for reply in args.reply)]
    form.append(("Timeout", str(args.timeout)))
    # The network answers each string in seconds (up to --timeout): this request waits for it.
    patient = Remote(remote.endpoint, remote.credentials, (len(args.reply) + 1) * args.timeout + 10)
    path = USSD.replace("{modem}", urllib.parse.quote(args.modem, safe=""))
    session = patient.post(path, form)
    if args.json:
        print(json.dumps(session, indent=2, ensure_ascii=False))
    else:
        for step in session["steps"]:
            print(f"> {step['sent']}")
            for line in (step["text"] or "").splitlines():
                print(f"  {line}")
            print(f"  ({step['status']})")
        if session["menu_closed"]:
            print("the menu was closed: give a --reply for it to go on")
    return 1 if session["status"] in _USSD_FAILED else 0
