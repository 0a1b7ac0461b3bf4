"""The gateway's modems: opening each one as its config says, and keeping it connected.

A :class:`ModemHandle` owns one modem: it opens the link (serial port, TCP, or an in-process
simulated modem on the gateway's simulated network), initialises it, and when the link is
lost opens it again with backoff. Whoever needs the modem awaits :meth:`ModemHandle.ready`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from drivers.at_channel import AtChannel
from drivers.errors import DriverError, ModemLost, ModemSetupError
from drivers.modem import GsmModem, LinkLost, ModemInfo, ModemSettings
from drivers.simulated import SimulatedModem, SimulatedNetwork, personality
from drivers.transport import Link, open_link, pipe
from gateway.config import ModemConfig

log = logging.getLogger(__name__)

BACKOFF_FIRST: Final = 1.0
BACKOFF_MAX: Final = 30.0
SIMULATED_HISTORY: Final = 100  # messages and commands the in-process simulator remembers

Opener = Callable[[], Awaitable[Link]]


class ModemState(StrEnum):
    STARTING = "starting"
    READY = "ready"
    LOST = "lost"
    FAILED = "failed"  # cannot be set up (PIN, no SIM...): retried slowly, needs a person
    STOPPED = "stopped"


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


class ModemHandle:
    def __init__(
        self,
        config: ModemConfig,
        opener: Opener,
        settings: ModemSettings | None = None,
    ) -> None:
        self.config = config
        self._open = opener
        self._settings = settings or ModemSettings(pin=config.pin)
        self.state = ModemState.STARTING
        self._state_listeners: list[Callable[[ModemState], None]] = []
        self.error: str | None = None
        self.troubles = 0  # refusals of the modem's own (see trouble())
        self.last_trouble: str | None = None
        self.modem: GsmModem | None = None
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[GsmModem], None]] = []

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
        )

    def on_state(self, listener: Callable[[ModemState], None]) -> None:
        """Called with each new state (after it is set)."""
        self._state_listeners.append(listener)

    def _set_state(self, state: ModemState) -> None:
        if state is self.state:
            return
        self.state = state
        for listener in list(self._state_listeners):
            listener(state)

    def on_connected(self, listener: Callable[[GsmModem], None]) -> None:
        """Called with each newly initialised modem (to subscribe to its events)."""
        self._listeners.append(listener)

    async def ready(self) -> GsmModem:
        """The modem, once it is connected and initialised."""
        while True:
            await self._ready.wait()
            if self.modem is not None and self.state is ModemState.READY:
                return self.modem

    def lost(self, reason: str) -> None:
        """Someone using the modem found it unusable (e.g. it stopped answering)."""
        if self.state is ModemState.READY:  # not while stopping or reconnecting
            log.warning("%s: %s; reconnecting", self.id, reason)
            self.error = reason
            self._lost.set()

    def trouble(self, reason: str) -> None:
        """The modem refused work for a reason of its own (SIM, network registration): it is
        initialised again, and the reason stays visible in its status until it sends again."""
        self.troubles += 1
        self.last_trouble = reason
        log.warning("%s: %s; initialising it again", self.id, reason)
        self.lost(reason)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"modem {self.id}")

    async def stop(self) -> None:
        self._set_state(ModemState.STOPPED)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()
        self._set_state(ModemState.STOPPED)

    async def _run(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            try:
                await self._connect()
            except (DriverError, OSError) as exc:
                self._ready.clear()
                self.error = str(exc)
                self._set_state(
                    ModemState.FAILED if isinstance(exc, ModemSetupError) else ModemState.LOST
                )
                log.warning("%s: %s; trying again in %g s", self.id, exc, delay)
                await self._disconnect()
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            await self._lost.wait()
            self._ready.clear()
            self._set_state(ModemState.LOST)
            await self._disconnect()

    async def _connect(self) -> None:
        self._set_state(ModemState.STARTING)
        self._lost.clear()
        link = await self._open()
        modem = GsmModem(AtChannel(link), self._settings)
        self.modem = modem
        modem.subscribe(LinkLost, lambda event: self.lost(f"link lost: {event.reason}"))
        info = await modem.initialize()
        if modem.lost is not None:
            raise ModemLost(str(modem.lost))
        for listener in list(self._listeners):
            listener(modem)
        self._set_state(ModemState.READY)
        self.error = None
        log.info(
            "%s: ready (%s %s, storage %s, notifications %s)",
            self.id,
            info.identity.manufacturer,
            info.identity.model,
            info.storage,
            ",".join(map(str, info.cnmi)),
        )
        self._ready.set()

    async def _disconnect(self) -> None:
        modem, self.modem = self.modem, None
        if modem is not None:
            with contextlib.suppress(DriverError, OSError):
                await modem.close()


class ModemPool:
    """Every configured modem, and the simulated network the simulated ones share."""

    def __init__(self, configs: tuple[ModemConfig, ...]) -> None:
        self.network = SimulatedNetwork(history=SIMULATED_HISTORY)
        self.simulated: dict[str, SimulatedModem] = {}
        self.handles: dict[str, ModemHandle] = {}
        for config in configs:
            self.handles[config.id] = ModemHandle(config, self._opener(config))

    def _opener(self, config: ModemConfig) -> Opener:
        if config.driver != "simulated":
            return lambda: open_link(config.port, config.baud, config.rtscts)
        sim = SimulatedModem(
            config.numbers,
            personality(config.personality),
            pin=config.pin,
            history=SIMULATED_HISTORY,
        )
        for number in config.numbers:
            self.network.attach(sim, number)
        self.simulated[config.id] = sim

        async def open_simulated() -> Link:
            host, device = pipe(f"{config.id}", f"{config.id} (simulated)")
            sim.start(device)
            return host

        return open_simulated

    def for_number(self, number: str) -> ModemHandle | None:
        for handle in self.handles.values():
            if number in handle.config.numbers:
                return handle
        return None

    def start(self) -> None:
        for handle in self.handles.values():
            handle.start()

    async def stop(self) -> None:
        for handle in self.handles.values():
            await handle.stop()
