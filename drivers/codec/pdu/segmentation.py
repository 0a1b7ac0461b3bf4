"""Choosing the alphabet of a message and cutting it into SMS parts.

:func:`plan_text` is the single source of truth for how a body is sent: the API's
``num_segments``, the ``smsgw pdu info`` command and the SUBMIT encoder all read the same
:class:`MessagePlan`, so what is reported is always what goes on the air.

Capacities (TS 23.040 §9.2.3.16, §9.2.3.24): 140 octets of user data per SMS, i.e. 160 septets,
70 UCS-2 units or 140 octets; a user data header takes its octets (and, for GSM 7-bit, the fill
bits that realign the text to a septet boundary) from that budget.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from drivers.codec import gsm7, gsm7_tables
from drivers.codec.pdu import fields
from drivers.codec.pdu.types import Alphabet
from drivers.codec.smart_encoding import smart_encode
from drivers.errors import PduError

MAX_USER_DATA_OCTETS: Final = 140
MAX_SEPTETS: Final = 160
MAX_PARTS: Final = 255  # the concatenation element counts parts in one octet

# Information element sizes including IEI and length octets (TS 23.040 §9.2.3.24).
_CONCAT8_OCTETS: Final = 5
_CONCAT16_OCTETS: Final = 6
_SHIFT_OCTETS: Final = 3


@dataclass(frozen=True, slots=True)
class Segment:
    """One SMS part: its text, its encoded payload, and how full it is.

    ``payload`` is septets (one per byte) for GSM 7-bit, UTF-16BE for UCS-2, octets for 8-bit
    data; ``units`` counts septets, UTF-16 units or octets, the unit ``capacity`` is counted in.
    """

    text: str
    payload: bytes
    units: int
    capacity: int

    @property
    def left(self) -> int:
        return self.capacity - self.units


@dataclass(frozen=True, slots=True)
class MessagePlan:
    text: str
    alphabet: Alphabet
    locking_shift: int
    single_shift: int
    ref16: bool
    segments: tuple[Segment, ...]

    @property
    def num_segments(self) -> int:
        return len(self.segments)

    @property
    def header_octets(self) -> int:
        """Octets of user data header in each part (UDHL included), 0 when there is none."""
        return _header_octets(
            self.num_segments > 1, self.ref16, self.locking_shift, self.single_shift
        )


def _header_octets(concatenated: bool, ref16: bool, locking: int, single: int) -> int:
    size = (_CONCAT16_OCTETS if ref16 else _CONCAT8_OCTETS) if concatenated else 0
    size += _SHIFT_OCTETS * (bool(locking) + bool(single))
    return size + 1 if size else 0


def capacity(alphabet: Alphabet, header_octets: int) -> int:
    """Units one part can carry next to a header of ``header_octets`` (UDHL included)."""
    if alphabet is Alphabet.GSM7:
        return MAX_SEPTETS - fields.header_septets(header_octets)
    octets = MAX_USER_DATA_OCTETS - header_octets
    return octets // 2 if alphabet is Alphabet.UCS2 else octets


@functools.cache
def _capacities(alphabet: Alphabet, ref16: bool, locking: int, single: int) -> tuple[int, int]:
    """Units in a lone SMS and in each part of a concatenated one."""
    alone = capacity(alphabet, _header_octets(False, ref16, locking, single))
    return alone, capacity(alphabet, _header_octets(True, ref16, locking, single))


def _splits_pair(payload: bytes, cut: int, alphabet: Alphabet) -> bool:
    """Whether cutting before unit ``cut`` separates an escape or a surrogate pair."""
    if alphabet is Alphabet.GSM7:
        # Every ESC we emit starts an escape pair: no code that follows one is itself 0x1B.
        return payload[cut - 1] == gsm7_tables.ESC
    if alphabet is Alphabet.UCS2:
        high = int.from_bytes(payload[2 * cut - 2 : 2 * cut], "big")
        low = int.from_bytes(payload[2 * cut : 2 * cut + 2], "big")
        return 0xD800 <= high < 0xDC00 and 0xDC00 <= low < 0xE000
    return False


def _plan(
    text: str,
    payload: bytes,
    alphabet: Alphabet,
    ref16: bool,
    *,
    locking: int = 0,
    single: int = 0,
) -> MessagePlan:
    width = 2 if alphabet is Alphabet.UCS2 else 1
    units = len(payload) // width
    single_capacity, limit = _capacities(alphabet, ref16, locking, single)
    if units <= single_capacity:
        segment = Segment(text, payload, units, single_capacity)
        return MessagePlan(text, alphabet, locking, single, ref16, (segment,))
    segments: list[Segment] = []
    start = consumed = 0
    while start < units:
        end = min(start + limit, units)
        if end < units and _splits_pair(payload, end, alphabet):
            end -= 1  # the pair starts the next part instead
        chunk = payload[start * width : end * width]
        if alphabet is Alphabet.GSM7:
            chars = len(chunk) - chunk.count(gsm7_tables.ESC)
            part_text = text[consumed : consumed + chars]
        elif alphabet is Alphabet.UCS2:
            part_text = gsm7.decode_ucs2(chunk)
        else:
            part_text = ""
        consumed += len(part_text)
        segments.append(Segment(part_text, chunk, end - start, limit))
        start = end
    if len(segments) > MAX_PARTS:
        raise PduError("TP-UD", f"the message needs {len(segments)} parts, at most {MAX_PARTS} fit")
    return MessagePlan(text, alphabet, locking, single, ref16, tuple(segments))


def _table_choices(languages: Iterable[int]) -> list[tuple[int, int]]:
    """(locking, single) table pairs to try, cheapest header first."""
    choices = [(0, 0)]
    for language in languages:
        has_single = language in gsm7_tables.SHIFT_TABLES and language != 0
        has_locking = language in gsm7_tables.LOCKING_TABLES and language != 0
        if has_single:
            choices.append((0, language))
        if has_locking:
            choices.append((language, 0))
        if has_single and has_locking:
            choices.append((language, language))
    return choices


def _plan_gsm7(text: str, locking: int, single: int, ref16: bool) -> MessagePlan | None:
    septets = gsm7.try_encode(text, locking, single)
    if septets is None:
        return None
    return _plan(text, septets, Alphabet.GSM7, ref16, locking=locking, single=single)


def plan_ucs2(text: str, ref16: bool = False) -> MessagePlan:
    return _plan(text, gsm7.encode_ucs2(text), Alphabet.UCS2, ref16)


def _best_plan(text: str, choices: list[tuple[int, int]], ref16: bool) -> MessagePlan:
    best: MessagePlan | None = None
    for locking, single in choices:
        plan = _plan_gsm7(text, locking, single, ref16)
        if plan and (best is None or plan.num_segments < best.num_segments):
            best = plan
    if best is not None and not (best.locking_shift or best.single_shift):
        return best
    ucs2 = plan_ucs2(text, ref16)
    # A national table wins only when it saves parts: more handsets render UCS-2 correctly.
    if best is None or ucs2.num_segments <= best.num_segments:
        return ucs2
    return best


def plan_text(
    text: str,
    *,
    smart_encoded: bool = False,
    languages: Iterable[int] = (),
    ref16: bool = False,
) -> MessagePlan:
    """How ``text`` is sent: GSM 7-bit when every character fits, otherwise UCS-2.

    With ``languages`` (TS 23.038 language identifiers), national shift tables are tried too and
    used when they need fewer parts than the alternative. With ``smart_encoded``, Unicode
    look-alikes are replaced, but only when that lets the message go as GSM 7-bit; otherwise the
    text is sent exactly as written.
    """
    choices = _table_choices(languages)
    if smart_encoded:
        replaced = smart_encode(text)
        if replaced != text:
            plan = _best_plan(replaced, choices, ref16)
            if plan.alphabet is Alphabet.GSM7:
                return plan
    return _best_plan(text, choices, ref16)


def plan_data(data: bytes, ref16: bool = False) -> MessagePlan:
    """8-bit data cut into parts of 140 octets (134 or 133 when concatenated)."""
    return _plan("", data, Alphabet.DATA8, ref16)
