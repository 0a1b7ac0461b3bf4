"""Alphabets of TS 23.038: GSM 7-bit (with national shift tables), septet packing, UCS-2.

Septet strings are ``bytes`` with one septet (0..127) per byte; an escaped character is the two
septets ``ESC, code``. Packing follows TS 23.038 §6.1.2.1.1: septets are laid out least
significant bit first, after ``fill_bits`` zero bits that align them to a septet boundary
following a user data header (TS 23.040 §9.2.3.24).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Final

from drivers.codec.gsm7_tables import DEFAULT, ESC, LOCKING_TABLES, SHIFT_TABLES
from drivers.errors import PduError

_SPACE: Final = " "


def _locking(language: int) -> str:
    # TS 23.038 §6.2.1.2.4: an entity that does not support the language uses the default table.
    return LOCKING_TABLES.get(language, LOCKING_TABLES[DEFAULT])


def _shift(language: int) -> Mapping[int, str]:
    return SHIFT_TABLES.get(language, SHIFT_TABLES[DEFAULT])


@functools.cache
def encoding_table(locking: int = DEFAULT, single: int = DEFAULT) -> Mapping[str, bytes]:
    """Map each encodable character to its septets (one, or ``ESC`` and a code)."""
    table: dict[str, bytes] = {}
    for code, char in enumerate(_locking(locking)):
        if code != ESC:
            table[char] = bytes((code,))
    for code, char in _shift(single).items():
        # A character in both tables costs one septet through the locking table.
        table.setdefault(char, bytes((ESC, code)))
    return table


class _Translation(dict[int, str]):
    """``str.translate`` table: characters outside the alphabet become a non-ASCII marker."""

    def __missing__(self, key: int) -> str:
        return _UNENCODABLE


_UNENCODABLE: Final = "\uffff"


@functools.cache
def _translation(locking: int, single: int) -> _Translation:
    # Septets written as the code points 0..127, so that translate() and encode("ascii") do
    # the per-character work in C; the marker makes encode("ascii") fail on a foreign character.
    table = _Translation()
    for char, septets in encoding_table(locking, single).items():
        table[ord(char)] = septets.decode("ascii")
    return table


def can_encode(text: str, locking: int = DEFAULT, single: int = DEFAULT) -> bool:
    return _alphabet_pattern(locking, single).fullmatch(text) is not None


@functools.cache
def _alphabet_pattern(locking: int, single: int) -> re.Pattern[str]:
    chars = "".join(encoding_table(locking, single))
    return re.compile(f"[{re.escape(chars)}]*")


def try_encode(text: str, locking: int = DEFAULT, single: int = DEFAULT) -> bytes | None:
    """The septets of ``text``, or ``None`` when a character is not in the tables."""
    # The regular expression stops at the first foreign character, in C: a Cyrillic or emoji
    # text is rejected at once instead of after a table lookup per character.
    if _alphabet_pattern(locking, single).fullmatch(text) is None:
        return None
    return text.translate(_translation(locking, single)).encode("ascii")


def encode(text: str, locking: int = DEFAULT, single: int = DEFAULT) -> bytes:
    """Encode ``text`` to septets; raise :class:`PduError` naming the first unencodable char."""
    septets = try_encode(text, locking, single)
    if septets is None:
        table = encoding_table(locking, single)
        char = next(char for char in text if char not in table)
        raise PduError("TP-UD", f"{char!r} is not in the GSM 7-bit alphabet")
    return septets


def decode(septets: bytes, locking: int = DEFAULT, single: int = DEFAULT) -> str:
    """Decode septets (values 0..127) to text. Never fails: every septet value has a meaning.

    TS 23.038 §6.2.1.1: an escape followed by a code missing from the single-shift table shows
    the locking-table character for that code; ``ESC ESC`` (reserved for a further extension
    table) and an escape with nothing after it show a space.
    """
    basic = _locking(locking)
    if ESC not in septets:
        return septets.decode("latin-1").translate(basic)
    shift = _shift(single)
    out: list[str] = []
    index, count = 0, len(septets)
    while index < count:
        code = septets[index] & 0x7F
        if code != ESC:
            out.append(basic[code])
            index += 1
            continue
        if index + 1 == count:
            out.append(_SPACE)
            break
        following = septets[index + 1] & 0x7F
        char = shift.get(following)
        if char is None:
            char = _SPACE if following == ESC else basic[following]
        out.append(char)
        index += 2
    return "".join(out)


# Packing eight septets into seven octets in three mask-and-shift steps over the whole message
# (lanes of 16, 32 and 64 bits) is much faster in Python than a loop per septet, except for
# short texts, where building the masks costs more than it saves.
_LOOP_BELOW: Final = 24


@functools.cache
def _lane_masks(lanes: int) -> tuple[int, ...]:
    def repeat(pattern: int) -> int:
        return int.from_bytes(pattern.to_bytes(8, "little") * lanes, "little")

    return tuple(
        repeat(pattern)
        for pattern in (
            0x007F007F007F007F,
            0x7F007F007F007F00,
            0x00003FFF00003FFF,
            0x3FFF00003FFF0000,
            0x000000000FFFFFFF,
            0x0FFFFFFF00000000,
            0x3F803F803F803F80,
            0x0FFFC0000FFFC000,
            0x00FFFFFFF0000000,
        )
    )


def pack(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets into octets after ``fill_bits`` zero bits (TS 23.038 §6.1.2.1.1)."""
    count = len(septets)
    size = packed_length(count, fill_bits)
    if count < _LOOP_BELOW:
        acc = 0
        shift = fill_bits
        for septet in septets:
            acc |= septet << shift
            shift += 7
        return acc.to_bytes(size, "little")
    lanes = (count + 7) // 8
    m = _lane_masks(lanes)
    x = int.from_bytes(septets, "little")
    x = (x & m[0]) | ((x & m[1]) >> 1)
    x = (x & m[2]) | ((x & m[3]) >> 2)
    x = (x & m[4]) | ((x & m[5]) >> 4)
    raw = x.to_bytes(8 * lanes, "little")
    packed = b"".join([raw[index : index + 7] for index in range(0, 8 * lanes, 8)])
    if fill_bits:
        return (int.from_bytes(packed, "little") << fill_bits).to_bytes(size, "little")
    return packed[:size]


