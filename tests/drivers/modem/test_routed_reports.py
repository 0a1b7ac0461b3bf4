"""Routed status reports (issue 17): ``AT+CSMS=1`` and ``+CDS`` (AT+CNMI ds=1), each report
acknowledged with ``AT+CNMA`` by the host once it is safe; the stored path (``+CDSI``) where
the vendor or the modem says no; and what a missed acknowledgement does (TS 27.005 §3.4.1:
routing turned off) and how the driver turns it back on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from drivers.codec.pdu import Delivery, StatusReport
from drivers.modem.driver import GsmModem
from drivers.modem.events import ReportRouted, ReportStored
from drivers.simulated import SimulatedModem
from tests.drivers.simulator_rig import WAIT, Events, Rig, decoded, parts, rig

ALICE = "+15550001111"
BOB = "+15550002222"


def csms_and_cnmi(sim: SimulatedModem) -> list[str]:
    """The message service and notifications set, in order (not the test commands)."""
    wanted = ("AT+CSMS=", "AT+CNMI=")
    return [c for c in sim.received_commands if c.startswith(wanted) and not c.endswith("?")]


async def added_with(setup: Rig, **quirks: object) -> tuple[SimulatedModem, GsmModem]:
    """A generic modem (the driver's GENERIC profile routes reports) whose simulated device
    has ``quirks`` all the same: what a profile cannot know in advance."""
    sim, modem = await setup.add(ALICE, initialize=False)
    sim.personality = replace(sim.personality, **quirks)  # type: ignore[arg-type]
    sim.csms = 1 if sim.personality.phase2_plus_only else 0
    await asyncio.wait_for(modem.initialize(), WAIT)
    return sim, modem


async def next_routed(events: Events) -> StatusReport:
    routed = await events.next(ReportRouted)
    assert routed.needs_ack
    report = decoded(routed.pdu, routed.length)
    assert isinstance(report, StatusReport)
    return report


async def test_a_generic_modem_takes_reports_routed_and_acknowledged() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        assert csms_and_cnmi(sim) == ["AT+CSMS=1", "AT+CNMI=2,1,0,1,0"]
        assert modem.info is not None
        assert (modem.info.cnmi, modem.info.acknowledged) == ((2, 1, 0, 1, 0), True)
        assert (sim.csms, sim.cnmi) == (1, (2, 1, 0, 1, 0))
        events = Events(modem, ReportRouted, ReportStored)
        references = await modem.send_parts(parts("x" * 200, BOB))
        # The second +CDS waits for the first one's AT+CNMA (TS 27.005 §3.4.1).
        first = await next_routed(events)
        assert events.pending(ReportRouted) == 0 and sim.routed_unacked
        await modem.acknowledge()
        second = await next_routed(events)
        await modem.acknowledge()
        assert [first.message_reference, second.message_reference] == references
        assert first.delivery is second.delivery is Delivery.DELIVERED
        assert not sim.routed_unacked and not sim.routed_queue
        assert events.pending(ReportStored) == 0 and not sim.storages["SR"].slots
        # No AT+CMGR/AT+CMGD for a routed report: two round trips less per part.
        assert not any(c.startswith(("AT+CMGR", "AT+CMGD")) for c in sim.received_commands)


async def test_vendors_that_refuse_ds1_keep_reports_stored() -> None:
    async with rig() as setup:
        for name in ("quectel", "zte"):
            sim, modem = await setup.add(ALICE, name)
            assert not modem.profile.routes_reports
            assert modem.info is not None and modem.info.cnmi == (2, 1, 0, 2, 0)
            assert not modem.info.acknowledged
            # Today's phase 2, never AT+CSMS=1 nor a ds=1 the modem would refuse.
            assert csms_and_cnmi(sim) == ["AT+CSMS=0", "AT+CNMI=2,1,0,2,0"]


async def test_csms_1_refused_keeps_reports_stored() -> None:
    async with rig() as setup:
        sim, modem = await added_with(setup, phase2_only=True)
        assert modem.info is not None and modem.info.cnmi == (2, 1, 0, 2, 0)
        assert not modem.info.acknowledged and sim.csms == 0
        # Routed reports with phase 2 would be acknowledged by the modem itself: never when
        # stored ones are there.
        assert csms_and_cnmi(sim) == ["AT+CSMS=1", "AT+CSMS=0", "AT+CNMI=2,1,0,2,0"]
        events = Events(modem, ReportStored)
        (reference,) = await modem.send_parts(parts("hi", BOB))
        stored = await events.next(ReportStored)
        entry = await modem.read_message(stored.storage, stored.index)
        assert entry is not None
        report = decoded(entry.pdu, entry.length)
        assert isinstance(report, StatusReport) and report.message_reference == reference


async def test_ds1_refused_after_csms_1_falls_back_to_the_stored_order() -> None:
    async with rig() as setup:
        # Lists ds=1 and refuses it, unknown to the profile (a Qualcomm modem under another
        # name): the message service goes back to phase 2 with the stored order.
        sim, modem = await added_with(setup, refuses_ds1=True)
        assert modem.info is not None and modem.info.cnmi == (2, 1, 0, 2, 0)
        assert not modem.info.acknowledged and sim.csms == 0
        assert csms_and_cnmi(sim) == [
            "AT+CSMS=1",
            "AT+CNMI=2,1,0,1,0",
            "AT+CNMI=1,1,0,1,0",
            "AT+CSMS=0",
            "AT+CNMI=2,1,0,2,0",
        ]


async def test_a_modem_offering_only_routed_reports_acknowledges_them() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, "cds")  # ds=2 not offered
        assert modem.info is not None and modem.info.cnmi == (2, 1, 0, 1, 0)
        # Today it took them with phase 2, the modem acknowledging each +CDS itself.
        assert modem.info.acknowledged and sim.csms == 1


async def test_a_missed_acknowledgement_turns_routing_off_and_the_driver_back_on() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        events = Events(modem, ReportRouted)
        three = [part for n in (1, 2, 3) for part in parts(f"part {n}", BOB, reference=n)]
        first, second, third = await modem.send_parts(three)
        report = await next_routed(events)
        assert report.message_reference == first
        # The network's timeout passes before the host acknowledges: TS 27.005 §3.4.1, the ME
        # sets <mt> and <ds> of +CNMI to zero, and the network keeps the reports.
        assert sim.miss_ack()
        assert sim.cnmi == (2, 0, 0, 0, 0) and sim.routing_disabled
        await modem.acknowledge()  # late: +CMS ERROR: 340; AT+CNMI is set again
        assert sim.cnmi == (2, 1, 0, 1, 0)
        # The unacknowledged report comes again, then those that waited behind it.
        seen = []
        for _ in range(3):
            seen.append((await next_routed(events)).message_reference)
            await modem.acknowledge()
        assert seen == [first, second, third]
        assert sim.received_commands.count("AT+CNMI=2,1,0,1,0") == 2
        (later,) = await modem.send_parts(parts("later", BOB, reference=4))
        assert (await next_routed(events)).message_reference == later


async def test_renotify_sets_cnmi_again_only_when_the_modem_turned_it_off() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE)
        assert not await modem.renotify()  # one AT+CNMI?, nothing set
        assert sim.received_commands[-1] == "AT+CNMI?"
        events = Events(modem, ReportRouted)
        (reference,) = await modem.send_parts(parts("one", BOB))
        await events.next(ReportRouted)
        sim.miss_ack()
        # No acknowledgement is tried (a host that restarted never saw the +CDS): the health
        # check finds routing off and turns it on; the report comes again.
        assert await modem.renotify()
        assert (await next_routed(events)).message_reference == reference


async def test_an_ack_timeout_turns_routing_off_by_itself() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ALICE, ack_timeout=0.0)
        events = Events(modem, ReportRouted)
        await modem.send_parts(parts("one", BOB))
        await events.next(ReportRouted)
        await asyncio.wait_for(_until(lambda: sim.routing_disabled), WAIT)
        assert sim.cnmi[1] == sim.cnmi[3] == 0


async def _until(condition: Callable[[], bool]) -> None:
    """The simulator's timer runs on the loop: its effect is awaited, not a time."""
    while not condition():
        await asyncio.sleep(0)
