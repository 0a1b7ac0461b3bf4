"""Stored messages (TS 27.005 §3.5): listing, reading, deleting, writing and sending from
storage, in PDU mode and in text mode.

``AT+CMGL``/``AT+CMGR``/``AT+CMGD`` act on ``<mem1>``; ``AT+CMGW`` (whose text or PDU follows a
prompt, as after ``AT+CMGS``: the modem calls :func:`write` with it) and ``AT+CMSS`` act on
``<mem2>`` (§3.5.3, §3.5.2). ``AT+CMSS`` goes on the air as ``AT+CMGS`` does: the modem sends
what :func:`stored_submit` gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from drivers.simulated import text_mode
from drivers.simulated.commands import handles, integers
from drivers.simulated.pdus import checked_submit, readdressed
from drivers.simulated.state import CommandFailed, Slot, digits

if TYPE_CHECKING:
    from drivers.simulated.modem import SimulatedModem

_CMS_NOT_ALLOWED: Final = 302
_CMS_INVALID_INDEX: Final = 321
_CMS_MEMORY_FULL: Final = 322
_UNREAD, _READ, _UNSENT, _SENT, _ALL = range(5)
_NO_SCA: Final = "00"  # a SUBMIT stored without an SMSC address: the SIM's (AT+CSCA) is used


@dataclass(frozen=True, slots=True)
class Awaited:
    """What the text or PDU after a prompt is for: ``AT+CMGS`` or ``AT+CMGW``, with the
    arguments the command line gave (a PDU's length in PDU mode, the address in text mode)."""

    command: str
    length: int = 0
    address: str = ""
    toa: int | None = None
    stat: int = _UNSENT


def awaited(modem: SimulatedModem, command: str, original: str) -> Awaited:
    """The arguments of ``AT+CMGS``/``AT+CMGW`` (``original`` after the command name), or
    the +CMS ERROR a real modem gives for them."""
    argument = original.strip().removeprefix("=").strip()
    if modem.cmgf == 1:
        if command == "+CMGS" and not argument:
            raise CommandFailed("CMS", 305)
        number, toa, rest = text_mode.address_arguments(argument, modem.charset)
        if command == "+CMGS" and not number:
            raise CommandFailed("CMS", 305)
        stat = text_mode.stat_argument(rest[0]) if rest and rest[0] else _UNSENT
        return Awaited(command, address=number, toa=toa, stat=_writable(stat))
    length, _, stat_text = argument.partition(",")
    if not digits(length.strip()):
        # Text-mode syntax (AT+CMGS="+1555...") in PDU mode.
        raise CommandFailed("CMS", 305)
    stat = integers(stat_text, "CMS")[0] if stat_text.strip() else _UNSENT
    return Awaited(command, length=int(length), stat=_writable(stat))


def _writable(stat: int) -> int:
    if stat not in (_UNREAD, _READ, _UNSENT, _SENT):
        raise CommandFailed("CMS", _CMS_NOT_ALLOWED)
    return stat


def typed_submit(modem: SimulatedModem, entry: Awaited, data: str) -> bytes:
    """The SUBMIT's TPDU the host gave after the prompt: checked PDU, or text made into one."""
    if modem.cmgf == 1:
        return text_mode.submit_tpdu(modem, entry.address, entry.toa, data, modem.reference)
    tpdu, _ = checked_submit(data.strip(), entry.length)
    return tpdu


def write(modem: SimulatedModem, entry: Awaited, data: str) -> int:
    """``AT+CMGW``: the message stored in ``<mem2>``; its index (+CMS ERROR: 322 when full)."""
    tpdu = typed_submit(modem, entry, data)
    pdu = _NO_SCA + tpdu.hex().upper() if modem.cmgf == 1 else data.strip().upper()
    index = modem.storages[modem.mem[1]].store(Slot(entry.stat, pdu, len(tpdu)))
    if index is None:
        raise CommandFailed("CMS", _CMS_MEMORY_FULL)
    return index


def stored_submit(modem: SimulatedModem, original: str) -> tuple[Slot, bytes]:
    """``AT+CMSS=<index>[,<da>[,<toda>]]``: the stored SUBMIT and the TPDU to send (to
    ``<da>`` instead of its own destination when given, TS 27.005 §3.5.2)."""
    argument = original.strip().removeprefix("=").strip()
    index_text, _, rest = argument.partition(",")
    if not digits(index_text.strip()):
        raise CommandFailed("CMS", 304 if modem.cmgf == 0 else 305)
    slot = modem.storages[modem.mem[1]].slots.get(int(index_text))
    if slot is None:
        raise CommandFailed("CMS", _CMS_INVALID_INDEX)
    if slot.stat not in (_UNSENT, _SENT):
        raise CommandFailed("CMS", _CMS_NOT_ALLOWED)  # a received message is no SUBMIT
    octets = bytes.fromhex(slot.pdu)
    tpdu = bytearray(octets[len(octets) - slot.length :])
    tpdu[1] = modem.reference  # TP-MR: the modem numbers each send
    number, toa, _ = text_mode.address_arguments(rest, modem.charset)
    return slot, readdressed(bytes(tpdu), number, toa) if number else bytes(tpdu)


def sent(slot: Slot) -> None:
    slot.stat = _SENT


# --- listing, reading, deleting -----------------------------------------------------------------


@handles("+CMGL")
def _cmgl(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    text = modem.cmgf == 1
    if argument == "?":
        if text:
            return ["+CMGL: (" + ",".join(f'"{stat}"' for stat in text_mode.STATS) + ")"]
        return ["+CMGL: (0-4)"]
    if text:
        wanted = text_mode.stat_argument(argument or '"REC UNREAD"')
    elif digits(argument.strip()):
        wanted = int(argument)
    elif not argument.strip():
        wanted = _UNREAD  # TS 27.005 §3.4.2: the default is "received unread"
    else:
        raise CommandFailed("CMS", _CMS_NOT_ALLOWED)  # text-mode "ALL" in PDU mode
    storage = modem.storages[modem.mem[0]]
    lines = []
    for index in sorted(storage.slots):
        slot = storage.slots[index]
        if wanted not in (_ALL, slot.stat):
            continue
        if text:
            lines += text_mode.message_lines(
                modem, slot.pdu, slot.length, f"+CMGL: {index},", slot.stat
            )
        else:
            lines += [f"+CMGL: {index},{slot.stat},,{slot.length}", slot.pdu]
        if slot.stat == _UNREAD:
            slot.stat = _READ  # listing unread messages marks them read
    return lines


@handles("+CMGR")
def _cmgr(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    (index,) = integers(argument, "CMS")
    slot = modem.storages[modem.mem[0]].slots.get(index)
    if slot is None:
        raise CommandFailed("CMS", _CMS_INVALID_INDEX)
    if modem.cmgf == 1:
        lines = text_mode.message_lines(modem, slot.pdu, slot.length, "+CMGR: ", slot.stat)
    else:
        lines = [f"+CMGR: {slot.stat},,{slot.length}", slot.pdu]
    if slot.stat == _UNREAD:
        slot.stat = _READ
    return lines


@handles("+CMGD")
def _cmgd(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    storage = modem.storages[modem.mem[0]]
    if argument == "?":
        return [f"+CMGD: ({storage.first}-{storage.indexes[-1]}),(0-4)"]
    values = [*integers(argument, "CMS"), 0]
    index, flag = values[0], values[1]
    if flag == 0:
        if index not in storage.slots:
            raise CommandFailed("CMS", _CMS_INVALID_INDEX)
        del storage.slots[index]
    else:
        # TS 27.005 §3.5.4: 1 read, 2 read and sent, 3 and unsent, 4 all.
        doomed = {1: {1}, 2: {1, 3}, 3: {1, 2, 3}, 4: {0, 1, 2, 3}}.get(flag)
        if doomed is None:
            raise CommandFailed("CMS", _CMS_NOT_ALLOWED)
        for key in [k for k, slot in storage.slots.items() if slot.stat in doomed]:
            del storage.slots[key]
    modem.release_held()
    return []
