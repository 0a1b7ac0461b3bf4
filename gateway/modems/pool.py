"""The set of the gateway's modems: a :class:`~gateway.modems.supervisor.ModemHandle` for each
configured one, the simulated network the simulated ones share, and what a reload changes.

The pool only holds the handles: each handle opens and keeps its own modem
(:mod:`gateway.modems.supervisor`). A reload (:meth:`ModemPool.reconfigure`) says which handles
left, which were replaced and which are new; its caller stops and starts them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from drivers import ModemParams, simulated_fleet
from gateway.config import ModemConfig
from gateway.modems.balance import BalanceWatch
from gateway.modems.supervisor import HEALTH_INTERVAL, ModemHandle, modem_params
from gateway.tasks import Tasks

if TYPE_CHECKING:
    from drivers import SimulatedFleet, SimulatedModem, SimulatedNetwork

SIMULATED_HISTORY: Final = 100  # messages and commands the in-process simulator remembers


@dataclass(frozen=True, slots=True)
class PoolChanges:
    """What :meth:`ModemPool.reconfigure` did to the pool, for its caller to finish."""

    removed: tuple[ModemHandle, ...]  # out of the pool: to be stopped
    replaced: tuple[tuple[ModemHandle, ModemHandle], ...]  # (old, new): stop old, then start new
    added: tuple[ModemHandle, ...]  # in the pool: to be started


class ModemPool:
    """Every configured modem, and the simulated network the simulated ones share.

    A reload changes the set (:meth:`reconfigure`); whoever takes a handle out of the pool
    stops it.
    """

    def __init__(
        self, configs: tuple[ModemConfig, ...], *, health_interval: float = HEALTH_INTERVAL
    ) -> None:
        self._fleet: SimulatedFleet | None = None  # made with the first simulated modem
        self.handles: dict[str, ModemHandle] = {}
        # The SIMs' balances, watched by USSD where a modem has a balance_ussd (by modem id).
        self.balances: dict[str, BalanceWatch] = {}
        self.health_interval = health_interval
        self._removed: dict[str, ModemConfig] = {}  # by a reload: each one's last config
        for config in configs:
            self.add(config)

    @property
    def fleet(self) -> SimulatedFleet:
        """The simulated modems and their network, made on first use: a gateway whose modems
        are all serial or TCP never imports the simulator (start-up and memory, issue 17)."""
        if self._fleet is None:
            self._fleet = simulated_fleet(history=SIMULATED_HISTORY)
        return self._fleet

    @property
    def network(self) -> SimulatedNetwork:
        """The simulated network, where tests and the demo inject, and look."""
        return self.fleet.network

    @property
    def simulated(self) -> dict[str, SimulatedModem]:
        """The simulated modems, by modem id."""
        return self.fleet.modems

    def reconfigure(self, configs: tuple[ModemConfig, ...]) -> PoolChanges:
        """Make the pool ``configs``' modems (a reload), in their order; a modem whose config
        is unchanged keeps its handle, untouched. Nothing is started or stopped here: see
        :class:`PoolChanges`."""
        wanted = {config.id: config for config in configs}
        removed = tuple(self.remove(id_) for id_ in list(self.handles) if id_ not in wanted)
        replaced = tuple(
            self.replace(config)
            for config in configs
            if config.id in self.handles and self.handles[config.id].config != config
        )
        added = tuple(self.add(config) for config in configs if config.id not in self.handles)
        self.handles = {id_: self.handles[id_] for id_ in wanted}
        return PoolChanges(removed, replaced, added)

    def add(self, config: ModemConfig) -> ModemHandle:
        """A handle for a new modem, in the pool; not started."""
        handle = ModemHandle(config, self._params(config), health_interval=self.health_interval)
        self.handles[config.id] = handle
        self.balances.pop(config.id, None)
        if config.balance_ussd:
            watch = self.balances[config.id] = BalanceWatch(config)
            handle.keep("balance", functools.partial(watch.run, handle))
        self._removed.pop(config.id, None)
        return handle

    def remove(self, modem_id: str) -> ModemHandle:
        """Take a modem out of the pool (its messages wait in the database for its return)."""
        handle = self.handles.pop(modem_id)
        self.balances.pop(modem_id, None)
        self._removed[modem_id] = handle.config
        if self._fleet is not None:
            self._fleet.remove(modem_id)
        return handle

    def replace(self, config: ModemConfig) -> tuple[ModemHandle, ModemHandle]:
        """The modem ``config.id`` with a new configuration: (the old handle, out of the pool;
        the new one, in its place, not started: start it once the old one has stopped). A
        simulated modem keeps its SIM, and what is stored on it, unless what makes it (its
        numbers, personality or PIN) changed."""
        old = self.handles.pop(config.id)
        if config.driver != "simulated" and self._fleet is not None:
            self._fleet.remove(config.id)
        # A simulated one: the fleet keeps its SIM or makes a new one (SimulatedFleet.modem).
        return old, self.add(config)

    def config_of(self, modem_id: str) -> ModemConfig | None:
        """The modem's configuration, or the last one it had if a reload removed it."""
        handle = self.handles.get(modem_id)
        return handle.config if handle is not None else self._removed.get(modem_id)

    def set_health_interval(self, seconds: float) -> None:
        """Health checks every ``seconds`` from now on (0: none), for every modem."""
        self.health_interval = seconds
        for handle in self.handles.values():
            handle.set_health_interval(seconds)

    def _params(self, config: ModemConfig) -> ModemParams:
        params = modem_params(config)
        if config.driver != "simulated":
            return params
        sim = self.fleet.modem(
            config.id, config.numbers, config.personality, config.pin, config.report_delay
        )
        return replace(params, simulator=sim)

    def for_number(self, number: str) -> ModemHandle | None:
        for handle in self.handles.values():
            if number in handle.config.numbers:
                return handle
        return None

    def start(self, tasks: Tasks | None = None) -> None:
        for handle in self.handles.values():
            handle.start(tasks)

    async def stop(self) -> None:
        for handle in self.handles.values():
            await handle.stop()
