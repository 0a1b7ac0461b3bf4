"""The sending side running for a test: the dispatcher (and the router, when asked for) over
ready simulated modems, the in-memory store and the test clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from gateway.config import Config
from gateway.domain.models import Message
from gateway.modems.pool import ModemPool
from gateway.outbound.accept import Outbound
from gateway.outbound.dispatcher import Dispatcher
from gateway.outbound.routing import ServiceRouter
from gateway.tasks import Tasks
from tests.fakes.clock import Clock
from tests.fakes.store import MemoryStore
from tests.gateway.units.rig import (
    ACCOUNT,
    ALICE,
    HANDSET,
    WAIT,
    Statuses,
    config,
    make_dispatcher,
    make_outbound,
    make_router,
)


@dataclass
class Sending:
    """The dispatcher (and, when asked for, the router) over ready simulated modems."""

    config: Config
    store: MemoryStore
    clock: Clock
    modems: ModemPool
    dispatcher: Dispatcher
    outbound: Outbound
    statuses: Statuses
    router: ServiceRouter | None = None

    async def send(self, to: str = HANDSET, body: str = "hello", **form: str) -> Message:
        """A message accepted as the API accepts one (checked, encoded, committed, its modem
        woken), with no HTTP."""
        return await self.outbound.create(
            ACCOUNT.sid, {"To": to, "From": form.pop("From", ALICE), "Body": body, **form}
        )

    def advance(self, seconds: float) -> None:
        """The clock moves on; every worker looks again, as a real timer would have fired."""
        self.clock.advance(seconds)
        for modem_id in self.modems.handles:
            self.dispatcher.wake(modem_id)
        if self.router is not None:
            self.router.wake()

    async def stored(self, sid: str) -> Message:
        found = await self.store.get_message(ACCOUNT.sid, sid)
        assert found is not None
        return found


@contextlib.asynccontextmanager
async def sending(
    configuration: Config | None = None,
    *,
    routing: bool = False,
    store: MemoryStore | None = None,
    **dispatcher_options: Any,
) -> AsyncIterator[Sending]:
    """Started as ``gateway/runtime.py`` starts them: the modems (ready), the dispatcher,
    then the router; stopped in the reverse order."""
    configuration = configuration or config()
    store = store or MemoryStore()
    clock = Clock()
    modems = ModemPool(configuration.modems, health_interval=0.0)
    dispatcher = make_dispatcher(configuration, store, modems, clock, **dispatcher_options)
    outbound = make_outbound(configuration, store, modems, dispatcher, clock)
    router = (
        make_router(configuration, store, modems, outbound, dispatcher, clock, failover_after=0.0)
        if routing
        else None
    )
    unit = Sending(configuration, store, clock, modems, dispatcher, outbound, Statuses(dispatcher))
    unit.router = router
    await outbound.start(default_account=ACCOUNT.sid)
    modems.start(Tasks())
    try:
        async with asyncio.timeout(WAIT):
            for handle in modems.handles.values():
                await handle.ready()
        dispatcher.start()
        if router is not None:
            router.start()
        yield unit
    finally:
        if router is not None:
            await router.stop()
        await dispatcher.stop()
        await modems.stop()
