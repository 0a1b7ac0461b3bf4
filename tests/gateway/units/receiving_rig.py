"""The receiving side running for a test: the receiver over a ready simulated modem (alice's),
the in-memory store and the test clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from drivers.simulated import SimulatedModem
from gateway.config import Config, ModemConfig, NumberConfig
from gateway.domain.models import Message
from gateway.domain.records import ReportMatch
from gateway.inbound.receiver import InboundReceiver
from gateway.modems.pool import ModemPool
from gateway.tasks import Tasks
from tests.fakes.clock import Clock
from tests.fakes.store import MemoryStore
from tests.gateway.units.rig import (
    ACCOUNT,
    ALICE,
    SENDER,
    SMS_URL,
    WAIT,
    Commands,
    config,
    make_receiver,
    make_webhook_sender,
)


class Inbox:
    """Every inbound message the receiver commits, and every report it applies, to await."""

    def __init__(self, receiver: InboundReceiver) -> None:
        self.messages: list[Message] = []
        self.reports: list[ReportMatch] = []
        self._changed = asyncio.Event()
        receiver.on_message(self._message)
        receiver.on_report(self._report)

    def _message(self, message: Message) -> None:
        self.messages.append(message)
        self._changed.set()

    def _report(self, match: ReportMatch) -> None:
        self.reports.append(match)
        self._changed.set()

    async def wait(self, count: int = 1) -> list[Message]:
        """The first ``count`` messages, once they have come."""
        async with asyncio.timeout(WAIT):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.messages[:count]

    async def reported(self, count: int) -> list[ReportMatch]:
        """The first ``count`` reports applied, once they have been."""
        async with asyncio.timeout(WAIT):
            while len(self.reports) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.reports[:count]

    async def report(self) -> ReportMatch:
        """The first report applied, once it has been."""
        async with asyncio.timeout(WAIT):
            while not self.reports:
                self._changed.clear()
                await self._changed.wait()
        return self.reports[0]


@dataclass
class Receiving:
    """The receiver over a ready simulated modem (alice's), which handsets text."""

    config: Config
    store: MemoryStore
    clock: Clock
    modems: ModemPool
    receiver: InboundReceiver
    inbox: Inbox
    commands: Commands

    @property
    def sim(self) -> SimulatedModem:
        return self.modems.simulated["alice"]

    def text(self, body: str, order: list[int] | None = None, reference: int = 7) -> None:
        """A handset texts alice's number ``body``, its parts arriving in ``order``."""
        self.modems.network.inject(ALICE, SENDER, body, order=order, reference=reference)

    async def stored(self, sid: str) -> Message:
        found = await self.store.get_message(ACCOUNT.sid, sid)
        assert found is not None
        return found


@contextlib.asynccontextmanager
async def receiving(
    *,
    store: MemoryStore | None = None,
    clock: Clock | None = None,
    personality: str = "generic",
    **changes: Any,
) -> AsyncIterator[Receiving]:
    """Started as ``gateway/runtime.py`` starts them: the receiver before the modem (it hears
    the first connection), which is ready when this yields; stopped in the reverse order.
    Alice's number sends its messages to :data:`SMS_URL`; her modem is a simulated
    ``personality``."""
    changes.setdefault("numbers", (NumberConfig(ALICE, sms_url=SMS_URL),))
    alice = ModemConfig("alice", "simulated", (ALICE,), personality=personality)
    configuration = config(alice, **changes)
    store, clock = store or MemoryStore(), clock or Clock()
    modems = ModemPool(configuration.modems, health_interval=0.0)
    webhooks = make_webhook_sender(store, clock)  # not started: woken, it does nothing here
    receiver = make_receiver(configuration, store, modems, webhooks, clock)
    await receiver.reassembly.numbers.load(ACCOUNT.sid)
    unit = Receiving(
        configuration,
        store,
        clock,
        modems,
        receiver,
        Inbox(receiver),
        Commands(modems.simulated["alice"]),
    )
    receiver.start()
    modems.start(Tasks())
    try:
        async with asyncio.timeout(WAIT):
            await modems.handles["alice"].ready()
            await receiver.settled()  # the first connection's sweep of the SIM is done
        yield unit
    finally:
        await receiver.stop()
        await modems.stop()
