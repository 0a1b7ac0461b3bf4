"""Incoming voice calls: the simulated modem rings as real ones do, and the driver reports each
ring as one IncomingCall and hangs up with the vendor's command."""

from __future__ import annotations

import asyncio

import pytest

from drivers.at.parse import Unsolicited
from drivers.errors import AtReplyError
from drivers.modem.events import IncomingCall, Rings
from drivers.simulated import SimulatedModem
from drivers.simulated.calls import RING_INTERVAL
from tests.drivers.simulator_rig import ME, WAIT, Events, parts, rig

CALLER = "+447700900123"


async def _ended(sim: SimulatedModem) -> str | None:
    """How the last call ended, once one has."""
    ended = asyncio.Event()
    sim.calls.observers.append(lambda: ended.set() if sim.calls.ended else None)
    if not sim.calls.ended:
        await asyncio.wait_for(ended.wait(), WAIT)
    return sim.calls.ended[-1].ended_by


async def test_each_ring_is_one_call_with_the_callers_number() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        assert "AT+CLIP=1" in sim.received_commands  # asked at initialisation
        assert (sim.clip, sim.crc) == (True, True)
        events = Events(modem, IncomingCall)
        sim.calls.incoming(CALLER, interval=None)
        assert await events.next(IncomingCall) == IncomingCall(CALLER, False, "VOICE")
        assert sim.calls.ring()  # the modem rings again, as it does every few seconds
        assert await events.next(IncomingCall) == IncomingCall(CALLER, False, "VOICE")
        assert events.pending(IncomingCall) == 0


async def test_a_withheld_number_is_no_number() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        events = Events(modem, IncomingCall)
        sim.calls.incoming(CALLER, withheld=True, interval=None)
        assert await events.next(IncomingCall) == IncomingCall(None, True, "VOICE")


@pytest.mark.parametrize(("name", "command"), [("generic", "ATH"), ("huawei", "AT+CHUP")])
async def test_hang_up_with_the_vendors_command(name: str, command: str) -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME, name)
        events = Events(modem, IncomingCall)
        sim.calls.incoming(CALLER, interval=None)
        await events.next(IncomingCall)
        await modem.hang_up()
        assert await _ended(sim) == command
        assert sim.received_commands[-1] == command
        assert sim.calls.current is None
        assert not sim.calls.ring()  # no more rings


async def test_the_huawei_personality_ignores_ath_as_the_sticks_do() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME, "huawei")
        sim.calls.incoming(CALLER, interval=None)
        await modem.channel.command("ATH")
        assert sim.calls.current is not None  # still ringing: hence AT+CHUP for Huawei


async def test_a_modem_without_caller_id_still_reports_its_rings() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        await modem.channel.command("AT+CLIP=0;+CRC=0")
        modem._rings.caller_id = False  # as initialize() leaves it when AT+CLIP=1 is refused
        events = Events(modem, IncomingCall)
        sim.calls.incoming(CALLER, interval=None)
        assert await events.next(IncomingCall) == IncomingCall(None, False, "")


async def test_a_call_rings_around_a_send_and_never_inside_it() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        events = Events(modem, IncomingCall)
        written: list[bytes] = []

        def ring_at_the_send(line: str) -> None:
            if line.startswith("AT+CMGS"):
                sim.calls.incoming(CALLER, interval=None)

        sim.command_observers.append(ring_at_the_send)
        link = sim._link
        assert link is not None
        write = link.write

        async def recording(data: bytes) -> None:
            written.append(data)
            await write(data)

        link.write = recording  # type: ignore[method-assign]
        references = await modem.send_parts(parts("during a call"))
        assert len(references) == 1
        assert await events.next(IncomingCall) == IncomingCall(CALLER, False, "VOICE")
        stream = b"".join(written).decode()
        # The ring came while AT+CMGS ran: held until its answer (TS 27.005 §3.4.1).
        assert stream.index("+CMGS:") < stream.index("+CRING: VOICE")
        assert stream.index("> ") < stream.index("+CMGS:")
        await modem.hang_up()
        assert await _ended(sim) == "ATH"


async def test_a_caller_who_gives_up_stops_the_rings() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        events = Events(modem, IncomingCall)
        sim.calls.incoming(CALLER, interval=None)
        await events.next(IncomingCall)
        assert sim.calls.give_up(no_carrier=True)
        assert await _ended(sim) == "caller"
        # NO CARRIER with no command in flight is no reply to anything: the next one is fine.
        await modem.hang_up()
        assert (await modem.signal())[0] == sim.rssi


async def test_clcc_lists_the_ringing_call() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        assert (await modem.channel.command("AT+CLCC")).lines == ()
        sim.calls.incoming(CALLER, interval=None)
        reply = await modem.channel.command("AT+CLCC")
        assert reply.lines == (f'+CLCC: 1,1,4,0,0,"{CALLER}",145',)
        assert (await modem.channel.command("AT+CLIP?")).lines == ("+CLIP: 1,1",)
        assert (await modem.channel.command("AT+CLIP=?")).lines == ("+CLIP: (0,1)",)


async def test_rings_repeat_on_the_modems_cadence() -> None:
    async with rig() as setup:
        sim, _ = await setup.add(ME)
        sim.calls.incoming(CALLER)
        timer = sim.calls._timer
        assert timer is not None
        ahead = timer.when() - asyncio.get_running_loop().time()
        assert RING_INTERVAL - 1 < ahead <= RING_INTERVAL
        sim.calls.hang_up("ATH")
        assert timer.cancelled()


def test_rings_and_caller_id_lines_make_one_call_each() -> None:
    rings = Rings()
    rings.caller_id = True
    assert rings.feed(Unsolicited("RING")) == []
    assert rings.feed(Unsolicited('+CLIP: "+4866029",145,"",128,"",0')) == [
        IncomingCall("+4866029")
    ]
    # A ring whose +CLIP never came is reported, with no number, at the next one.
    assert rings.feed(Unsolicited("+CRING: VOICE")) == []
    assert rings.feed(Unsolicited("+CRING: VOICE")) == [IncomingCall(None, kind="VOICE")]
    assert rings.feed(Unsolicited('+CLIP: "",128,"",128,"",1')) == [
        IncomingCall(None, True, "VOICE")
    ]
    with pytest.raises(AtReplyError):
        rings.feed(Unsolicited("+CLIP: garbage"))
    rings.caller_id = False
    assert rings.feed(Unsolicited("RING")) == [IncomingCall(None)]
