"""End to end, routed status reports (issue 17): on a modem that routes them (``+CDS`` with
``AT+CSMS=1``) a report is committed and only then acknowledged with ``AT+CNMA``, with no
``AT+CMGR``/``AT+CMGD`` per part; a report whose commit fails, or whose acknowledgement never
comes (the gateway dies, the link drops), stays with the network, which delivers it again:
applied once. A missed acknowledgement turns routing off in the modem (TS 27.005 §3.4.1); the
gateway turns it back on. Over the real SQLite store and the simulated modem and network."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Final

import aiohttp

from drivers.simulated import SimulatedModem
from gateway.config import ModemConfig
from gateway.domain.errors import StoreError
from gateway.domain.models import Status
from gateway.domain.records import ReceivedReport, ReportMatch
from gateway.runtime import Gateway
from gateway.store.sqlite import SqliteStore
from tests.gateway.gateway_rig import ACCOUNT, ALICE, Statuses, basic_auth, config
from tests.gateway.units.rig import WAIT, Commands

HANDSET: Final = "+447700900123"
MESSAGES: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"


class ReportFaults(SqliteStore):
    """The real SQLite store, whose next ``failing`` report commits fail (as on a full disk);
    with ``after_commit`` the report is committed first and the answer lost, as when the
    gateway dies between its commit and its AT+CNMA."""

    def __init__(self, data_dir: Path, failing: int, *, after_commit: bool = False) -> None:
        super().__init__(data_dir)
        self.failing = failing
        self.after_commit = after_commit
        self.failed = asyncio.Event()

    async def add_status_report(self, report: ReceivedReport) -> ReportMatch | None:
        if self.failing:
            self.failing -= 1
            if self.after_commit:
                await super().add_status_report(report)
            self.failed.set()
            raise StoreError("the database could not commit: database or disk is full")
        return await super().add_status_report(report)


@contextlib.asynccontextmanager
async def alice_on(
    data_dir: Path, store: SqliteStore | None = None, personality: str = "generic"
) -> AsyncIterator[tuple[Gateway, aiohttp.ClientSession]]:
    alice = ModemConfig("alice", "simulated", (ALICE,), personality=personality)
    gateway = Gateway(config(data_dir, alice), store=store)
    await gateway.start()
    try:
        await gateway.modems.handles["alice"].ready()
        async with aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http:
            yield gateway, http
    finally:
        await gateway.stop()


async def send(http: aiohttp.ClientSession, body: str = "Hello") -> str:
    form = {"To": HANDSET, "From": ALICE, "Body": body}
    async with http.post(MESSAGES, data=form) as reply:
        assert reply.status == 201, await reply.text()
        sid: str = (await reply.json())["sid"]
        return sid


def count(sim: SimulatedModem, prefix: str) -> int:
    return sum(1 for command in sim.received_commands if command.startswith(prefix))


async def failed(store: ReportFaults, gateway: Gateway) -> None:
    """Returns once a report's commit failed and the receiver is done with it."""
    await asyncio.wait_for(store.failed.wait(), WAIT)
    await gateway.inbound.settled()


def when_command(sim: SimulatedModem, wanted: str, action: Callable[[], object]) -> None:
    """``action()`` once, when the modem receives ``wanted`` (before it runs it)."""

    def observe(command: str) -> None:
        if command == wanted:
            sim.command_observers.remove(observe)
            action()

    sim.command_observers.append(observe)


async def test_a_routed_report_delivers_the_message_with_no_read_or_delete(
    tmp_path: Path,
) -> None:
    async with alice_on(tmp_path) as (gateway, http):
        sim = gateway.modems.simulated["alice"]
        modem = gateway.modems.handles["alice"].modem
        info = modem.info if modem is not None else None
        assert info is not None and (info.cnmi, info.acknowledged) == ((2, 1, 0, 1, 0), True)
        statuses, commands = Statuses(gateway), Commands(sim)
        sid = await send(http, "x" * 300)  # two parts, two reports
        await statuses.reached(sid, Status.DELIVERED)
        await commands.until("AT+CNMA", 2)
        assert not sim.routed_unacked
        # Each report came as +CDS: no AT+CMGR, AT+CMGD, no report left on the SIM.
        assert count(sim, "AT+CMGR") == count(sim, "AT+CMGD") == 0
        assert not sim.storages["SR"].slots


