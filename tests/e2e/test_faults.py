"""Faults injected through the simulator while the gateway runs: each ends with every message
in the right state and the modem back in service, without restarting the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from drivers import ModemSettings, Timeouts
from drivers.simulated.network import Fate, HandsetRule
from gateway.domain.models import Status
from gateway.modems.supervisor import ModemHandle, ModemState
from gateway.runtime import Gateway
from gateway.tasks import Tasks
from tests.e2e.rig import HANDSET, Rig, started_rig
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, WAIT, config

FAST = Timeouts(default=0.5, prompt=0.5, submit=0.5)  # a hang is found out at once


@asynccontextmanager
async def rig(
    tmp_path: Path, prepare: Callable[[Gateway], None] | None = None, **changes: Any
) -> AsyncIterator[Rig]:
    """The e2e rig with alice quick to find out a hang, and HANDSET's reports delivered."""

    def setup(gateway: Gateway) -> None:
        handle = gateway.modems.handles["alice"]
        settings = ModemSettings(wake_attempts=2, wake_timeout=0.3, sim_busy_delay=0.01)
        handle.params = replace(handle.params, timeouts=FAST, settings=settings)
        gateway.dispatcher.local_delays = (0.0,)
        if prepare is not None:
            prepare(gateway)

    async with started_rig(tmp_path, prepare=setup, **changes) as r:
        r.network.set_rule(HANDSET, HandsetRule(Fate.DELIVERED))
        yield r


def alice_handle(r: Rig) -> ModemHandle:
    return r.gateway.modems.handles["alice"]


async def send(r: Rig, body: str = "Hello", to: str = HANDSET) -> str:
    message = await r.gateway.outbound.create(ACCOUNT.sid, {"To": to, "From": ALICE, "Body": body})
    return message.sid


async def status(r: Rig, sid: str) -> Status:
    message = await r.gateway.store.get_message(ACCOUNT.sid, sid)
    assert message is not None
    return message.status


def submissions(r: Rig, body: str) -> int:
    return sum(1 for s in r.network.submissions if s.submit.text == body)


async def retry_now(r: Rig) -> None:
    """The clock past the retry delay of a failed attempt, and the worker told."""
    r.clock.advance(3600)
    r.gateway.dispatcher.wake("alice")


