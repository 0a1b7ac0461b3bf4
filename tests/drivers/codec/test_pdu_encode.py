"""The SMS-SUBMIT encoder: first octet, addresses, validity, headers, and its errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from drivers.codec.gsm7_tables import TURKISH
from drivers.codec.pdu import (
    Alphabet,
    Concatenation,
    NationalLanguageShift,
    Submit,
    SubmitOptions,
    ValidityFormat,
    decode,
    encode_submit,
    encode_text,
    plan_text,
    with_validity,
)
from drivers.codec.pdu.fields import relative_octet, relative_seconds
from drivers.errors import PduError


def only(parts: tuple[object, ...]) -> object:
    assert len(parts) == 1
    return parts[0]


def decoded(pdu: str, length: int) -> Submit:
    message = decode(pdu, length)
    assert isinstance(message, Submit)
    return message


def test_hello_world_without_sca() -> None:
    # gsm-at-pdu.md §1.6a: 25 octets in total, AT+CMGS=24 because the 00 SCA is not counted.
    (part,) = encode_text("+27820001111", "Hello World!")
    assert part.pdu == "0001000B917228001011F100000CC8329BFD065DDF72363904"
    assert part.tpdu_length == 24
    assert (part.sequence, part.total, part.text) == (1, 1, "Hello World!")


def test_first_octet_flags() -> None:
    options = SubmitOptions(status_report=True, validity=3600, reject_duplicates=True)
    (part,) = encode_text("+15555551234", "x", options)
    assert part.pdu[2:4] == "35"  # SUBMIT | RD | VPF relative | SRR
    message = decoded(part.pdu, part.tpdu_length)
    assert message.status_report_request and message.reject_duplicates
    assert message.validity is not None
    assert message.validity.format is ValidityFormat.RELATIVE
    assert message.validity.seconds == 3600


def test_sca_given_is_not_counted_in_the_length() -> None:
    (part,) = encode_text("+15555551234", "hi", SubmitOptions(sca="+447785016005"))
    assert part.pdu.startswith("0791447758100650")  # as in the sipgate DELIVER of oFono
    assert len(part.pdu) // 2 == part.tpdu_length + 8
    message = decoded(part.pdu, part.tpdu_length)
    assert message.sca is not None and message.sca.number == "+447785016005"


def test_national_destination_uses_toa_81_unless_told() -> None:
    (part,) = encode_text("0126541234", "x")
    assert decoded(part.pdu, part.tpdu_length).destination.toa == 0x81
    (part,) = encode_text("0126541234", "x", SubmitOptions(destination_toa=0xA1))
    destination = decoded(part.pdu, part.tpdu_length).destination
    assert (destination.toa, destination.number) == (0xA1, "0126541234")


def test_flash_and_classes() -> None:
    (gsm,) = encode_text("+1555", "hey", SubmitOptions(message_class=0))
    (ucs2,) = encode_text("+1555", "ж", SubmitOptions(message_class=0))
    assert decoded(gsm.pdu, gsm.tpdu_length).dcs.raw == 0x10
    assert decoded(ucs2.pdu, ucs2.tpdu_length).dcs.raw == 0x18
    with pytest.raises(PduError, match="TP-DCS"):
        encode_text("+1555", "hey", SubmitOptions(message_class=4))


def test_absolute_validity_keeps_its_zone() -> None:
    when = datetime(2013, 7, 10, 13, 39, tzinfo=timezone(timedelta(hours=2)))
    (part,) = encode_text("+27820001111", "Timestamp validity test", SubmitOptions(validity=when))
    # python-gsmmodem's recorded absolute-validity PDU.
    assert (
        part.pdu
        == "0019000B917228001011F100003170013193008017D474BB3CA787DB70903DCC4E93D3F43C885E9ED301"
    )
    validity = decoded(part.pdu, part.tpdu_length).validity
    assert validity is not None and validity.absolute is not None
    assert validity.absolute.value == when


@pytest.mark.parametrize(
    ("seconds", "octet"),
    [
        (1, 0),
        (300, 0),
        (301, 1),
        (3600, 11),
        (14400, 47),  # Twilio's default ValidityPeriod: 4 hours
        (36000, 119),
        (43200, 143),
        (43201, 144),
        (86400, 167),
        (86401, 168),
        (259200, 169),  # 3 days: python-gsmmodem's A9
        (345600, 170),  # 4 days: python-messaging's AA
        (30 * 86400, 196),
        (30 * 86400 + 1, 197),
        (63 * 7 * 86400, 255),
        (10**9, 255),
    ],
)
def test_relative_validity_rounds_up_to_the_table(seconds: int, octet: int) -> None:
    assert relative_octet(seconds) == octet
    assert relative_seconds(octet) >= min(seconds, relative_seconds(255))


def test_relative_validity_table_is_monotonic_and_exact_on_its_values() -> None:
    values = [relative_seconds(octet) for octet in range(256)]
    assert values == sorted(values)
    assert all(relative_octet(seconds) == octet for octet, seconds in enumerate(values))


def test_validity_must_be_positive() -> None:
    with pytest.raises(PduError, match="TP-VP"):
        encode_text("+1555", "x", SubmitOptions(validity=0))


def test_concatenation_headers() -> None:
    parts = encode_text("+15125551234", "a" * 200, reference=0x2A)
    assert [part.pdu[2:4] for part in parts] == ["41", "41"]  # UDHI set on every part
    for number, part in enumerate(parts, 1):
        message = decoded(part.pdu, part.tpdu_length)
        assert message.user_data.header is not None
        assert message.user_data.header.elements == (Concatenation(0x2A, 2, number, ref16=False),)
    parts16 = encode_text("+15125551234", "a" * 200, ref16=True, reference=0xBEEF)
    header = decoded(parts16[1].pdu, parts16[1].tpdu_length).user_data.header
    assert header is not None
    assert header.elements == (Concatenation(0xBEEF, 2, 2, ref16=True),)


def test_concatenation_reference_range() -> None:
    with pytest.raises(PduError, match="concatenation reference"):
        encode_text("+1555", "a" * 200, reference=256)
    encode_text("+1555", "a" * 200, reference=256, ref16=True)
    # A single part has no header, so the reference does not matter.
    encode_text("+1555", "a", reference=-1)


def test_national_shift_headers() -> None:
    plan = plan_text("ığş" * 60, languages=[TURKISH])
    assert plan.alphabet is Alphabet.GSM7
    parts = encode_submit("+905551234567", plan, reference=3)
    message = decoded(parts[0].pdu, parts[0].tpdu_length)
    assert message.user_data.header is not None
    assert NationalLanguageShift(TURKISH, locking=True) in message.user_data.header.elements


@pytest.mark.parametrize(
    ("number", "field", "reason"),
    [
        ("", "TP-DA", "empty"),
        ("+", "TP-DA", "empty"),
        ("+1-555", "TP-DA", "'-' is not a digit"),
        ("hello", "TP-DA", "'h' is not a digit"),
        ("1" * 21, "TP-DA", "21 digits, at most 20"),
    ],
)
def test_bad_destinations_name_the_field(number: str, field: str, reason: str) -> None:
    with pytest.raises(PduError, match=reason) as caught:
        encode_text(number, "x")
    assert caught.value.field == field


def test_bad_octets_name_the_field() -> None:
    with pytest.raises(PduError, match="TP-MR"):
        encode_text("+1555", "x", SubmitOptions(message_reference=256))
    with pytest.raises(PduError, match="SCA"):
        encode_text("+1555", "x", SubmitOptions(sca="+44 77"))


def test_short_codes_and_star_hash() -> None:
    (part,) = encode_text("*100#", "x")
    assert decoded(part.pdu, part.tpdu_length).destination.number == "*100#"


@pytest.mark.parametrize(
    ("destination", "sca"),
    [("+27820001111", None), ("+447700900123", "+447785016005"), ("123", None)],
)
def test_the_validity_left_replaces_the_validity_given(destination: str, sca: str | None) -> None:
    # A part sent late goes with what is left of its validity, not what it had at creation.
    text = "Late, but still on time " * 8  # two parts: every part's TP-VP is set
    options = SubmitOptions(status_report=True, validity=14400, sca=sca)
    for part in encode_text(destination, text, options, reference=9):
        later = with_validity(part.pdu, 2)
        before, after = decoded(part.pdu, part.tpdu_length), decoded(later, part.tpdu_length)
        assert before.validity is not None and before.validity.seconds == 14400
        assert after.validity is not None and after.validity.seconds == 300  # 5 min: the least
        assert after == replace(before, validity=after.validity)
        assert len(later) == len(part.pdu)
        assert with_validity(part.pdu, 14400) == part.pdu


@pytest.mark.parametrize(
    ("pdu", "field"),
    [
        ("0001000B917228001011F100000CC8329BFD065DDF72363904", "TP-VPF"),  # none to set
        ("zz", "PDU"),
        ("", "TP-DA"),
        ("00110001", "TP-DA"),
        ("0011000B917228001011F10000", "TP-VP"),
        ("0004000B917228001011F10000", "TP-MTI"),  # an SMS-DELIVER's first octet
    ],
)
def test_the_validity_of_a_pdu_without_one_is_refused(pdu: str, field: str) -> None:
    with pytest.raises(PduError) as refused:
        with_validity(pdu, 60)
    assert refused.value.field == field
