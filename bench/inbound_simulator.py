"""A simulated modem on a real pty, run inside the benchmark's own process, for the inbound
benchmarks (:mod:`bench.gateway_inbound`, :mod:`bench.smsd_inbound`).

Inbound latency runs from the modem's notification to whatever the receiving software does
with the message (our gateway's webhook, a peer's received-message hook). Running the modem in
this process lets the benchmark stamp the moment it injects an SMS on the same clock as the
receiver, with nothing in between: :meth:`PtyModem.inject` makes the modem store the message and
write ``+CMTI`` on the pty at once. The receiving software opens the pty like a serial device,
in its own process, exactly as it would open ``smsgw simulate --pty`` (:mod:`bench.simulator`).

The modem keeps the simulator's storages and their capacities (``ME`` 100, ``SM`` 30): when
the storage the receiver chose is full, the simulated network holds further messages and
delivers them as slots are freed, as a real network retries a full SIM.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from drivers.simulated import SimulatedModem, SimulatedNetwork
from drivers.simulated import personality as personality_named
from drivers.simulated.serve import PtyServer


@dataclass(frozen=True, slots=True)
class PtyModem:
    """A running in-process simulated modem: the pty to open and the network behind it."""

    number: str  # the number its SIM owns
    device: str  # the pty's path (a symbolic link), as a serial port
    modem: SimulatedModem
    network: SimulatedNetwork

    def inject(self, sender: str, text: str) -> None:
        """A handset ``sender`` texts the modem: stored and announced (``+CMTI``) at once,
        or held by the network while the storage is full."""
        self.network.inject(self.number, sender, text)

    def observe(self, observer: Callable[[str], None]) -> Callable[[], None]:
        """Call ``observer(command_line)`` as each AT command arrives; returns an undo."""
        self.modem.command_observers.append(observer)
        return lambda: self.modem.command_observers.remove(observer)

    def storage_in_use(self) -> tuple[str, int]:
        """Where the modem stores received messages now (``AT+CPMS`` <mem3>) and its size."""
        name = self.modem.mem[2]
        return name, self.modem.storages[name].capacity


@contextlib.asynccontextmanager
async def modem_on_pty(number: str, personality: str = "generic") -> AsyncIterator[PtyModem]:
    """A fresh simulated modem owning ``number`` (of ``personality``), served on a new pty in a
    temporary directory; the pty is closed and the directory removed on the way out.

    SIGTERM is left to the caller (``bench.simulator.cancelled_by_sigterm`` around the whole
    measurement): that guard removes the handler when it exits, so one taken here would leave
    the rest of a caller's run unguarded after the first modem."""
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-pty-") as directory:
        network = SimulatedNetwork()
        # The gateway timed, not a network: reports at once.
        modem = SimulatedModem([number], personality_named(personality), report_delay=0.0)
        network.attach(modem, number)
        server = PtyServer(modem, Path(directory) / "ttySIM0")
        await server.start()
        try:
            yield PtyModem(number, str(server.path), modem, network)
        finally:
            await server.close()
