"""A SIM plan's caps (``gateway/domain/quota.py``): its day and month start at local midnight in
the plan's time zone, across a DST change and a month's end; a message its caps would pass waits
for the period that lets it go; what the caps let go within the queue limit's hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.domain.quota import (
    DAY,
    MONTH,
    NEVER,
    RECIPIENTS,
    Quota,
    Standing,
    Usage,
    day_start,
    held_until,
    month_start,
    next_day,
    next_month,
    recipient_key,
    room,
    slot,
    standing,
)
from tests.fakes.clock import Clock

BERLIN = ZoneInfo("Europe/Berlin")  # CET (+1); CEST (+2) from 2026-03-29 01:00 UTC to 10-25
ALICE, BOB, CAROL = "+447700900001", "+447700900002", "+447700900003"
SECRET = b"k" * 32


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_day_starts_at_local_midnight_and_lasts_23_or_25_hours_across_dst() -> None:
    spring = utc(2026, 3, 29, 12)  # 14:00 CEST, the day the clocks went forward
    assert day_start(spring, BERLIN) == utc(2026, 3, 28, 23)  # 00:00 CET
    assert next_day(spring, BERLIN) == utc(2026, 3, 29, 22)  # 00:00 CEST
    assert next_day(spring, BERLIN) - day_start(spring, BERLIN) == timedelta(hours=23)
    autumn = utc(2026, 10, 25, 12)  # the day they went back
    assert day_start(autumn, BERLIN) == utc(2026, 10, 24, 22)
    assert next_day(autumn, BERLIN) - day_start(autumn, BERLIN) == timedelta(hours=25)
    assert day_start(spring, UTC) == utc(2026, 3, 29)


def test_a_day_whose_midnight_the_clocks_skip_or_repeat_starts_at_its_first_instant() -> None:
    # Chile moves its clocks at midnight: on 6 September 2026 00:00 never happens (-4 -> -3).
    santiago = ZoneInfo("America/Santiago")
    skipped = utc(2026, 9, 6, 12)
    assert day_start(skipped, santiago) == utc(2026, 9, 6, 4)  # 01:00 -03, its first instant
    assert next_day(skipped, santiago) - day_start(skipped, santiago) == timedelta(hours=23)
    # Cuba goes back from 01:00 to 00:00 on 1 November 2026: midnight comes twice.
    havana = ZoneInfo("America/Havana")
    repeated = utc(2026, 11, 1, 12)
    assert day_start(repeated, havana) == utc(2026, 11, 1, 4)  # the first, 00:00 -04
    assert next_day(repeated, havana) - day_start(repeated, havana) == timedelta(hours=25)
    assert next_day(utc(2026, 11, 1, 4, 30), havana) == utc(2026, 11, 2, 5)  # in the first hour


def test_a_month_starts_on_the_first_at_local_midnight() -> None:
    late = utc(2026, 3, 31, 22, 30)  # already 1 April, 00:30 CEST, in Berlin
    assert month_start(late, BERLIN) == utc(2026, 3, 31, 22)
    assert next_month(late, BERLIN) == utc(2026, 4, 30, 22)
    assert month_start(late, UTC) == utc(2026, 3, 1)
    assert next_month(late, UTC) == utc(2026, 4, 1)
    assert next_month(utc(2026, 12, 31, 23), BERLIN) == utc(2027, 1, 31, 23)  # 00:00 CET


def test_a_daily_cap_holds_a_message_until_local_midnight_across_the_dst_change() -> None:
    clock = Clock(utc(2026, 3, 28, 20))  # 21:00 CET, the evening before the change
    plan = Quota(daily_limit=3, zone=BERLIN)
    usage = Usage.empty(clock(), BERLIN, SECRET)
    usage.record(clock(), BERLIN, ALICE, 2)
    assert held_until(plan, usage, clock(), 1, ALICE) is None
    assert held_until(plan, usage, clock(), 2, ALICE) == utc(2026, 3, 28, 23)
    clock.advance(3 * 3600)  # 00:00 CET on the 29th: a new day
    assert held_until(plan, usage, clock(), 3, ALICE) is None
    usage.record(clock(), BERLIN, ALICE, 3)
    # The 29th has 23 hours: the next day starts at 22:00 UTC, not 23:00.
    assert held_until(plan, usage, clock(), 1, ALICE) == utc(2026, 3, 29, 22)
    clock.advance(23 * 3600 - 1)  # the day is 23 hours long
    assert held_until(plan, usage, clock(), 1, ALICE) == utc(2026, 3, 29, 22)
    clock.advance(1)
    assert held_until(plan, usage, clock(), 1, ALICE) is None
    assert usage.day_parts == 0 and usage.month_parts == 5


def test_monthly_caps_of_parts_and_recipients_hold_until_the_next_month() -> None:
    clock = Clock(utc(2026, 3, 31, 21))  # 23:00 CEST on the 31st
    plan = Quota(monthly_limit=10, monthly_recipients=2, zone=BERLIN)
    usage = Usage.empty(clock(), BERLIN, SECRET)
    usage.record(clock(), BERLIN, ALICE, 4)
    usage.record(clock(), BERLIN, BOB, 4)
    assert held_until(plan, usage, clock(), 2, ALICE) is None  # a recipient already counted
    assert held_until(plan, usage, clock(), 1, CAROL) == utc(2026, 3, 31, 22)  # a third one
    assert held_until(plan, usage, clock(), 3, BOB) == utc(2026, 3, 31, 22)  # 11 parts
    clock.advance(3600)  # April, in Berlin (still March in UTC)
    assert held_until(plan, usage, clock(), 10, CAROL) is None
    assert (usage.month_parts, usage.recipients) == (0, set())


def test_a_message_no_whole_period_takes_is_never_sent() -> None:
    usage = Usage.empty(utc(2026, 3, 1), UTC, SECRET)
    assert held_until(Quota(daily_limit=2), usage, utc(2026, 3, 1), 3, ALICE) == NEVER
    assert held_until(Quota(monthly_limit=2), usage, utc(2026, 3, 1), 3, ALICE) == NEVER


def test_room_is_what_the_caps_let_go_within_the_horizon() -> None:
    now = utc(2026, 3, 10, 12)
    plan = Quota(daily_limit=100, monthly_limit=1000, zone=UTC)
    usage = Usage.empty(now, UTC, SECRET)
    usage.record(now, UTC, ALICE, 90)
    assert room(plan, usage, now, timedelta(hours=4)) == 10
    # Within four hours of midnight, the next day's 100 count too.
    assert room(plan, usage, utc(2026, 3, 10, 22), timedelta(hours=4)) == 110
    usage.record(now, UTC, ALICE, 910)  # the month's 1000 are used up
    assert room(plan, usage, utc(2026, 3, 10, 22), timedelta(hours=4)) == 0
    assert room(Quota(monthly_recipients=5), usage, now, timedelta(hours=4)) is None


def test_standing_shows_each_configured_cap_used_and_left() -> None:
    now = utc(2026, 3, 10, 12)
    plan = Quota(daily_limit=100, monthly_recipients=2, zone=UTC)
    usage = Usage.empty(now, UTC, SECRET)
    usage.record(now, UTC, ALICE, 3)
    assert standing(plan, usage, now) == [
        Standing(DAY, 100, 3, 97, utc(2026, 3, 11)),
        Standing(RECIPIENTS, 2, 1, 1, utc(2026, 4, 1)),
    ]
    assert MONTH not in [item.period for item in standing(plan, usage, now)]


def test_a_slot_is_a_quarter_hour_of_utc_every_zones_midnight_starts() -> None:
    assert slot(utc(2026, 3, 10, 12, 44) + timedelta(seconds=59)) == utc(2026, 3, 10, 12, 30)
    assert slot(utc(2026, 3, 10, 12, 45)) == utc(2026, 3, 10, 12, 45)
    for name in ("Asia/Kathmandu", "Pacific/Chatham", "Asia/Kolkata", "America/St_Johns"):
        midnight = day_start(utc(2026, 3, 10, 12), ZoneInfo(name))
        assert slot(midnight) == midnight, name


def test_a_recipient_is_counted_by_a_keyed_hash_not_its_number() -> None:
    key = recipient_key(SECRET, ALICE)
    assert key == recipient_key(SECRET, ALICE) != recipient_key(SECRET, BOB)
    assert key != recipient_key(b"x" * 32, ALICE)  # another database's secret: another key
    assert ALICE not in key and ALICE[-6:] not in key
    usage = Usage.empty(utc(2026, 3, 10), UTC, SECRET)
    usage.record(utc(2026, 3, 10), UTC, ALICE)
    assert usage.recipients == {key} and usage.knows(ALICE) and not usage.knows(BOB)


def test_the_pause_between_parts_is_the_interval_and_a_drawn_jitter() -> None:
    plan = Quota(min_interval=5.0, jitter=2.0)
    assert (plan.pause(0.0), plan.pause(0.5)) == (5.0, 6.0)
    assert not plan.capped and Quota(monthly_recipients=99).capped


def test_a_clock_set_back_keeps_the_counts() -> None:
    clock = Clock(utc(2026, 3, 2, 0, 5))
    usage = Usage.empty(clock(), UTC, SECRET)
    usage.record(clock(), UTC, ALICE, 2)
    clock.advance(-600)  # back into the 1st (NTP): nothing of the 2nd is forgotten
    assert held_until(Quota(daily_limit=2), usage, clock(), 1, ALICE) == utc(2026, 3, 2)
    assert (usage.day_parts, usage.month_parts) == (2, 2)
