"""gammu's command line against ``smsgw simulate --pty``: identify, send, read everything
stored. Skipped where gammu is not installed (``apt-get install gammu``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.foreign.conftest import HANDSET, WAIT, Simulator

GAMMU = shutil.which("gammu")
pytestmark = pytest.mark.skipif(
    GAMMU is None, reason="gammu is not installed (apt-get install gammu runs these tests)"
)


def gammu(simulator: Simulator, tmp_path: Path, *arguments: str) -> str:
    """What ``gammu`` prints for ``arguments``, given the simulator's pty as its device."""
    assert GAMMU is not None
    config = tmp_path / "gammurc"
    config.write_text(f"[gammu]\ndevice = {simulator.device}\nconnection = at\n")
    result = subprocess.run(
        [GAMMU, "-c", str(config), *arguments],
        capture_output=True,
        text=True,
        timeout=WAIT * 3,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_identify(simulator: Simulator, tmp_path: Path) -> None:
    printed = gammu(simulator, tmp_path, "identify")
    assert "Manufacturer         : smsgw" in printed
    assert "Simulated GSM modem" in printed
    assert "SIM IMSI             : 31026" in printed


def test_sendsms(simulator: Simulator, tmp_path: Path) -> None:
    printed = gammu(simulator, tmp_path, "sendsms", "TEXT", HANDSET, "-text", "Hello from gammu")
    assert "OK, message reference=0" in printed
    (submission,) = simulator.get(f"/submissions?wait=1&timeout={WAIT}")
    assert (submission["to"], submission["text"]) == (HANDSET, "Hello from gammu")


def test_getallsms(simulator: Simulator, tmp_path: Path) -> None:
    for text in ("Hello gammu", "Second message"):
        simulator.post("/inject", {"from": HANDSET, "text": text})
    printed = gammu(simulator, tmp_path, "getallsms")
    assert 'Location 1, folder "Inbox", SIM memory' in printed
    assert 'Location 2, folder "Inbox", SIM memory' in printed
    assert f'Remote number        : "{HANDSET}"' in printed
    assert "Hello gammu" in printed and "Second message" in printed
    assert "2 SMS parts in 2 SMS sequences" in printed
