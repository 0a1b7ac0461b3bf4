"""Page tokens (:mod:`gateway.api.page_tokens`): every cursor comes back from its token, and any
other text, however made, is refused with :class:`TokenError` (the API's 20001), never read as
some other position and never an exception of another kind (a 500).
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.api.page_tokens import MessageToken, TokenError, decode, encode
from gateway.store import ListPosition, PageCursor

ACCOUNT = "AC" + "a" * 32
OTHER = "AC" + "b" * 32
INT64 = 2**63 - 1


@st.composite
def cursors(draw: st.DrawFn) -> PageCursor:
    snapshot = draw(st.integers(1, INT64))
    identity = draw(st.integers(1, snapshot))
    waiting = draw(st.booleans())
    listed_at = 0 if waiting else draw(st.integers(-(2**63), INT64))
    return PageCursor(snapshot, ListPosition(waiting, listed_at, identity), draw(st.booleans()))


@given(cursors())
def test_a_token_names_its_cursor(cursor: PageCursor) -> None:
    token = encode(cursor, ACCOUNT)
    assert token[:2] == ("PA" if cursor.forward else "PB")
    assert len(token) == 42 and token.isascii()
    assert decode(token, ACCOUNT) == cursor


@given(cursors(), st.data())
def test_a_damaged_token_is_refused(cursor: PageCursor, data: st.DataObject) -> None:
    token = encode(cursor, ACCOUNT)
    index = data.draw(st.integers(2, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[index]))
    with pytest.raises(TokenError):
        decode(token[:index] + replacement + token[index + 1 :], ACCOUNT)
    with pytest.raises(TokenError):
        decode(token[: data.draw(st.integers(0, len(token) - 1))], ACCOUNT)


@given(cursors())
def test_a_token_of_another_account_is_refused(cursor: PageCursor) -> None:
    with pytest.raises(TokenError):
        decode(encode(cursor, OTHER), ACCOUNT)


@given(st.text())
def test_any_text_is_a_cursor_or_refused(text: str) -> None:
    try:
        decoded = decode(text, ACCOUNT)
    except TokenError:
        return
    assert isinstance(decoded, PageCursor | MessageToken)


@given(st.sampled_from(["PA", "PB"]), st.binary(min_size=0, max_size=40))
def test_any_bytes_in_base64_are_a_cursor_or_refused(prefix: str, raw: bytes) -> None:
    text = prefix + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    try:
        decoded = decode(text, ACCOUNT)
    except TokenError:
        return
    assert isinstance(decoded, PageCursor)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("PA" + "SM" + "0f" * 16, MessageToken("SM" + "0f" * 16, forward=True)),
        ("PBMM" + "ab" * 16, MessageToken("MM" + "ab" * 16, forward=False)),
    ],
)
def test_a_token_of_twilios_documented_shape_names_a_message(
    token: str, expected: MessageToken
) -> None:
    assert decode(token, ACCOUNT) == expected


@pytest.mark.parametrize(
    "token",
    ["", "P", "PA", "PC" + "A" * 40, "PASM123", "PA" + "=" * 40, "pa" + "A" * 40, "PA" + "é" * 40],
)
def test_what_is_no_token(token: str) -> None:
    with pytest.raises(TokenError):
        decode(token, ACCOUNT)
