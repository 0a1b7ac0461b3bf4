"""The gateway's modems: opening each one as its config says, and keeping it connected.

A :class:`ModemHandle` owns one modem: it opens it (:func:`drivers.open_modem`: a serial port,
TCP, or an in-process simulated modem on the gateway's simulated network), initialises it, and
when the link is lost opens it again with backoff. Whoever needs the modem awaits
:meth:`ModemHandle.ready`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from drivers import (
    AtTimeout,
    DriverError,
    LinkLost,
    Modem,
    ModemInfo,
    ModemLost,
    ModemParams,
    ModemSettings,
    ModemSetupError,
    PinRejected,
    RegistrationChanged,
    SimState,
    open_modem,
)
from gateway.config import ModemConfig
from gateway.listeners import Listeners
from gateway.modems import health
from gateway.modems.exclusive import Exclusive
from gateway.modems.health import ModemHealth, RegistrationTracker
from gateway.tasks import Tasks
from gateway.waiting import stop_tasks, woken_by

log = logging.getLogger(__name__)

BACKOFF_FIRST: Final = 1.0
BACKOFF_MAX: Final = 30.0
HEALTH_INTERVAL: Final = 60.0  # seconds between health checks of a modem in service
SOFT_RESET_AFTER: Final = 3  # failed recoveries in a row before a soft reset, where safe
SOFT_RESET_TIMEOUT: Final = 5.0


class ModemState(StrEnum):
    STARTING = "starting"
    READY = "ready"
    NO_SERVICE = "no_service"  # connected, but registered on no network: nothing is sent
    ROAMING = "roaming"  # on a visited network with hold_when_roaming: nothing is sent
    LOST = "lost"
    FAILED = "failed"  # cannot be set up (PIN, no SIM...): retried slowly, needs a person
    STOPPED = "stopped"


# Connected and set up, whether or not it may send.
_CONNECTED: Final = (ModemState.READY, ModemState.NO_SERVICE, ModemState.ROAMING)


@dataclass(frozen=True, slots=True)
class ModemStatus:
    id: str
    driver: str
    port: str
    numbers: tuple[str, ...]
    state: ModemState
    info: ModemInfo | None
    error: str | None
    troubles: int = 0  # times the modem refused a part for a reason of its own
    trouble: str | None = None  # the latest, until the modem sends again
    health: ModemHealth | None = None  # the latest health check
    recoveries: int = 0  # times it was brought back (initialised again, reopened, reset)
    sim: SimState | None = None  # as last found: ready, or why it is not (tries left)


class ModemHandle:
    def __init__(
        self,
        config: ModemConfig,
        params: ModemParams | None = None,
        *,
        health_interval: float = HEALTH_INTERVAL,
    ) -> None:
        self.config = config
        # How to open it, each time: its settings and AT timeouts included.
        self.params = params or modem_params(config)
        self.state = ModemState.STARTING
        self._state_listeners: Listeners[[ModemState]] = Listeners(f"{config.id}'s state")
        self.error: str | None = None
        self.troubles = 0  # refusals of the modem's own (see trouble())
        self.last_trouble: str | None = None
        self.modem: Modem | None = None
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._retimed = asyncio.Event()  # health_interval changed: the wait starts again
        self._task: asyncio.Task[None] | None = None
        self._listeners: Listeners[[Modem]] = Listeners(f"{config.id}'s connection")
        self._recovered_listeners: Listeners[[]] = Listeners(f"{config.id}'s recovery")
        self.health_interval = health_interval
        self.health: ModemHealth | None = None
        self.recoveries = 0
        self.sim: SimState | None = None
        self._registration = RegistrationTracker()
        self._soft_reset_safe = False  # from the vendor profile, once identified
        self._failures = 0
        self._connected_once = False
        self._checks: set[asyncio.Task[ModemHealth | None]] = set()
        self._reported_meanwhile = False  # a registration report came while it was set up
        self.exclusive = Exclusive()  # a part on the air or a USSD session, one at a time
        self._jobs: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._job_tasks: list[asyncio.Task[None]] = []

    @property
    def id(self) -> str:
        return self.config.id

    def status(self) -> ModemStatus:
        info = self.modem.info if self.modem is not None else None
        port = self.config.port or "in-process simulator"
        return ModemStatus(
            self.id,
            self.config.driver,
            port,
            self.config.numbers,
            self.state,
            info,
            self.error,
            self.troubles,
            self.last_trouble,
            self.health,
            self.recoveries,
            self.sim,
        )

    def on_state(self, listener: Callable[[ModemState], None]) -> None:
        """Called with each new state (after it is set)."""
        self._state_listeners.subscribe(listener)

    def _set_state(self, state: ModemState) -> None:
        if state is self.state:
            return
        self.state = state
        self._state_listeners.announce(state)

    def on_connected(self, listener: Callable[[Modem], None]) -> None:
        """Called with each newly initialised modem (to subscribe to its events)."""
        self._listeners.subscribe(listener)

    def in_service(self) -> Modem | None:
        """The modem if it is ready now, else ``None`` (no waiting)."""
        return self.modem if self.state is ModemState.READY else None

    @property
    def usable(self) -> bool:
        """Connected and set up, and not found unusable since (:meth:`lost`): a user that
        finds it not usable leaves it to its recovery."""
        return self.modem is not None and self.state in _CONNECTED and not self._lost.is_set()

    async def ready(self) -> Modem:
        """The modem, once it is connected and initialised."""
        while True:
            await self._ready.wait()
            if self.modem is not None and self.state is ModemState.READY:
                return self.modem

    def lost(self, reason: str, *, logged: bool = False) -> None:
        """Someone using the modem found it unusable (e.g. it stopped answering)."""
        if self.state in _CONNECTED:  # not while reconnecting
            if not logged:
                log.warning("%s: %s; recovering it", self.id, reason)
            self.error = reason
            # Nobody takes the modem again until it is recovered: left set until the
            # supervisor runs, a sender woken first would use the modem as it was.
            self._ready.clear()
            self._lost.set()

    def on_recovered(self, listener: Callable[[], None]) -> None:
        """Called each time the modem is back in service after an interruption that kept
        the same connection (initialised again, or registered again)."""
        self._recovered_listeners.subscribe(listener)

    def trouble(self, reason: str) -> None:
        """The modem refused work for a reason of its own (SIM, network registration): it is
        initialised again, and the reason stays visible in its status until it sends again."""
        self.troubles += 1
        self.last_trouble = reason
        log.warning("%s: %s; initialising it again", self.id, reason)
        self.lost(reason, logged=True)  # one event, one line

    def start(self, tasks: Tasks | None = None) -> None:
        """Connect and keep the modem in service (``tasks`` restarts the supervisor itself,
        should a fault of ours ever end it)."""
        tasks = tasks or Tasks()
        self._task = tasks.spawn(f"modem {self.id}", self._run)
        self._job_tasks = [tasks.spawn(f"{name} {self.id}", job) for name, job in self._jobs]

    def keep(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run ``job`` for as long as the handle runs: spawned by :meth:`start` (restarted
        should it fail), ended by :meth:`stop` (the SIM's balance watch, say)."""
        self._jobs.append((name, job))

    async def stop(self) -> None:
        self._set_state(ModemState.STOPPED)
        running = [*([self._task] if self._task else []), *self._job_tasks]
        await stop_tasks([*self._checks, *running])
        await self._disconnect()
        self._set_state(ModemState.STOPPED)

    async def _run(self) -> None:
        """Connect, then keep the modem in service. The recovery ladder: a modem that stops
        answering on a live link is initialised again on it; if that fails, or the link is
        gone, the port is closed and opened again, with backoff while the device is away (it
        comes back under the same stable path); after ``SOFT_RESET_AFTER`` failures in a
        row, a modem whose vendor profile says it is safe is reset (``AT+CFUN=1,1``) on the way
        out. Every rung starts by bringing the modem back to command state (ESC, see
        :meth:`~drivers.modem.driver.GsmModem.command_state`): one left in the ``> `` prompt
        by a host that died, or by a link that dropped mid-send, answers nothing else."""
        while True:
            modem = self.modem
            try:
                if modem is not None and modem.lost is None:
                    await self._reinitialise(modem)
                else:
                    await self._disconnect()
                    await self._connect()
            except (DriverError, OSError) as exc:
                if self.modem is not None and self.modem.sim is not None:
                    self.sim = self.modem.sim  # a PIN needed, no SIM: shown with the error
                if isinstance(exc, PinRejected):
                    # Never that PIN again: a changed pin in the config is a new handle.
                    settings = replace(self.params.settings, pin_rejected=True)
                    self.params = replace(self.params, settings=settings)
                self._failures += 1
                self._ready.clear()
                self.error = str(exc)
                self._set_state(
                    ModemState.FAILED if isinstance(exc, ModemSetupError) else ModemState.LOST
                )
                reset = self._soft_reset_safe and self._failures >= SOFT_RESET_AFTER
                delay = min(BACKOFF_FIRST * 2 ** (self._failures - 1), BACKOFF_MAX)
                log.warning("%s: %s; trying again in %g s", self.id, exc, delay)
                await self._disconnect(soft_reset=reset)
                await asyncio.sleep(delay)
                continue
            if self._connected_once:
                self.recoveries += 1
            self._connected_once = True
            self._failures = 0
            await self._supervise()
            self._ready.clear()
            self._set_state(ModemState.LOST)

    async def _connect(self) -> None:
        self._set_state(ModemState.STARTING)
        self._lost.clear()
        modem = await open_modem(self.params)
        self.modem = modem
        modem.subscribe(LinkLost, lambda event: self.lost(f"link lost: {event.reason}"))
        modem.subscribe(RegistrationChanged, self._registration_changed)
        info = await modem.initialize()
        if modem.lost is not None:
            raise ModemLost(str(modem.lost))
        self._listeners.announce(modem)
        self._in_service(modem, info)

    async def _reinitialise(self, modem: Modem) -> None:
        """The first rung: the link is up but the modem misbehaved; set it up again on it."""
        self._set_state(ModemState.STARTING)
        self._lost.clear()
        log.info("%s: initialising it again on the same link", self.id)
        info = await modem.initialize()
        self._in_service(modem, info)
        self._recovered_listeners.announce()

    def _in_service(self, modem: Modem, info: ModemInfo) -> None:
        self._soft_reset_safe = modem.soft_reset_safe
        self.sim = info.sim
        self._registration = RegistrationTracker()
        if info.registration is not None:
            self._registration.polled(info.registration)
        self.error = None
        log.info(
            "%s: ready (%s %s, storage %s, notifications %s)",
            self.id,
            info.identity.manufacturer,
            info.identity.model,
            info.storage,
            ",".join(map(str, info.cnmi)),
        )
        self._service(announce=False)
        if self._reported_meanwhile:
            # A report that came during the set-up may be newer than the set-up's poll.
            self._reported_meanwhile = False
            self._poll_soon()

    def _registration_changed(self, event: RegistrationChanged) -> None:
        if self.state not in _CONNECTED or self._lost.is_set():
            # Being set up (or about to be): a modem keeps AT+CREG=1 (TS 27.007 §7.2) from a
            # host before, so +CREG comes in the middle of the initialisation too. It must not
            # make the modem ready there: senders would write AT+CMGS before AT+CMGF=0, and
            # the +CMTI that follow would reach no subscriber yet. The set-up ends with a poll
            # (AT+CREG?, AT+CEREG?); one more poll once in service covers a report after it.
            self._reported_meanwhile = True
            return
        if self._registration.update(event.source, event.registration):
            self._service()
        else:
            # One network gone may not be all of them (an LTE modem without circuit-switched
            # service still sends SMS): a poll of both decides.
            self._poll_soon()

    def _poll_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.check_health())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    def _service(self, *, announce: bool = True) -> None:
        """Registration decides whether the modem can send: a state, not a failure. Roaming,
        a modem configured with ``hold_when_roaming`` sends nothing until it is home."""
        tracker = self._registration
        held = tracker.registered and tracker.roaming and self.config.hold_when_roaming
        if tracker.registered and not held:
            was = self.state
            self._set_state(ModemState.READY)
            self._ready.set()
            if announce and was in (ModemState.NO_SERVICE, ModemState.ROAMING):
                log.info(
                    "%s: %s",
                    self.id,
                    "home again" if was is ModemState.ROAMING else "registered again",
                )
                self._recovered_listeners.announce()
        elif held:
            if self.state is not ModemState.ROAMING:
                log.warning(
                    "%s: roaming (hold_when_roaming); messages wait until it is home", self.id
                )
                self._ready.clear()
                self._set_state(ModemState.ROAMING)
        elif self.state in (ModemState.READY, ModemState.STARTING, ModemState.ROAMING):
            log.warning("%s: not registered on any network; messages wait", self.id)
            self._ready.clear()
            self._set_state(ModemState.NO_SERVICE)

    def set_health_interval(self, seconds: float) -> None:
        """A health check every ``seconds`` (0: none), counted from now."""
        self.health_interval = seconds
        self._retimed.set()

    async def _supervise(self) -> None:
        """Until the modem is lost: a health check every ``health_interval`` seconds."""
        while True:
            self._retimed.clear()
            if await woken_by((self._lost, self._retimed), self.health_interval or None):
                if self._lost.is_set():
                    return
                continue
            await self.check_health()

    async def check_health(self) -> ModemHealth | None:
        """Read signal, registration, network and storage now; a modem that does not answer is
        lost (and recovered)."""
        modem = self.modem
        if modem is None or self.state not in _CONNECTED:
            return None
        try:
            self.health = await health.check(modem, datetime.now(UTC))
        except (AtTimeout, DriverError) as exc:
            self.lost(f"no answer to the health check: {exc}")
            return None
        if self.health.registration is not None:
            self._registration.polled(self.health.registration)
            self._service()
        return self.health

    async def _disconnect(self, *, soft_reset: bool = False) -> None:
        modem, self.modem = self.modem, None
        if modem is None:
            return
        if soft_reset and modem.lost is None:
            log.warning("%s: resetting the modem (AT+CFUN=1,1)", self.id)
            with contextlib.suppress(DriverError, OSError):
                await modem.soft_reset(SOFT_RESET_TIMEOUT)
        with contextlib.suppress(DriverError, OSError):
            await modem.close()


def modem_params(config: ModemConfig) -> ModemParams:
    """How to open ``config``'s modem (a simulated one: one of its own; the pool's share a
    network, :mod:`gateway.modems.pool`)."""
    return ModemParams(
        config.id,
        config.driver,
        config.port,
        config.baud,
        config.rtscts,
        config.numbers,
        config.personality,
        ModemSettings(pin=config.pin, smsc=config.smsc),
    )
