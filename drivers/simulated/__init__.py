"""A simulated modem that is a real AT peer, and a simulated network to join several.

Used in-process over an in-memory pipe by the tests and the ``make run`` demo, and as a
standalone process (``smsgw simulate``) that other AT software opens like a serial modem.
It is never imported by :mod:`drivers.modem`.
"""

from drivers.simulated.modem import SimulatedModem
from drivers.simulated.network import Fate, HandsetRule, SimulatedNetwork, Submission
from drivers.simulated.personality import PERSONALITIES, Personality, personality

__all__ = [
    "PERSONALITIES",
    "Fate",
    "HandsetRule",
    "Personality",
    "SimulatedModem",
    "SimulatedNetwork",
    "Submission",
    "personality",
]
