"""``smsgw serve``, ``accounts``, ``modems``, ``send`` and ``messages`` as a person uses them:
real processes, a real port, a real database."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

SMSGW = Path(sys.executable).parent / "smsgw"
WAIT = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def smsgw(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SMSGW), *argv], capture_output=True, text=True, timeout=WAIT, check=False
    )


def write_config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "gateway.toml"
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
"""
    )
    return path


async def test_a_first_start_and_the_commands_around_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    assert "no accounts yet" in smsgw("accounts", "--config", str(config)).stdout
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

        refused = await asyncio.to_thread(
            smsgw, "send", "--config", str(config), "--to", "call me", "--body", "x"
        )
        assert refused.returncode == 2
        assert (
            refused.stderr
            == "smsgw send: 21211: The 'To' number call me is not a valid phone number.\n"
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


def test_without_a_running_gateway(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    for argv in (("send", "--to", "+15550002002", "--body", "x"), ("messages",)):
        result = smsgw(*argv, "--config", str(config))
        if "no account yet" in result.stderr:
            assert result.returncode == 2
            continue
        assert result.returncode == 1
    modems = smsgw("modems", "--config", str(config))
    assert modems.returncode == 0
    assert "alice: gateway not running" in modems.stdout


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
