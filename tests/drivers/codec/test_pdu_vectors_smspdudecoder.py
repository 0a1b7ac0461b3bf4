"""Differential test: our SMS-DELIVER decoding against smspdudecoder 2.2.0 on the real vectors.

smspdudecoder (pinned in the test extra, with ``bitstring<5``: bitstring 5 removed the BitStream
class it imports) is an independent decoder. On every SMS-DELIVER vector of the corpus where it
is known to be right, the sender, the text (or the 8-bit octets, which it returns as bytes), the
SCTS instant and the concatenation element agree with ours. Its verified bugs
(``../shared/docs/gsm-at-pdu.md`` §5) are listed in :data:`KNOWN_BUGS` with the reason, and for
those the test asserts that it still disagrees, so the list cannot silently go stale.
(``must_fail`` vectors are not part of this comparison: test_pdu_vectors.py holds them to
PduError.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any, Final

import pytest
from smspdudecoder.easy import read_incoming_sms

from drivers.codec.pdu import Deliver, decode
from drivers.errors import PduError
from tests.drivers.codec.test_pdu_vectors import DELIVER_VECTORS, Vector, tpdu_length, vector_id

_ALPHANUMERIC_AT: Final = (
    "alphanumeric sender: it unpacks every octet of the address instead of floor(semi-octets*4/7) "
    "septets (TS 23.040 §9.1.2.5), adding a spurious trailing '@'"
)
_NO_SCA: Final = (
    "TPDU without an SCA (oFono test_sms_charset, tpdu_len == pdu_len): smspdudecoder always reads "
    "an SCA first, then rejects the type of address 0x00 (bit 7 clear) with ValueError; its "
    "national-language reading would be wrong anyway (no tables)"
)

# Vector id -> why smspdudecoder is wrong there (gsm-at-pdu.md §5, verified on the corpus).
KNOWN_BUGS: Final[dict[int, str]] = {
    12: _ALPHANUMERIC_AT + " ('Megafon@')",
    116: _ALPHANUMERIC_AT + " ('sipgate@')",
    139: "BCD semi-octets A-E are not mapped to '*#abc' (TS 23.040 §9.1.2.3): 'ABCDEBA51'",
    149: "TP-DCS 0xC8 (message waiting indication group 1100 'discard', GSM 7-bit, TS 23.038 §4): "
    "it reads only bits 3-2, takes 10 for UCS-2 and crashes with UnicodeDecodeError",
    150: "the originator has 1 digit with a 0 filler nibble (0x05): it ignores the address length "
    "in semi-octets and strips only 'F' fillers, giving '50' instead of '5' (TS 23.040 §9.1.2.5)",
    174: "no national language tables: the Turkish single shift element (IEI 0x24, TS 23.040 "
    "§9.2.3.24.15) is ignored and 'ığş' decode as spaces",
    93: "odd-length hex with the last digit cut off: it decodes leniently, we reject the PDU "
    "(DISAGREEMENTS in test_pdu_vectors.py, like the must_fail vector 92)",
    120: _NO_SCA,
    121: _NO_SCA,
    122: _NO_SCA,
    123: _NO_SCA,
    124: _NO_SCA,
    125: _NO_SCA,
    126: _NO_SCA,
}

View = tuple[str, object, str, object] | str


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def smspdudecoder_view(pdu: str) -> View:
    """(sender, text or 8-bit bytes, SCTS as UTC, (ref, total, seq) or False), or the error."""
    try:
        sms: dict[str, Any] = read_incoming_sms(pdu)
    except Exception as error:  # any failure is a disagreement to report
        return f"raises {type(error).__name__}"
    partial = sms["partial"]
    if partial:
        reference = int(partial["reference"].split("-")[0])
        partial = (reference, partial["parts_count"], partial["part_number"])
    return (sms["sender"], sms["content"], _utc(sms["date"]), partial)


def our_view(vector: Vector) -> View:
    try:
        pdu = decode(vector["pdu"], tpdu_length(vector))
    except PduError:
        return "raises PduError"
    assert isinstance(pdu, Deliver)
    assert pdu.scts.value is not None
    content = pdu.text if pdu.text is not None else pdu.user_data.data
    found = pdu.concatenation
    partial = (found.reference, found.total, found.sequence) if found else False
    return (pdu.originator.number, content, _utc(pdu.scts.value), partial)


def test_smspdudecoder_is_the_pinned_version() -> None:
    assert version("smspdudecoder") == "2.2.0"
    assert int(version("bitstring").split(".")[0]) < 5


def test_known_bugs_are_deliver_vectors() -> None:
    assert set(KNOWN_BUGS) <= {vector["id"] for vector in DELIVER_VECTORS}


@pytest.mark.parametrize("vector", DELIVER_VECTORS, ids=vector_id)
def test_deliver_agrees_with_smspdudecoder(vector: Vector) -> None:
    theirs = smspdudecoder_view(vector["pdu"])
    ours = our_view(vector)
    if vector["id"] in KNOWN_BUGS:
        # The documented bug must still show; if smspdudecoder agrees now, update KNOWN_BUGS.
        assert theirs != ours, KNOWN_BUGS[vector["id"]]
    else:
        assert theirs == ours
