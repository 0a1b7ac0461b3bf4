"""gammu's command line against ``smsgw simulate --pty``: identify, send, read everything
stored, USSD (``getussd``) and what the network is (``networkinfo``: +CREG, +COPS). Skipped
where gammu is not installed (``apt-get install gammu``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.foreign.conftest import HANDSET, WAIT, Simulator

BALANCE = "Your balance is 12.34 EUR. Valid until 31.12.2026."  # the default rule for *100#

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


@pytest.mark.parametrize(
    ("personality", "sent"),
    [
        # gammu selects AT+CSCS="UCS2" and sends the string in it (TS 27.007 §7.15)...
        ("generic", "002A0031003000300023"),
        # ...but packs it for a Huawei E1752, whose strings are packed hex both ways.
        ("huawei", "AA180C3602"),
    ],
)
def test_getussd(simulator: Simulator, tmp_path: Path, sent: str) -> None:
    """Each getussd takes some 14 s: gammu listens for more answers for 10 s after one."""
    printed = gammu(simulator, tmp_path, "getussd", "*100#")
    assert "Status               : No action needed" in printed
    assert f'Service reply        : "{BALANCE}"' in printed
    assert f'AT+CUSD=1,"{sent}",15' in simulator.get("/commands")
    assert simulator.get("/state")["ussd"]["requests"] == ["*100#"]


def test_getussd_in_ucs2(simulator: Simulator, tmp_path: Path) -> None:
    text = "Баланс: 100 руб."
    simulator.post("/ussd", {"code": "*102#", "answer": text, "ucs2": True})
    printed = gammu(simulator, tmp_path, "getussd", "*102#")
    assert f'Service reply        : "{text}"' in printed


def test_networkinfo(simulator: Simulator, tmp_path: Path) -> None:
    """What the simulated network is: registration (AT+CREG?, AT+CGREG?), the operator
    (AT+COPS? in each format) and the cell, as the control interface set them."""
    simulator.post("/operator", {"name": "Vodafone.de", "short_name": "voda DE", "code": "26202"})
    simulator.post("/cell", {"lac": "0502", "ci": "0404736D"})
    simulator.post("/registration", {"stat": 5})
    printed = gammu(simulator, tmp_path, "networkinfo")
    assert "Network state        : roaming network" in printed
    assert "Network              : 262 02 (Vodafone, Germany), LAC 0502, CID 0404736D" in printed
    assert 'Name in phone        : "Vodafone.de"' in printed
