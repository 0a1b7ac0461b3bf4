"""``smsgw serve``, ``accounts``, ``modems``, ``send``, ``messages`` and ``webhooks`` as a
person uses them: real processes, a real port, a real database. How they find the
configuration and the gateway, and each way that can fail, in one line with its exit status."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.config import Account
from gateway.modems.supervisor import ModemState
from tests.gateway.gateway_rig import ACCOUNT, Statuses, running
from tests.gateway.gateway_rig import config as gateway_config
from tests.gateway.store_rig import opened

SMSGW = Path(sys.executable).parent / "smsgw"
WAIT = 15.0
SYSTEM_CONFIG = Path("/etc/smsgw/gateway.toml")
CLIENTS = {
    "accounts": (),
    "modems": (),
    "send": ("--to", "+15550002002", "--body", "x"),
    "messages": (),
    "webhooks": (),
    "ussd": ("alice", "*100#"),
}
PINNED = Account("AC" + "5" * 32, "pinned-token")
# On a machine where the gateway is installed, /etc/smsgw/gateway.toml is found before the
# working directory's: what these tests look for is then not what a command finds.
no_system_config = pytest.mark.skipif(
    SYSTEM_CONFIG.exists(), reason=f"{SYSTEM_CONFIG} exists on this machine"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(**extra: str) -> dict[str, str]:
    """This process's environment with no $SMSGW_CONFIG of its own, and ``extra``."""
    return {k: v for k, v in os.environ.items() if k != "SMSGW_CONFIG"} | extra


def smsgw(
    *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SMSGW), *argv],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        cwd=cwd,
        env=env or environment(),
    )


def write_config(folder: Path, port: int, more: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gateway.toml"
    path.write_text(
        f"""
[gateway]
listen = "127.0.0.1:{port}"
data_dir = "data"

[[modems]]
id = "alice"
driver = "simulated"
numbers = ["+15550001001"]

[[modems]]
id = "bob"
driver = "simulated"
numbers = ["+15550002002"]
personality = "huawei"
{more}"""
    )
    return path


def pinned(account: Account) -> str:
    return f'[[accounts]]\nsid = "{account.sid}"\nauth_token = "{account.auth_token}"\n'


@contextlib.asynccontextmanager
async def serving(
    *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> AsyncIterator[Account | None]:
    """``smsgw serve argv`` until its modems are announced; the account it created, if it did."""
    child = await asyncio.create_subprocess_exec(
        str(SMSGW),
        *("serve", *argv),
        stdout=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env or environment(),
    )
    assert child.stdout is not None
    try:
        banner = {}
        while not (
            line := (await asyncio.wait_for(child.stdout.readline(), WAIT)).decode()
        ).startswith("  modem bob"):
            assert line, "the gateway ended before it was ready"
            key, _, value = line.strip().partition(": ")
            banner[key] = value
        sid, token = banner.get("Account SID"), banner.get("Auth token")
        yield Account(sid, token) if sid and token else None
    finally:
        child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), WAIT)


