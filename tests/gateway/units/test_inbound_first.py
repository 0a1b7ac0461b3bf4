"""Inbound first (gateway/modems/exclusive.py): what a modem announced while a part was on the
air is read before its next part takes the line for the network's seconds."""

from __future__ import annotations

import asyncio

from gateway.modems.exclusive import Exclusive
from tests.gateway.units.receiving_rig import receiving
from tests.gateway.units.rig import ACCOUNT, ALICE, HANDSET, WAIT, make_dispatcher, make_outbound


async def test_a_text_announced_during_a_part_is_read_before_the_next_part() -> None:
    async with receiving() as unit:
        dispatcher = make_dispatcher(unit.config, unit.store, unit.modems, unit.clock)
        outbound = make_outbound(unit.config, unit.store, unit.modems, dispatcher, unit.clock)
        await outbound.start(default_account=ACCOUNT.sid)
        # Each part is on the air for a while (the network's time, as a real one takes
        # seconds): the modem holds its +CMTI until the +CMGS (TS 27.005 §3.4.1, mode 2).
        unit.sim.faults.latency = 0.2
        dispatcher.start()
        try:
            message = await outbound.create(
                ACCOUNT.sid, {"To": HANDSET, "From": ALICE, "Body": "x" * 400}
            )
            assert message.num_segments == 3
            await unit.commands.until("AT+CMGS", 1)
            unit.text("while the first part is on the air")
            await unit.inbox.wait(1)
            await unit.commands.until("AT+CMGS", 3)
        finally:
            await dispatcher.stop()
        sent_or_read = [
            line.split("=")[0]
            for line in unit.commands.seen
            if line.startswith(("AT+CMGS", "AT+CMGL", "AT+CMGR"))
        ]
        after_first = sent_or_read[sent_or_read.index("AT+CMGS") :]  # not the connect sweep
        # The SIM is read after the first part, not after the last: without the receiver
        # first, the second part takes the line the moment the first one is answered.
        assert after_first[:2] == ["AT+CMGS", "AT+CMGL"], sent_or_read
        assert after_first.count("AT+CMGS") == 3, sent_or_read


async def test_a_part_waits_for_the_receiver_at_most_its_bound() -> None:
    exclusive = Exclusive(inbound_first=0.05)
    never = asyncio.Event()
    exclusive.inbound = never.wait  # a receiver stuck on a modem that does not answer
    async with asyncio.timeout(WAIT):
        async with exclusive.part():
            pass  # taken all the same, once the bound has passed


async def test_a_part_goes_once_the_receiver_is_done() -> None:
    exclusive = Exclusive(inbound_first=WAIT * 10)
    done = asyncio.Event()
    exclusive.inbound = done.wait
    order: list[str] = []

    async def part() -> None:
        async with exclusive.part():
            order.append("part")

    task = asyncio.create_task(part())
    await asyncio.sleep(0)  # one turn: the part has asked, and waits for the receiver
    order.append("received")
    done.set()
    async with asyncio.timeout(WAIT):
        await task
    assert order == ["received", "part"]