def packed_length(septet_count: int, fill_bits: int = 0) -> int:
    """Octets occupied by ``septet_count`` packed septets after ``fill_bits``."""
    return (fill_bits + 7 * septet_count + 7) // 8


def unpack(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """Take ``count`` septets from packed ``data``, skipping ``fill_bits`` leading bits."""
    need = packed_length(count, fill_bits)
    if len(data) < need:
        raise PduError("TP-UD", f"{count} septets need {need} octets, only {len(data)} present")
    acc = int.from_bytes(data[:need], "little") >> fill_bits
    if count < _LOOP_BELOW:
        out = bytearray(count)
        for index in range(count):
            out[index] = acc & 0x7F
            acc >>= 7
        return bytes(out)
    lanes = (count + 7) // 8
    m = _lane_masks(lanes)
    # Bits past the last septet (padding, or garbage in a broken PDU) are not septets.
    packed = (acc & ((1 << 7 * count) - 1)).to_bytes(7 * lanes, "little")
    x = int.from_bytes(
        b"".join([packed[index : index + 7] + b"\x00" for index in range(0, 7 * lanes, 7)]),
        "little",
    )
    x = (x & m[4]) | ((x & m[8]) << 4)
    x = (x & m[2]) | ((x & m[7]) << 2)
    x = (x & m[0]) | ((x & m[6]) << 1)
    return x.to_bytes(8 * lanes, "little")[:count]


def encode_ucs2(text: str) -> bytes:
    """UCS-2 as phones really send it: UTF-16BE, characters outside the BMP as surrogate pairs.

    Lone surrogates (half of a pair split by a sender) pass through unchanged.
    """
    return text.encode("utf-16-be", "surrogatepass")


def decode_ucs2(data: bytes) -> str:
    """Decode UTF-16BE, keeping a lone surrogate at either end so reassembly can join it."""
    if len(data) % 2:
        raise PduError("TP-UD", f"UCS-2 user data has an odd number of octets ({len(data)})")
    return data.decode("utf-16-be", "surrogatepass")


def utf16_units(text: str) -> int:
    """Number of UTF-16 code units (what one UCS-2 segment's capacity is counted in)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def join_texts(parts: Iterable[str]) -> str:
    """Join the texts of consecutive parts, mending a surrogate pair split between two parts."""
    joined = "".join(parts)
    return joined.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")
