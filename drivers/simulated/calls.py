"""Incoming voice calls on a simulated modem: the rings, the caller's number, the hang-up.

A call rings as on a real modem: ``RING`` (V.250 §6.3.1), or ``+CRING: VOICE`` when the host
asked for extended format with ``AT+CRC=1`` (TS 27.007 §6.11), again every few seconds, each
followed by ``+CLIP: <number>,<type>,...`` when the host asked for the caller's number with
``AT+CLIP=1`` (§7.6). ``ATH`` (V.250 §6.3.6) or ``AT+CHUP`` (TS 27.007 §6.5) ends it; so does
the caller, who gives up (the rings stop; some modems then print ``NO CARRIER``). ``AT+CLCC``
lists it (§7.18). Whether ``ATH`` hangs up is ``AT+CVHU`` (§6.20): <mode> 1 ignores it (OK is
still given), 0 and 2 let it hang up. These codes are unsolicited: the modem's link side holds
them while a command runs or the ``> `` prompt waits for a PDU
(:class:`~drivers.simulated.peer.AtPeer`).

The rings repeat on a timer (``interval`` seconds) or only when :meth:`Calls.ring` is called:
tests ring when they choose, and never sleep for a cadence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from drivers.codec.pdu.fields import toa_of

if TYPE_CHECKING:
    from drivers.simulated.modem import SimulatedModem

# Seconds between two RINGs: real modems repeat the alert about every five seconds (the
# network's ringing cadence; e.g. SIM800 and Quectel UC20 logs).
RING_INTERVAL: Final = 5.0
_RESTRICTED_TYPE: Final = 128  # no number given (TS 27.007 §7.6 with CLI validity 1 or 2)
# TS 27.007 §6.20 AT+CVHU <mode>: 0 "ATH disconnects" (DTR drop ignored), 1 "ATH ignored but
# OK response given" (DTR drop too), 2 ATH disconnects and DTR drop follows AT&D.
VHU_MODES: Final = (0, 1, 2)
VHU_ATH_IGNORED: Final = 1


@dataclass
class Call:
    """The call ringing now: the caller's number (``""`` when withheld) and the rings so far."""

    number: str
    withheld: bool = False
    rings: int = 0
    ended_by: str | None = None  # "ATH", "AT+CHUP" or "caller", once it is over

    @property
    def number_type(self) -> int:
        if self.withheld or not self.number:
            return _RESTRICTED_TYPE
        return toa_of(self.number)


class Calls:
    """A modem's incoming calls (one at a time: a second caller would hear busy)."""

    def __init__(self, modem: SimulatedModem) -> None:
        self.modem = modem
        self.current: Call | None = None
        self.ended: list[Call] = []  # every call over, in order
        # Called whenever a call starts, rings or ends (the control interface waits with it).
        self.observers: list[Callable[[], None]] = []
        self._interval: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def incoming(
        self, number: str, *, withheld: bool = False, interval: float | None = RING_INTERVAL
    ) -> Call:
        """A caller dials the modem: the first ring now, then one every ``interval`` seconds
        (``None``: only when :meth:`ring` is called) until the call ends."""
        if self.current is not None:
            raise ValueError("a call is ringing already")
        self.current = Call("" if withheld else number, withheld)
        self._interval = interval
        self.ring()
        return self.current

    def ring(self) -> bool:
        """One more ring of the call ringing now; ``False`` if there is none."""
        call = self.current
        if call is None:
            return False
        modem = self.modem
        call.rings += 1
        lines = ["+CRING: VOICE" if modem.crc else "RING"]
        if modem.clip:
            # TS 27.007 §7.6: <number>,<type>,<subaddr>,<satype>,<alpha>,<CLI validity>;
            # validity 0 the number is given, 1 withheld by the caller.
            validity = 1 if call.withheld else 0
            number, kind = f'"{call.number}"', call.number_type
            lines.append(f'+CLIP: {number},{kind},"",{_RESTRICTED_TYPE},"",{validity}')
        modem._urc(*lines)
        self._schedule()
        self._changed()
        return True

    def hang_up(self, command: str) -> bool:
        """``ATH`` or ``AT+CHUP`` from the host; ``False`` if no call was ringing (or ``ATH``
        is ignored: ``AT+CVHU`` <mode> 1)."""
        if command == "ATH" and self.modem.cvhu == VHU_ATH_IGNORED:
            return False
        return self._end(command)

    def give_up(self, *, no_carrier: bool = False) -> bool:
        """The caller hangs up before an answer: the rings stop (and ``NO CARRIER`` is
        printed, as some modems do, when ``no_carrier``); ``False`` if no call was ringing."""
        if not self._end("caller"):
            return False
        if no_carrier:
            self.modem._urc("NO CARRIER")
        return True

    def clcc(self) -> list[str]:
        """``AT+CLCC`` (TS 27.007 §7.18): ``<id>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>]``;
        an incoming (``dir`` 1, mobile terminated), alerting (``stat`` 4) voice (``mode`` 0)
        call; a withheld number is left out."""
        call = self.current
        if call is None:
            return []
        line = "+CLCC: 1,1,4,0,0"
        if call.number:
            line += f',"{call.number}",{call.number_type}'
        return [line]

    def _end(self, by: str) -> bool:
        call = self.current
        if call is None:
            return False
        call.ended_by = by
        self.current = None
        self.ended.append(call)
        if self.modem.history is not None:  # as many as the modem remembers commands
            del self.ended[: -self.modem.history or None]
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._changed()
        return True

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._interval:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self.ring)

    def _changed(self) -> None:
        for observer in list(self.observers):
            observer()
