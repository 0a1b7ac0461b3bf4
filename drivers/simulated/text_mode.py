"""Text mode (``AT+CMGF=1``, TS 27.005 §3 and §4): what a simulated modem prints of a message
and what it makes of a typed one.

In text mode the host sees header fields (``<oa>``, ``<scts>``, ``<stat>`` as "REC UNREAD"...)
instead of a PDU, and types the text of a message instead of its PDU; the modem builds the
SMS-SUBMIT from the parameters ``AT+CSMP`` set (first octet, validity, PID, DCS). ``AT+CSDH=1``
shows the optional header fields, ``AT+CSCS`` is the character set of addresses and text
between host and modem (TS 27.007 §5.5; :mod:`~drivers.simulated.charsets`). Its commands
(+CSMP, +CSDH) are here; +CMGS, +CMGW, +CMGR, +CMGL and the routed +CMT/+CDS use the formats
below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from drivers.codec import gsm7
from drivers.codec.pdu import Address, Alphabet, Deliver, StatusReport, Submit, decode, fields
from drivers.codec.pdu.segmentation import MAX_SEPTETS, MAX_USER_DATA_OCTETS
from drivers.errors import PduError
from drivers.simulated.charsets import INVALID_TEXT, from_hex, from_te, to_te
from drivers.simulated.commands import handles
from drivers.simulated.pdus import MAX_TPDU
from drivers.simulated.state import CommandFailed, digits

if TYPE_CHECKING:
    from drivers.simulated.modem import SimulatedModem

# TS 27.005 §3.1 <stat> in text mode, by its PDU-mode number.
STATS: Final = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL")
_TP_VPF_RELATIVE: Final = 0x10
_TP_VPF: Final = 0x18
_TP_UDHI: Final = 0x40
_MTI_SUBMIT: Final = 0x01


@dataclass(frozen=True, slots=True)
class SubmitParameters:
    """``AT+CSMP=<fo>,<vp>,<pid>,<dcs>`` (TS 27.005 §3.3.2). The defaults are those of most
    modems after a reset: an SMS-SUBMIT with a relative validity of one day, GSM 7-bit."""

    fo: int = _MTI_SUBMIT | _TP_VPF_RELATIVE  # 17
    vp: int = 167  # TS 23.040 §9.2.3.12.1: 167 is 24 hours
    pid: int = 0
    dcs: int = 0


# --- what the modem prints ----------------------------------------------------------------------


def timestamp(value: datetime | None) -> str:
    """TS 27.005 §3.1 <scts>: "yy/MM/dd,hh:mm:ss±zz", the zone in quarters of an hour."""
    if value is None:
        return '""'
    offset = value.utcoffset()
    quarters = round(offset.total_seconds() / 900) if offset is not None else 0
    sign = "-" if quarters < 0 else "+"
    return f'"{value:%y/%m/%d,%H:%M:%S}{sign}{abs(quarters):02d}"'


def _address(number: str, charset: str) -> str:
    return f'"{to_te(number, charset)}"'


def _data(message: Deliver | Submit, tpdu: bytes, charset: str) -> str:
    """TS 27.005 §3.1 <data>: GSM 7-bit text without a header in the TE character set;
    otherwise (8-bit, UCS-2, or a user data header) the TP-UD's octets in hexadecimal."""
    user_data = message.user_data
    septets = message.dcs.alphabet is Alphabet.GSM7 and not message.dcs.compressed
    if septets and user_data.header is None and user_data.text is not None:
        return to_te(user_data.text, charset)
    octets = gsm7.packed_length(user_data.length) if septets else user_data.length
    return tpdu[len(tpdu) - octets :].hex().upper()


def _tpdu(pdu: str, length: int) -> bytes:
    octets = bytes.fromhex(pdu)
    return octets[len(octets) - length :]


def message_lines(
    modem: SimulatedModem, pdu: str, length: int, prefix: str, stat: int | None
) -> list[str]:
    """A stored or routed message in text mode: its header line (after ``prefix``, with its
    ``stat`` first when given) and, for a DELIVER or SUBMIT, its data line."""
    message = decode(pdu, length)
    tpdu = _tpdu(pdu, length)
    charset, details = modem.charset, modem.csdh == 1
    head = [f'"{STATS[stat]}"'] if stat is not None else []
    if isinstance(message, StatusReport):
        recipient = message.recipient
        head += [
            str(message.first_octet),
            str(message.message_reference),
            _address(recipient.number, charset),
            str(recipient.toa),
            timestamp(message.scts.value),
            timestamp(message.discharge.value),
            str(message.status),
        ]
        return [prefix + ",".join(head)]
    if isinstance(message, Deliver):
        head += [
            _address(message.originator.number, charset),
            "",
            timestamp(message.scts.value),
        ]
        if details:
            head += [
                str(message.originator.toa),
                str(message.first_octet),
                str(message.pid),
                str(message.dcs.raw),
                *_sca(message.sca, charset),
                str(message.user_data.length),
            ]
    else:
        head += [_address(message.destination.number, charset), ""]
        if details:
            head += [
                str(message.destination.toa),
                str(message.first_octet),
                str(message.pid),
                str(message.dcs.raw),
                _validity(message, tpdu),
                *_sca(message.sca, charset),
                str(message.user_data.length),
            ]
    return [prefix + ",".join(head), _data(message, tpdu, charset)]


