"""Network facts and the SIM's lock, read by a real GsmModem from a simulated modem: the
operator (``AT+COPS=3,0`` / ``3,2``, TS 27.007 §7.3), the registration with its cell
(``AT+CREG=2``, §7.2), the PIN and PUK tries left (each vendor's command) and the SMSC
(``AT+CSCA``, TS 27.005 §3.3.1)."""

from __future__ import annotations

import asyncio

import pytest

from drivers import Network, SimState
from drivers.errors import AtCommandError, CmeError, ModemSetupError, PinRejected
from drivers.modem.events import RegistrationChanged
from drivers.modem.info import ModemSettings
from tests.drivers.simulator_rig import SETTINGS, WAIT, Events, rig

ALICE = "+15550001001"
HOME = Network(
    operator="smsgw sim network",
    code="00101",
    act=7,
    technology="LTE",
    stat=1,
    registered=True,
    roaming=False,
    lac="00C3",
    ci="0000A1B2",
)


@pytest.mark.parametrize("name", ["generic", "quectel", "huawei"])
async def test_initialisation_reads_the_network_and_the_sim(name: str) -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, name)
        assert modem.info is not None
        assert modem.info.network == HOME
        # Each vendor's counter: AT+CPINR, AT+QPINC?, AT^CPIN?.
        assert modem.info.sim == SimState("ready", 3, 10)
        assert sim.creg == 2 and sim.cereg == 2  # the cell is reported
        assert sim.cops_format == 0  # left as other software expects it


async def test_roaming_on_another_operator_and_cell() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        events = Events(modem, RegistrationChanged)
        sim.set_operator("Vodafone.de", "voda DE", "26202", 2)
        sim.set_registration(5)
        reports = [await events.next(RegistrationChanged) for _ in range(2)]
        assert all(event.registration.roaming for event in reports)
        assert reports[0].registration.lac == "00C3"  # n=2: the location comes along
        sim.set_cell("0502", "0404736D")
        moved = await events.next(RegistrationChanged)
        assert (moved.registration.lac, moved.registration.ci) == ("0502", "0404736D")
        network = await asyncio.wait_for(modem.network(), WAIT)
        assert network == Network(
            "Vodafone.de", "26202", 2, "UTRAN", 5, True, True, "0502", "0404736D"
        )


async def test_no_network_no_operator() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        sim.set_registration(0)
        network = await asyncio.wait_for(modem.network(), WAIT)
        assert (network.operator, network.code, network.registered) == (None, None, False)
        assert (network.lac, network.ci) == (None, None)


async def test_cops_formats_of_the_simulator() -> None:
    async with rig() as setup:
        _, modem = await setup.add(ALICE)
        channel = modem.channel
        for form, name in ((0, "smsgw sim network"), (1, "smsgw"), (2, "00101")):
            await channel.command(f"AT+COPS=3,{form}")
            assert (await channel.command("AT+COPS?")).lines == (f'+COPS: 0,{form},"{name}",7',)
        with pytest.raises(CmeError):
            await channel.command("AT+COPS=3,7")
        with pytest.raises(CmeError):
            await channel.command('AT+COPS=1,2,"26202"')  # manual selection: not simulated
        assert (await channel.command("AT+COPS=?")).lines == (
            '+COPS: (2,"smsgw sim network","smsgw","00101",7),,(0,3),(0-2)',
        )


async def test_a_vendors_counter_only_where_it_is() -> None:
    async with rig() as setup:
        _, generic = await setup.add(ALICE)
        with pytest.raises(AtCommandError):
            await generic.channel.command("AT+QPINC?")
        assert (await generic.channel.command('AT+CPINR="SIM PU*"')).lines == (
            "+CPINR: SIM PUK,10,10",
            "+CPINR: SIM PUK2,10,10",
        )


async def test_pin_needed_names_the_tries_left() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, "quectel", initialize=False, pin="4321")
        sim.set_sim(pin_attempts=2)
        with pytest.raises(ModemSetupError, match=r"pin_required \(2 PIN attempts left, 10 PUK"):
            await modem.initialize()
        assert modem.sim == SimState("pin_required", 2, 10)


async def test_a_wrong_pin_uses_a_try_and_says_so() -> None:
    async with rig() as setup:
        settings = ModemSettings(pin="0000", sim_busy_delay=0)
        sim, modem = await setup.add(
            ALICE, "huawei", initialize=False, pin="4321", settings=settings
        )
        with pytest.raises(PinRejected, match=r"did not accept.*2 PIN attempts left"):
            await modem.initialize()
        assert sim.pin_attempts == 2
        assert modem.sim == SimState("pin_required", 2, 10)


async def test_a_pin_rejected_before_is_not_sent_again() -> None:
    async with rig() as setup:
        settings = ModemSettings(pin="0000", pin_rejected=True, sim_busy_delay=0)
        sim, modem = await setup.add(ALICE, initialize=False, pin="4321", settings=settings)
        with pytest.raises(PinRejected, match=r"not sent again.*3 PIN attempts left"):
            await modem.initialize()
        assert not any(line.startswith("AT+CPIN=") for line in sim.received_commands)


async def test_the_last_pin_try_is_never_used() -> None:
    async with rig() as setup:
        settings = ModemSettings(pin="0000", sim_busy_delay=0)
        sim, modem = await setup.add(ALICE, initialize=False, pin="4321", settings=settings)
        sim.set_sim(pin_attempts=1)
        with pytest.raises(ModemSetupError, match="one PIN attempt left"):
            await modem.initialize()
        assert not any(line.startswith("AT+CPIN=") for line in sim.received_commands)
        assert sim.pin_attempts == 1


async def test_puk_needed_and_sim_missing() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, initialize=False, pin="4321")
        sim.set_sim(pin_attempts=0, puk_attempts=7)
        with pytest.raises(ModemSetupError, match=r"wants SIM PUK.*puk_required \(0 PIN .*7 PUK"):
            await modem.initialize()
        assert modem.sim == SimState("puk_required", 0, 7)
        sim.set_sim(inserted=False)
        with pytest.raises(ModemSetupError, match="no SIM card inserted"):
            await modem.initialize()
        assert modem.sim == SimState("missing")


async def test_the_simulated_puk_unlocks_with_a_new_pin() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, initialize=False, pin="4321")
        sim.set_sim(pin_attempts=0)
        channel = modem.channel
        await modem.command_state()
        await channel.command("AT+CMEE=1")
        assert (await channel.command("AT+CPIN?")).lines == ("+CPIN: SIM PUK",)
        with pytest.raises(CmeError):
            await channel.command('AT+CPIN="00000000","1111"')
        assert sim.puk_attempts == 9
        await channel.command(f'AT+CPIN="{sim.puk}","1111"')
        assert (sim.pin, sim.pin_entered, sim.pin_attempts) == ("1111", True, 3)


async def test_smsc_from_the_settings_is_set_where_it_differs() -> None:
    async with rig() as setup:
        settings = ModemSettings(smsc="+15559990000", sim_busy_delay=0)
        sim, modem = await setup.add(ALICE, settings=settings)
        assert 'AT+CSCA="+15559990000",145' in sim.received_commands
        assert sim.smsc == "+15559990000"
        assert modem.info is not None and modem.info.smsc == "+15559990000"
        sim.received_commands.clear()
        await asyncio.wait_for(modem.initialize(), WAIT)  # the same now: not set again
        assert not any(line.startswith("AT+CSCA=") for line in sim.received_commands)
        _, plain = await setup.add("+15550002002", settings=SETTINGS)
        assert plain.info is not None and plain.info.smsc == "+15550000000"  # the SIM's own
