"""USSD strings as the network carries them: the CBS data coding scheme of TS 23.038 §5, and
GSM 7-bit packing with the CR padding of TS 23.038 §6.1.2.3.1.

USSD (TS 23.090, TS 24.080) codes its strings with the Cell Broadcast data coding scheme, not
the SMS one: ``15`` (``0x0F``, language unspecified) and the ``0x0X``/``0x2X`` language groups
are GSM 7-bit, ``72`` (``0x48``, the general data coding group with the UCS-2 alphabet) is UCS-2.
Pure: what a modem prints of a string (text, hex) is :mod:`drivers.at.replies`' to read.
"""

from __future__ import annotations

from typing import Final

from drivers.codec import gsm7
from drivers.codec.pdu.types import Alphabet

DEFAULT_DCS: Final = 15  # TS 23.038 §5: GSM 7-bit default alphabet, language unspecified
UCS2_DCS: Final = 72  # 0x48: general data coding, uncompressed, UCS-2
_CR: Final = 0x0D
_LANGUAGE_GSM7: Final = 0x10  # 0001 0000: GSM 7-bit, the text starts with its language
_LANGUAGE_UCS2: Final = 0x11  # 0001 0001: UCS-2, after two packed GSM 7-bit language characters
_BY_BITS: Final = {0: Alphabet.GSM7, 1: Alphabet.DATA8, 2: Alphabet.UCS2}


def alphabet(dcs: int) -> Alphabet:
    """The alphabet of a CBS data coding scheme (TS 23.038 §5); a reserved value is read as
    the GSM 7-bit default alphabet, as §5 requires of a receiver."""
    group = dcs >> 4
    if dcs == _LANGUAGE_UCS2:
        return Alphabet.UCS2
    if group in (0x4, 0x5, 0x6, 0x7, 0x9):  # general data coding, and messages with a UDH
        return _BY_BITS.get((dcs >> 2) & 0x03, Alphabet.GSM7)
    if group == 0xF:  # data coding / message class: bit 2 says 8-bit
        return Alphabet.DATA8 if dcs & 0x04 else Alphabet.GSM7
    return Alphabet.GSM7  # 0x0X, 0x1X, 0x2X, 0x3X languages; 0x8X, 0xAX-0xEX reserved


def pack(text: str) -> bytes:
    """``text`` in GSM 7-bit, packed. TS 23.038 §6.1.2.3.1: when the last octet would carry 7
    spare bits a CR fills them, and a text that ends with CR on an octet boundary gets
    another CR, so that the receiver can tell the padding from the text."""
    septets = gsm7.encode(text)
    if len(septets) % 8 == 7 or (len(septets) % 8 == 0 and septets.endswith(b"\r")):
        septets += b"\r"
    return gsm7.pack(septets)


def unpack(data: bytes) -> str:
    """The text of packed GSM 7-bit ``data``: every septet the octets hold, less the CR
    padding of :func:`pack` (and the CR it adds to a text ending with one)."""
    septets = gsm7.unpack(data, len(data) * 8 // 7)
    if (len(septets) % 8 == 0 and septets.endswith(b"\r")) or (
        len(septets) % 8 == 1 and septets.endswith(b"\r\r")
    ):
        septets = septets[:-1]
    return gsm7.decode(septets)


def decode(data: bytes, dcs: int) -> str:
    """The text of a USSD string's octets as the network sent them, coded as ``dcs`` says.

    8-bit data has no alphabet: it is shown as ISO 8859-1, octet for character. With
    ``0x10``/``0x11`` the language the text starts with (TS 23.038 §5) is left out."""
    kind = alphabet(dcs)
    if kind is Alphabet.UCS2:
        if dcs == _LANGUAGE_UCS2:
            data = data[2:]  # two GSM 7-bit characters packed into two octets
        return gsm7.decode_ucs2(data[: len(data) // 2 * 2])
    if kind is Alphabet.DATA8:
        return data.decode("latin-1")
    text = unpack(data)
    return language_removed(text, dcs)


def language_removed(text: str, dcs: int) -> str:
    """GSM 7-bit text less its language indication: with ``0x10`` it starts with two
    characters of ISO 639 and a CR (TS 23.038 §5)."""
    if dcs == _LANGUAGE_GSM7 and len(text) >= 3 and text[2] == "\r":
        return text[3:]
    return text
