"""``ScheduleType=fixed`` with ``SendAt``: checked as the original Messages documentation says.

A message is scheduled at least 15 minutes and at most 7 days ahead, only through a Messaging
Service; its status is ``scheduled`` (with no status callback for it), and it is sent at
``SendAt`` unless canceled first. Errors: 35111 ``SendAt`` missing, 35114 a time outside the
window or not ISO 8601, 35118 no Messaging Service, 35126 a ``ScheduleType`` other than
``fixed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from gateway.domain.errors import ApiError

EARLIEST: Final = timedelta(minutes=15)
LATEST: Final = timedelta(days=7)


def send_at(form: Mapping[str, str], now: datetime, *, service: bool) -> datetime | None:
    """When a message asks to be sent (``None``: now); raises :class:`ApiError`."""
    schedule = form.get("ScheduleType", "")
    raw = form.get("SendAt", "")
    if not schedule and not raw:
        return None
    if not service:
        raise ApiError(35118, "MessagingServiceSid is required to schedule a message")
    if schedule != "fixed":
        raise ApiError(
            35126,
            f"The ScheduleType value {schedule!r} provided is not supported: "
            "use 'fixed', with SendAt",
        )
    if not raw:
        raise ApiError(35111, "SendAt timestamp is missing")
    moment = parse_iso8601(raw)
    if moment is None:
        raise ApiError(
            35114,
            f"Scheduling does not support this timestamp: {raw!r} is not ISO 8601 "
            "(e.g. 2026-12-01T09:30:00Z)",
        )
    if not now + EARLIEST <= moment <= now + LATEST:
        raise ApiError(
            35114,
            f"Scheduling does not support this timestamp: {raw} is not between 15 minutes and "
            "7 days from now",
        )
    return moment


def parse_iso8601(text: str) -> datetime | None:
    """An ISO 8601 date and time in UTC (no zone given: UTC), or ``None``."""
    value = text.strip()
    if len(value) < 16 or value[10] not in "Tt ":
        return None  # a date alone says no time to send at
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or one whose UTC is past year 9999
        return None
