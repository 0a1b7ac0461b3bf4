"""``smsgw accounts``, ``modems``, ``send`` and ``messages``: looking at a gateway as a person
would. The last three talk to the running gateway's HTTP API with the first account's
credentials, found in the configuration or, when it names none, in the data directory."""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from drivers.at_replies import rssi_dbm
from gateway import tls
from gateway.cli.common import Parser, UsageError
from gateway.cli.serve import add_config_options, load_config
from gateway.config import Account, Config
from gateway.errors import ConfigError
from gateway.store.sqlite import read_accounts

EXIT_FAILURE = 1
TIMEOUT = 10.0


def register(commands: Any) -> None:
    accounts: Parser = commands.add_parser("accounts", help="show the accounts and credentials")
    add_config_options(accounts)
    accounts.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="override [gateway] data_dir"
    )
    accounts.add_argument("--json", action="store_true", help="print JSON")
    accounts.set_defaults(handler=_accounts, prog=accounts.prog)

    modems: Parser = commands.add_parser("modems", help="show the running gateway's modems")
    add_config_options(modems)
    modems.add_argument("--json", action="store_true", help="print JSON")
    modems.set_defaults(handler=_modems, prog=modems.prog)

    send: Parser = commands.add_parser("send", help="send a message through the gateway")
    add_config_options(send)
    send.add_argument("--to", required=True, metavar="NUMBER")
    send.add_argument("--body", required=True, metavar="TEXT")
    send.add_argument("--from", dest="from_", metavar="NUMBER", help="default: the first modem's")
    send.add_argument("--json", action="store_true", help="print the message as JSON")
    send.set_defaults(handler=_send, prog=send.prog)

    webhooks: Parser = commands.add_parser(
        "webhooks", help="show how webhooks stand: pending, delivered, given up"
    )
    add_config_options(webhooks)
    webhooks.add_argument("--json", action="store_true", help="print JSON")
    webhooks.set_defaults(handler=_webhooks, prog=webhooks.prog)

    messages: Parser = commands.add_parser("messages", help="list the newest messages")
    add_config_options(messages)
    messages.add_argument("--limit", type=int, default=20, metavar="N", help="default 20")
    messages.add_argument("--json", action="store_true", help="print JSON")
    messages.set_defaults(handler=_messages, prog=messages.prog)


def _all_accounts(config: Config) -> list[Account]:
    return list(config.accounts) or read_accounts(config.data_dir)


class _NoAccount(UsageError):
    pass


def _first_account(config: Config) -> Account:
    accounts = _all_accounts(config)
    if not accounts:
        raise _NoAccount("no account yet: start the gateway once (smsgw serve) and it creates one")
    return accounts[0]


def _accounts(args: argparse.Namespace) -> int:
    config = load_config(args)
    accounts = _all_accounts(config)
    if args.json:
        print(json.dumps([_account_json(account) for account in accounts], indent=2))
        return 0
    if not accounts:
        print("no accounts yet: start the gateway once (smsgw serve) and it creates one")
        return 0
    source = "configuration" if config.accounts else f"data directory {config.data_dir}"
    print(f"accounts ({source}):")
    for account in accounts:
        print(f"  Account SID: {account.sid}\n  Auth token:  {account.auth_token}")
        for key in account.api_keys:
            print(f"    API key {key.sid}  secret {key.secret}")
    return 0


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "sid": account.sid,
        "auth_token": account.auth_token,
        "api_keys": [{"sid": k.sid, "secret": k.secret} for k in account.api_keys],
    }


class _Api:
    def __init__(self, config: Config, prog: str) -> None:
        host = "127.0.0.1" if config.host in ("0.0.0.0", "::") else config.host
        self.base = f"{'https' if config.tls_cert else 'http'}://{host}:{config.port}"
        self.context: ssl.SSLContext | None = None
        if config.tls_cert is not None:
            try:
                self.context = tls.pinned_context(config.tls_cert)
            except ConfigError as exc:
                raise UsageError(f"configuration: {exc}") from None
        self.config = config
        self.prog = prog

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        account = _first_account(self.config)
        credentials = base64.b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(
            self.base + path.format(account=account.sid), data=data, method=method
        )
        request.add_header("Authorization", f"Basic {credentials}")
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=self.context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
            code, text = body.get("code", exc.code), body.get("message", exc.reason)
            raise UsageError(f"{code}: {text}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise _NotRunning(f"the gateway is not running at {self.base} ({exc})") from None


class _NotRunning(UsageError):
    pass


def _modems(args: argparse.Namespace) -> int:
    config = load_config(args)
    try:
        modems = _Api(config, args.prog).request("GET", "/smsgw/modems.json")
    except (_NotRunning, _NoAccount):  # no gateway to ask: what the configuration says
        modems = [
            {"id": m.id, "driver": m.driver, "port": m.port, "numbers": list(m.numbers)}
            | {"state": "gateway not running", "info": None, "error": None}
            for m in config.modems
        ]
    if args.json:
        print(json.dumps(modems, indent=2))
        return 0
    if not modems:
        print("no modems configured")
    for modem in modems:
        info = modem.get("info") or {}
        health = modem.get("health") or {}
        rssi = health.get("rssi", info.get("rssi"))
        dbm = rssi_dbm(rssi) if isinstance(rssi, int) else None
        signal = f"{dbm} dBm" if dbm is not None else "unknown"
        numbers = ", ".join(modem["numbers"])
        print(f"{modem['id']}: {modem['state']}  {modem['driver']} {modem['port']}  {numbers}")
        if info:
            identity = info.get("identity", {})
            print(
                f"  {identity.get('manufacturer', '')} {identity.get('model', '')}, signal {signal}"
            )
        if health.get("storage_total"):
            used, total = health["storage_used"], health["storage_total"]
            print(f"  storage {health['storage']}: {used} of {total} used")
        if modem.get("recoveries"):
            print(f"  brought back into service {modem['recoveries']} times")
        if modem.get("error"):
            print(f"  last error: {modem['error']}")
        if modem.get("trouble"):
            print(f"  refusing to send: {modem['trouble']} ({modem['troubles']} times so far)")
    return 0


def _webhooks(args: argparse.Namespace) -> int:
    config = load_config(args)
    states = _Api(config, args.prog).request("GET", "/smsgw/webhooks.json")
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
    config = load_config(args)
    sender = args.from_ or (config.modems[0].numbers[0] if config.modems else "")
    api = _Api(config, args.prog)
    try:
        message = api.request(
            "POST",
            "/2010-04-01/Accounts/{account}/Messages.json",
            {"To": args.to, "From": sender, "Body": args.body},
        )
    except _NotRunning as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        print(json.dumps(message, indent=2, ensure_ascii=False))
    else:
        segments = message["num_segments"]
        print(
            f"{message['sid']} {message['status']}: {message['from']} -> {message['to']}, "
            f"{segments} segment{'s' if segments != '1' else ''}"
        )
    return 0


def _messages(args: argparse.Namespace) -> int:
    config = load_config(args)
    if not 1 <= args.limit <= 1000:
        raise UsageError("--limit must be between 1 and 1000")
    try:
        page = _Api(config, args.prog).request(
            "GET", f"/2010-04-01/Accounts/{{account}}/Messages.json?PageSize={args.limit}"
        )
    except _NotRunning as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    messages = page["messages"]
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
