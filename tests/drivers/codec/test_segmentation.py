"""Encoding choice and segmentation: capacities, boundaries, and agreement with what is sent."""

from __future__ import annotations

import pytest

from drivers.codec import gsm7
from drivers.codec.gsm7_tables import PORTUGUESE, SPANISH, TURKISH
from drivers.codec.pdu import Alphabet, encode_submit, plan_data, plan_text

GSM_160 = "a" * 160


@pytest.mark.parametrize(
    ("text", "ref16", "alphabet", "capacities"),
    [
        ("a" * 160, False, Alphabet.GSM7, [160]),
        ("a" * 161, False, Alphabet.GSM7, [153, 153]),
        ("a" * 161, True, Alphabet.GSM7, [152, 152]),
        ("é" * 70 + "ж", False, Alphabet.UCS2, [67, 67]),
        ("ж" * 70, False, Alphabet.UCS2, [70]),
        ("ж" * 71, True, Alphabet.UCS2, [66, 66]),
    ],
)
def test_capacities(text: str, ref16: bool, alphabet: Alphabet, capacities: list[int]) -> None:
    plan = plan_text(text, ref16=ref16)
    assert plan.alphabet is alphabet
    assert [segment.capacity for segment in plan.segments] == capacities


def test_data_capacities() -> None:
    assert [s.capacity for s in plan_data(bytes(140)).segments] == [140]
    assert [s.units for s in plan_data(bytes(141)).segments] == [134, 7]
    assert [s.capacity for s in plan_data(bytes(141), ref16=True).segments] == [133, 133]


def test_escape_characters_cost_two_septets() -> None:
    # 80 euro signs are 160 septets: one SMS. One more character makes two.
    assert plan_text("€" * 80).num_segments == 1
    assert plan_text("€" * 80 + "a").num_segments == 2


def test_an_escape_pair_is_never_split() -> None:
    plan = plan_text("a" * 152 + "€" + "b" * 10)
    first, second = plan.segments
    assert (first.text, first.units, first.left) == ("a" * 152, 152, 1)
    assert second.text == "€" + "b" * 10
    assert second.payload[:2] == b"\x1b\x65"


def test_a_surrogate_pair_is_never_split() -> None:
    # oFono test_prepare_limits: 36 x U+1F631 needs two parts that reassemble exactly.
    plan = plan_text("😱" * 36)
    assert plan.num_segments == 2
    assert [segment.units for segment in plan.segments] == [66, 6]
    parts = encode_submit("+15555551234", plan, reference=9)
    assert all(
        int(part.pdu[-4:], 16) < 0xD800 or int(part.pdu[-4:], 16) >= 0xDC00 for part in parts
    )
    assert gsm7.join_texts(segment.text for segment in plan.segments) == "😱" * 36


def test_one_non_gsm_character_switches_the_whole_message_to_ucs2() -> None:
    assert plan_text("Hello `world`").alphabet is Alphabet.UCS2
    assert plan_text("Hello 'world'").alphabet is Alphabet.GSM7


def test_smart_encoding_keeps_gsm7() -> None:
    plan = plan_text("“Quotes” — and… more", smart_encoded=True)
    assert plan.alphabet is Alphabet.GSM7
    assert plan.text == '"Quotes" - and... more'


def test_smart_encoding_leaves_the_text_alone_when_it_cannot_avoid_ucs2() -> None:
    # The emoji forces UCS-2 anyway: the user's own punctuation is kept.
    plan = plan_text("“Quotes” 😀", smart_encoded=True)
    assert plan.alphabet is Alphabet.UCS2
    assert plan.text == "“Quotes” 😀"


def test_national_single_shift_capacities() -> None:
    # Android GsmSmsTest: 77 Turkish two-septet characters fit one SMS with a single shift
    # header (155 septets), 74 per part when concatenated (149 septets).
    one = plan_text("ı" * 77, languages=[TURKISH])
    assert (one.alphabet, one.num_segments) == (Alphabet.GSM7, 1)
    assert one.segments[0].capacity == 155
    # Spanish has a single-shift table only: 140 accented letters are 280 septets, two parts of
    # 149 septets (74 letters), where UCS-2 would need three.
    two = plan_text("á" * 140, languages=[SPANISH])
    assert (two.alphabet, two.single_shift, two.locking_shift) == (Alphabet.GSM7, SPANISH, 0)
    assert [(s.units, s.capacity) for s in two.segments] == [(148, 149), (132, 149)]
    assert plan_text("á" * 140).num_segments == 3


def test_national_table_only_when_it_saves_parts() -> None:
    # Short Turkish text fits one UCS-2 SMS: more handsets render UCS-2, so it wins the tie.
    assert plan_text("Günaydın", languages=[TURKISH]).alphabet is Alphabet.UCS2
    long_text = "Günaydın arkadaşlar, bugün hava çok güzel. " * 4
    plan = plan_text(long_text, languages=[TURKISH])
    assert plan.alphabet is Alphabet.GSM7
    assert plan.num_segments < plan_text(long_text).num_segments
    assert TURKISH in (plan.locking_shift, plan.single_shift)


def test_national_tables_are_not_used_unless_enabled() -> None:
    assert plan_text("ã" * 100).alphabet is Alphabet.UCS2
    plan = plan_text("ã" * 100, languages=[PORTUGUESE])
    assert (plan.alphabet, plan.locking_shift, plan.num_segments) == (Alphabet.GSM7, PORTUGUESE, 1)


def test_reported_segment_count_is_what_is_sent() -> None:
    for text in ["", "hi", GSM_160, GSM_160 + "!", "ж" * 200, "€" * 500, "😀" * 300]:
        plan = plan_text(text)
        assert len(encode_submit("+1555", plan, reference=1)) == plan.num_segments
