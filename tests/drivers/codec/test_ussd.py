"""USSD strings: TS 23.038 §5 (CBS data coding) and §6.1.2.3.1 (CR padding), on strings
recorded from real networks."""

from __future__ import annotations

import pytest

from drivers.codec import Alphabet, ussd


@pytest.mark.parametrize(
    ("dcs", "expected"),
    [
        (15, Alphabet.GSM7),  # 0x0F: the default every modem sends with AT+CUSD
        (0, Alphabet.GSM7),  # German, GSM 7-bit (a Latvian operator's answer, below)
        (0x10, Alphabet.GSM7),
        (0x11, Alphabet.UCS2),
        (64, Alphabet.GSM7),  # 0x40: general data coding, GSM 7-bit
        (68, Alphabet.DATA8),  # 0x44
        (72, Alphabet.UCS2),  # 0x48: UCS-2 answers (Russian, Arabic operators)
        (0x96, Alphabet.DATA8),
        (0xF0, Alphabet.GSM7),
        (0xF4, Alphabet.DATA8),
        (0x80, Alphabet.GSM7),  # reserved: read as GSM 7-bit (§5)
        (0x4C, Alphabet.GSM7),  # reserved alphabet bits
    ],
)
def test_the_alphabet_of_a_cbs_data_coding_scheme(dcs: int, expected: Alphabet) -> None:
    assert ussd.alphabet(dcs) is expected


def test_packed_answers_recorded_from_real_networks() -> None:
    # MikroTik's LTE manual: "+CUSD: 0,"EBB79B1E0685E9ECF4BADE9E03", 0" -> "konta atlikums".
    assert ussd.decode(bytes.fromhex("EBB79B1E0685E9ECF4BADE9E03"), 0) == "konta atlikums"
    # A Huawei stick on Tigo (a menu with line breaks; 7 spare bits padded with CR).
    menu = ussd.decode(
        bytes.fromhex(
            "C274D96D2FBBD3E437280CA2A6CF6FD014FD86C3D3EE330B5466A7CF65D01B3E4EBFDD3A8522E66A"
            "41C3F17A999E3EBFE70A99AB452D83E2F532393CA79741F3B41B349697C969FAFBA798B95ACBF47B"
            "BE7E83A8C9E3534173B582637ADA1E064DC36CF21B0495BFDB6F05"
        ),
        15,
    )
    assert menu.startswith("Bienvenido a Tigo Shopping, elige opcion:\n\n1.-Paquetigos\n")
    assert menu.endswith("4.-Activa Saldo Promo\n")


def test_ucs2_answers() -> None:
    # "+CUSD: 0,"0421043F0430044104380431043E...",72" (StackOverflow 23102775).
    assert ussd.decode(bytes.fromhex("0421043F0430044104380431043E"), 72) == "Спасибо"
    # 0x11: two packed GSM 7-bit characters of the language first ("ru"), then UCS-2.
    assert ussd.decode(bytes.fromhex("F23A") + "Да".encode("utf-16-be"), 0x11) == "Да"


def test_language_indication_is_left_out() -> None:
    assert ussd.decode(ussd.pack("en\rBalance 5"), 0x10) == "Balance 5"


def test_the_request_huawei_sticks_want() -> None:
    # huawei-ussd.pl and gammu: AT+CUSD=1,"AA180C3602",15 for *100#.
    assert ussd.pack("*100#").hex().upper() == "AA180C3602"


@pytest.mark.parametrize("text", ["1234567", "12345678", "1234567\r", "*100#", "a" * 15, ""])
def test_cr_padding_round_trips(text: str) -> None:
    packed = ussd.pack(text)
    assert ussd.unpack(packed) == text
    if len(text) % 8 == 7:
        assert packed[-1] >> 1 == 0x0D  # the 7 spare bits hold CR, not zeros (§6.1.2.3.1)