async def test_a_first_start_and_the_commands_around_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    child = await asyncio.create_subprocess_exec(
        str(SMSGW), "serve", "--config", str(config), stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    try:
        banner = []
        while not (
            line := (await asyncio.wait_for(child.stdout.readline(), WAIT)).decode()
        ).startswith("  modem bob"):
            banner.append(line.strip())
        sid = next(line.split()[-1] for line in banner if line.startswith("Account SID"))
        token = next(line.split()[-1] for line in banner if line.startswith("Auth token"))

        accounts = await asyncio.to_thread(smsgw, "accounts", "--config", str(config), "--json")
        assert json.loads(accounts.stdout) == [{"sid": sid, "auth_token": token, "api_keys": []}]
        readable = await asyncio.to_thread(smsgw, "accounts", "--config", str(config))
        assert readable.stdout.splitlines() == [
            f"accounts (the database in {tmp_path / 'data'}):",
            f"  Account SID: {sid}",
            f"  Auth token:  {token}",
            f"the gateway at http://127.0.0.1:{config_port(config)} takes it",
        ]

        sent = await asyncio.to_thread(
            smsgw, "send", "--config", str(config), "--to", "+15550002002", "--body", "hi Bob"
        )
        assert sent.returncode == 0, sent.stderr
        message_sid = sent.stdout.split()[0]
        assert sent.stdout.startswith("SM")
        assert "queued: +15550001001 -> +15550002002, 1 segment" in sent.stdout

        listed = await asyncio.to_thread(smsgw, "messages", "--config", str(config), "--json")
        # Bob's modem is the gateway's too: the text may already be back as an inbound one.
        outbound = [m for m in json.loads(listed.stdout) if m["direction"] == "outbound-api"]
        assert [m["sid"] for m in outbound] == [message_sid]
        table = await asyncio.to_thread(smsgw, "messages", "--config", str(config))
        assert message_sid in table.stdout and "hi Bob" in table.stdout

        modems = await asyncio.to_thread(smsgw, "modems", "--config", str(config), "--json")
        states = {m["id"]: (m["state"], m["info"]["profile"]) for m in json.loads(modems.stdout)}
        assert states == {"alice": ("ready", "generic"), "bob": ("ready", "huawei")}
        webhooks = await asyncio.to_thread(smsgw, "webhooks", "--config", str(config))
        assert webhooks.stdout == "0 pending, 0 delivered, 0 given up\n"  # no sms_url here
        readable = await asyncio.to_thread(smsgw, "modems", "--config", str(config))
        assert "alice: ready" in readable.stdout and "signal -73 dBm" in readable.stdout
        network = "  network: smsgw sim network (00101), LTE, home, LAC 00C3 cell 0000A1B2"
        sim = "  SIM: ready, 3 PIN attempts left, 10 PUK attempts left"  # AT+CPINR, AT^CPIN?
        assert readable.stdout.count(network) == 2 and readable.stdout.count(sim) == 2
        assert "  SMSC +15550000000" in readable.stdout
        # The system clock, as this machine's kernel or timesyncd says (issue 20).
        assert readable.stdout.splitlines()[-1].startswith("clock: ")

        # USSD through bob's Huawei (packed hex both ways), a menu walked with --reply.
        menu = await asyncio.to_thread(
            smsgw, "ussd", "--config", str(config), "bob", "*101#", "--reply", "1"
        )
        assert (menu.returncode, menu.stdout) == (
            0,
            "> *101#\n  1. Balance\n  2. Bundles\n  (action_required)\n"
            "> 1\n  Your balance is 12.34 EUR.\n  (done)\n",
        )
        balance = await asyncio.to_thread(
            smsgw, "ussd", "--config", str(config), "alice", "*100#", "--json"
        )
        assert json.loads(balance.stdout)["text"].startswith("Your balance is 12.34 EUR.")
        bad = await asyncio.to_thread(smsgw, "ussd", "--config", str(config), "alice", "100")
        assert (bad.returncode, bad.stderr) == (
            2,
            "smsgw ussd: 21790: Code '100' is not a USSD code (e.g. *100#)\n",
        )
        unknown = await asyncio.to_thread(smsgw, "ussd", "--config", str(config), "eve", "*1#")
        assert unknown.returncode == 1
        assert "answered 404 (20404)" in unknown.stderr

        refused = await asyncio.to_thread(
            smsgw, "send", "--config", str(config), "--to", "call me", "--body", "x"
        )
        assert refused.returncode == 2
        assert refused.stderr == (
            "smsgw send: 21211: The 'To' number call me is not a valid phone number: "
            "a phone number is a + and digits, or digits alone\n"
        )
    finally:
        child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), WAIT)
    assert child.returncode == 0

    # The account was generated once: a second start keeps it and does not print it again.
    again = await asyncio.create_subprocess_exec(
        str(SMSGW), "serve", "--config", str(config), stdout=asyncio.subprocess.PIPE
    )
    assert again.stdout is not None
    printed = []
    while not (line := (await asyncio.wait_for(again.stdout.readline(), WAIT)).decode()).startswith(
        "  modem bob"
    ):
        printed.append(line)
    again.send_signal(signal.SIGTERM)
    await asyncio.wait_for(again.wait(), WAIT)
    assert any(line.startswith("smsgw is listening") for line in printed)
    assert not any("Account SID" in line or "created" in line for line in printed)


def config_port(config: Path) -> int:
    return int(config.read_text().split('listen = "127.0.0.1:')[1].split('"')[0])


