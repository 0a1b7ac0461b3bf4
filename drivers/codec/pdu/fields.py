"""Codecs for the individual TPDU fields of TS 23.040 §9.1-9.2 (addresses, times, DCS, VP, UDH).

Decoders take bytes and return the dataclasses of :mod:`drivers.codec.pdu.types`; malformed input
raises :class:`~drivers.errors.PduError` naming the field.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from drivers.codec import gsm7
from drivers.codec.pdu.types import (
    Address,
    Alphabet,
    Concatenation,
    DataCoding,
    InformationElement,
    MessageWaiting,
    NationalLanguageShift,
    PortAddressing,
    Timestamp,
    TypeOfNumber,
    UnknownElement,
    UserDataHeader,
    ValidityFormat,
    ValidityPeriod,
    WaitingKind,
)
from drivers.errors import PduError

# ---------------------------------------------------------------------------------------------
# Addresses (TS 23.040 §9.1.2.5, TS 24.011 §8.2.5.1 for the SMSC address)

# TS 23.040 §9.1.2.3: semi-octets 1010..1110 are '*', '#', 'a', 'b', 'c'; 1111 is the filler.
# Swapping the nibbles of each octet turns semi-octets into plain hex digits in reading order.
_SWAP_NIBBLES: Final = bytes((octet & 0x0F) << 4 | octet >> 4 for octet in range(256))
_HEX_TO_BCD: Final = str.maketrans({"a": "*", "b": "#", "c": "a", "d": "b", "e": "c", "f": None})
_BCD_TO_HEX: Final = str.maketrans({"*": "A", "#": "B", "a": "C", "b": "D", "c": "E"})
_BCD_CHARS: Final = frozenset("0123456789*#abc")
_TONS: Final = tuple(TypeOfNumber)

MAX_ADDRESS_DIGITS: Final = 20  # TS 23.040 §9.1.2.5: at most 10 octets of address value
MAX_SCA_OCTETS: Final = 11  # TS 24.011 §8.2.5.1: type of address plus 10 octets of digits
TOA_INTERNATIONAL: Final = 0x91  # international number, ISDN/E.164 numbering plan
TOA_UNKNOWN: Final = 0x81  # unknown type of number, ISDN/E.164 numbering plan
TOA_NATIONAL: Final = 0xA1  # national number, ISDN/E.164 numbering plan


def decode_bcd(value: bytes, digits: int) -> str:
    """Semi-octet (swapped nibble) digits; filler nibbles are dropped."""
    number = value.translate(_SWAP_NIBBLES).hex()[:digits]
    return number if number.isdigit() else number.translate(_HEX_TO_BCD)


def make_address(toa: int, value: bytes, digits: int) -> Address:
    # Bit 7 of the type of address must be 1, but real ZTE firmware sends it cleared
    # (python-gsmmodem's recorded 0297F1061C... report): read TON and NPI regardless.
    ton = _TONS[(toa >> 4) & 0x07]
    if ton is TypeOfNumber.ALPHANUMERIC:
        # TS 23.040 §9.1.2.5: the length counts semi-octets of packed septets, so the number of
        # characters is floor(semi-octets * 4 / 7); decoding every octet adds a spurious '@'.
        number = gsm7.decode(gsm7.unpack(value, digits * 4 // 7))
    else:
        number = decode_bcd(value, digits)
        if ton is TypeOfNumber.INTERNATIONAL:
            number = "+" + number
    return Address(number, ton, toa & 0x0F, toa)


def encode_digits(number: str, field: str) -> bytes:
    """Digits (and ``*#abc``) as swapped semi-octets with a filler nibble when odd."""
    if not _BCD_CHARS.issuperset(number):
        char = next(char for char in number if char not in _BCD_CHARS)
        raise PduError(field, f"{char!r} is not a digit, '*', '#', 'a', 'b' or 'c'")
    hex_digits = number if number.isdigit() else number.translate(_BCD_TO_HEX)
    if len(hex_digits) % 2:
        hex_digits += "F"
    return bytes.fromhex(hex_digits).translate(_SWAP_NIBBLES)


def toa_of(number: str) -> int:
    """The type of address of ``number`` (TS 24.008 §10.5.4.7, as ``<toa>``, ``<tosca>`` and
    ``+CLIP``'s ``<type>`` of TS 27.007 give it): international with a ``+``, else unknown."""
    return TOA_INTERNATIONAL if number.startswith("+") else TOA_UNKNOWN


def _split_number(number: str, toa: int | None, field: str) -> tuple[int, str]:
    digits = number[1:] if number.startswith("+") else number
    if toa is None:
        toa = toa_of(number)
    if not digits:
        raise PduError(field, "the number is empty")
    if len(digits) > MAX_ADDRESS_DIGITS:
        raise PduError(field, f"{len(digits)} digits, at most {MAX_ADDRESS_DIGITS} fit")
    if not 0x80 <= toa <= 0xFF or (toa >> 4) & 0x07 == TypeOfNumber.ALPHANUMERIC:
        raise PduError(field, f"type of address 0x{toa:02X} is not a numeric one")
    return toa, digits


def encode_address(number: str, field: str = "TP-DA", toa: int | None = None) -> bytes:
    """A TP-DA: length in digits, type of address, semi-octets.

    ``+`` makes an international number (TOA 0x91); otherwise TOA 0x81 ("unknown", which the
    network reads with its national rules) unless ``toa`` says otherwise.
    """
    toa, digits = _split_number(number, toa, field)
    return bytes((len(digits), toa)) + encode_digits(digits, field)


def encode_sca(number: str | None, toa: int | None = None) -> bytes:
    """The SMSC address before the TPDU; ``00`` leaves the choice to the SIM (AT+CSCA)."""
    if not number:
        return b"\x00"
    toa, digits = _split_number(number, toa, "SCA")
    value = encode_digits(digits, "SCA")
    return bytes((len(value) + 1, toa)) + value


# ---------------------------------------------------------------------------------------------
# Time stamps (TS 23.040 §9.2.3.11)


def _bcd_value(octet: int) -> int:
    low, high = octet & 0x0F, octet >> 4
    return low * 10 + high if low < 10 and high < 10 else -1


_BCD_VALUES: Final = tuple(_bcd_value(octet) for octet in range(256))
_ZONES: Final = {
    quarters: timezone(timedelta(minutes=15 * quarters)) for quarters in range(-79, 80)
}


def _zone(octet: int) -> timezone:
    # The sign is bit 3 of the low nibble; the rest is BCD quarter hours with swapped nibbles.
    tens, units = octet & 0x07, octet >> 4
    if units > 9:
        # Real Safaricom reports carry 0xE1 here (smslib CStatusReportMessageTest): use UTC.
        return UTC
    quarters = tens * 10 + units
    return _ZONES[-quarters if octet & 0x08 else quarters]


def decode_timestamp(raw: bytes) -> Timestamp:
    values = _BCD_VALUES
    year, month, day = values[raw[0]], values[raw[1]], values[raw[2]]
    hour, minute, second = values[raw[3]], values[raw[4]], values[raw[5]]
    try:
        value = datetime(
            (1900 if year >= 90 else 2000) + year,
            month,
            day,
            hour,
            minute,
            second,
            tzinfo=_zone(raw[6]),
        )
    except ValueError:  # invalid BCD (-1) or an impossible date
        value = None
    return Timestamp(bytes(raw), value)


def encode_timestamp(value: datetime) -> bytes:
    """Seven semi-octet-swapped octets; a naive datetime is taken as UTC."""
    offset = value.utcoffset() or timedelta(0)
    quarters = round(offset.total_seconds() / 900)
    fields = (value.year % 100, value.month, value.day, value.hour, value.minute, value.second)
    octets = [(number % 10) << 4 | number // 10 for number in fields]
    magnitude = abs(quarters)
    octets.append((magnitude % 10) << 4 | magnitude // 10 | (0x08 if quarters < 0 else 0))
    return bytes(octets)


# ---------------------------------------------------------------------------------------------
# Data coding scheme (TS 23.038 §4)

_CLASS_ALPHABETS: Final = (Alphabet.GSM7, Alphabet.DATA8, Alphabet.UCS2, Alphabet.GSM7)
_WAITING_KINDS: Final = tuple(WaitingKind)


def _data_coding(raw: int) -> DataCoding:
    group = raw >> 4
    if group < 0x8:  # 00xx xxxx general data coding, 01xx xxxx the same marked for deletion
        message_class = raw & 0x03 if raw & 0x10 else None
        # Alphabet 11 is reserved: TS 23.038 says to assume the default alphabet.
        alphabet = _CLASS_ALPHABETS[(raw >> 2) & 0x03]
        return DataCoding(raw, alphabet, message_class, bool(raw & 0x20), group >= 0x4, None)
    if group < 0xC:  # 1000..1011 reserved coding groups: assume the default alphabet
        return DataCoding(raw, Alphabet.GSM7, None, False, False, None)
    if group < 0xF:  # 1100 discard / 1101 store (GSM 7-bit), 1110 store (UCS-2)
        waiting = MessageWaiting(_WAITING_KINDS[raw & 0x03], bool(raw & 0x08), group != 0xC)
        alphabet = Alphabet.UCS2 if group == 0xE else Alphabet.GSM7
        return DataCoding(raw, alphabet, None, False, False, waiting)
    alphabet = Alphabet.DATA8 if raw & 0x04 else Alphabet.GSM7  # 1111: data coding/class
    return DataCoding(raw, alphabet, raw & 0x03, False, False, None)


_DATA_CODINGS: Final = tuple(_data_coding(raw) for raw in range(256))


def decode_dcs(raw: int) -> DataCoding:
    return _DATA_CODINGS[raw]


_ALPHABET_BITS: Final = {Alphabet.GSM7: 0x00, Alphabet.DATA8: 0x04, Alphabet.UCS2: 0x08}


def encode_dcs(alphabet: Alphabet, message_class: int | None = None) -> int:
    """A general data coding group octet: ``00`` GSM 7-bit, ``04`` 8-bit, ``08`` UCS-2."""
    bits = _ALPHABET_BITS[alphabet]
    if message_class is None:
        return bits
    if not 0 <= message_class <= 3:
        raise PduError("TP-DCS", f"message class {message_class} is not 0..3")
    return 0x10 | bits | message_class


# ---------------------------------------------------------------------------------------------
# Validity period (TS 23.040 §9.2.3.12)

_MINUTE: Final = 60
_HOUR: Final = 60 * _MINUTE
_DAY: Final = 24 * _HOUR
_WEEK: Final = 7 * _DAY


def relative_seconds(value: int) -> int:
    """TS 23.040 §9.2.3.12.1: the relative TP-VP octet as a number of seconds."""
    if value <= 143:
        return (value + 1) * 5 * _MINUTE
    if value <= 167:
        return 12 * _HOUR + (value - 143) * 30 * _MINUTE
    if value <= 196:
        return (value - 166) * _DAY
    return (value - 192) * _WEEK


def relative_octet(seconds: int) -> int:
    """The smallest relative TP-VP that lasts at least ``seconds`` (capped at 63 weeks)."""
    if seconds <= 0:
        raise PduError("TP-VP", f"a validity period must be positive, not {seconds} s")
    if seconds <= 12 * _HOUR:
        return max(0, math.ceil(seconds / (5 * _MINUTE)) - 1)
    if seconds <= _DAY:
        return 143 + math.ceil((seconds - 12 * _HOUR) / (30 * _MINUTE))
    if seconds <= 30 * _DAY:
        return 166 + max(2, math.ceil(seconds / _DAY))
    return min(255, 192 + max(5, math.ceil(seconds / _WEEK)))


def _enhanced(raw: bytes) -> ValidityPeriod:
    # TS 23.040 §9.2.3.12.3: functionality indicator, then the period in one of three formats.
    indicator = raw[0]
    if indicator & 0x80:  # extension bit: a further indicator octet we do not interpret
        return ValidityPeriod(ValidityFormat.ENHANCED, raw, None, None)
    kind = indicator & 0x07
    seconds: int | None = None
    if kind == 1:
        seconds = relative_seconds(raw[1])
    elif kind == 2:
        seconds = raw[1]
    elif kind == 3:
        hours, minutes, secs = (_BCD_VALUES[octet] for octet in raw[1:4])
        if min(hours, minutes, secs) >= 0:
            seconds = hours * _HOUR + minutes * _MINUTE + secs
    return ValidityPeriod(ValidityFormat.ENHANCED, raw, seconds, None)


def decode_validity(vpf: int, raw: bytes) -> ValidityPeriod:
    if vpf == 2:
        return ValidityPeriod(ValidityFormat.RELATIVE, raw, relative_seconds(raw[0]), None)
    if vpf == 3:
        return ValidityPeriod(ValidityFormat.ABSOLUTE, raw, None, decode_timestamp(raw))
    return _enhanced(raw)


# ---------------------------------------------------------------------------------------------
# User data header (TS 23.040 §9.2.3.24)

IEI_CONCAT8: Final = 0x00
IEI_PORTS8: Final = 0x04
IEI_PORTS16: Final = 0x05
IEI_CONCAT16: Final = 0x08
IEI_SINGLE_SHIFT: Final = 0x24
IEI_LOCKING_SHIFT: Final = 0x25


def _element(iei: int, data: bytes) -> InformationElement:
    size = len(data)
    if iei == IEI_CONCAT8 and size == 3:
        return Concatenation(data[0], data[1], data[2], ref16=False)
    if iei == IEI_CONCAT16 and size == 4:
        return Concatenation(data[0] << 8 | data[1], data[2], data[3], ref16=True)
    if iei == IEI_PORTS8 and size == 2:
        return PortAddressing(data[0], data[1], ports16=False)
    if iei == IEI_PORTS16 and size == 4:
        return PortAddressing(data[0] << 8 | data[1], data[2] << 8 | data[3], ports16=True)
    if iei in (IEI_SINGLE_SHIFT, IEI_LOCKING_SHIFT) and size == 1:
        return NationalLanguageShift(data[0], locking=iei == IEI_LOCKING_SHIFT)
    # Unknown elements, and known ones with a length the spec does not allow, are kept raw.
    return UnknownElement(iei, bytes(data))


def decode_udh(body: bytes) -> UserDataHeader:
    """The information elements of a header (the octets after UDHL)."""
    elements: list[InformationElement] = []
    index, end = 0, len(body)
    while index < end:
        if index + 2 > end:
            raise PduError("TP-UDH", f"element 0x{body[index]:02X} has no length octet")
        iei, size = body[index], body[index + 1]
        start = index + 2
        if start + size > end:
            raise PduError("TP-UDH", f"element 0x{iei:02X} runs past the end of the header")
        elements.append(_element(iei, body[start : start + size]))
        index = start + size
    return UserDataHeader(tuple(elements))


def encode_udh(elements: list[InformationElement]) -> bytes:
    """UDHL followed by the elements; empty when there are none."""
    body = bytearray()
    for element in elements:
        if isinstance(element, Concatenation):
            if element.ref16:
                ref = element.reference.to_bytes(2, "big")
                body += bytes((IEI_CONCAT16, 4)) + ref + bytes((element.total, element.sequence))
            else:
                body += bytes((IEI_CONCAT8, 3, element.reference, element.total, element.sequence))
        elif isinstance(element, NationalLanguageShift):
            iei = IEI_LOCKING_SHIFT if element.locking else IEI_SINGLE_SHIFT
            body += bytes((iei, 1, element.language))
        elif isinstance(element, PortAddressing):
            if element.ports16:
                ports = element.destination.to_bytes(2, "big") + element.source.to_bytes(2, "big")
                body += bytes((IEI_PORTS16, 4)) + ports
            else:
                body += bytes((IEI_PORTS8, 2, element.destination, element.source))
        else:
            body += bytes((element.iei, len(element.data))) + element.data
    return bytes((len(body),)) + bytes(body) if body else b""


def header_septets(header_octets: int) -> int:
    """Septets a header of ``header_octets`` (UDHL included) occupies, fill bits included."""
    return (header_octets * 8 + 6) // 7
