"""The pieces of a simulated modem's state that its command handlers share."""

from __future__ import annotations

from dataclasses import dataclass, field


def digits(text: str) -> bool:
    """Whether ``text`` is ASCII digits, as a number on the command line is (V.250 §5.1: the
    line is IA5). str.isdigit() alone takes "²", byte 0xB2 on the 8-bit line, which int()
    refuses with a ValueError no command expects."""
    return text.isascii() and text.isdigit()


class CommandFailed(Exception):
    """Ends a command with ERROR, or +CME ERROR / +CMS ERROR as AT+CMEE asks."""

    def __init__(self, family: str = "", code: int = 0) -> None:
        super().__init__(family, code)
        self.family = family
        self.code = code


class NoFinalResult(CommandFailed):
    """Old Wavecom firmware: the information line is sent and no final result code at all."""

    def __init__(self, line: str) -> None:
        super().__init__("NONE", 0)
        self.line = line


class SubmitRejected(Exception):
    """The network refuses a SUBMIT: the modem answers ``+CMS ERROR: <code>``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"+CMS ERROR: {code}")
        self.code = code


@dataclass
class Slot:
    stat: int  # TS 27.005 PDU mode: 0 unread, 1 read, 2 stored unsent, 3 stored sent
    pdu: str
    length: int


@dataclass
class Storage:
    name: str
    capacity: int
    slots: dict[int, Slot] = field(default_factory=dict)
    first: int = 1  # the first index (SIM records are numbered from 1; see Personality)
    full_announced: bool = False  # its memory-full code was sent; again once it had room

    def store(self, slot: Slot) -> int | None:
        """The index the slot went to (the lowest free one), or ``None`` when the storage is
        full."""
        for index in self.indexes:
            if index not in self.slots:
                self.slots[index] = slot
                return index
        return None

    @property
    def indexes(self) -> range:
        return range(self.first, self.first + self.capacity)

    @property
    def full(self) -> bool:
        return len(self.slots) >= self.capacity


@dataclass
class Faults:
    """Fault controls for tests and for people trying the gateway."""

    fail_next: list[int] = field(default_factory=list)  # +CMS ERROR codes for the next sends
    latency: float = 0.0  # seconds each AT+CMGS takes
    hung: bool = False  # reads and answers nothing
    stalled: bool = False  # reads nothing yet: what comes waits (SimulatedModem.stall)
    # The next AT+CMGS: the modem is unplugged with the PDU written, "before" the network
    # has the part or "after" it (sent, and the +CMGS answer never comes); or it hangs there.
    unplug_in_submit: str | None = None
    hang_in_submit: bool = False
    # The next AT+CMGS enters data mode but its "> " is held back until release_prompt(): a
    # host that dies meanwhile leaves the modem waiting for a PDU, as a real one would be.
    hold_prompt: bool = False
    # Each AT+CMGS takes its PDU and then waits, its answer held back, until
    # SimulatedModem.release_submit(): a part on its way to a slow SMSC, for as long as a test
    # needs one (the host has granted and written it; whether it went is not known yet).
    hold_submit: bool = False


@dataclass
class ServingNetwork:
    """The network a simulated modem is registered on: its operator as ``AT+COPS?`` names it
    in each format (TS 27.007 §7.3: long, short, numeric MCC and MNC), its access technology
    (<AcT>, 7 E-UTRAN), and the location area and cell that ``+CREG`` (n=2, §7.2) reports."""

    long_name: str = "smsgw sim network"
    short_name: str = "smsgw"
    code: str = "00101"  # MCC 001, MNC 01: the test network (ITU-T E.212)
    act: int = 7
    lac: str = "00C3"
    ci: str = "0000A1B2"