@pytest.mark.parametrize("command", CLIENTS)
def test_no_account_yet_is_the_same_failure_for_every_command(tmp_path: Path, command: str) -> None:
    # Once: `accounts` said "no accounts yet" with exit status 0, `send` the same with 2.
    config = write_config(tmp_path, free_port())
    result = smsgw(command, *CLIENTS[command], "--config", str(config))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"smsgw {command}: no account: no [[accounts]] in {config} and none in "
        f"{tmp_path / 'data'} (data_dir in {config}); the gateway makes one there at its first "
        "start (if it runs with another --data-dir, give the same one)\n"
    )


def test_without_a_running_gateway_every_command_says_what_it_tried(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port, pinned(PINNED))
    tried = f"cannot reach the gateway at http://127.0.0.1:{port} (listen in {config})"
    for command in ("modems", "send", "messages", "webhooks", "ussd"):
        result = smsgw(command, *CLIENTS[command], "--config", str(config))
        # `modems` once listed the configured modems as "gateway not running", exit status 0.
        assert (result.returncode, result.stdout) == (1, ""), command
        assert result.stderr == (
            f"smsgw {command}: {tried}: connection refused (is it running, and listening there?)\n"
        )
    # A --timeout no answer can be waited for is the user's mistake, said before connecting
    # (a negative one made the client's own socket timeout a ValueError: a traceback).
    for timeout in ("0", "-100"):
        result = smsgw("ussd", "alice", "*100#", "--timeout", timeout, "--config", str(config))
        assert (result.returncode, result.stdout) == (2, ""), timeout
        assert result.stderr == f"smsgw ussd: --timeout must be 1 second or more, not {timeout}\n"
    # The credentials are in the files: shown, and said not to be checked.
    accounts = smsgw("accounts", "--config", str(config))
    assert accounts.returncode == 0
    assert f"  Account SID: {PINNED.sid}" in accounts.stdout.splitlines()
    assert accounts.stderr.startswith(f"smsgw accounts: not checked with the gateway: {tried}: ")


async def test_a_gateway_run_with_another_data_dir(tmp_path: Path) -> None:
    # As the systemd unit runs it: `serve --data-dir /var/lib/smsgw` while the configuration
    # says another data_dir, which holds an account of its own from an earlier run.
    config = write_config(tmp_path / "config", free_port())
    stale = Account("AC" + "e" * 32, "stale-token")
    async with opened(tmp_path / "config" / "data") as store:
        await store.add_account(stale)
    var = tmp_path / "var"
    named = environment(SMSGW_CONFIG=str(config))
    async with serving("--data-dir", str(var), env=named) as account:  # found by $SMSGW_CONFIG
        assert account is not None
        url = f"http://127.0.0.1:{config_port(config)}"

        refused = await asyncio.to_thread(smsgw, "send", "--config", str(config), *CLIENTS["send"])
        assert (refused.returncode, refused.stdout) == (1, "")
        assert refused.stderr == (
            f"smsgw send: the gateway at {url} refused the credentials of {stale.sid} (from the "
            f"database in {tmp_path / 'config' / 'data'}); does it run with another "
            "configuration or --data-dir?\n"
        )
        shown = await asyncio.to_thread(smsgw, "accounts", "--config", str(config))
        assert shown.returncode == 1
        assert f"  Account SID: {stale.sid}" in shown.stdout.splitlines()
        assert shown.stderr.startswith(f"smsgw accounts: the gateway at {url} refused ")

        # Given the same --data-dir, every command works, however the configuration is found.
        given = ("--config", str(config), "--data-dir", str(var))
        sent = await asyncio.to_thread(smsgw, "send", *given, *CLIENTS["send"])
        assert sent.returncode == 0, sent.stderr
        listed = await asyncio.to_thread(
            smsgw, "messages", "--data-dir", str(var), "--json", env=named
        )
        assert sent.stdout.split()[0] in [m["sid"] for m in json.loads(listed.stdout)]
        checked = await asyncio.to_thread(
            smsgw, "accounts", "--data-dir", str(var), "--json", env=named
        )
        assert (checked.returncode, checked.stderr) == (0, "")
        assert json.loads(checked.stdout)[0]["sid"] == account.sid
        webhooks = await asyncio.to_thread(
            smsgw, "webhooks", "--data-dir", str(var), "--url", f"{url}/", env=named
        )
        assert webhooks.stdout == "0 pending, 0 delivered, 0 given up\n", webhooks.stderr
        # The gateway, but not where it is asked: what it answered, exit status 1.
        astray = await asyncio.to_thread(
            smsgw, "modems", "--data-dir", str(var), "--url", f"{url}/sms", env=named
        )
        assert (astray.returncode, astray.stdout) == (1, "")
        assert astray.stderr == (
            f"smsgw modems: the gateway at {url}/sms answered 404 (20404): The requested "
            "resource /sms/smsgw/modems.json was not found\n"
        )


