"""Dates as Twilio's JSON writes them: RFC 2822 in ``+0000`` (``../shared/docs/
twilio-messages-api.md`` §1), or null."""

from __future__ import annotations

from datetime import UTC, datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(moment: datetime | None) -> str | None:
    # What email.utils.format_datetime gives for a UTC moment, at a fraction of its cost.
    if moment is None:
        return None
    m = moment.astimezone(UTC)
    return (
        f"{_DAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m.year:04d} "
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} +0000"
    )
