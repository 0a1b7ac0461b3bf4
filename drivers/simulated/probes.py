"""What other AT software asks a modem about itself and its SIM before it trusts it: its
capabilities (+GCAP, +CLAC), its phonebooks (+CPBS, +CPBR), cell broadcast settings (+CSCB)
and the SIM's files (+CRSM). gammu, python-gsmmodem and SMSTools3 send these at start-up;
a modem that answers ``ERROR`` to them looks broken or old to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from drivers.codec.pdu.fields import toa_of
from drivers.simulated.commands import HANDLERS, handles, integers
from drivers.simulated.state import CommandFailed

if TYPE_CHECKING:
    from drivers.simulated.modem import SimulatedModem

# Commands the modem runs itself rather than through HANDLERS (prompt, sending from storage)
# and the V.250 basic ones it knows.
_OWN: Final = ("+CMGS", "+CMGW", "+CMSS")
_BASIC: Final = ("E", "I", "Z", "&F", "S0", "S3", "S4", "S5")
_PHONEBOOKS: Final = ("SM", "ON")  # the SIM's phonebook, and its own numbers (MSISDN)
_PHONEBOOK_SIZE: Final = 250
_NUMBER_LENGTH: Final = 20
_TEXT_LENGTH: Final = 14
# TS 51.011 / TS 31.102 file identifiers, and the status words of TS 102 221 §10.2.1.
_EF_ICCID: Final = 0x2FE2
_EF_SMS: Final = 0x6F3C
_READ_BINARY: Final = 176
_READ_RECORD: Final = 178
_OK: Final = "144,0"
_NOT_FOUND: Final = "106,130"  # 6A82: file not found
_WRONG_INSTRUCTION: Final = "109,0"  # 6D00: instruction not supported
_RECORD_LENGTH: Final = 176  # EF_SMS: status octet and 175 octets of PDU
# TS 31.102 §4.2.25 EF_SMS status, by TS 27.005 <stat>.
_SMS_STATUS: Final = {0: 0x03, 1: 0x01, 2: 0x07, 3: 0x05}


@handles("+GCAP")
def _gcap(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # V.250 §6.1.9: +CGSM, the TS 27.007 GSM command set.
    return ["+GCAP: +CGSM"]


@handles("+CLAC")
def _clac(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §8.37: every command the modem supports, one a line.
    if argument == "?":
        return []
    extended = sorted({*HANDLERS, *_OWN})
    return [f"AT{command}" for command in _BASIC] + [f"AT{command}" for command in extended]


@handles("+CPBS")
def _cpbs(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §8.11: select a phonebook.
    if argument == "?":
        return ["+CPBS: (" + ",".join(f'"{book}"' for book in _PHONEBOOKS) + ")"]
    if name.endswith("?"):
        used = len(_entries(modem))
        return [f'+CPBS: "{modem.phonebook}",{used},{_PHONEBOOK_SIZE}']
    wanted = argument.strip().strip('"')
    if wanted not in _PHONEBOOKS:
        raise CommandFailed("CME", 4)
    modem.phonebook = wanted
    return []


def _entries(modem: SimulatedModem) -> dict[int, str]:
    # The simulated SIM's phonebook is empty; "ON" holds its own numbers.
    if modem.phonebook != "ON":
        return {}
    return dict(enumerate(modem.numbers, start=1))


@handles("+CPBR")
def _cpbr(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §8.12: read entries; empty locations give no line.
    if argument == "?":
        return [f"+CPBR: (1-{_PHONEBOOK_SIZE}),{_NUMBER_LENGTH},{_TEXT_LENGTH}"]
    values = integers(argument)
    first = values[0]
    last = values[1] if len(values) > 1 and values[1] >= 0 else first
    if not 1 <= first <= last <= _PHONEBOOK_SIZE:
        raise CommandFailed("CME", 21)  # invalid index
    lines = []
    for index, number in sorted(_entries(modem).items()):
        if first <= index <= last:
            lines.append(f'+CPBR: {index},"{number}",{toa_of(number)},""')
    return lines


@handles("+CSCB")
def _cscb(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.005 §3.3.4: which cell broadcast messages to take (the network sends none).
    if argument == "?":
        return ["+CSCB: (0,1)"]
    if name.endswith("?"):
        mode, mids, dcss = modem.cscb
        return [f'+CSCB: {mode},"{mids}","{dcss}"']
    values = [value.strip().strip('"') for value in original.partition("=")[2].split(",", 2)]
    if values[0] not in ("", "0", "1"):
        raise CommandFailed("CMS", 303)
    values += [""] * (3 - len(values))
    modem.cscb = (int(values[0] or "0"), values[1], values[2])
    return []


@handles("+CRSM")
def _crsm(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §8.18: restricted SIM access. The ICCID and the SMS records can be read.
    if argument == "?":
        return []
    if not modem.pin_entered:
        raise CommandFailed("CME", 11)  # SIM PIN required
    values = integers(argument.split(',"', maxsplit=1)[0])
    command = values[0]
    file_id = values[1] if len(values) > 1 else -1
    if command == _READ_BINARY and file_id == _EF_ICCID:
        return [f'+CRSM: {_OK},"{_swapped(_iccid(modem))}"']
    if command == _READ_RECORD and file_id == _EF_SMS:
        record = values[2] if len(values) > 2 else 0
        return [f'+CRSM: {_OK},"{_sms_record(modem, record)}"']
    if command in (_READ_BINARY, _READ_RECORD, 192, 242):
        return [f"+CRSM: {_NOT_FOUND}"]
    return [f"+CRSM: {_WRONG_INSTRUCTION}"]


def _iccid(modem: SimulatedModem) -> str:
    # ITU-T E.118: 89 (telecom), the country code (1), the issuer, then the IMSI's own digits.
    return "891" + modem.imsi[-16:].rjust(16, "0") + "F"


def _swapped(digits: str) -> str:
    """BCD with the nibbles of each octet swapped, as the SIM stores the ICCID."""
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2))


def _sms_record(modem: SimulatedModem, record: int) -> str:
    storage = modem.storages.get("SM")
    slot = storage.slots.get(record - 1 + storage.first) if storage is not None else None
    if slot is None:
        return "00" + "FF" * (_RECORD_LENGTH - 1)
    body = bytes((_SMS_STATUS[slot.stat],)) + bytes.fromhex(slot.pdu)
    return (body + b"\xff" * (_RECORD_LENGTH - len(body))).hex().upper()
