"""What a modem announces, as typed events, and who hears them.

Each unsolicited result code the driver understands becomes one event (:func:`event_for`);
:class:`Listeners` calls those subscribed to its type, and a listener that fails is logged,
never the end of the others or of the driver.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from drivers.at import replies
from drivers.at.parse import Unsolicited
from drivers.at.replies import Registration

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MessageStored:
    """``+CMTI``: a message arrived and was stored at ``storage``/``index``."""

    storage: str
    index: int


@dataclass(frozen=True, slots=True)
class MessageRouted:
    """``+CMT``: a message arrived and was handed over directly, not stored.

    When ``needs_ack``, the subscriber calls :meth:`GsmModem.acknowledge
    <drivers.modem.driver.GsmModem.acknowledge>` once the message is safe (committed): until
    then the modem sends no other routed code, and without it the network delivers the
    message again.
    """

    pdu: str
    length: int
    needs_ack: bool = False


@dataclass(frozen=True, slots=True)
class ReportStored:
    """``+CDSI``: a status report was stored at ``storage``/``index`` (often ``SR``)."""

    storage: str
    index: int


@dataclass(frozen=True, slots=True)
class ReportRouted:
    """``+CDS``: a status report handed over directly (``needs_ack`` as for
    :class:`MessageRouted`)."""

    pdu: str
    length: int
    needs_ack: bool = False


@dataclass(frozen=True, slots=True)
class StorageFull:
    """The modem says a message storage is full (``storage``; ``None`` when it does not say
    which): what arrives now is refused, or lost on modems that drop it. ``source`` is the
    line that said so. Empty the storage at once."""

    storage: str | None
    source: str


@dataclass(frozen=True, slots=True)
class LinkLost:
    reason: str


@dataclass(frozen=True, slots=True)
class SignalChanged:
    rssi: int


@dataclass(frozen=True, slots=True)
class RegistrationChanged:
    source: str  # "+CREG", "+CGREG" or "+CEREG"
    registration: Registration


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A call rings (``RING``, or ``+CRING: <type>`` after ``AT+CRC=1``, TS 27.007 §6.11),
    once per ring: a modem repeats it every few seconds until the call is answered, hung up
    (:meth:`GsmModem.hang_up <drivers.modem.driver.GsmModem.hang_up>`) or given up by the
    caller. ``number`` is the caller's, from the ``+CLIP`` after the ring (``AT+CLIP=1``, §7.6);
    ``None`` when the modem does not say or the caller ``withheld`` it. ``kind`` is ``+CRING``'s
    type (``VOICE``, ``FAX``...), ``""`` after a plain ``RING``."""

    number: str | None
    withheld: bool = False
    kind: str = ""


@dataclass(frozen=True, slots=True)
class OtherUnsolicited:
    line: str


ModemEvent = (
    MessageStored
    | MessageRouted
    | ReportStored
    | ReportRouted
    | StorageFull
    | LinkLost
    | SignalChanged
    | RegistrationChanged
    | IncomingCall
    | OtherUnsolicited
)
E = TypeVar("E", bound=ModemEvent)


def event_for(urc: Unsolicited) -> ModemEvent:
    """The event ``urc`` is; raises :class:`~drivers.errors.AtReplyError` when a code the
    driver knows is malformed."""
    name = urc.name.upper()
    if name in ("+CMTI", "+CDSI"):
        storage, index = replies.parse_storage_urc(urc.value)
        return MessageStored(storage, index) if name == "+CMTI" else ReportStored(storage, index)
    if name in ("+CMT", "+CDS") and urc.pdu is not None:
        length = replies.parse_pdu_urc_length(urc.value)
        return MessageRouted(urc.pdu, length) if name == "+CMT" else ReportRouted(urc.pdu, length)
    if name in ("^SMMEMFULL", "+QIND", "+CIEV"):
        return _storage_full(name, urc) or OtherUnsolicited(urc.line)
    if name in ("+CREG", "+CGREG", "+CEREG"):
        return RegistrationChanged(name, replies.parse_registration_urc(urc.value))
    if name == "^RSSI" and urc.value.isdigit():
        return SignalChanged(int(urc.value))
    return OtherUnsolicited(urc.line)


