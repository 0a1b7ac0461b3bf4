"""The modem side of smsgw, and its one public face.

Nothing in this package imports :mod:`gateway`, nor HTTP. Its layers are folders, each using
only those before it:

- ``codec/``: the GSM 7-bit alphabet and the PDUs of TS 23.040; pure (no I/O, no asyncio, no
  AT). Its public API is :mod:`drivers.codec`.
- ``at/``: byte links (serial port, TCP, in-memory pipe), the sans-IO AT parser, readers of the
  replies, and the AT channel (one command in flight, URCs around it).
- ``modem/``: the modem driver over a channel, its events, vendor profiles, port detection.
- ``simulated/``: a simulated modem that is a real AT peer, and a simulated network.
- ``errors``: the one error tree of the package.

A host (the gateway) uses this module and :mod:`drivers.codec`, and nothing else::

    modem = await open_modem(ModemParams("modem1", "serial", "/dev/ttyUSB2"))
    modem.subscribe(MessageStored, on_stored)  # before initialize(): it hears everything
    info = await modem.initialize()
    reference = await modem.send_pdu(pdu, tpdu_length)
    answer = await modem.ussd("*100#")  # UssdAnswer(state, text, dcs)

The simulator is imported only where a modem is simulated: reading :data:`PERSONALITIES` (a
configuration does) loads none of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from drivers.at.channel import AtChannel, Timeouts
from drivers.at.replies import Registration, rssi_dbm
from drivers.at.transport import Link, open_link, parse_tcp_url
from drivers.errors import (
    AtCommandError,
    AtReplyError,
    AtTimeout,
    CmeError,
    CmsError,
    DriverError,
    ModemLost,
    ModemSetupError,
    PduError,
    PinRejected,
    SendError,
    TransportError,
)
from drivers.modem.driver import GsmModem
from drivers.modem.events import (
    IncomingCall,
    LinkLost,
    MessageRouted,
    MessageStored,
    ModemEvent,
    OtherUnsolicited,
    RegistrationChanged,
    ReportRouted,
    ReportStored,
    SignalChanged,
    StorageFull,
)
from drivers.modem.info import Identity, ModemInfo, ModemSettings
from drivers.modem.network import Network, SimState
from drivers.modem.protocol import Modem
from drivers.modem.storage import StoredMessage
from drivers.modem.ussd import DEFAULT_TIMEOUT as USSD_TIMEOUT
from drivers.modem.ussd import UssdAnswer, UssdState, check_ussd_request

if TYPE_CHECKING:
    from drivers.modem.detect import (
        DEFAULT_BAUD,
        DEVICES,
        PROBE_TIMEOUT,
        DetectedModem,
        Found,
        Silent,
        candidates,
        detect,
    )
    from drivers.simulated.fleet import SimulatedFleet
    from drivers.simulated.modem import SimulatedModem
    from drivers.simulated.network import SimulatedNetwork

# How a modem is reached: a serial device, a TCP connection (e.g. ser2net), or a simulated
# modem in this process.
DRIVERS: Final = ("serial", "tcp", "simulated")
# The vendors a simulated modem can behave like (drivers/simulated/personality.py has each one's
# quirks; a test checks that the two lists agree).
PERSONALITIES: Final = (
    "generic",
    "echo",
    "huawei",
    "zte",
    "wavecom",
    "quectel",
    "cds",
    "stored",
    "inband",
    "routed",
)


@dataclass(frozen=True, slots=True)
class ModemParams:
    """How to reach one modem, and how to drive it: what :func:`open_modem` opens.

    ``driver`` is ``serial`` (``port`` a device path, at ``baud``, with RTS/CTS flow control
    when ``rtscts``), ``tcp`` (``port`` is ``tcp://HOST:PORT``) or ``simulated``: then
    ``simulator`` is the simulated modem to open, as it is (its SIM, its network), or when
    ``None`` a new one that owns ``numbers``, behaves as ``personality`` and asks for
    ``settings.pin``, on a network of its own. ``name`` is what logs call a simulated modem's
    link (a serial or TCP one goes by its port).
    """

    name: str
    driver: str = "serial"
    port: str = ""
    baud: int = 115200
    rtscts: bool = False
    numbers: tuple[str, ...] = ()
    personality: str = "generic"
    settings: ModemSettings = field(default_factory=ModemSettings)
    timeouts: Timeouts = field(default_factory=Timeouts)  # how long each AT command may take
    simulator: SimulatedModem | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.driver not in DRIVERS:
            raise ValueError(f"driver: expected one of {', '.join(DRIVERS)}, not {self.driver!r}")
        if self.personality not in PERSONALITIES:
            raise ValueError(
                f"personality: expected one of {', '.join(PERSONALITIES)}, not {self.personality!r}"
            )


async def open_modem(params: ModemParams) -> Modem:
    """The modem ``params`` describe, its link open and nothing said to it yet: subscribe to
    its events, then :meth:`~Modem.initialize` it. Raises :class:`TransportError` when the
    port cannot be opened, ``OSError`` for a simulated modem that is unplugged."""
    link = await _open_link(params)
    return GsmModem(AtChannel(link, params.timeouts), params.settings)


async def _open_link(params: ModemParams) -> Link:
    if params.driver != "simulated":
        return await open_link(params.port, params.baud, params.rtscts)
    from drivers.simulated import fleet  # noqa: PLC0415 (the simulator, only where used)

    sim = params.simulator or fleet.alone(params.numbers, params.personality, params.settings.pin)
    return fleet.connect(sim, params.name)


def simulated_fleet(history: int | None = None) -> SimulatedFleet:
    """Simulated modems for a host to keep by name, on one network (``history``: messages and
    commands each one remembers; ``None``, all)."""
    from drivers.simulated.fleet import SimulatedFleet  # noqa: PLC0415 (as in _open_link)

    return SimulatedFleet(history)


# Port detection (``smsgw detect``, ``smsgw init``) is loaded on first use of one of its names
# (PEP 562): a running gateway never probes ports, and ``smsgw serve`` keeps none of it resident
# (start-up and memory, issue 17).
_DETECTION: Final = frozenset(
    {
        "DEFAULT_BAUD",
        "DEVICES",
        "PROBE_TIMEOUT",
        "DetectedModem",
        "Found",
        "Silent",
        "candidates",
        "detect",
    }
)


# The simulator's types, for a host to name what :func:`simulated_fleet` gives it; loaded, like
# the simulator itself, only where one is used.
_SIMULATOR: Final = frozenset({"SimulatedFleet", "SimulatedModem", "SimulatedNetwork"})


def __getattr__(name: str) -> object:
    if name in _DETECTION:
        from drivers.modem import detect as detection  # noqa: PLC0415

        return getattr(detection, name)
    if name in _SIMULATOR:
        from drivers import simulated  # noqa: PLC0415

        return getattr(simulated, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BAUD",
    "DEVICES",
    "DRIVERS",
    "PERSONALITIES",
    "PROBE_TIMEOUT",
    "USSD_TIMEOUT",
    "AtCommandError",
    "AtReplyError",
    "AtTimeout",
    "CmeError",
    "CmsError",
    "DetectedModem",
    "DriverError",
    "Found",
    "Identity",
    "IncomingCall",
    "LinkLost",
    "MessageRouted",
    "MessageStored",
    "Modem",
    "ModemEvent",
    "ModemInfo",
    "ModemLost",
    "ModemParams",
    "ModemSettings",
    "ModemSetupError",
    "Network",
    "OtherUnsolicited",
    "PduError",
    "PinRejected",
    "Registration",
    "RegistrationChanged",
    "ReportRouted",
    "ReportStored",
    "SendError",
    "SignalChanged",
    "Silent",
    "SimState",
    "SimulatedFleet",
    "SimulatedModem",
    "SimulatedNetwork",
    "StorageFull",
    "StoredMessage",
    "Timeouts",
    "TransportError",
    "UssdAnswer",
    "UssdState",
    "candidates",
    "check_ussd_request",
    "detect",
    "open_modem",
    "parse_tcp_url",
    "rssi_dbm",
    "simulated_fleet",
]
