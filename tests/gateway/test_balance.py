"""Reading a balance out of a USSD answer with balance_pattern's one group."""

from __future__ import annotations

import re

import pytest

from gateway.cli.client import _print_modem
from gateway.modems.balance import read_balance

NUMBER = re.compile(r"([0-9][0-9 ,.]*[0-9])")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your balance is 12.34 EUR.", 12.34),
        ("Ваш баланс: 150,75 руб.", 150.75),  # a decimal comma
        ("Balance: 1,234.56 USD", 1234.56),  # a thousands separator
        ("Saldo 1 234,50 PLN", 1234.5),
        ("Available Balance: R 96 .", 96.0),
        ("No balance today.", None),
    ],
)
def test_read_balance(text: str, expected: float | None) -> None:
    assert read_balance(text, NUMBER) == expected


def test_an_optional_group_that_matched_nothing() -> None:
    assert read_balance("balance unknown", re.compile(r"balance (\d+)?")) is None


def test_smsgw_modems_shows_the_balance(capsys: pytest.CaptureFixture[str]) -> None:
    modem = {
        "id": "alice",
        "state": "ready",
        "driver": "simulated",
        "port": "in-process simulator",
        "numbers": ["+15550001001"],
        "balance": {"value": 12.34, "at": "2026-12-07T13:00:00+00:00", "text": "..."},
    }
    _print_modem(modem)
    assert capsys.readouterr().out.splitlines()[-1] == (
        "  balance 12.34 (read 2026-12-07T13:00:00+00:00)"
    )