def _storage_full(name: str, urc: Unsolicited) -> StorageFull | None:
    """The memory-full codes vendors send of their own (none is in TS 27.005):

    - Huawei ``^SMMEMFULL: "SM"`` (Balong firmware's own list of reports; asterisk
      chan_dongle's at_response_smmemfull);
    - Quectel ``+QIND: "smsfull","SM"``, off until ``AT+QINDCFG="smsfull",1`` (EC2x/EG9x AT
      commands manual, AT+QINDCFG);
    - ``+CIEV: "SMSFULL",<n>`` (Ai-Thinker A6/A9G, which SIMCom-style libraries read) and
      ``+CIEV: smsfull,<n>`` (Cinterion ``AT^SIND``, openmoko gsmd): the TS 27.007 §8.9
      indicator by name, 0 when the storage has room again.
    """
    parts = replies.fields(urc.value)
    if name == "^SMMEMFULL":
        return StorageFull(parts[0].upper() if parts and parts[0] else None, urc.line)
    if not parts or parts[0].lower() != "smsfull":
        return None
    if name == "+QIND":
        return StorageFull(parts[1].upper() if len(parts) > 1 and parts[1] else None, urc.line)
    if len(parts) > 1 and parts[1].strip() in ("", "0"):
        return None  # the indicator back at 0: room again
    return StorageFull(None, urc.line)


class Rings:
    """``RING``/``+CRING`` and the ``+CLIP`` after each made into one :class:`IncomingCall`.

    With caller ID on (``AT+CLIP=1`` accepted), a ring waits for its ``+CLIP`` line, which
    every ring is followed by (TS 27.007 §7.6); a ring that came without one is reported with
    no number when the next ring (or ``+CLIP``) comes. With caller ID off, each ring is the call.
    """

    def __init__(self) -> None:
        self.caller_id = False
        self._ring: str | None = None  # the kind of a ring waiting for its +CLIP

    @staticmethod
    def claims(urc: Unsolicited) -> bool:
        """Whether ``urc`` is one of the codes of a ringing call."""
        return urc.name.upper() in ("RING", "+CRING", "+CLIP")

    def feed(self, urc: Unsolicited) -> list[IncomingCall]:
        """The calls that ``urc`` (one that :meth:`claims`) completes: none, one, or two when a
        ring came without its ``+CLIP``."""
        name = urc.name.upper()
        calls = [] if self._ring is None else [IncomingCall(None, kind=self._ring)]
        self._ring = None
        if name == "+CLIP":
            number, withheld = replies.parse_clip(urc.value)
            kind = calls.pop().kind if calls else ""
            return [IncomingCall(number, withheld, kind)]
        kind = urc.value.upper() if name == "+CRING" else ""
        if self.caller_id:
            self._ring = kind
            return calls
        return [*calls, IncomingCall(None, kind=kind)]


class Listeners:
    """The callbacks subscribed to each type of event, of the modem called ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: dict[type, list[Callable[[Any], None]]] = {}

    def subscribe(self, kind: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call ``callback`` for each event of type ``kind``; returns the unsubscribe."""
        callbacks = self._callbacks.setdefault(kind, [])
        callbacks.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                callbacks.remove(callback)

        return unsubscribe

    def heard(self, kind: type) -> bool:
        """Whether anyone listens to events of type ``kind``."""
        return bool(self._callbacks.get(kind))

    def emit(self, event: ModemEvent) -> None:
        for callback in list(self._callbacks.get(type(event), ())):
            try:
                callback(event)
            except Exception:
                log.exception("%s: handler of %s failed", self.name, type(event).__name__)
