"""What the unit tier runs a component with: the in-memory store (:mod:`tests.fakes.store`), the
test clock, and real simulated modems on a simulated network over the in-memory pipe (the
gateway's own :class:`ModemPool` with ``driver = "simulated"``). No HTTP API, no SQLite. The
running sides are in :mod:`.sending_rig`, :mod:`.receiving_rig` and :mod:`.webhook_site`.

Each component is built by one small factory below, as ``gateway/runtime.py`` builds it (its
collaborators given to its constructor): when construction changes, only the factory does.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Final

from drivers.simulated import SimulatedModem
from gateway.accounts.applications import Applications
from gateway.accounts.numbers import PhoneNumbers
from gateway.config import Account, Config, ModemConfig
from gateway.domain.models import Status
from gateway.domain.records import NewMessage
from gateway.inbound.receiver import InboundReceiver
from gateway.modems.pool import ModemPool
from gateway.modems.supervisor import ModemHandle, ModemState
from gateway.outbound.accept import Outbound
from gateway.outbound.dispatcher import Dispatcher
from gateway.outbound.routing import ServiceRouter
from gateway.tasks import Tasks
from gateway.webhooks.replies import TwimlReplies
from gateway.webhooks.sender import WebhookSender
from tests.fakes.clock import Clock
from tests.fakes.store import MemoryStore
from tests.gateway.gateway_rig import reports_at_once

WAIT: Final = 5.0  # seconds: the bound on any wait (a hang becomes a failure, not a stuck run)
ACCOUNT: Final = Account("AC" + "a1" * 16, "test-auth-token-alice")
ALICE: Final = "+15550001001"
BOB: Final = "+15550002002"
HANDSET: Final = "+447700900123"  # a virtual handset: no simulated modem owns it
SENDER: Final = "+15557654321"  # a handset texting the gateway
SMS_URL: Final = "https://example.com/sms"


def config(*modems: ModemConfig, **changes: Any) -> Config:
    """Two simulated modems, alice's and bob's, unless ``modems`` are given."""
    return Config(
        accounts=(ACCOUNT,),
        modems=reports_at_once(
            modems
            or (
                ModemConfig("alice", "simulated", (ALICE,)),
                ModemConfig("bob", "simulated", (BOB,)),
            )
        ),
        health_interval=0.0,  # no health checks: nothing runs that the test did not start
        shutdown_grace=0.0,
        **changes,
    )


# --- one factory per component, wired as gateway/runtime.py does ------------------------------


def make_dispatcher(
    configuration: Config, store: MemoryStore, modems: ModemPool, clock: Clock, **options: Any
) -> Dispatcher:
    # A failed worker starts again after 10 ms, not the gateway's second (gateway/tasks.py
    # BACKOFF): what a test sees is that it starts again, and the unit tier waits out no clock.
    tasks = Tasks(backoff=(0.01,))
    return Dispatcher(store, modems, clock, prices=configuration.prices, tasks=tasks, **options)


def make_outbound(
    configuration: Config,
    store: MemoryStore,
    modems: ModemPool,
    dispatcher: Dispatcher,
    clock: Clock,
) -> Outbound:
    applications = Applications(store, clock)
    return Outbound(configuration, store, modems, dispatcher, clock, applications=applications)


def make_router(
    configuration: Config,
    store: MemoryStore,
    modems: ModemPool,
    outbound: Outbound,
    dispatcher: Dispatcher,
    clock: Clock,
    **options: Any,
) -> ServiceRouter:
    router = ServiceRouter(
        configuration, store, modems, outbound, dispatcher, clock=clock, tasks=Tasks(), **options
    )
    outbound.senders_wanted.subscribe(router.wake)
    return router


TOKENS: Final = {ACCOUNT.sid: ACCOUNT.auth_token}  # what a started sender signs with


def make_webhook_sender(
    store: MemoryStore,
    clock: Clock,
    *,
    outbound: Outbound | None = None,
    **options: Any,
) -> WebhookSender:
    """A webhook sender whose TwiML replies go through ``outbound`` (one of its own, over
    modems never started, if not given); started with ``sender.start(TOKENS)``."""
    replies = TwimlReplies(outbound or outbound_alone(config(), store, clock))
    return WebhookSender(store, replies, clock, tasks=Tasks(), **options)


def make_receiver(
    configuration: Config,
    store: MemoryStore,
    modems: ModemPool,
    webhooks: WebhookSender,
    clock: Clock,
) -> InboundReceiver:
    return InboundReceiver(
        configuration,
        store,
        modems,
        webhooks,
        PhoneNumbers(configuration, store, clock, Applications(store, clock)),
        clock=clock,
        account_of=lambda _modem: ACCOUNT.sid,
        tasks=Tasks(),
    )


def outbound_alone(configuration: Config, store: MemoryStore, clock: Clock) -> Outbound:
    """An Outbound that checks and encodes messages over simulated modems never started (and
    a dispatcher never started): to make messages, not to send them."""
    modems = ModemPool(configuration.modems)
    dispatcher = make_dispatcher(configuration, store, modems, clock)
    return make_outbound(configuration, store, modems, dispatcher, clock)


def prepared(configuration: Config | None = None, **form: str) -> NewMessage:
    """A message checked and encoded as the API would accept it (alice's, to the handset),
    not committed: to put in a store before anything runs."""
    outbound = outbound_alone(configuration or config(), MemoryStore(), Clock())
    return outbound.prepare(ACCOUNT.sid, {"To": HANDSET, "From": ALICE, **form})


# --- awaiting what a component did ------------------------------------------------------------


class Statuses:
    """Every status change the dispatcher announces (after it is committed), to await."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.seen: defaultdict[str, list[Status]] = defaultdict(list)
        self._changed = asyncio.Event()
        dispatcher.on_status(self._record)

    def _record(self, sid: str, status: Status) -> None:
        self.seen[sid].append(status)
        self._changed.set()

    async def until(self, sid: str, status: Status) -> list[Status]:
        """``sid``'s statuses so far, once ``status`` is among them."""
        async with asyncio.timeout(WAIT):
            while status not in self.seen[sid]:
                self._changed.clear()
                await self._changed.wait()
        return self.seen[sid]


async def entering(handle: ModemHandle, state: ModemState) -> None:
    """Returns once ``handle``'s modem is in ``state`` (at once if it is)."""
    reached = asyncio.Event()
    handle.on_state(lambda new: reached.set() if new is state else None)
    if handle.state is not state:
        async with asyncio.timeout(WAIT):
            await reached.wait()


class Commands:
    """The AT commands a simulated modem is given, to await one (a receiver deletes a message
    from the SIM only once it is committed: its AT+CMGD says the PDU was dealt with)."""

    def __init__(self, sim: SimulatedModem) -> None:
        self.seen: list[str] = []
        self._changed = asyncio.Event()
        sim.command_observers.append(self._record)

    def _record(self, line: str) -> None:
        self.seen.append(line.upper())
        self._changed.set()

    async def until(self, prefix: str, count: int = 1) -> None:
        async with asyncio.timeout(WAIT):
            while sum(1 for line in self.seen if line.startswith(prefix)) < count:
                self._changed.clear()
                await self._changed.wait()
