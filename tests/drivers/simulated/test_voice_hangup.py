"""AT+CVHU, voice hang-up control (TS 27.007 §6.20), on a simulated modem, byte for byte:
whether ATH ends a ringing call. Huawei sticks ignore ATH until AT+CVHU=0 (smslib issue #5);
python-gsmmodem sends AT+CVHU=0 when it connects for that reason."""

from __future__ import annotations

import asyncio

import pytest

from drivers.at.transport import Link, pipe
from drivers.simulated import SimulatedModem, SimulatedNetwork, personality
from tests.drivers.simulated.test_simulated import read_until
from tests.drivers.simulator_rig import ME, WAIT

CALLER = "+447700900123"


async def started(name: str) -> tuple[SimulatedModem, Link]:
    sim = SimulatedModem([ME], personality(name), report_delay=0.0)
    SimulatedNetwork().attach(sim, ME)
    host, device = pipe()
    sim.start(device)
    # Huawei's ^RSSI/^MODE lines stop with AT^CURC=0; the others take it as a bare AT.
    await host.write(b"ATE0;^CURC=0\r" if name == "huawei" else b"ATE0\r")
    await read_until(host, b"OK\r\n")
    return sim, host


async def answer(host: Link, command: bytes) -> bytes:
    """The modem's whole answer to ``command``, up to its final result code."""
    await host.write(command + b"\r")
    data = b""
    async with asyncio.timeout(WAIT):
        while not data.endswith((b"OK\r\n", b"ERROR\r\n", b"ERROR: 4\r\n")):
            chunk = await host.read()
            assert chunk, f"the link closed after {data!r}"
            data += chunk
    return data


async def ring(sim: SimulatedModem, host: Link) -> None:
    sim.calls.incoming(CALLER, interval=None)
    assert await read_until(host, b"RING\r\n") == b"\r\nRING\r\n"


@pytest.mark.parametrize(("name", "mode"), [("generic", 0), ("huawei", 1)])
async def test_read_and_test_commands(name: str, mode: int) -> None:
    _, host = await started(name)
    assert await answer(host, b"AT+CVHU=?") == b"\r\n+CVHU: (0-2)\r\n\r\nOK\r\n"
    assert await answer(host, b"AT+CVHU?") == f"\r\n+CVHU: {mode}\r\n\r\nOK\r\n".encode()
    await host.close()


@pytest.mark.parametrize(
    ("name", "mode", "hangs_up"),
    [
        ("generic", 0, True),
        ("generic", 1, False),
        ("generic", 2, True),
        ("huawei", 0, True),
        ("huawei", 1, False),
    ],
)
async def test_the_mode_set_decides_whether_ath_hangs_up(
    name: str, mode: int, hangs_up: bool
) -> None:
    sim, host = await started(name)
    assert await answer(host, f"AT+CVHU={mode}".encode()) == b"\r\nOK\r\n"
    assert await answer(host, b"AT+CVHU?") == f"\r\n+CVHU: {mode}\r\n\r\nOK\r\n".encode()
    await ring(sim, host)
    assert await answer(host, b"ATH") == b"\r\nOK\r\n"  # OK either way ("ignored but OK")
    if hangs_up:
        assert sim.calls.current is None
        assert [call.ended_by for call in sim.calls.ended] == ["ATH"]
    else:
        assert sim.calls.current is not None  # it rings on; AT+CHUP still ends it
        assert await answer(host, b"AT+CHUP") == b"\r\nOK\r\n"
        assert [call.ended_by for call in sim.calls.ended] == ["AT+CHUP"]
    await host.close()


async def test_the_huawei_ignores_ath_until_told_otherwise() -> None:
    sim, host = await started("huawei")
    await ring(sim, host)
    assert await answer(host, b"ATH") == b"\r\nOK\r\n"
    assert sim.calls.current is not None
    assert await answer(host, b"AT+CVHU=0") == b"\r\nOK\r\n"
    assert await answer(host, b"ATH") == b"\r\nOK\r\n"
    assert sim.calls.current is None
    # ATZ restores the profile: the stick's own <mode> again (and its echo and ^RSSI lines,
    # which E0 and AT^CURC=0 on the same line turn off).
    assert await answer(host, b"ATZE0;^CURC=0") == b"\r\nOK\r\n"
    assert await answer(host, b"AT+CVHU?") == b"\r\n+CVHU: 1\r\n\r\nOK\r\n"
    await host.close()


@pytest.mark.parametrize("argument", ["3", "", "X", "0,1"])
async def test_a_bad_mode_is_refused(argument: str) -> None:
    sim, host = await started("generic")
    assert await answer(host, b"AT+CMEE=1") == b"\r\nOK\r\n"
    refused = await answer(host, f"AT+CVHU={argument}".encode())
    assert refused == b"\r\n+CME ERROR: 4\r\n"
    assert sim.cvhu == 0
    await host.close()
