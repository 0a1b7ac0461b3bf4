"""Twilio's dates: RFC 2822 in +0000, as the standard library writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from gateway.api.twilio_json.dates import rfc2822

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
)


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES)
)
def test_rfc2822_is_what_email_utils_writes(moment: datetime) -> None:
    assert rfc2822(moment) == format_datetime(moment.astimezone(UTC))


def test_rfc2822_examples() -> None:
    assert (
        rfc2822(datetime(2026, 3, 1, 12, 34, 56, 789000, tzinfo=UTC))
        == "Sun, 01 Mar 2026 12:34:56 +0000"
    )
    assert rfc2822(None) is None
