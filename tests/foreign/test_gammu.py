"""gammu's command line against ``smsgw simulate --pty``: identify, send, read everything
stored, USSD (``getussd``) and what the network is (``networkinfo``: +CREG, +COPS). Skipped
where gammu is not installed (``apt-get install gammu``)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.foreign.conftest import HANDSET, WAIT, Simulator, simulated

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


def test_getussd(tmp_path: Path) -> None:
    """``getussd`` on three simulators side by side: each takes some 14 s, as gammu listens
    for more answers for 10 s after one."""
    cases = [
        # gammu selects AT+CSCS="UCS2" and sends the string in it (TS 27.007 §7.15)...
        ("generic", "*100#", '"002A0031003000300023"', BALANCE),
        # ...but packs it for a Huawei E1752, whose strings are packed hex both ways...
        ("huawei", "*100#", '"AA180C3602"', BALANCE),
        # ...and decodes an answer in UCS-2 (dcs 72).
        ("generic", "*102#", '"002A0031003000320023"', "Баланс: 100 руб."),
    ]
    with contextlib.ExitStack() as stack:
        simulators = []
        for index, (personality, *_) in enumerate(cases):
            directory = tmp_path / str(index)
            directory.mkdir()
            simulators.append((stack.enter_context(simulated(directory, personality)), directory))
        simulators[2][0].post("/ussd", {"code": "*102#", "answer": cases[2][3], "ucs2": True})
        with ThreadPoolExecutor(len(cases)) as pool:
            printed = list(
                pool.map(
                    lambda running, case: gammu(*running, "getussd", case[1]), simulators, cases
                )
            )
        for (simulator, _), (_, code, sent, answer), output in zip(
            simulators, cases, printed, strict=True
        ):
            assert "Status               : No action needed" in output
            assert f'Service reply        : "{answer}"' in output
            assert f"AT+CUSD=1,{sent},15" in simulator.get("/commands")
            assert simulator.get("/state")["ussd"]["requests"] == [code]


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