async def test_a_modem_that_hangs_mid_command_is_recovered(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.alice.faults.hang_in_submit = True  # takes the PDU, then answers nothing at all
        sid = await send(r, "into the void")
        await r.statuses.modem_reached(
            "alice", ModemState.LOST
        )  # the submit timed out; initialising failed
        assert await status(r, sid) == Status.SENDING  # whether it left is unknown: it waits
        r.alice.resume()  # the modem answers again: it is reopened and initialised
        await r.statuses.modem_reached("alice", ModemState.READY, 2)
        await retry_now(r)
        await r.statuses.reached(sid, Status.DELIVERED)
        assert alice_handle(r).state is ModemState.READY
        assert alice_handle(r).recoveries == 1
        after = await send(r, "and the next one")
        await r.statuses.reached(after, Status.DELIVERED)


async def test_a_modem_left_in_the_prompt_is_brought_back(tmp_path: Path) -> None:
    """The line drops while the modem waits for a PDU: it still waits when the port is opened
    again, and takes every AT for PDU digits. The reopen brings it back (ESC) and the message
    goes, once."""
    async with rig(tmp_path) as r:
        r.alice.faults.hold_prompt = True  # the next AT+CMGS gets no "> " ...
        dropping: list[asyncio.Task[None]] = []

        def drop_when_held() -> None:  # ... and the line drops right then
            if r.alice.prompt_held and not dropping:
                dropping.append(asyncio.get_running_loop().create_task(r.alice.drop_line()))

        r.alice.state_observers.append(drop_when_held)
        sid = await send(r, "held in the prompt")
        await r.statuses.modem_reached("alice", ModemState.LOST)
        await r.statuses.modem_reached("alice", ModemState.READY, 2)
        assert not r.alice.data_mode
        await r.statuses.reached(sid, Status.DELIVERED)
        assert submissions(r, "held in the prompt") == 1  # its PDU was never written
        assert alice_handle(r).recoveries == 1
        await asyncio.gather(*dropping)


async def test_garbage_on_the_line_changes_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.alice.emit_garbage()
        await r.alice.emit_garbage(b"\x00\xff\r\n+CME ERR\r\n\x1b[0m")
        sid = await send(r, "through the noise")
        await r.statuses.reached(sid, Status.DELIVERED)
        assert alice_handle(r).state is ModemState.READY
        assert alice_handle(r).recoveries == 0
        assert submissions(r, "through the noise") == 1


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_unplugged_during_cmgs_and_plugged_back(tmp_path: Path, moment: str) -> None:
    async with rig(tmp_path) as r:
        r.alice.faults.unplug_in_submit = moment
        sid = await send(r, f"unplugged {moment}")
        await r.statuses.modem_reached("alice", ModemState.LOST)
        # Unplugged: the port cannot be opened; the gateway keeps trying, with backoff.
        await r.statuses.modem_reached("alice", ModemState.LOST, 1)
        assert alice_handle(r).modem is None or alice_handle(r).state is not ModemState.READY
        assert await status(r, sid) == Status.SENDING
        r.alice.plug()
        await r.statuses.modem_reached("alice", ModemState.READY, 2)
        await r.statuses.reached(sid, Status.DELIVERED)
        # The part that was on the air when the cable came out ("after": the network had it,
        # the +CMGS answer never came) goes again: at least once, never lost. "before": once.
        assert submissions(r, f"unplugged {moment}") == (2 if moment == "after" else 1)
        assert alice_handle(r).state is ModemState.READY


async def test_a_full_storage_is_emptied_and_what_waited_arrives(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        inbox = r.inbox
        bob_sim = r.gateway.modems.simulated["bob"]
        storage = bob_sim.mem[2]
        bob_sim.fill_storage(storage)
        r.gateway.modems.network.inject(BOB, HANDSET, "waiting for room")
        assert not any(m.body == "waiting for room" for m in inbox.messages)
        r.gateway.inbound.sweep_now(r.gateway.modems.handles["bob"])  # the safety sweep
        # The fillers are one PDU stored over and over: one message, then the one that waited.
        filler, waited = await inbox.wait(2)
        assert (filler.body, waited.body) == ("", "waiting for room")
        await r.gateway.inbound.settled()
        assert not bob_sim.storages[storage].slots  # everything read was deleted


async def test_a_sim_busy_at_start_is_waited_for(tmp_path: Path) -> None:
    def busy(gateway: Gateway) -> None:
        gateway.modems.simulated["alice"].sim_busy_answers = 3  # +CME ERROR: 14, thrice

    async with rig(tmp_path, prepare=busy) as r:
        assert alice_handle(r).state is ModemState.READY
        assert r.alice.sim_busy_answers == 0
        sid = await send(r, "after the SIM woke up")
        await r.statuses.reached(sid, Status.DELIVERED)


async def test_registration_lost_holds_messages_until_it_is_back(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.alice.set_registration(0)  # +CREG: 0, +CEREG: 0
        await r.statuses.modem_reached("alice", ModemState.NO_SERVICE)
        sid = await send(r, "when the network is back")
        await r.gateway.inbound.settled()
        assert await status(r, sid) == Status.QUEUED  # waits: not failed, nothing counted
        assert submissions(r, "when the network is back") == 0
        r.alice.set_registration(5)  # roaming
        await r.statuses.reached(sid, Status.DELIVERED)
        assert alice_handle(r).state is ModemState.READY
        assert alice_handle(r).troubles == 0


async def test_a_health_check_the_modem_does_not_answer_recovers_it(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        health = await alice_handle(r).check_health()
        assert health is not None and health.rssi is not None
        assert health.registration is not None and health.registration.registered
        assert health.storage_total is not None
        r.alice.hang()
        assert await alice_handle(r).check_health() is None  # no answer: lost, and recovering
        await r.statuses.modem_reached("alice", ModemState.LOST)
        r.alice.resume()
        await r.statuses.modem_reached("alice", ModemState.READY, 2)
        sid = await send(r, "after the health check")
        await r.statuses.reached(sid, Status.DELIVERED)


async def test_a_modem_that_hangs_while_receiving_is_recovered(tmp_path: Path) -> None:
    def bob_fast(gateway: Gateway) -> None:
        handle = gateway.modems.handles["bob"]
        settings = ModemSettings(wake_attempts=2, wake_timeout=0.3)
        handle.params = replace(handle.params, timeouts=FAST, settings=settings)

    async with rig(tmp_path, prepare=bob_fast) as r:
        inbox = r.inbox
        bob = r.gateway.modems.handles["bob"]
        bob_sim = r.gateway.modems.simulated["bob"]
        bob_sim.hang()  # the +CMTI comes; the AT+CMGR that follows is never answered
        r.gateway.modems.network.inject(BOB, HANDSET, "read me once you are back")
        await r.statuses.modem_reached("bob", ModemState.LOST)
        bob_sim.resume()
        (message,) = await inbox.wait(1)
        assert message.body == "read me once you are back"
        assert bob.state is ModemState.READY


async def test_a_bug_in_a_listener_of_a_modem_does_not_end_its_supervisor(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault of ours in a listener of a modem's connection (here: one that raises) used to
    end the modem's supervisor, which the tasks then restarted. Listeners are isolated now
    (gateway/listeners.py): the bug is logged, the listeners after it still hear the
    connection, and the modem comes into service on its first connection, nothing restarted."""
    gateway = Gateway(config(tmp_path), tasks=Tasks(backoff=(0.01,)))
    failures = [RuntimeError("a listener's bug")]
    heard: list[object] = []

    def faulty(_modem: object) -> None:
        if failures:
            raise failures.pop()

    gateway.modems.handles["alice"].on_connected(faulty)
    gateway.modems.handles["alice"].on_connected(heard.append)
    await gateway.start()
    try:
        modem = await asyncio.wait_for(gateway.modems.handles["alice"].ready(), WAIT)
        assert gateway.tasks.restarts == {}
        assert (failures, heard) == ([], [modem])
        assert gateway.modems.handles["alice"].recoveries == 0
        assert "a listener of alice's connection failed" in caplog.messages
    finally:
        await gateway.stop()
