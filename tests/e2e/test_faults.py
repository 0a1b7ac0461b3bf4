"""Faults injected through the simulator while the gateway runs: each ends with every message
in the right state and the modem back in service, without restarting the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drivers.at_channel import Timeouts
from drivers.modem import ModemSettings
from drivers.simulated import SimulatedModem
from drivers.simulated.network import Fate, HandsetRule
from gateway.domain.models import Status
from gateway.modems.supervisor import ModemHandle, ModemState
from gateway.runtime import Gateway
from gateway.tasks import Tasks
from tests.e2e.test_delivery import Statuses
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, Inbox, config, running

HANDSET = "+447700900123"
WAIT = 10.0
FAST = Timeouts(default=0.5, prompt=0.5, submit=0.5)  # a hang is found out at once


class States:
    """Every state a modem goes through, to await."""

    def __init__(self, handle: ModemHandle) -> None:
        self.seen: list[ModemState] = []
        self._changed = asyncio.Condition()
        handle.on_state(self._record)

    def _record(self, state: ModemState) -> None:
        self.seen.append(state)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def reached(self, state: ModemState, count: int = 1) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: self.seen.count(state) >= count), WAIT
            )


@dataclass
class Rig:
    gateway: Gateway
    clock: Clock
    statuses: Statuses
    states: States

    @property
    def handle(self) -> ModemHandle:
        return self.gateway.modems.handles["alice"]

    @property
    def sim(self) -> SimulatedModem:
        return self.gateway.modems.simulated["alice"]

    async def send(self, body: str = "Hello", to: str = HANDSET) -> str:
        message = await self.gateway.outbound.create(
            ACCOUNT.sid, {"To": to, "From": ALICE, "Body": body}
        )
        return message.sid

    async def status(self, sid: str) -> Status:
        message = await self.gateway.store.get_message(ACCOUNT.sid, sid)
        assert message is not None
        return message.status

    def submissions(self, body: str) -> int:
        return sum(1 for s in self.gateway.modems.network.submissions if s.submit.text == body)

    async def retry_now(self) -> None:
        """The clock past the retry delay of a failed attempt, and the worker told."""
        self.clock.advance(3600)
        self.gateway.dispatcher.wake("alice")


@asynccontextmanager
async def rig(
    tmp_path: Path, prepare: Callable[[Gateway], None] | None = None, **changes: Any
) -> AsyncIterator[Rig]:
    states: list[States] = []

    def setup(gateway: Gateway) -> None:
        handle = gateway.modems.handles["alice"]
        handle.timeouts = FAST
        handle.settings = ModemSettings(wake_attempts=2, wake_timeout=0.3, sim_busy_delay=0.01)
        gateway.dispatcher.local_delays = (0.0,)
        states.append(States(handle))
        if prepare is not None:
            prepare(gateway)

    clock = Clock()
    async with running(config(tmp_path / "data", **changes), clock=clock, prepare=setup) as gw:
        gw.modems.network.set_rule(HANDSET, HandsetRule(Fate.DELIVERED))
        yield Rig(gw, clock, Statuses(gw), states[0])


async def test_a_modem_that_hangs_mid_command_is_recovered(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.sim.faults.hang_in_submit = True  # takes the PDU, then answers nothing at all
        sid = await r.send("into the void")
        await r.states.reached(ModemState.LOST)  # the submit timed out; initialising failed
        assert await r.status(sid) == Status.SENDING  # whether it left is unknown: it waits
        r.sim.resume()  # the modem answers again: it is reopened and initialised
        await r.states.reached(ModemState.READY, 2)
        await r.retry_now()
        await r.statuses.reached(sid, Status.DELIVERED)
        assert r.handle.state is ModemState.READY
        assert r.handle.recoveries == 1
        after = await r.send("and the next one")
        await r.statuses.reached(after, Status.DELIVERED)


async def test_a_modem_left_in_the_prompt_is_brought_back(tmp_path: Path) -> None:
    """The line drops while the modem waits for a PDU: it still waits when the port is opened
    again, and takes every AT for PDU digits. The reopen brings it back (ESC) and the message
    goes, once."""
    async with rig(tmp_path) as r:
        r.sim.faults.hold_prompt = True  # the next AT+CMGS gets no "> " ...
        dropping: list[asyncio.Task[None]] = []

        def drop_when_held() -> None:  # ... and the line drops right then
            if r.sim.prompt_held and not dropping:
                dropping.append(asyncio.get_running_loop().create_task(r.sim.drop_line()))

        r.sim.state_observers.append(drop_when_held)
        sid = await r.send("held in the prompt")
        await r.states.reached(ModemState.LOST)
        await r.states.reached(ModemState.READY, 2)
        assert not r.sim.data_mode
        await r.statuses.reached(sid, Status.DELIVERED)
        assert r.submissions("held in the prompt") == 1  # its PDU was never written
        assert r.handle.recoveries == 1
        await asyncio.gather(*dropping)


async def test_garbage_on_the_line_changes_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.sim.emit_garbage()
        await r.sim.emit_garbage(b"\x00\xff\r\n+CME ERR\r\n\x1b[0m")
        sid = await r.send("through the noise")
        await r.statuses.reached(sid, Status.DELIVERED)
        assert r.handle.state is ModemState.READY
        assert r.handle.recoveries == 0
        assert r.submissions("through the noise") == 1


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_unplugged_during_cmgs_and_plugged_back(tmp_path: Path, moment: str) -> None:
    async with rig(tmp_path) as r:
        r.sim.faults.unplug_in_submit = moment
        sid = await r.send(f"unplugged {moment}")
        await r.states.reached(ModemState.LOST)
        # Unplugged: the port cannot be opened; the gateway keeps trying, with backoff.
        await r.states.reached(ModemState.LOST, 1)
        assert r.handle.modem is None or r.handle.state is not ModemState.READY
        assert await r.status(sid) == Status.SENDING
        r.sim.plug()
        await r.states.reached(ModemState.READY, 2)
        await r.statuses.reached(sid, Status.DELIVERED)
        # The part that was on the air when the cable came out ("after": the network had it,
        # the +CMGS answer never came) goes again: at least once, never lost. "before": once.
        assert r.submissions(f"unplugged {moment}") == (2 if moment == "after" else 1)
        assert r.handle.state is ModemState.READY


async def test_a_full_storage_is_emptied_and_what_waited_arrives(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        inbox = Inbox(r.gateway)
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
        assert r.handle.state is ModemState.READY
        assert r.sim.sim_busy_answers == 0
        sid = await r.send("after the SIM woke up")
        await r.statuses.reached(sid, Status.DELIVERED)


async def test_registration_lost_holds_messages_until_it_is_back(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.sim.set_registration(0)  # +CREG: 0, +CEREG: 0
        await r.states.reached(ModemState.NO_SERVICE)
        sid = await r.send("when the network is back")
        await r.gateway.inbound.settled()
        assert await r.status(sid) == Status.QUEUED  # waits: not failed, nothing counted
        assert r.submissions("when the network is back") == 0
        r.sim.set_registration(5)  # roaming
        await r.statuses.reached(sid, Status.DELIVERED)
        assert r.handle.state is ModemState.READY
        assert r.handle.troubles == 0


async def test_a_health_check_the_modem_does_not_answer_recovers_it(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        health = await r.handle.check_health()
        assert health is not None and health.rssi is not None
        assert health.registration is not None and health.registration.registered
        assert health.storage_total is not None
        r.sim.hang()
        assert await r.handle.check_health() is None  # no answer: lost, and recovering
        await r.states.reached(ModemState.LOST)
        r.sim.resume()
        await r.states.reached(ModemState.READY, 2)
        sid = await r.send("after the health check")
        await r.statuses.reached(sid, Status.DELIVERED)


async def test_a_modem_that_hangs_while_receiving_is_recovered(tmp_path: Path) -> None:
    def bob_fast(gateway: Gateway) -> None:
        handle = gateway.modems.handles["bob"]
        handle.timeouts = FAST
        handle.settings = ModemSettings(wake_attempts=2, wake_timeout=0.3)

    async with rig(tmp_path, prepare=bob_fast) as r:
        inbox = Inbox(r.gateway)
        bob = r.gateway.modems.handles["bob"]
        states = States(bob)
        bob_sim = r.gateway.modems.simulated["bob"]
        bob_sim.hang()  # the +CMTI comes; the AT+CMGR that follows is never answered
        r.gateway.modems.network.inject(BOB, HANDSET, "read me once you are back")
        await states.reached(ModemState.LOST)
        bob_sim.resume()
        (message,) = await inbox.wait(1)
        assert message.body == "read me once you are back"
        assert bob.state is ModemState.READY


async def test_a_bug_in_the_modem_supervisor_is_survived(tmp_path: Path) -> None:
    """A fault of ours that ends a modem's supervisor (here: a listener of its connection that
    raises) used to leave the modem 'starting' for good; it is restarted, and counted."""
    gateway = Gateway(config(tmp_path), tasks=Tasks(backoff=(0.01,)))
    failures = [RuntimeError("a listener's bug")]

    def faulty(_modem: object) -> None:
        if failures:
            raise failures.pop()

    gateway.modems.handles["alice"].on_connected(faulty)
    await gateway.start()
    try:
        await asyncio.wait_for(gateway.modems.handles["alice"].ready(), WAIT)
        assert gateway.tasks.restarts == {"modem alice": 1}
        assert not failures
    finally:
        await gateway.stop()