async def test_modems_shows_each_cap_of_the_plan_used_and_left(tmp_path: Path) -> None:
    """What the caps used is counted in tests/e2e/test_quota.py; here, how it is shown."""
    # `more` goes into the last [[modems]] table: bob's plan.
    plan = 'daily_limit = 50\nmonthly_recipients = 99\nquota_time_zone = "Europe/Berlin"\n'
    config = write_config(tmp_path, free_port(), plan)
    async with serving("--config", str(config)):
        readable = await asyncio.to_thread(smsgw, "modems", "--config", str(config))
    lines = readable.stdout.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("bob: ")))
    quota = [line for line in lines[start:] if line.startswith("  quota: ")]
    assert [line.rsplit(" until ", 1)[0] for line in quota] == [
        "  quota: 0 of 50 parts today, 50 left",
        "  quota: 0 of 99 recipients this month, 99 left",
    ]
    assert all(line.endswith(":00:00+00:00") for line in quota)  # midnight in Berlin, in UTC
    assert not any(line.startswith("  quota: ") for line in lines[:start])  # alice: no caps


@no_system_config
async def test_the_configuration_in_the_working_directory(tmp_path: Path) -> None:
    # A checkout: `smsgw serve` and the commands beside it find config/gateway.toml.
    write_config(tmp_path / "config", free_port())
    async with serving(cwd=tmp_path):
        for command, argv in CLIENTS.items():
            result = await asyncio.to_thread(smsgw, command, *argv, cwd=tmp_path)
            assert result.returncode == 0, result.stderr


@no_system_config
@pytest.mark.parametrize("command", ["serve", *CLIENTS])
def test_no_configuration_anywhere(tmp_path: Path, command: str) -> None:
    result = smsgw(command, *CLIENTS.get(command, ()), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"smsgw {command}: no configuration: tried --config (none), $SMSGW_CONFIG (unset), "
        "/etc/smsgw/gateway.toml (not found), config/gateway.toml (not found)\n"
    )


def as_another_user(argv: list[str]) -> list[str]:
    """``argv`` run by a user who is not the data's owner: root reads anything, so as root,
    in a user namespace where root is mapped to an ordinary user (util-linux's unshare)."""
    if os.geteuid() != 0:
        return argv
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("running as root without unshare: nothing is unreadable to root")
    return [unshare, "--map-user=1000", "--map-group=1000", *argv]


def test_accounts_another_user_owns(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "smsgw.sqlite3").write_bytes(b"")
    if os.geteuid() == 0:
        os.chown(data, 54321, 54321)  # nobody in the namespace: "other" to the command
    else:
        data.chmod(0)
    try:
        argv = [str(SMSGW), "send", *CLIENTS["send"], "--config", str(config)]
        result = subprocess.run(
            as_another_user(argv), capture_output=True, text=True, timeout=WAIT, check=False
        )
    finally:
        data.chmod(0o700)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"smsgw send: cannot read the accounts in {data} (permission denied): run as "
    )
    assert line.endswith(f"put [[accounts]] in {config}")


