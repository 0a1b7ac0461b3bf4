"""The files in ``systemd/`` as a Raspberry Pi installs them: the unit passes
``systemd-analyze verify``, the sysusers entry is read by ``systemd-sysusers``, and every line of
the udev rules is well formed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.api.connections import RESERVED_FILES

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "systemd"
INSTALL_PREFIX = "/opt/smsgw/venv"  # where the README installs the virtual environment


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed here (systemd is not this machine's init)")
    return path


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    unit = (SYSTEMD / "smsgw.service").read_text()
    assert f"ExecStart={INSTALL_PREFIX}/bin/smsgw serve " in unit
    # verify checks that ExecStart's program exists: the unit `smsgw init --systemd` writes
    # starts this checkout's, the only change from the shipped unit (as systemd/README.md says).
    smsgw = Path(sys.executable).parent / "smsgw"
    subprocess.run([smsgw, "init", "--systemd", str(tmp_path)], check=True, capture_output=True)
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "smsgw.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_the_unit_runs_as_its_own_user_with_the_serial_ports_only() -> None:
    unit = (SYSTEMD / "smsgw.service").read_text()
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and line[0] != "#"
    )
    assert settings["User"] == "smsgw"
    assert settings["SupplementaryGroups"] == "dialout"
    assert settings["StateDirectory"] == "smsgw"
    assert settings["Restart"] == "on-failure"
    assert settings["DevicePolicy"] == "closed"
    assert "char-ttyUSB rw" in unit and "char-ttyACM rw" in unit
    assert settings["ProtectSystem"] == "strict"
    assert "--data-dir /var/lib/smsgw" in settings["ExecStart"]
    # Room for HTTP connections past the reserve the gateway keeps (gateway.api.connections).
    assert int(settings["LimitNOFILE"]) - RESERVED_FILES >= 1024


def test_systemctl_reload_sends_the_gateway_sighup() -> None:
    """``systemctl reload smsgw``: what gateway.cli.serve reloads the configuration on."""
    unit = (SYSTEMD / "smsgw.service").read_text()
    reloads = [line for line in unit.splitlines() if line.startswith("ExecReload=")]
    assert reloads == ["ExecReload=/bin/kill -HUP $MAINPID"]


def test_systemd_sysusers_reads_the_user_entry() -> None:
    sysusers = tool("systemd-sysusers")
    result = subprocess.run(
        [sysusers, "--dry-run", str(SYSTEMD / "smsgw.sysusers")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Failed" not in result.stderr and "Invalid" not in result.stderr


# udev(7): KEY or KEY{attribute}, an operator, a double-quoted value; comma-separated.
_UDEV_ITEM = re.compile(r'\s*[A-Z_]+(\{[A-Za-z0-9_]+\})?\s*(==|!=|\+=|-=|:=|=)\s*"[^"]*"\s*')


def test_every_udev_rule_line_is_well_formed() -> None:
    lines = (SYSTEMD / "99-smsgw-modems.rules").read_text().splitlines()
    rules = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert rules
    for rule in rules:
        items = rule.split('",')
        rebuilt = [item + '"' for item in items[:-1]] + [items[-1]]
        for item in rebuilt:
            assert _UDEV_ITEM.fullmatch(item), f"not udev syntax: {item!r} in {rule!r}"
    text = "\n".join(rules)
    assert 'GOTO="smsgw_end"' in text and 'LABEL="smsgw_end"' in text
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in text  # ModemManager keeps its hands off
    assert 'GROUP="dialout"' in text
