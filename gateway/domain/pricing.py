"""Prices: an optional table of what one SMS part costs by destination prefix.

A SIM's tariff is the gateway owner's to state; with no table, or no prefix matching, a
message's ``price`` stays ``null`` as Twilio's does until it is known. When a message is sent
its ``price`` becomes the per-part price times its parts, negative and with five decimals as
Twilio shows a charge (``"-0.15000"``). ``MaxPrice`` is checked before the first part goes: a
message whose price would exceed it fails with 30010 and is never sent (the seed
documentation); an unknown price exceeds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

MAX_PRICE_PATTERN: Final = re.compile(r"\d{1,9}(\.\d{1,4})?|\.\d{1,4}")
_CENT_FRACTIONS: Final = Decimal("0.00001")


@dataclass(frozen=True, slots=True)
class PriceTable:
    unit: str = "USD"
    per_part: tuple[tuple[str, Decimal], ...] = ()  # (prefix, price), longest prefix first

    def price(self, to: str, parts: int) -> Decimal | None:
        """What sending ``parts`` parts to ``to`` costs, or ``None`` if the table says not."""
        for prefix, price in self.per_part:
            if to.startswith(prefix):
                return price * parts
        return None


def charge(amount: Decimal) -> str:
    """A price as the Message resource shows it: a charge, negative, five decimals."""
    rounded = amount.quantize(_CENT_FRACTIONS)
    return str(-rounded) if rounded else "0.00000"


def parse_max_price(raw: str) -> Decimal | None:
    """``MaxPrice`` as given: a positive decimal with up to four decimals, else ``None``."""
    text = raw.strip()
    if not MAX_PRICE_PATTERN.fullmatch(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value > 0 else None
