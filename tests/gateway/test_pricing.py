"""Prices: the per-part table by destination prefix, the charge as Twilio shows it, MaxPrice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.domain.pricing import PriceTable, charge, parse_max_price

GERMANY = PriceTable(
    "EUR",
    (("+4915", Decimal("0.09")), ("+49", Decimal("0.07")), ("0", Decimal("0.02"))),
)


def test_no_table_no_price() -> None:
    table = PriceTable()
    assert table.unit == "USD"
    assert table.price("+15551234567", 1) is None


@pytest.mark.parametrize(
    ("to", "parts", "price"),
    [
        ("+4915123456789", 1, Decimal("0.09")),  # the longer prefix, listed first
        ("+4915123456789", 3, Decimal("0.27")),  # per part
        ("+493012345678", 1, Decimal("0.07")),
        ("+493012345678", 2, Decimal("0.14")),
        ("015123456789", 1, Decimal("0.02")),  # a national number by its own prefix
        ("+15551234567", 1, None),  # no prefix matches
        ("4915123456789", 1, None),  # a prefix with + matches only a number with +
    ],
)
def test_price(to: str, parts: int, price: Decimal | None) -> None:
    assert GERMANY.price(to, parts) == price


def test_the_table_is_read_in_its_order() -> None:
    # The configuration sorts the longest prefix first; the table itself takes the order given.
    shortest_first = PriceTable("EUR", (("+49", Decimal("0.07")), ("+4915", Decimal("0.09"))))
    assert shortest_first.price("+4915123456789", 1) == Decimal("0.07")


def test_a_free_prefix_is_a_price() -> None:
    free = PriceTable("USD", (("+1555", Decimal("0")),))
    assert free.price("+15551234567", 2) == Decimal("0")  # known to cost nothing, not unknown


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("0.15"), "-0.15000"),
        (Decimal("0.05") * 3, "-0.15000"),
        (Decimal("0.0075"), "-0.00750"),
        (Decimal("1.5"), "-1.50000"),
        (Decimal("12"), "-12.00000"),
        (Decimal("1E+1"), "-10.00000"),  # never in exponent notation
        (Decimal("1234.5"), "-1234.50000"),
        (Decimal("0.123456"), "-0.12346"),  # five decimals
        (Decimal("0"), "0.00000"),
        (Decimal("0.00"), "0.00000"),
    ],
)
def test_charge(amount: Decimal, shown: str) -> None:
    assert charge(amount) == shown


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0.15", Decimal("0.15")),
        ("1", Decimal("1")),
        ("10", Decimal("10")),
        (".5", Decimal("0.5")),
        ("0.0001", Decimal("0.0001")),  # four decimals
        ("12.3456", Decimal("12.3456")),
        ("00.5", Decimal("0.5")),
        (" 0.5 ", Decimal("0.5")),  # surrounding spaces are not part of the value
        ("123456789", Decimal("123456789")),
    ],
)
def test_a_valid_max_price(raw: str, value: Decimal) -> None:
    assert parse_max_price(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "0",  # not positive
        "0.0",
        "0.0000",
        "-1",
        "-0.5",
        "+1",
        "0.12345",  # five decimals
        "1.",
        ".",
        "1e3",
        "1E-2",
        "1,5",
        "1 000",
        "NaN",
        "Infinity",
        "abc",
        "0x10",
        "1234567890",  # ten integer digits
        "$1",
    ],
)
def test_an_invalid_max_price(raw: str) -> None:
    assert parse_max_price(raw) is None
