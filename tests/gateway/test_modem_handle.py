"""A modem handle's states against a simulated modem over an in-memory link: what "ready"
promises, whatever the modem says while it is being set up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from drivers import ModemParams, ModemSettings
from drivers.simulated import SimulatedModem, SimulatedNetwork
from gateway.config import ModemConfig
from gateway.modems.supervisor import ModemHandle, ModemState

ALICE = "+15550001001"
WAIT = 10.0  # bounds a hang; nothing here waits for it
SET_UP = "AT+CNMI=2,1,0,1,0"  # among the last commands of the initialisation (reports routed)


@asynccontextmanager
async def started(
    sim: SimulatedModem, on_command: Callable[[str], None]
) -> AsyncIterator[ModemHandle]:
    """A handle (no periodic health check) opening ``sim``, started; stopped on the way out.
    ``on_command`` sees each command line the modem receives, as it arrives."""
    network = SimulatedNetwork()
    network.attach(sim, ALICE)
    sim.command_observers.append(on_command)
    config = ModemConfig("alice", "simulated", (ALICE,))
    params = ModemParams(
        "alice",
        "simulated",
        numbers=(ALICE,),
        settings=ModemSettings(sim_busy_delay=0),
        simulator=sim,  # opened as it is: on this network, with the reports it keeps
    )
    handle = ModemHandle(config, params, health_interval=0)
    handle.start()
    try:
        yield handle
    finally:
        await handle.stop()


def left_by_an_earlier_host() -> SimulatedModem:
    """A modem whose registration reports (``AT+CREG=1``, ``AT+CEREG=1``) a host before this
    one asked for: a modem keeps them until it is reset."""
    sim = SimulatedModem([ALICE])
    sim.creg = sim.cereg = 1
    return sim


async def test_a_registration_report_while_initialising_does_not_make_the_modem_ready() -> None:
    """Ready means set up: PDU mode, storage and notifications chosen, and whoever listens to
    a new modem's events subscribed. A ``+CREG: 1`` that comes in the middle of the set-up
    (the network lost and back, reported as TS 27.007 §7.2 ``AT+CREG=1`` asks) once made it
    ready there: ``AT+CMGS`` went out before ``AT+CMGF=0``, and the ``+CMTI`` that followed
    reached no subscriber (the chaos run's "moments that did not come")."""
    sim = left_by_an_earlier_host()
    once: list[str] = []

    def network_lost_and_back(command: str) -> None:
        if command == "AT+CGMM" and not once:  # early in the initialisation
            once.append(command)
            sim.set_registration(0)
            sim.set_registration(1)

    async with started(sim, network_lost_and_back) as handle:
        connected: list[bool] = []
        states: list[tuple[ModemState, bool, bool]] = []
        handle.on_connected(lambda _: connected.append(True))
        handle.on_state(
            lambda state: states.append((state, bool(connected), SET_UP in sim.received_commands))
        )
        await asyncio.wait_for(handle.ready(), WAIT)
        assert once  # the reports did come while it was being set up
        # Its first state after "starting" is "ready", once set up and listened to.
        assert states[0] == (ModemState.READY, True, True)


async def test_a_network_lost_at_the_end_of_the_initialisation_is_noticed() -> None:
    """A report that came while the modem was set up counts for nothing then, and may be
    newer than the registration the set-up read: a poll once in service decides."""
    sim = left_by_an_earlier_host()
    once: list[str] = []

    def network_lost_after_the_poll(command: str) -> None:
        # AT+CSQ comes after the set-up's AT+CREG? and AT+CEREG?: the +CREG: 0 is newer.
        if command == "AT+CSQ" and SET_UP in sim.received_commands and not once:
            once.append(command)
            sim.set_registration(0)

    async with started(sim, network_lost_after_the_poll) as handle:
        states: list[ModemState] = []
        reached = asyncio.Event()

        def record(state: ModemState) -> None:
            states.append(state)
            if state is ModemState.NO_SERVICE:
                reached.set()

        handle.on_state(record)
        await asyncio.wait_for(reached.wait(), WAIT)
        assert once
        assert handle.state is ModemState.NO_SERVICE
