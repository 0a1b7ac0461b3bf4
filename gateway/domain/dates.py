"""The date forms the Messages list accepts in ``DateSent``, ``DateSent<`` and ``DateSent>``.

Twilio's clients send ``YYYY-MM-DDTHH:MM:SSZ`` for datetime objects and pass strings through;
its OpenAPI examples also use ``2008-01-02``, ``06/11/2019 22:05:25 MST``,
``2019-06-11 22:05:25.000`` and RFC 2822 (``../shared/docs/twilio-messages-api.md`` §3).
Every form becomes a moment in UTC; a date alone is midnight at its start.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Final

# North American zone abbreviations, as in Twilio's examples, plus UTC/GMT.
_ZONES: Final = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
}
_US_FORM: Final = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?(?:\s*([A-Za-z]{1,4}))?$"
)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _us_form(text: str) -> datetime | None:
    match = _US_FORM.match(text)
    if match is None:
        return None
    month, day, year, hour, minute, second, zone = match.groups()
    offset = _ZONES.get((zone or "UTC").upper())
    if offset is None:
        return None
    moment = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        tzinfo=timezone(timedelta(hours=offset)),
    )
    return moment.astimezone(UTC)


def parse_moment(raw: str) -> datetime | None:
    """The moment ``raw`` names, in UTC (a date alone is its midnight), or ``None`` when it is
    no date this API knows (or one whose time in UTC falls outside years 1 to 9999)."""
    try:
        return _parse_moment(raw.strip())
    except OverflowError:
        return None


def _parse_moment(text: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        pass
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        us = _us_form(text)
    except ValueError:  # 02/30/2026: the shape of a date, not a date
        return None
    if us is not None:
        return us
    try:  # RFC 2822: Mon, 02 Mar 2026 03:00:00 +0000
        return _utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None
