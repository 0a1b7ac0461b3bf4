"""The public face of :mod:`drivers`: :func:`~drivers.open_modem` for each driver, what
:class:`~drivers.ModemParams` accepts, and the simulated modems a host keeps by name."""

from __future__ import annotations

import asyncio
import errno
import subprocess
import sys
from pathlib import Path

import pytest

import drivers
from drivers import (
    MessageStored,
    Modem,
    ModemParams,
    open_modem,
    simulated_fleet,
)
from drivers.codec import encode_text
from drivers.simulated import PERSONALITIES, SimulatedModem, SimulatedNetwork, personality
from drivers.simulated.serve import PtyServer, TcpServer
from tests.drivers.simulator_rig import SETTINGS, WAIT, Events, receive_all

ME = "+15550001111"
HANDSET = "+447700900123"


async def send_one(modem: Modem, text: str) -> int:
    (part,) = encode_text(HANDSET, text)
    return await modem.send_pdu(part.pdu, part.tpdu_length)


async def test_a_serial_modem_is_opened_at_its_port(tmp_path: Path) -> None:
    network = SimulatedNetwork()
    sim = SimulatedModem([ME], personality("quectel"))
    network.attach(sim, ME)
    server = PtyServer(sim, tmp_path / "ttyUSB2")
    await server.start()
    try:
        params = ModemParams("modem1", "serial", str(tmp_path / "ttyUSB2"), settings=SETTINGS)
        modem = await open_modem(params)
        assert modem.info is None  # opened: nothing said yet
        info = await asyncio.wait_for(modem.initialize(), WAIT)
        assert (info.profile, info.identity.numbers) == ("quectel", (ME,))
        assert modem.soft_reset_safe  # a Quectel comes back on the same port
        assert await send_one(modem, "over a serial port") == 0
        assert network.handset_inbox[HANDSET[1:]][0].submit.text == "over a serial port"
        await modem.close()
    finally:
        await server.close()


async def test_a_tcp_modem_is_opened_at_its_host_and_port() -> None:
    sim = SimulatedModem([ME])
    SimulatedNetwork().attach(sim, ME)
    server = TcpServer(sim, "127.0.0.1", 0)
    await server.start()
    try:
        port = f"tcp://127.0.0.1:{server.port}"
        modem = await open_modem(ModemParams("modem1", "tcp", port, settings=SETTINGS))
        info = await asyncio.wait_for(modem.initialize(), WAIT)
        assert info.identity.numbers == (ME,)
        assert await send_one(modem, "via ser2net") == 0
        await modem.close()
    finally:
        await server.close()


async def test_a_port_that_cannot_be_opened_is_a_transport_error(tmp_path: Path) -> None:
    with pytest.raises(drivers.TransportError):
        await open_modem(ModemParams("modem1", "serial", str(tmp_path / "nothing")))


async def test_a_simulated_modem_of_its_own() -> None:
    params = ModemParams(
        "alice", "simulated", numbers=(ME,), personality="huawei", settings=SETTINGS
    )
    modem = await open_modem(params)
    info = await asyncio.wait_for(modem.initialize(), WAIT)
    assert (info.profile, info.identity.numbers) == ("huawei", (ME,))
    assert await send_one(modem, "to a virtual handset") == 0
    await modem.close()


async def test_a_simulated_modem_of_a_fleet_keeps_its_sim_between_openings() -> None:
    fleet = simulated_fleet()
    sim = fleet.modem("alice", (ME,))
    params = ModemParams("alice", "simulated", numbers=(ME,), settings=SETTINGS, simulator=sim)
    first = await open_modem(params)
    await asyncio.wait_for(first.initialize(), WAIT)
    await first.close()
    fleet.network.inject(ME, HANDSET, "while nobody listened")
    again = await open_modem(params)
    events = Events(again, MessageStored)
    info = await asyncio.wait_for(again.initialize(), WAIT)
    (stored,) = await again.list_messages(info.storage)
    assert stored.pdu  # the message that came meanwhile is on the SIM
    fleet.network.inject(ME, HANDSET, "and one announced")
    (message,) = await receive_all(again, events, 1)
    assert message.text == "and one announced"
    await again.close()

    await sim.unplug()
    with pytest.raises(OSError, match="the simulated modem is unplugged") as unplugged:
        await open_modem(params)
    assert unplugged.value.errno == errno.ENODEV


def test_a_fleet_keeps_a_modem_while_what_makes_it_is_the_same() -> None:
    fleet = simulated_fleet(history=10)
    alice = fleet.modem("alice", (ME,), "generic", pin="1234")
    assert fleet.modem("alice", [ME], "generic", pin="1234") is alice
    assert fleet.network.modem_for(ME) is alice
    assert alice.history == 10
    other = fleet.modem("alice", (ME,), "zte", pin="1234")  # another personality: a new SIM
    assert other is not alice and fleet.modems == {"alice": other}
    assert fleet.network.modem_for(ME) is other
    fleet.remove("alice")
    assert fleet.modems == {} and fleet.network.modem_for(ME) is None
    fleet.remove("alice")  # twice is harmless


def test_params_name_a_known_driver_and_personality() -> None:
    with pytest.raises(ValueError, match="driver: expected one of serial, tcp, simulated"):
        ModemParams("modem1", "usb")
    with pytest.raises(ValueError, match="personality: expected one of generic"):
        ModemParams("modem1", "simulated", personality="nokia")


def test_the_face_names_the_simulators_personalities() -> None:
    assert tuple(PERSONALITIES) == drivers.PERSONALITIES


def test_the_face_loads_no_simulator() -> None:
    """What a configuration reads of the face (PERSONALITIES) does not import the simulator."""
    code = "import sys, drivers; print('drivers.simulated' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
