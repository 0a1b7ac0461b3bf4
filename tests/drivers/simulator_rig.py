"""Simulated modems on a simulated network, each driven by a real GsmModem over a link.

:func:`parts` makes what a modem sends; :class:`Events` and :func:`receive_all` take any
:class:`~drivers.Modem` (one from :func:`drivers.open_modem` too)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from drivers import Modem
from drivers.at.channel import AtChannel, Timeouts
from drivers.at.transport import pipe
from drivers.codec.pdu import Deliver, Pdu, SubmitOptions, decode, encode_text
from drivers.modem.driver import GsmModem
from drivers.modem.events import MessageStored, ModemEvent
from drivers.modem.info import ModemSettings
from drivers.simulated import SimulatedModem, SimulatedNetwork, personality

# Nothing in these tests waits for a timeout unless it provokes one; the bound only turns a
# hang into a failure instead of a stuck suite.
WAIT = 5.0
SETTINGS = ModemSettings(sim_busy_delay=0, cpin_quirk_timeout=0.05)

E = TypeVar("E", bound=ModemEvent)

ME = "+15550001111"  # the simulated modem's number
HANDSET = "+447700900123"  # a handset on the simulated network


def parts(
    text: str, to: str = HANDSET, report: bool = True, *, ref16: bool = False, reference: int = 3
) -> list[tuple[str, int]]:
    """``text`` as the SMS-SUBMIT PDUs that send it, each with the length AT+CMGS takes."""
    encoded = encode_text(
        to, text, SubmitOptions(status_report=report), ref16=ref16, reference=reference
    )
    return [(part.pdu, part.tpdu_length) for part in encoded]


class Events:
    """Every event of the given kinds a modem emits, in order, to await one by one."""

    def __init__(self, modem: Modem, *kinds: type[ModemEvent]) -> None:
        self._queues: dict[type, asyncio.Queue[Any]] = {}
        for kind in kinds:
            queue: asyncio.Queue[Any] = asyncio.Queue()
            self._queues[kind] = queue
            modem.subscribe(kind, queue.put_nowait)

    async def next(self, kind: type[E]) -> E:
        event: E = await asyncio.wait_for(self._queues[kind].get(), WAIT)
        return event

    def pending(self, kind: type[ModemEvent]) -> int:
        return self._queues[kind].qsize()


@dataclass
class Rig:
    network: SimulatedNetwork
    sims: list[SimulatedModem] = field(default_factory=list)
    modems: list[GsmModem] = field(default_factory=list)

    async def add(
        self,
        number: str,
        personality_name: str = "generic",
        *,
        settings: ModemSettings = SETTINGS,
        timeouts: Timeouts | None = None,
        initialize: bool = True,
        **sim_options: Any,
    ) -> tuple[SimulatedModem, GsmModem]:
        # Reports at once unless a test asks otherwise: the tests await them (see Events).
        sim_options.setdefault("report_delay", 0.0)
        sim = SimulatedModem([number], personality(personality_name), **sim_options)
        self.network.attach(sim, number)
        host, device = pipe()
        sim.start(device)
        modem = GsmModem(AtChannel(host, timeouts), settings)
        self.sims.append(sim)
        self.modems.append(modem)
        if initialize:
            await asyncio.wait_for(modem.initialize(), WAIT)
        return sim, modem

    async def close(self) -> None:
        for modem in self.modems:
            await modem.close()
        # Let each simulated modem see its link close and finish serving.
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    setup = Rig(SimulatedNetwork())
    try:
        yield setup
    finally:
        await setup.close()


async def receive_all(modem: Modem, events: Events, count: int) -> list[Deliver]:
    """Read (and delete) ``count`` stored messages as their +CMTI arrive."""
    messages = []
    for _ in range(count):
        stored = await events.next(MessageStored)
        entry = await modem.read_message(stored.storage, stored.index)
        assert entry is not None
        message = decode(entry.pdu, entry.length)
        assert isinstance(message, Deliver)
        messages.append(message)
        await modem.delete_message(stored.storage, stored.index)
    return messages


def decoded(pdu: str, length: int) -> Pdu:
    return decode(pdu, length)
