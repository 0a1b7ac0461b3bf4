"""Numbers as a carrier sees them (gateway.domain.numbering), on a table of inputs: what is kept,
what becomes E.164, what is a short code, and why the rest is refused."""

from __future__ import annotations

import pytest

from gateway.domain.numbering import Number, NumberError, e164, parse, region

# (given, default_region, the number, or None and the start of the reason it is refused)
TABLE: list[tuple[str, str | None, Number | None, str]] = [
    # The examples: no network could route them.
    ("+12", None, None, "too short to be a phone number"),
    ("+1555", None, None, "too short for a +1 number"),
    ("+15551234", None, None, "+1 numbers of this length are dialled only locally"),
    ("+1555000", None, None, "too short for a +1 number"),
    ("+15550001001000", None, None, "too long for a +1 number"),
    ("+4477", None, None, "too short for a +44 number"),
    # Lengths right, beginnings no +1 number has (NANP area codes start with 2 to 9).
    ("+10000000000", None, None, "no +1 number begins so"),
    ("+11234567890", None, None, "no +1 number begins so"),
    # No such country code.
    ("+0123456789", None, None, "no country has this code"),
    ("+999123456", None, None, "no country has this code"),
    # Not digits at all: alphanumeric, channels, vanity numbers, USSD, extensions.
    ("Vodafone", None, None, "a phone number is a + and digits"),
    ("whatsapp:+15558675310", None, None, "a phone number is a + and digits"),
    ("1-800-FLOWERS", "US", None, "a phone number is a + and digits"),
    ("*100#", None, None, "a phone number is a + and digits"),
    ("+15558675310 ext. 12", None, None, "a phone number is a + and digits"),
    ("", None, None, "a phone number is a + and digits"),
    # The project's fictitious numbers, kept: the NANP's 555 numbers (the simulated modems'
    # +1 555 000-1001, the 555-01XX range) and Ofcom's drama range +44 7700 900xxx, which
    # is_valid_number refuses.
    ("+15550001001", None, Number("+15550001001"), ""),
    ("+15550002002", "GB", Number("+15550002002"), ""),
    ("+15555550123", None, Number("+15555550123"), ""),
    ("+447700900123", None, Number("+447700900123"), ""),
    # Real numbers, in the forms people type them.
    ("+1 (555) 867-5310", None, Number("+15558675310"), ""),
    ("+44 7700 900123", None, Number("+447700900123"), ""),
    ("+44 (0)7700 900123", None, Number("+447700900123"), ""),  # the trunk 0 dropped
    ("+49 151 23456789", None, Number("+4915123456789"), ""),
    ("+800 1234 5678", None, Number("+80012345678"), ""),  # a non-geographic code
    # National numbers: E.164 in the default region, refused without one.
    ("07700 900123", "GB", Number("+447700900123"), ""),
    ("5557770099", "US", Number("+15557770099"), ""),
    ("(555) 777-0099", "US", Number("+15557770099"), ""),
    ("00447700900123", "GB", Number("+447700900123"), ""),  # GB's international prefix
    ("011447700900123", "US", Number("+447700900123"), ""),  # the NANP's
    ("5557770099", None, None, "a national number, and no [gateway] default_region"),
    ("07700900123", None, None, "a national number, and no [gateway] default_region"),
    ("123456789012", "GB", None, "read as a national number of GB: too long for a +44"),
    ("0770090012", "GB", None, "read as a national number of GB: no +44 number begins so"),
    # Short codes: 3 to 8 digits that are no national number, kept as given.
    ("85075", None, Number("85075", short_code=True), ""),
    ("85075", "GB", Number("85075", short_code=True), ""),
    ("2020", "US", Number("2020", short_code=True), ""),
    ("191 919", None, Number("191919", short_code=True), ""),
    ("19123456", "AU", Number("19123456", short_code=True), ""),  # also +61 19123456
    ("131313", "AU", Number("131313", short_code=True), ""),
    ("7700900", "GB", None, "read as a national number of GB: no +44 number begins so"),
    ("0412 345 678", "AU", Number("+61412345678"), ""),
    ("12", None, None, "too short to be a phone number or a short code"),
    ("+85075", None, None, "too short for a +850 number"),  # a "+" makes it E.164
]


@pytest.mark.parametrize(
    ("given", "default", "number", "reason"),
    [pytest.param(*row, id=f"{row[0]!r}-{row[1]}") for row in TABLE],
)
def test_numbers_as_a_carrier_sees_them(
    given: str, default: str | None, number: Number | None, reason: str
) -> None:
    """The issue's rule: refuse numbers no network could route (21211), turn national numbers
    into E.164 with default_region, keep short codes as given."""
    if number is not None:
        assert parse(given, default) == number
        assert e164(given, default) == (None if number.short_code else number.value)
        return
    with pytest.raises(NumberError) as caught:
        parse(given, default)
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert e164(given, default) is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [("GB", "GB"), ("gb", "GB"), (" us ", "US"), ("DE", "DE"), ("XX", None), ("001", None)],
)
def test_region_codes(given: str, expected: str | None) -> None:
    assert region(given) == expected
