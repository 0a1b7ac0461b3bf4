"""Small integers as form and query parameters give them (``PageSize``, ``ValidityPeriod``...)."""

from __future__ import annotations

import re
from typing import Final

# ASCII digits only, and few of them: str.isdigit() accepts "²", which int() refuses, and
# int() takes numbers of any length (a denial of service for a 10,000-digit PageSize).
_SMALL: Final = re.compile(r"[0-9]{1,9}")


def small_integer(raw: str) -> int | None:
    """``raw`` as a number of 1 to 9 ASCII digits, or ``None``."""
    return int(raw) if _SMALL.fullmatch(raw) else None
