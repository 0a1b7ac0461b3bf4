"""GSM 7-bit alphabet, national shift tables, septet packing and UCS-2 (TS 23.038)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.codec import gsm7
from drivers.codec.gsm7_tables import (
    DEFAULT,
    ESC,
    LOCKING_TABLES,
    PORTUGUESE,
    SHIFT_TABLES,
    SPANISH,
    TURKISH,
)
from drivers.errors import PduError

BASIC = LOCKING_TABLES[DEFAULT]
EXTENSION = "\f^{}\\[~]|€"


def test_default_table_has_the_notable_positions() -> None:
    # TS 23.038 §6.2.1; python-gsmmodem-new puts '`' at 0x5F and drops the form feed.
    assert len(BASIC) == 128
    assert (BASIC[0x00], BASIC[0x02], BASIC[0x11], BASIC[0x5F]) == ("@", "$", "_", "§")
    assert (BASIC[0x0A], BASIC[0x0D], BASIC[0x20], BASIC[0x60]) == ("\n", "\r", " ", "¿")
    assert BASIC[ESC] == "\x1b"
    assert "`" not in BASIC
    assert {SHIFT_TABLES[DEFAULT][code] for code in SHIFT_TABLES[DEFAULT]} == set(EXTENSION)


@pytest.mark.parametrize("language", sorted(LOCKING_TABLES))
def test_locking_tables_are_complete_and_unambiguous(language: int) -> None:
    table = LOCKING_TABLES[language]
    assert len(table) == 128
    assert len(set(table)) == 128, "a character appears twice in the table"


def test_every_default_character_costs_one_septet_and_extension_two() -> None:
    for char in BASIC.replace("\x1b", ""):
        assert gsm7.encode(char) == bytes((BASIC.index(char),))
    for code, char in SHIFT_TABLES[DEFAULT].items():
        assert gsm7.encode(char) == bytes((ESC, code))


def test_encode_names_the_character_that_does_not_fit() -> None:
    with pytest.raises(PduError, match="'`' is not in the GSM 7-bit alphabet"):
        gsm7.encode("a`b")


def test_decode_round_trips_the_whole_alphabet() -> None:
    text = BASIC.replace("\x1b", "") + EXTENSION
    assert gsm7.decode(gsm7.encode(text)) == text


def test_escape_followed_by_an_unknown_code_shows_the_basic_character() -> None:
    # TS 23.038 §6.2.1.1: "display the character in the default alphabet table".
    assert gsm7.decode(bytes((ESC, 0x41))) == "A"
    # ESC ESC is reserved for a further table and shown as a space; so is a dangling ESC.
    assert gsm7.decode(bytes((0x41, ESC, ESC, 0x42))) == "A B"
    assert gsm7.decode(bytes((0x41, ESC))) == "A "


@pytest.mark.parametrize(
    ("text", "locking", "single", "septets"),
    [
        ("ı", TURKISH, DEFAULT, 1),  # in the Turkish locking table
        ("ı", DEFAULT, TURKISH, 2),  # through the Turkish single shift
        ("ç", TURKISH, DEFAULT, 1),
        ("á", DEFAULT, SPANISH, 2),
        ("ã", PORTUGUESE, DEFAULT, 1),
        ("€", PORTUGUESE, DEFAULT, 1),  # the Portuguese locking table holds € itself
        ("€", DEFAULT, DEFAULT, 2),
    ],
)
def test_national_tables(text: str, locking: int, single: int, septets: int) -> None:
    encoded = gsm7.encode(text, locking, single)
    assert len(encoded) == septets
    assert gsm7.decode(encoded, locking, single) == text


def test_turkish_letters_do_not_fit_the_default_tables() -> None:
    assert not gsm7.can_encode("ışğ")
    assert gsm7.can_encode("ışğ", DEFAULT, TURKISH)


def test_unsupported_language_falls_back_to_the_default_tables() -> None:
    # TS 23.038 §6.2.1.2.4: a receiver without the language uses the default alphabet.
    assert gsm7.decode(gsm7.encode("Hi €"), 9, 9) == "Hi €"


@pytest.mark.parametrize(
    ("text", "fill", "packed"),
    [
        ("hellohello", 0, "E8329BFD4697D9EC37"),
        # ModemManager test_pdu_udhi: after a 7-octet header no fill bit is needed.
        ("Hello", 0, "C8329BFD06"),
        # After a 6-octet header one fill bit precedes the text (python-gsmmodem's concat PDU).
        ("Lorem", 1, "986F79B90D"),
    ],
)
def test_pack_known_values(text: str, fill: int, packed: str) -> None:
    assert gsm7.pack(gsm7.encode(text), fill).hex().upper() == packed
    unpacked = gsm7.unpack(bytes.fromhex(packed), len(text), fill)
    assert gsm7.decode(unpacked) == text


def test_unpack_trusts_the_count_not_the_octets() -> None:
    # "1234567" packs into 7 octets whose last 7 bits are zero padding: decoding them as a
    # septet would add a spurious '@' (smspdudecoder's bug, gsm-at-pdu.md §1.6).
    data = gsm7.pack(gsm7.encode("1234567"))
    assert len(data) == 7
    assert gsm7.decode(gsm7.unpack(data, 7)) == "1234567"
    assert gsm7.decode(gsm7.unpack(data, 8)) == "1234567@"


def test_unpack_rejects_short_data() -> None:
    with pytest.raises(PduError, match="TP-UD: 10 septets need 9 octets, only 8 present"):
        gsm7.unpack(bytes(8), 10)


@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_pack_unpack_round_trip(septets: bytes, fill: int) -> None:
    packed = gsm7.pack(septets, fill)
    assert len(packed) == gsm7.packed_length(len(septets), fill)
    assert gsm7.unpack(packed, len(septets), fill) == septets


def _reference_pack(septets: bytes, fill: int) -> bytes:
    """Bit by bit, straight from TS 23.038 §6.1.2.1.1: septet bits least significant first."""
    bits = [0] * fill + [(septet >> bit) & 1 for septet in septets for bit in range(7)]
    bits += [0] * (-len(bits) % 8)
    return bytes(
        sum(bits[index + bit] << bit for bit in range(8)) for index in range(0, len(bits), 8)
    )


@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_pack_agrees_with_the_bit_by_bit_definition(septets: bytes, fill: int) -> None:
    assert gsm7.pack(septets, fill) == _reference_pack(septets, fill)


@given(st.binary(min_size=1, max_size=180), st.integers(0, 6))
def test_unpack_ignores_whatever_follows_the_last_septet(data: bytes, fill: int) -> None:
    count = max(0, (len(data) * 8 - fill) // 7)
    septets = gsm7.unpack(data, count, fill)
    assert gsm7.pack(septets, fill) == _reference_pack(septets, fill)
    value = int.from_bytes(data, "little") >> fill
    assert septets == bytes((value >> (7 * index)) & 0x7F for index in range(count))


def test_ucs2_is_utf16_with_surrogate_pairs() -> None:
    assert gsm7.encode_ucs2("a😀") == bytes.fromhex("0061D83DDE00")
    assert gsm7.decode_ucs2(bytes.fromhex("0061D83DDE00")) == "a😀"
    assert gsm7.utf16_units("a😀") == 3


def test_ucs2_keeps_half_a_pair_for_reassembly() -> None:
    first = gsm7.decode_ucs2(bytes.fromhex("0061D83D"))
    second = gsm7.decode_ucs2(bytes.fromhex("DE000062"))
    assert first == "a\ud83d"
    assert gsm7.join_texts([first, second]) == "a😀b"


def test_ucs2_rejects_an_odd_number_of_octets() -> None:
    with pytest.raises(PduError, match="odd number of octets"):
        gsm7.decode_ucs2(b"\x00a\x00")