async def test_a_stored_report_is_still_read_and_deleted(tmp_path: Path) -> None:
    async with alice_on(tmp_path, personality="stored") as (gateway, http):
        sim = gateway.modems.simulated["alice"]
        statuses, commands = Statuses(gateway), Commands(sim)
        sid = await send(http)
        await statuses.reached(sid, Status.DELIVERED)
        await commands.until("AT+CMGD", 1)
        assert count(sim, "AT+CNMA") == 0


async def test_a_report_whose_commit_fails_is_not_acknowledged_and_comes_again(
    tmp_path: Path,
) -> None:
    store = ReportFaults(tmp_path, 1)
    async with alice_on(tmp_path, store) as (gateway, http):
        sim = gateway.modems.simulated["alice"]
        statuses, commands = Statuses(gateway), Commands(sim)
        sid = await send(http)
        await failed(store, gateway)
        # Not committed: not acknowledged. The modem holds every later +CDS back meanwhile.
        assert count(sim, "AT+CNMA") == 0 and sim.routed_unacked
        assert Status.DELIVERED not in statuses.seen[sid]
        # The gateway goes (the link drops) and the network's wait for AT+CNMA ends: routing
        # is off (TS 27.005 §3.4.1), the network keeps the report.
        assert sim.miss_ack()
        await sim.drop_line()
        # Back: AT+CNMI set again, the report delivered again, committed, acknowledged.
        await statuses.reached(sid, Status.DELIVERED)
        await commands.until("AT+CNMA", 1)
        assert sim.cnmi == (2, 1, 0, 1, 0) and not sim.routed_unacked


async def test_a_report_committed_but_not_acknowledged_is_applied_once(tmp_path: Path) -> None:
    store = ReportFaults(tmp_path, 1, after_commit=True)
    async with alice_on(tmp_path, store) as (gateway, http):
        sim = gateway.modems.simulated["alice"]
        commands = Commands(sim)
        sid = await send(http)
        await failed(store, gateway)
        assert count(sim, "AT+CNMA") == 0 and sim.routed_unacked
        duplicates = gateway.metrics.duplicates
        assert sim.miss_ack()
        await sim.drop_line()
        await commands.until("AT+CNMA", 1)
        await gateway.inbound.settled()
        # The same report again: recognised, acknowledged, applied once.
        assert gateway.metrics.duplicates == duplicates + 1
        trail = await store.message_trail(sid)
        assert trail is not None
        assert [(part.delivery, part.report_status) for part in trail.parts] == [("delivered", 0)]
        message = await store.get_message(ACCOUNT.sid, sid)
        assert message is not None and message.status is Status.DELIVERED


async def test_a_late_acknowledgement_turns_routing_back_on(tmp_path: Path) -> None:
    async with alice_on(tmp_path) as (gateway, http):
        sim = gateway.modems.simulated["alice"]
        statuses, commands = Statuses(gateway), Commands(sim)
        # The network's timeout ends just before the gateway's AT+CNMA: +CMS ERROR: 340.
        when_command(sim, "AT+CNMA", sim.miss_ack)
        first = await send(http, "first")
        await statuses.reached(first, Status.DELIVERED)
        # The gateway set AT+CNMI again; the report came again (a duplicate) and was
        # acknowledged; later reports arrive.
        await commands.until("AT+CNMA", 2)
        await gateway.inbound.settled()
        assert sim.cnmi == (2, 1, 0, 1, 0) and not sim.routing_disabled
        assert gateway.metrics.duplicates == 1
        second = await send(http, "second")
        await statuses.reached(second, Status.DELIVERED)


async def test_the_health_check_turns_routing_back_on(tmp_path: Path) -> None:
    async with alice_on(tmp_path) as (gateway, _):
        sim = gateway.modems.simulated["alice"]
        handle = gateway.modems.handles["alice"]
        sim.cnmi = (2, 0, 0, 0, 0)  # as after a +CDS the gateway never saw (sim.miss_ack)
        assert await handle.check_health() is not None
        assert sim.cnmi == (2, 1, 0, 1, 0)
        cnmi_sets = count(sim, "AT+CNMI=2")
        await handle.check_health()  # on: only read
        assert count(sim, "AT+CNMI=2") == cnmi_sets
