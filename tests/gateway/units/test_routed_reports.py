"""Routed status reports (``+CDS`` with ``AT+CSMS=1``) beside stored messages (issue 17's
review): a ``+CDS`` that comes while the receiver works through a long listing (each entry
committed, then deleted) is taken between two entries, not after the listing, so that its
``AT+CNMA`` comes within the network's timeout (TS 27.005 §3.4.1): routing stays on and the
report is not delivered again. The simulator's wait for ``AT+CNMA`` is counted here in the
gateway's commands (``ack_commands``), not seconds: the same on a fast machine and a slow one."""

from __future__ import annotations

from typing import Final

from gateway.domain.models import Status
from tests.gateway.units.receiving_rig import receiving
from tests.gateway.units.rig import SENDER
from tests.gateway.units.test_stored_reports import counted, report, sent

STORED: Final = 20  # messages waiting in the storage when the listing starts
# Commands the simulated network lets pass before it stops waiting for AT+CNMA: a report
# taken after the listing would wait for STORED deletes.
ACK_COMMANDS: Final = 2


async def test_a_report_routed_during_a_long_listing_is_acknowledged_between_two_entries() -> None:
    async with receiving() as unit:
        sim = unit.sim
        modem = unit.modems.handles["alice"].modem
        assert modem is not None and modem.info is not None
        assert (modem.info.cnmi, modem.info.acknowledged) == ((2, 1, 0, 1, 0), True)
        (sid,) = await sent(unit, 1)
        sim.ack_commands = ACK_COMMANDS
        unit.commands.seen.clear()
        arrived: list[int] = []  # the command count when the report came

        def first_delete(command: str) -> None:
            if command.upper().startswith("AT+CMGD") and not arrived:
                arrived.append(len(unit.commands.seen))
                sim.receive_report(*report(0))  # routed: +CDS, waiting for AT+CNMA

        # Stored together (each announced with +CMTI): one listing takes them all.
        for n in range(STORED):
            ((pdu, length),) = unit.modems.network.inbound_pdus(SENDER, f"stored {n}")
            sim.receive(pdu, length)
        sim.command_observers.append(first_delete)
        messages = await unit.inbox.wait(STORED)
        (match,) = await unit.inbox.reported(1)
        await unit.receiver.settled()

        assert {message.body for message in messages} == {f"stored {n}" for n in range(STORED)}
        assert (match.sid, match.status) == (sid, Status.DELIVERED)
        assert (await unit.stored(sid)).status is Status.DELIVERED
        # Acknowledged in time: the network never stopped waiting, routing never went off,
        # nothing set AT+CNMI again, and nothing is left to deliver again.
        assert sim.acks_missed == 0 and not sim.routing_disabled
        assert sim.routed_waiting == 0 and sim.cnmi == (2, 1, 0, 1, 0)
        assert counted(unit, "AT+CNMA") == 1 and counted(unit, "AT+CNMI=") == 0
        acknowledged = unit.commands.seen.index("AT+CNMA")
        assert acknowledged - arrived[0] <= ACK_COMMANDS, unit.commands.seen
        # Every stored entry was committed, then deleted, in one listing.
        assert counted(unit, "AT+CMGD") == STORED
        assert all(not storage.slots for storage in sim.storages.values())
        assert unit.receiver.metrics.reports["alice"] == 1
