"""Where a simulated modem stores messages (indexes from 1, or 0 for a personality that counts
so), and when its unsolicited result codes reach the host: never inside a command's response
(TS 27.005 §3.4.1 AT+CNMI mode 2), unless a personality in mode 3 sends them in-band."""

from __future__ import annotations

import pytest

from drivers.at.transport import Link, pipe
from drivers.simulated import SimulatedModem, SimulatedNetwork, personality
from tests.drivers.simulated.test_simulated import read_until
from tests.drivers.simulator_rig import HANDSET, ME


async def started(name: str = "generic") -> tuple[SimulatedModem, SimulatedNetwork, Link]:
    sim = SimulatedModem([ME], personality(name), report_delay=0.0)
    network = SimulatedNetwork()
    network.attach(sim, ME)
    host, device = pipe()
    sim.start(device)
    await host.write(b"ATE0\r")
    await read_until(host, b"OK\r\n")
    return sim, network, host


@pytest.mark.parametrize(("name", "first"), [("generic", 1), ("huawei", 0)])
async def test_the_first_message_takes_the_personalitys_first_index(name: str, first: int) -> None:
    sim, network, host = await started(name)
    await host.write(b"AT^CURC=0\r" if name == "huawei" else b"AT\r")
    await read_until(host, b"OK\r\n")
    network.inject(ME, HANDSET, "one")
    announced = f'\r\n+CMTI: "SM",{first}\r\n'.encode()
    assert await read_until(host, announced) == announced
    await host.write(b"AT+CMGD=?\r")
    capacity = sim.storages["SM"].capacity
    assert f"+CMGD: ({first}-{first + capacity - 1}),(0-4)".encode() in await read_until(
        host, b"OK\r\n"
    )
    await host.write(f"AT+CMGR={first}\r".encode())
    assert b"+CMGR: 0,," in await read_until(host, b"OK\r\n")
    await host.close()


async def test_a_urc_waits_for_the_command_being_typed_and_its_response() -> None:
    """Mode 2: a +CMTI that comes while the host types a command, or while the command runs,
    follows its final result code; it never lands between the command and its OK."""
    _, network, host = await started()
    await host.write(b"AT+CNMI=2,1,0,2,0\r")
    await read_until(host, b"OK\r\n")
    await host.write(b"AT+CSQ")  # typed, no CR yet: the link is the host's
    network.inject(ME, HANDSET, "while you type")
    await host.write(b"\r")
    answer = await read_until(host, b'+CMTI: "SM",1\r\n')
    assert answer == b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n\r\n+CMTI: "SM",1\r\n'
    await host.close()


async def test_in_band_urcs_in_mode_3_come_at_once() -> None:
    """The "inband" personality offers mode 3 ("link specific inband technique"): there a URC
    is written at once, even before the command it interrupts is answered."""
    _, network, host = await started("inband")
    await host.write(b"AT+CNMI=3,1,0,2,0\r")
    await read_until(host, b"OK\r\n")
    await host.write(b"AT+CSQ")
    network.inject(ME, HANDSET, "interrupting")
    assert await read_until(host, b'+CMTI: "SM",1\r\n') == b'\r\n+CMTI: "SM",1\r\n'
    await host.write(b"\r")
    assert await read_until(host, b"OK\r\n") == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    await host.close()
