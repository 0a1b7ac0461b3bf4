"""USSD end to end in the driver: GsmModem.ussd against simulated modems of every personality
(TS 27.007 §7.15), and against a modem that prints the answer before its OK."""

from __future__ import annotations

import asyncio

import pytest

from drivers import UssdAnswer, UssdState
from drivers.at.channel import AtChannel
from drivers.at.transport import pipe
from drivers.errors import CmeError, ModemLost
from drivers.modem.driver import GsmModem
from drivers.modem.ussd import check_ussd_request
from drivers.simulated import PERSONALITIES
from drivers.simulated.ussd import UssdRule
from tests.drivers.simulator_rig import WAIT, rig

ALICE = "+15550001111"
BALANCE = "Your balance is 12.34 EUR. Valid until 31.12.2026."


@pytest.mark.parametrize("name", sorted(PERSONALITIES))
async def test_a_balance_through_every_personality(name: str) -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, name)
        answer = await asyncio.wait_for(modem.ussd("*100#"), WAIT)
        dcs = 72 if sim.personality.ussd == "ucs2" else 15
        assert answer == UssdAnswer(UssdState.DONE, BALANCE, dcs)
        assert sim.ussd.requests == ["*100#"]


async def test_a_huawei_stick_is_asked_in_packed_hex() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, "huawei")
        await modem.ussd("*100#")
        assert 'AT+CUSD=1,"AA180C3602",15' in sim.received_commands


async def test_a_menu_walked_reply_by_reply() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        menu = await modem.ussd("*101#")
        assert menu == UssdAnswer(UssdState.ACTION_REQUIRED, "1. Balance\n2. Bundles", 15)
        assert menu.open
        bundles = await modem.ussd("2")
        assert bundles.state is UssdState.ACTION_REQUIRED
        assert bundles.text == "1. 1 GB for 5 EUR\n2. 5 GB for 15 EUR"
        assert await modem.ussd("1") == UssdAnswer(UssdState.DONE, "1 GB added.", 15)
        assert sim.ussd.open is None


async def test_a_menu_cancelled() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, "huawei")
        assert (await modem.ussd("*101#")).open
        await modem.ussd_cancel()
        assert sim.ussd.open is None
        assert sim.received_commands[-1] == "AT+CUSD=2"


async def test_the_network_ends_the_session() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        answer = await modem.ussd("*999#")
        assert answer == UssdAnswer(UssdState.NETWORK_CANCELLED, "Unknown service code.", 15)
        sim.ussd.set_rule("*5#", UssdRule("Привет", ucs2=True))
        assert await modem.ussd("*5#") == UssdAnswer(UssdState.DONE, "Привет", 72)


async def test_no_answer_times_out_and_ends_the_session() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        sim.ussd.set_rule("*7#", UssdRule(silent=True))
        answer = await modem.ussd("*7#", timeout=0.05)
        assert answer == UssdAnswer(UssdState.TIMED_OUT)
        assert sim.received_commands[-1] == "AT+CUSD=2"
        # The modem is as good as before.
        assert (await modem.ussd("*100#")).state is UssdState.DONE


async def test_no_service_is_refused() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        sim.set_registration(0)
        with pytest.raises(CmeError, match="CME ERROR: 30"):
            await modem.ussd("*100#")


async def test_requests_one_at_a_time() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        first = asyncio.create_task(modem.ussd("*100#"))
        second = asyncio.create_task(modem.ussd("*101#"))
        assert (await first).state is UssdState.DONE
        assert (await second).state is UssdState.ACTION_REQUIRED
        cusd = [line for line in sim.received_commands if line.startswith("AT+CUSD")]
        assert cusd == ['AT+CUSD=1,"*100#",15', 'AT+CUSD=1,"*101#",15']


@pytest.mark.parametrize("text", ["", 'say "hi"', "*1\r#", "a" * 183, "日本", "é", "\x7f", "`"])
def test_strings_no_request_can_carry(text: str) -> None:
    with pytest.raises(ValueError, match="USSD string"):
        check_ussd_request(text)
    check_ussd_request("Yes, please: 1*2#")


async def _scripted(answer: bytes) -> tuple[GsmModem, asyncio.Task[None]]:
    """A modem that answers AT+CUSD with ``answer`` (and its link end)."""
    host, device = pipe()

    async def modem_side() -> None:
        while chunk := await device.read():
            if chunk.endswith(b"\r"):
                await device.write(answer)

    task = asyncio.create_task(modem_side())
    modem = GsmModem(AtChannel(host))
    modem.channel.start()
    return modem, task


async def test_an_answer_printed_before_the_ok() -> None:
    # SIM900-style: the +CUSD line comes as a line of AT+CUSD's own reply (recorded by
    # python-gsmmodem's users: ['+CUSD: 0,"...",15', 'OK']), with a break in its text.
    modem, task = await _scripted(b'\r\n+CUSD: 0,"Balance:\r\n5.00",15\r\n\r\nOK\r\n')
    try:
        answer = await asyncio.wait_for(modem.ussd("*100#"), WAIT)
        assert answer == UssdAnswer(UssdState.DONE, "Balance:\n5.00", 15)
    finally:
        await modem.close()
        task.cancel()


async def test_a_lost_link_ends_the_wait() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        sim.ussd.set_rule("*7#", UssdRule(silent=True))
        asked = asyncio.Event()
        sim.command_observers.append(lambda line: asked.set())
        waiting = asyncio.create_task(modem.ussd("*7#", timeout=WAIT))
        await asyncio.wait_for(asked.wait(), WAIT)
        await sim.drop_line()
        with pytest.raises(ModemLost):
            await waiting


async def test_a_reply_with_a_comma() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        sim.ussd.set_rule("*9#", UssdRule("Sure?", m=1, menu={"Yes, please": UssdRule("Done.")}))
        assert (await modem.ussd("*9#")).open
        assert (await modem.ussd("Yes, please")).text == "Done."