def _sca(sca: Address | None, charset: str) -> list[str]:
    if sca is None or not sca.number:
        return ['""', ""]
    return [_address(sca.number, charset), str(sca.toa)]


def _validity(message: Submit, tpdu: bytes) -> str:
    # <vp> of a relative validity is its TP-VP octet (the one AT+CSMP takes); others are left out.
    if message.first_octet & _TP_VPF != _TP_VPF_RELATIVE:
        return ""
    return str(tpdu[6 + (tpdu[2] + 1) // 2])  # after FO, MR, TP-DA, PID and DCS


# --- what the host types ------------------------------------------------------------------------


def address_arguments(original: str, charset: str) -> tuple[str, int | None, list[str]]:
    """``"<da>"[,<toda>[,...]]`` after ``=``: the address (from ``charset``), its type of
    address when given, and the rest of the arguments."""
    values = _split(original)
    if not values or not values[0]:
        return "", None, values[1:]
    raw = values[0]
    if not (len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        raise CommandFailed("CMS", INVALID_TEXT)
    number = from_te(raw[1:-1], charset)
    toa = None
    if len(values) > 1 and values[1]:
        if not digits(values[1]) or int(values[1]) > 255:
            raise CommandFailed("CMS", INVALID_TEXT)
        toa = int(values[1])
    return number, toa, values[2:]


def _split(text: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip() or parts:
        parts.append(current.strip())
    return parts


def submit_tpdu(
    modem: SimulatedModem, destination: str, toa: int | None, text: str, reference: int
) -> bytes:
    """The SMS-SUBMIT for ``text`` typed after ``AT+CMGS="<da>"`` (or ``AT+CMGW``), as
    ``AT+CSMP`` says: +CMS ERROR: 305 when the text does not fit one message or the address
    is no number."""
    parameters = modem.csmp
    first = (parameters.fo & ~_TP_UDHI & ~0x03) | _MTI_SUBMIT
    try:
        address = fields.encode_address(destination, "TP-DA", toa) if destination else b"\x00\x81"
        coding = fields.decode_dcs(parameters.dcs)
    except (PduError, KeyError):
        raise CommandFailed("CMS", INVALID_TEXT) from None
    tpdu = bytearray((first, reference)) + address + bytes((parameters.pid, parameters.dcs))
    if first & _TP_VPF == _TP_VPF_RELATIVE:
        tpdu.append(parameters.vp)
    elif first & _TP_VPF:
        tpdu += bytes(7)  # an absolute or enhanced period: none that AT+CSMP's <vp> gave
    if coding.alphabet is Alphabet.GSM7:
        septets = gsm7.try_encode(from_te(text, modem.charset))
        if septets is None or len(septets) > MAX_SEPTETS:
            raise CommandFailed("CMS", INVALID_TEXT)
        tpdu.append(len(septets))
        tpdu += gsm7.pack(septets)
    else:
        # TS 27.005 §3.1 <data>: with an 8-bit or UCS-2 <dcs>, the text is typed in hexadecimal.
        octets = from_hex(text)
        if len(octets) > MAX_USER_DATA_OCTETS:
            raise CommandFailed("CMS", INVALID_TEXT)
        tpdu.append(len(octets))
        tpdu += octets
    if len(tpdu) > MAX_TPDU:
        raise CommandFailed("CMS", INVALID_TEXT)
    return bytes(tpdu)


def stat_argument(value: str) -> int:
    """``"REC UNREAD"`` ... ``"ALL"`` as their numbers; +CMS ERROR: 302 for anything else
    (a PDU-mode number, say)."""
    name = value.strip().strip('"').upper()
    if name not in STATS:
        raise CommandFailed("CMS", 302)
    return STATS.index(name)


# --- commands -----------------------------------------------------------------------------------


@handles("+CSMP")
def _csmp(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.005 §3.3.2: the SUBMIT a text-mode send makes.
    current = modem.csmp
    if name.endswith("?"):
        return [f"+CSMP: {current.fo},{current.vp},{current.pid},{current.dcs}"]
    if argument == "?":
        return []
    values = [part.strip() for part in argument.split(",")]
    old = (current.fo, current.vp, current.pid, current.dcs)
    merged = []
    for value, default in zip(values + [""] * 4, old, strict=False):
        if value and (not digits(value) or int(value) > 255):
            raise CommandFailed("CMS", INVALID_TEXT)  # an absolute <vp> string too
        merged.append(int(value) if value else default)
    if len(values) > 4:
        raise CommandFailed("CMS", INVALID_TEXT)
    modem.csmp = SubmitParameters(*merged)
    return []


@handles("+CSDH")
def _csdh(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.005 §3.3.3: show the optional text-mode header fields.
    if name.endswith("?"):
        return [f"+CSDH: {modem.csdh}"]
    if argument == "?":
        return ["+CSDH: (0,1)"]
    value = argument.strip() or "0"
    if value not in ("0", "1"):
        raise CommandFailed("CMS", 303)
    modem.csdh = int(value)
    return []
