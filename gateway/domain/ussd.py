"""What a USSD code is, one rule for the API (``POST /smsgw/modems/{id}/ussd.json``) and the
configuration (``[[modems]] balance_ussd``)."""

from __future__ import annotations

import re
from typing import Final

# A USSD code as a handset dials it (TS 22.030 §6.5.2): starts with * or #, ends with #.
_CODE: Final = re.compile(r"[*#][0-9*#+]{0,180}#")


def code_problem(code: str) -> str | None:
    """Why ``code`` is no USSD code, or ``None`` when it is one."""
    if not code:
        return "Code is required"
    if not _CODE.fullmatch(code):
        return f"{code!r} is not a USSD code (e.g. *100#)"
    return None
