"""Simulated modems in this process, opened like ports: what a host keeps between openings.

A host opens a modem again after every lost link; a simulated one must then be the same modem,
with what is stored on its SIM. :class:`SimulatedFleet` keeps each by name, all on one
:class:`~drivers.simulated.network.SimulatedNetwork` so that they text each other, and
:func:`connect` gives a host a link to one (as :func:`drivers.open_modem` does for a
``simulated`` modem).
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

from drivers.at.transport import PipeEnd, pipe
from drivers.simulated.modem import SimulatedModem
from drivers.simulated.network import SimulatedNetwork
from drivers.simulated.personality import personality as personality_named


class SimulatedFleet:
    def __init__(self, history: int | None = None) -> None:
        self.history = history  # messages and commands each one remembers (None: all)
        self.network = SimulatedNetwork(history=history)
        self.modems: dict[str, SimulatedModem] = {}

    def modem(
        self,
        name: str,
        numbers: Sequence[str],
        personality: str = "generic",
        pin: str | None = None,
        report_delay: float | None = None,
    ) -> SimulatedModem:
        """The modem called ``name``: the one there is if its numbers, personality and PIN are
        these (its SIM keeps what is stored on it), or else a new one in its place, attached
        to the network for each of ``numbers``. A ``report_delay`` is set on it either way
        (``None`` keeps the one it has, the default for a new one)."""
        sim = self.modems.get(name)
        if sim is None or (tuple(sim.numbers), sim.personality.name, sim.pin) != (
            tuple(numbers),
            personality,
            pin,
        ):
            self.remove(name)
            sim = SimulatedModem(
                tuple(numbers), personality_named(personality), pin=pin, history=self.history
            )
            for number in numbers:
                self.network.attach(sim, number)
            self.modems[name] = sim
        if report_delay is not None:
            sim.report_delay = report_delay
        return sim

    def remove(self, name: str) -> None:
        """Forget the modem called ``name`` (if any), and take its numbers off the network
        where they are still its."""
        sim = self.modems.pop(name, None)
        if sim is None:
            return
        for number in sim.numbers:
            if self.network.modem_for(number) is sim:
                self.network.detach(number)


def alone(
    numbers: Sequence[str], personality: str = "generic", pin: str | None = None
) -> SimulatedModem:
    """A new simulated modem owning ``numbers``, on a network of its own."""
    return SimulatedFleet().modem("", numbers, personality, pin)


def connect(sim: SimulatedModem, name: str) -> PipeEnd:
    """A link to ``sim`` for a host, which logs call ``name``; ``OSError`` (``ENODEV``) while
    the modem is unplugged, as opening a pulled device's port would be."""
    if not sim.plugged:
        raise OSError(errno.ENODEV, f"{name}: the simulated modem is unplugged")
    host, device = pipe(name, f"{name} (simulated)")
    sim.start(device)
    return host
