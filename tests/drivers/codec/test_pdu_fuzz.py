"""The decoder is total: any input gives a PDU dataclass or a PduError, never anything else."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.codec.pdu import Deliver, StatusReport, Submit, decode
from drivers.errors import PduError
from tests.properties import examples

VECTORS = json.loads((Path(__file__).parents[2] / "data" / "pdu_vectors.json").read_text())
REAL_PDUS = [
    bytes.fromhex(vector["pdu"])
    for vector in VECTORS["vectors"]
    if vector["pdu"] and len(vector["pdu"]) % 2 == 0
]


def decodes_or_rejects(data: str | bytes, length: int | None = None) -> None:
    try:
        result = decode(data, length)
    except PduError as exc:
        field = exc.field
        assert field, "a PduError always names the field"
        return
    assert isinstance(result, Deliver | Submit | StatusReport)
    # A decoded PDU is fully usable: its text (when any) is a str, its length consistent.
    assert result.tpdu_length > 0


@settings(max_examples=examples(3000))
@given(st.binary(max_size=200), st.one_of(st.none(), st.integers(-5, 260)))
def test_arbitrary_bytes(data: bytes, length: int | None) -> None:
    decodes_or_rejects(data, length)


@settings(max_examples=examples(2000))
@given(st.text(alphabet="0123456789abcdefABCDEF \n\tg", max_size=400))
def test_arbitrary_hex_strings(text: str) -> None:
    decodes_or_rejects(text)


@settings(max_examples=examples(1000))
@given(st.text(max_size=100))
def test_arbitrary_text(text: str) -> None:
    decodes_or_rejects(text)


@settings(max_examples=examples(2000))
@given(st.sampled_from(REAL_PDUS), st.data())
def test_mutated_real_pdus(pdu: bytes, data: st.DataObject) -> None:
    mutated = bytearray(pdu)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(mutated) - 1))
        mutated[index] = data.draw(st.integers(0, 255))
    decodes_or_rejects(bytes(mutated), data.draw(st.one_of(st.none(), st.integers(0, 200))))


def test_every_real_pdu_truncated_at_every_length() -> None:
    count = 0
    for pdu in REAL_PDUS:
        for end in range(len(pdu)):
            decodes_or_rejects(pdu[:end])
            decodes_or_rejects(pdu[:end], end - 1)
            count += 2
    assert count > 10_000


def test_every_real_pdu_with_each_octet_corrupted() -> None:
    rng = random.Random(23040)  # fixed seed: the same corruptions on every run
    count = 0
    for pdu in REAL_PDUS:
        for index in range(len(pdu)):
            for value in (0x00, 0xFF, pdu[index] ^ 0x80, rng.randrange(256)):
                mutated = pdu[:index] + bytes((value,)) + pdu[index + 1 :]
                decodes_or_rejects(mutated)
                count += 1
    assert count > 20_000