@contextlib.contextmanager
def not_a_gateway(folder: Path) -> Iterator[str]:
    """A web server that is not the gateway: every path answers 404 in HTML."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: SimpleHTTPRequestHandler(*a, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_an_answer_that_is_not_the_gateways(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port(), pinned(PINNED))
    with not_a_gateway(tmp_path / "empty") as url:
        result = smsgw("modems", "--config", str(config), "--url", url)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"smsgw modems: {url} (--url) answered HTTP 404 with no Twilio-shaped JSON: is it the "
        "gateway?\n"
    )


@pytest.mark.parametrize("argv", [["--help"], ["send", "--help"]])
def test_help_says_what_each_exit_status_means(argv: list[str]) -> None:
    result = smsgw(*argv)
    assert result.returncode == 0
    assert "exit status: 0 done; 1 the job could not be done" in " ".join(result.stdout.split())


def test_serve_reports_a_busy_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = write_config(tmp_path, taken.getsockname()[1])
        result = smsgw("serve", "--config", str(config))
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("smsgw serve: cannot listen on 127.0.0.1:")


def test_serve_refuses_a_malformed_webhook_url_in_one_line(tmp_path: Path) -> None:
    # Once a traceback and exit status 1: under the unit, a restart every 5 s for ever.
    config = write_config(tmp_path, free_port())
    with config.open("a") as file:
        file.write('\n[[numbers]]\nnumber = "+15550001001"\nsms_url = "http://[::1/x"\n')
    result = smsgw("serve", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "smsgw serve: configuration: numbers[0].sms_url: 'http://[::1/x' is not a valid URL "
        "(Invalid IPv6 URL)"
    ]


def test_a_time_zone_on_a_system_without_a_time_zone_database_in_one_line(
    tmp_path: Path,
) -> None:
    # A Pi's lite image may have no tzdata: zoneinfo then knows no zone at all (no tzdata
    # from PyPI either: not a dependency), and "'Europe/Berlin' is not a time zone" misled.
    config = write_config(tmp_path, free_port(), 'quota_time_zone = "Europe/Berlin"\n')
    result = smsgw("serve", "--config", str(config), env={**environment(), "PYTHONTZPATH": ""})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "smsgw serve: configuration: modems[1].quota_time_zone: 'Europe/Berlin' cannot be "
        "read: this system has no time zone database (install its tzdata package, or tzdata "
        "from PyPI)"
    ]


async def test_the_data_is_private_whatever_the_umask(tmp_path: Path) -> None:
    # The database holds every auth token and every text: 0700 and 0600 even under umask 000.
    config = write_config(tmp_path, free_port())
    child = await asyncio.create_subprocess_exec(
        str(SMSGW), "serve", "--config", str(config), stdout=asyncio.subprocess.PIPE, umask=0
    )
    assert child.stdout is not None
    try:
        while not (await asyncio.wait_for(child.stdout.readline(), WAIT)).startswith(
            b"  modem bob"
        ):
            pass
        data = tmp_path / "data"
        modes = {path.name: path.stat().st_mode & 0o777 for path in [data, *data.iterdir()]}
    finally:
        child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), WAIT)
    assert modes == {
        "data": 0o700,
        "smsgw.sqlite3": 0o600,
        "smsgw.sqlite3-wal": 0o600,
        "smsgw.sqlite3-shm": 0o600,
    }


def test_serve_on_postgresql_says_in_one_line_that_it_is_not_complete_yet(tmp_path: Path) -> None:
    # The configuration reads it (issue 19 builds it in slices), but a gateway with no queue
    # must not start: one line, no traceback, and the URL without its password.
    store = '\n[store]\nurl = "postgresql://smsgw:s3cret@127.0.0.1/smsgw"\n'
    config = write_config(tmp_path, free_port(), store)
    result = smsgw("serve", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "smsgw serve: the PostgreSQL store is not complete yet (issue 19): this smsgw keeps its "
        "messages in SQLite only; remove [store] url (postgresql://smsgw:***@127.0.0.1/smsgw) "
        f"to use the SQLite file in {tmp_path / 'data'}"
    ]
    assert not (tmp_path / "data").exists()  # nothing was started, nor created


async def test_modems_tells_the_clock_when_the_gateway_is_not_ready(tmp_path: Path) -> None:
    # /healthz answers 503 then (no modem in service), with the same body: the clock's line
    # is still printed (issue 20), not an error.
    cli_config = write_config(tmp_path / "cli", free_port(), pinned(ACCOUNT))
    async with running(gateway_config(tmp_path / "data")) as gateway:
        statuses = Statuses(gateway)
        for sim in gateway.modems.simulated.values():
            await sim.unplug()
        for modem in gateway.modems.handles:
            await statuses.modem_reached(modem, ModemState.LOST)
        result = await asyncio.to_thread(
            smsgw, "modems", "--config", str(cli_config), "--url", gateway.base_url
        )
    assert result.returncode == 0, result.stderr
    assert "alice: lost" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("clock: ")
