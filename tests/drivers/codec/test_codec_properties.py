"""Property tests: any body up to Twilio's 1600 characters survives encode → decode → reassemble."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.codec import gsm7, gsm7_tables
from drivers.codec.pdu import Alphabet, MessagePlan, Submit, decode, encode_submit, plan_text
from drivers.codec.smart_encoding import SMART_TABLE, smart_encode

MAX_BODY = 1600
GSM_BASIC = gsm7_tables.LOCKING_TABLES[0].replace("\x1b", "")
GSM_EXTENSION = "\f^{}\\[~]|€"
NATIONAL = "ığşİĞŞçÇáíóúÁÍÓÚãõâêôÃÕÂÊÔªº∞`"
LOOK_ALIKES = "".join(chr(code) for code in sorted(SMART_TABLE)[:80])
LANGUAGES = [gsm7_tables.TURKISH, gsm7_tables.SPANISH, gsm7_tables.PORTUGUESE]

_pools = st.sampled_from(
    [
        st.sampled_from(GSM_BASIC),
        st.sampled_from(GSM_BASIC + GSM_EXTENSION),
        st.sampled_from(GSM_BASIC + NATIONAL),
        st.sampled_from(GSM_BASIC + LOOK_ALIKES),
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji: surrogate pairs
        st.characters(codec="utf-8"),  # any character an HTTP body can carry (no lone surrogates)
        st.sampled_from("aж😀€"),
    ]
)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """Bodies built from one or two character pools, often near a segment boundary."""
    pools = draw(st.lists(_pools, min_size=1, max_size=2))
    length = draw(
        st.one_of(
            st.integers(0, 20),
            st.sampled_from([66, 67, 70, 71, 133, 134, 152, 153, 154, 159, 160, 161, 306, 307]),
            st.integers(0, MAX_BODY),
        )
    )
    chars = draw(st.lists(st.one_of(*(pool for pool in pools)), min_size=length, max_size=length))
    return "".join(chars)


def _decoded_parts(plan: MessagePlan, reference: int) -> list[Submit]:
    parts = encode_submit("+15551234567", plan, reference=reference)
    assert len(parts) == plan.num_segments
    decoded = []
    for number, part in enumerate(parts, 1):
        message = decode(part.pdu, part.tpdu_length)
        assert isinstance(message, Submit)
        assert message.tpdu_length == part.tpdu_length
        concat = message.concatenation
        if plan.num_segments == 1:
            assert concat is None
        else:
            assert concat is not None
            assert (concat.sequence, concat.total, concat.reference) == (
                number,
                plan.num_segments,
                reference,
            )
        decoded.append(message)
    return decoded


@given(
    bodies(),
    st.booleans(),
    st.booleans(),
    st.lists(st.sampled_from(LANGUAGES), max_size=2, unique=True),
)
def test_encode_decode_reassemble(
    text: str, smart: bool, ref16: bool, languages: list[int]
) -> None:
    plan = plan_text(text, smart_encoded=smart, ref16=ref16, languages=languages)
    # Smart encoding is used exactly when it lets the message go as GSM 7-bit.
    assert plan.text == (smart_encode(text) if smart and plan.alphabet is Alphabet.GSM7 else text)

    for segment in plan.segments:
        assert segment.units <= segment.capacity
        if plan.alphabet is Alphabet.GSM7:
            # No escape septet left dangling at the end of a part.
            assert not segment.payload.endswith(b"\x1b") or segment.payload.endswith(b"\x1b\x1b")
            assert len(gsm7.encode(segment.text, plan.locking_shift, plan.single_shift)) == (
                segment.units
            )
        elif plan.alphabet is Alphabet.UCS2 and segment.payload:
            last_unit = int.from_bytes(segment.payload[-2:], "big")
            assert not 0xD800 <= last_unit < 0xDC00, "a part ends with a high surrogate"

    reference = 0xBEEF if ref16 else 0xA5
    decoded = _decoded_parts(plan, reference)
    for message in decoded:
        if plan.alphabet is Alphabet.GSM7:
            assert message.user_data.length <= 160
        else:
            assert message.user_data.length <= 140
    texts = [message.text for message in decoded]
    assert all(part_text is not None for part_text in texts)
    assert gsm7.join_texts(t for t in texts if t is not None) == plan.text
