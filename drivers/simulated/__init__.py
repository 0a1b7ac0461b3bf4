"""A simulated modem that is a real AT peer, and a simulated network to join several.

Used in-process over an in-memory pipe by the tests and the ``make run`` demo (kept by name in
a :class:`SimulatedFleet`), and as a standalone process (``smsgw simulate``) that other AT
software opens like a serial modem. The driver (:mod:`drivers.modem`) never imports it; the
face (:func:`drivers.open_modem`) does, and only to open a simulated modem.
"""

from drivers.simulated.fleet import SimulatedFleet
from drivers.simulated.modem import SimulatedModem
from drivers.simulated.network import (
    DEFAULT_ACK_TIMEOUT,
    DEFAULT_REPORT_DELAY,
    Fate,
    HandsetRule,
    SimulatedNetwork,
    Submission,
)
from drivers.simulated.personality import PERSONALITIES, Personality, personality

__all__ = [
    "DEFAULT_ACK_TIMEOUT",
    "DEFAULT_REPORT_DELAY",
    "PERSONALITIES",
    "Fate",
    "HandsetRule",
    "Personality",
    "SimulatedFleet",
    "SimulatedModem",
    "SimulatedNetwork",
    "Submission",
    "personality",
]
