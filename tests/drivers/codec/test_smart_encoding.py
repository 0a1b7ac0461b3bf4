"""Smart encoding (Twilio's SmartEncoded): look-alikes become plain GSM 7-bit characters."""

from __future__ import annotations

import pytest

from drivers.codec import gsm7
from drivers.codec.smart_encoding import SMART_TABLE, smart_encode


def test_every_replacement_is_gsm7_and_every_replaced_character_is_not() -> None:
    for code, replacement in SMART_TABLE.items():
        assert gsm7.can_encode(replacement), f"U+{code:04X} -> {replacement!r}"
        assert not gsm7.can_encode(chr(code)), f"U+{code:04X} is already GSM 7-bit"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“Hello” ‘world’", "\"Hello\" 'world'"),
        ("wait… what‼", "wait... what!!"),
        ("a\u00a0b\u2009c\u3000d", "a b c d"),
        ("pre\u200bfix\ufeff", "prefix"),
        ("10–20 — ok", "10-20 - ok"),
        ("½ cup", "1/2 cup"),
        ("ＡＢＣ！１２３", "ABC!123"),
        ("｀tick｀", "'tick'"),
        ("« guillemets »", '" guillemets "'),
        ("‹a› and ‚b‘", "<a> and ,b'"),
        ("emoji 😀 stays", "emoji 😀 stays"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert smart_encode(text) == expected
