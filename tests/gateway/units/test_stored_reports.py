"""Status reports a modem stores (``+CDSI``), read in batches, and storages never left full
(issue 17): a ``+CDSI`` has its storage listed once (``AT+CMGL=4``) for all that is there, each
report committed and then deleted by its index, with no ``AT+CMGR``; the announcements queued
before that listing are skipped; a flood into a storage that drops what it cannot hold loses
nothing; a memory-full code, or ``+CMS ERROR: 322``, has the storages emptied at once.

The modems here store their reports whatever the default personality does: "zte" and
"quectel" refuse ``AT+CNMI`` ds=1 (reports in SR, and in SM with the messages)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final

import pytest

from drivers.codec.pdu import fields
from drivers.simulated.commands import HANDLERS
from drivers.simulated.pdus import status_report_pdu
from drivers.simulated.state import CommandFailed
from gateway.domain.models import Status
from gateway.inbound.storage_watch import StorageWatch
from tests.fakes.clock import T0
from tests.gateway.units.receiving_rig import Receiving, receiving
from tests.gateway.units.rig import HANDSET, WAIT, prepared

# A SUBMIT to +15555555555 of "a" (7-bit), no SMSC address: 15 octets after it.
SUBMIT: Final = "0011000B915155555555F50000AA0161"


def report(reference: int) -> tuple[str, int]:
    """The "delivered" report on the part sent with TP-MR ``reference`` to the handset."""
    return status_report_pdu(
        "+15550000000",
        reference=reference,
        recipient=fields.encode_address(HANDSET, "TP-RA"),
        scts=T0,
        discharge=T0 + timedelta(seconds=3),
        status=0x00,
    )


async def sent(unit: Receiving, count: int) -> list[str]:
    """``count`` messages committed as sent, the n-th with TP-MR n; their SIDs."""
    sids = []
    for reference in range(count):
        new = prepared(Body=f"message {reference}")
        await unit.store.create_message(new.message, new.segments)
        await unit.store.message_sent(new.message.sid, T0, last_part=(1, reference))
        sids.append(new.message.sid)
    return sids


def counted(unit: Receiving, prefix: str) -> int:
    return sum(1 for line in unit.commands.seen if line.startswith(prefix))


async def test_reports_stored_together_are_listed_once_and_deleted_by_index() -> None:
    async with receiving(personality="zte") as unit:
        sids = await sent(unit, 10)
        unit.commands.seen.clear()
        # One announced now; nine more arrive as the receiver starts on it (before its
        # listing runs), each announced while that listing is under way.
        unit.sim.flood_reports([report(n) for n in range(10)], at_once=1, per_command=9)
        matches = await unit.inbox.reported(10)
        assert {match.sid for match in matches} == set(sids)
        assert all(match.status is Status.DELIVERED for match in matches)
        await unit.receiver.settled()
        assert counted(unit, "AT+CMGR") == 0
        assert counted(unit, "AT+CMGD") == 10
        # The first listing took all ten; one more for the nine announced during it found
        # the storage empty, and the eight announced before that second one began are skipped.
        assert counted(unit, "AT+CMGL") == 2, " ".join(unit.commands.seen)
        assert unit.sim.storages["SR"].slots == {}


async def test_a_flood_into_a_storage_that_drops_when_full_loses_nothing() -> None:
    """200 reports into 30 slots that lose what comes when they are full: 20 at once, then
    one with each command the gateway sends. Reading each report (AT+CMGR) and deleting it
    (AT+CMGD) takes two commands per report, in which two more arrive: the storage would fill
    and lose them. Listed in batches, each report costs one command: none is lost."""
    async with receiving(personality="zte") as unit:
        unit.sim.storages["SR"].capacity = 30
        unit.sim.drop_when_full = True
        sids = await sent(unit, 200)
        unit.commands.seen.clear()
        unit.sim.flood_reports([report(n) for n in range(200)], at_once=20, per_command=1)
        matches = await unit.inbox.reported(200)
        await unit.receiver.settled()
        assert unit.sim.dropped == 0
        assert {match.sid for match in matches} == set(sids)
        for sid in sids:
            assert (await unit.stored(sid)).status is Status.DELIVERED
        assert (counted(unit, "AT+CMGR"), counted(unit, "AT+CMGD")) == (0, 200)
        assert counted(unit, "AT+CMGL") < 20  # one listing for a burst, not one per report
        assert unit.receiver.metrics.reports["alice"] == 200


@pytest.mark.parametrize("name", ["huawei", "quectel"])
async def test_a_memory_full_code_has_the_storage_emptied_at_once(name: str) -> None:
    async with receiving(personality=name) as unit:
        unit.commands.seen.clear()
        unit.sim.fill_storage("SM")  # stored without +CMTI: only the memory-full code says so
        capacity = unit.sim.storages["SM"].capacity
        await unit.commands.until("AT+CMGD", capacity)
        await unit.receiver.settled()
        assert unit.sim.storages["SM"].slots == {}
        assert unit.receiver.metrics.storage_full["alice"] == 1
        assert len(unit.inbox.messages) == 1  # the same PDU each time: one message


async def test_cms_error_322_has_the_storages_emptied_at_once() -> None:
    async with receiving(personality="quectel") as unit:
        unit.sim.memory_full_on = False  # no +QIND: only the error says so
        unit.sim.fill_storage("SM")
        modem = unit.modems.handles["alice"].modem
        assert modem is not None
        unit.sim.fail_sends(322)
        with pytest.raises(Exception, match="322"):
            await modem.send_pdu(SUBMIT, 15)
        capacity = unit.sim.storages["SM"].capacity
        await unit.commands.until("AT+CMGD", capacity)
        await unit.receiver.settled()
        assert unit.sim.storages["SM"].slots == {}
        assert unit.receiver.metrics.storage_full["alice"] == 1


async def test_how_full_each_storage_is_is_read_at_connection() -> None:
    async with receiving(personality="zte") as unit:
        capacities = {name: storage.capacity for name, storage in unit.sim.storages.items()}
        assert unit.receiver.watches["alice"].usage == {
            name: (0, total) for name, total in capacities.items()
        }


def test_the_watch_takes_an_index_as_a_hint_and_a_listing_as_the_truth() -> None:
    watch = StorageWatch()
    assert not watch.stored("SR", 3)  # capacity unknown: no opinion
    watch.learned("SR", 0, 20)
    assert not watch.stored("SR", 1)  # (2, 20): index 1 may be the second slot
    assert watch.stored("SR", 9)  # slot 9 taken: 10 of 20, announced or not
    assert watch.usage["SR"] == (10, 20)
    watch.listed("SR", 0)
    assert not watch.stored("SR", 0)
    assert watch.usage["SR"] == (1, 20)


async def test_a_modem_answering_its_listing_with_322_is_not_listed_again_and_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Firmware that answers AT+CMGL itself with +CMS ERROR: 322: the sweep gives up on that
    storage as on any error (the next sweep tries again), without a loop of listings."""

    def full(*_: object) -> list[str]:
        raise CommandFailed("CMS", 322)

    async with receiving(personality="quectel") as unit:
        monkeypatch.setitem(HANDLERS, "+CMGL", full)
        unit.commands.seen.clear()
        unit.receiver.sweep_now(unit.modems.handles["alice"])
        async with asyncio.timeout(WAIT):  # a loop of listings would never settle
            await unit.receiver.settled()
        storages = unit.sim.storages
        assert counted(unit, "AT+CMGL") == len(storages)  # each storage once
        assert unit.receiver.metrics.storage_full["alice"] == len(storages)
