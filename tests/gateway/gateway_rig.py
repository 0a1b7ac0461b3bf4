"""A real gateway in-process: SQLite in a temporary folder, simulated modems, a real port;
and what it announces (message statuses, reports, webhook outcomes, modem states, inbound
messages), recorded to await. The e2e rig (:mod:`tests.e2e.rig`) is built on this."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import aiohttp

from drivers.simulated import SimulatedModem
from drivers.simulated.state import Slot
from gateway.config import Account, ApiKey, Config, ModemConfig
from gateway.domain.models import FINAL_STATUSES, Message, Status
from gateway.domain.records import ReportMatch, Webhook
from gateway.modems.supervisor import ModemState
from gateway.runtime import Gateway

ACCOUNT = Account(
    "AC" + "a1" * 16,
    "test-auth-token-alice",
    (ApiKey("SK" + "b2" * 16, "test-api-key-secret"),),
)
OTHER_ACCOUNT = Account("AC" + "c3" * 16, "test-auth-token-carol")
ALICE = "+15550001001"
BOB = "+15550002002"
CAROL = "+15550003003"
WAIT: Final = 10.0  # seconds: the bound on any wait for the gateway to do something


def basic_auth(account: Account = ACCOUNT) -> dict[str, str]:
    """The Authorization header a Twilio client sends for ``account``."""
    token = base64.b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def modems_json(gateway: Gateway, account: Account = ACCOUNT) -> dict[str, dict[str, Any]]:
    """``GET /smsgw/modems.json`` as ``account``: its modems by id."""
    async with (
        aiohttp.ClientSession(gateway.base_url, headers=basic_auth(account)) as http,
        http.get("/smsgw/modems.json") as response,
    ):
        assert response.status == 200
        return {modem["id"]: modem for modem in await response.json()}


def config(
    data_dir: Path,
    *modems: ModemConfig,
    accounts: tuple[Account, ...] = (),
    **changes: Any,
) -> Config:
    """The test configuration: three simulated modems (alice, bob and carol's, the last for
    the other account) unless ``modems`` are given; ``changes`` set other fields."""
    changes.setdefault("shutdown_grace", 0.25)  # a hung modem's part is not waited for long
    return Config(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        accounts=accounts or (ACCOUNT, OTHER_ACCOUNT),
        modems=reports_at_once(
            modems
            or (
                ModemConfig("alice", "simulated", (ALICE,)),
                ModemConfig("bob", "simulated", (BOB,)),
                ModemConfig("carol", "simulated", (CAROL,), account=OTHER_ACCOUNT.sid),
            )
        ),
        **changes,
    )


def reports_at_once(modems: tuple[ModemConfig, ...]) -> tuple[ModemConfig, ...]:
    """``modems``, the simulated ones with ``report_delay = 0`` unless a test chose one: the
    tests await the delivery reports, and the simulator's default takes seconds as a network
    does."""
    return tuple(
        replace(modem, report_delay=0.0)
        if modem.driver == "simulated" and modem.report_delay is None
        else modem
        for modem in modems
    )


class Awaited:
    """What a running gateway announced, kept in order, and waits on it. The gateway's
    listeners are plain callbacks, run after the commit they announce: each one here records
    and wakes the waiters (by setting their futures at once: no task is made, so none can be
    lost before it runs)."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def _changed(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def until(self, check: Callable[[], bool], timeout: float = WAIT) -> None:
        """Returns once ``check()`` holds, looked at again after each announcement."""
        async with asyncio.timeout(timeout):
            while not check():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter


