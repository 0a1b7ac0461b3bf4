"""The codes that say a message storage is full, as :class:`StorageFull` events: each vendor's
line as recorded in public sources (cited in ``drivers/modem/events.py``), and ``+CMS ERROR:
322`` answered to a command, from a simulated modem."""

from __future__ import annotations

import pytest

from drivers.at.parse import Unsolicited
from drivers.errors import CmsError
from drivers.modem.events import OtherUnsolicited, StorageFull, event_for
from tests.drivers.simulator_rig import Events, rig

ALICE = "+15550001111"
# A SUBMIT to +15555555555 of "a" (7-bit), no SMSC address: 15 octets after it.
SUBMIT = "0011000B915155555555F50000AA0161"


@pytest.mark.parametrize(
    ("line", "storage"),
    [
        ('^SMMEMFULL: "SM"', "SM"),  # Huawei (Balong firmware, chan_dongle)
        ('^SMMEMFULL:"ME"', "ME"),
        ('+QIND: "smsfull","SM"', "SM"),  # Quectel EC2x after AT+QINDCFG="smsfull",1
        ('+CIEV: "SMSFULL",1', None),  # Ai-Thinker A6/A9G
        ("+CIEV: smsfull,1", None),  # Cinterion AT^SIND, openmoko gsmd
    ],
)
def test_a_vendors_memory_full_code_is_storage_full(line: str, storage: str | None) -> None:
    assert event_for(Unsolicited(line)) == StorageFull(storage, line)


@pytest.mark.parametrize(
    "line",
    ['+CIEV: "SMSFULL",0', "+CIEV: smsfull,0", '+QIND: "csq",20,99', "+CIEV: signal,3"],
)
def test_room_again_and_other_indications_are_not(line: str) -> None:
    assert event_for(Unsolicited(line)) == OtherUnsolicited(line)


async def test_cms_error_322_to_any_command_says_a_storage_is_full() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        full = Events(modem, StorageFull)
        sim.fail_sends(322)
        with pytest.raises(CmsError):
            await modem.send_pdu(SUBMIT, 15)
        event = await full.next(StorageFull)
        assert event.storage is None
        assert event.source == "AT+CMGS=15: +CMS ERROR: 322"


@pytest.mark.parametrize(
    ("name", "line"), [("huawei", '^SMMEMFULL: "SM"'), ("quectel", '+QIND: "smsfull","SM"')]
)
async def test_a_storage_that_fills_is_announced_in_the_vendors_words(name: str, line: str) -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, name)
        if name == "quectel":  # off until the driver's initialisation switched it on
            assert 'AT+QINDCFG="smsfull",1' in sim.received_commands
        full = Events(modem, StorageFull)
        sim.fill_storage("SM")
        assert await full.next(StorageFull) == StorageFull("SM", line)
        sim.fill_storage("SM")  # still full: said once, until it has room again
        await modem.delete_message("SM", sim.storages["SM"].first)
        sim.fill_storage("SM")
        assert await full.next(StorageFull) == StorageFull("SM", line)
        assert full.pending(StorageFull) == 0


async def test_quectels_code_stays_off_unless_switched_on() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, "quectel")
        sim.memory_full_on = False  # as after a restart that did not keep AT+QINDCFG
        full = Events(modem, StorageFull)
        sim.fill_storage("SM")
        await modem.storage_usage("SM")  # a round trip: a code sent before it has come
        assert full.pending(StorageFull) == 0
