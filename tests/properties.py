"""How many examples a property test tries: all of them in CI, a tenth in a local run.

CI (``.ci/run``) sets ``SMSGW_PROPERTIES=full``: every property test runs the number of
examples it was written with, derandomized, so CI sees the same examples every time. A
developer's ``make test`` (or ``pytest``) runs the fast profile: a tenth of them, at least
:data:`FAST_FLOOR`, the same ones on every run too (the first ones of the full run), so the inner
loop stays quick and a failure found locally is found in CI as well.
"""

from __future__ import annotations

import os
from typing import Final

FULL: Final = os.environ.get("SMSGW_PROPERTIES", "fast") == "full"
FAST_FLOOR: Final = 20


def examples(full: int) -> int:
    """The examples to try of a property written for ``full`` of them."""
    return full if FULL else max(min(full, FAST_FLOOR), full // 10)