class Statuses(Awaited):
    """Everything a gateway announces of its messages and modems, to await rather than poll:
    each status change the dispatcher commits (by SID), each failed attempt deferred, each
    status report applied, each webhook attempt's outcome, and each modem's states. It hears
    what comes after it is made: made before the gateway starts, it hears the start too."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__()
        self._store = gateway.store
        self._handles = gateway.modems.handles
        self.seen: defaultdict[str, list[Status]] = defaultdict(list)
        self.deferred: list[tuple[str, int]] = []  # (sid, failed attempts so far)
        self.reports: list[ReportMatch] = []  # the status each changed, on_status says too
        self.outcomes: list[str | None] = []  # None: delivered; else why the attempt failed
        self.states: defaultdict[str, list[ModemState]] = defaultdict(list)  # by modem
        gateway.dispatcher.on_status(self._status)
        gateway.dispatcher.on_deferred(self._deferred)
        gateway.inbound.on_report(self._report)
        gateway.webhooks.on_outcome(self._outcome)
        for handle in gateway.modems.handles.values():
            handle.on_state(functools.partial(self._state, handle.id))

    def _status(self, sid: str, status: Status) -> None:
        self.seen[sid].append(status)
        self._changed()

    def _deferred(self, sid: str, attempts: int) -> None:
        self.deferred.append((sid, attempts))
        self._changed()

    def _report(self, match: ReportMatch) -> None:
        self.reports.append(match)
        self._changed()

    def _outcome(self, _: Webhook, error: str | None) -> None:
        self.outcomes.append(error)
        self._changed()

    def _state(self, modem: str, state: ModemState) -> None:
        self.states[modem].append(state)
        self._changed()

    async def reached(self, sid: str, status: Status) -> list[Status]:
        """Every status of ``sid`` so far, once ``status`` is among them."""
        await self.until(lambda: status in self.seen[sid])
        return self.seen[sid]

    async def final(self, sid: str, account: Account = ACCOUNT) -> Message:
        """The message as stored once its status is final (sent, failed...)."""
        await self.until(lambda: not FINAL_STATUSES.isdisjoint(self.seen[sid]))
        message = await self._store.get_message(account.sid, sid)
        assert message is not None
        return message

    async def reported(self, count: int) -> list[ReportMatch]:
        """Every report applied so far, once there are ``count``."""
        await self.until(lambda: len(self.reports) >= count)
        return self.reports

    async def webhook_outcomes(self, count: int) -> list[str | None]:
        """The first ``count`` webhook attempts' outcomes, once committed."""
        await self.until(lambda: len(self.outcomes) >= count)
        return self.outcomes[:count]

    async def modem_reached(self, modem: str, state: ModemState, count: int = 1) -> None:
        """Returns once ``modem`` has entered ``state`` ``count`` times."""
        await self.until(lambda: self.states[modem].count(state) >= count)

    def entering(self, modem: str, state: ModemState) -> Awaitable[None]:
        """Returns at once what to await for ``modem`` to be in ``state``: now, or entered
        from now on."""
        if self._handles[modem].state is state:
            return self.until(lambda: True)
        before = self.states[modem].count(state)
        return self.until(lambda: self.states[modem].count(state) > before)


class Inbox(Awaited):
    """Every inbound message the gateway commits, to await rather than poll."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__()
        self.messages: list[Message] = []
        gateway.inbound.on_message(self._record)

    def _record(self, message: Message) -> None:
        self.messages.append(message)
        self._changed()

    async def wait(self, count: int = 1, timeout: float = WAIT) -> list[Message]:
        """The first ``count`` messages, once they have come."""
        await self.until(lambda: len(self.messages) >= count, timeout)
        return self.messages[:count]


def put_on_sim(sim: SimulatedModem, pdus: list[tuple[str, int]], stat: int = 0) -> None:
    """Messages the SIM holds already (received while no gateway was running)."""
    for pdu, length in pdus:
        assert sim.storages["SM"].store(Slot(stat, pdu, length)) is not None


@contextlib.asynccontextmanager
async def running(
    configuration: Config,
    *,
    clock: Callable[[], datetime] | None = None,
    prepare: Callable[[Gateway], None] | None = None,
) -> AsyncIterator[Gateway]:
    """A started gateway whose modems are all ready; ``prepare`` sees it before it starts
    (e.g. to put messages on a simulated SIM)."""
    gateway = Gateway(configuration, clock=clock) if clock else Gateway(configuration)
    if prepare is not None:
        prepare(gateway)
    await gateway.start()
    try:
        for handle in gateway.modems.handles.values():
            await handle.ready()
        yield gateway
    finally:
        await gateway.stop()
