"""A SIM plan's quotas and pacing: what a modem may still send in its day and its month.

Many plans cap what a SIM sends: parts per day or per month, and (many "unlimited" European
plans) distinct recipients per month, 99 to 250 of them. A carrier also flags perfectly regular
traffic, so parts may be spaced by a minimum interval plus a random jitter. The day and the
month are the plan's, in its time zone: a period starts at local midnight (the first of the
month), whatever the offset is that day, so a day is 23 or 25 hours long across a DST change.

Pure: the counts (:class:`Usage`) are the caller's, read from the store once and kept up as
parts go; what may go, and when, is decided here. The store keeps them apart from the messages
(a message deleted, or its recipient masked, still counts): parts per modem per quarter hour of
UTC (:func:`slot`), which every zone's midnight falls on, so the plan's zone may change and its
day still be counted whole; recipients as a keyed hash (:func:`recipient_key`), never the
number; nothing older than :data:`KEPT`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

# A message that can never go through this modem (more parts than a whole period allows).
NEVER: Final = datetime.max.replace(tzinfo=UTC)
DAY: Final = "day"
MONTH: Final = "month"
RECIPIENTS: Final = "recipients"  # distinct recipients, per month
# What the store counts parts in: every time zone's offset is a whole number of quarter hours
# today (Asia/Kathmandu +05:45, Pacific/Chatham +12:45), so a local midnight starts a slot.
SLOT: Final = timedelta(minutes=15)
# How long the store keeps what a modem sent: the longest period, a month of 31 days and a
# DST change's hour, with room to spare.
KEPT: Final = timedelta(days=32)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Quota:
    """A modem's caps (``None``: none) and pacing (seconds), with its plan's time zone."""

    daily_limit: int | None = None  # parts per day
    monthly_limit: int | None = None  # parts per month
    monthly_recipients: int | None = None  # distinct recipients per month
    min_interval: float = 0.0  # seconds at least between two parts
    jitter: float = 0.0  # up to this many seconds more, at random
    zone: tzinfo = UTC

    @property
    def capped(self) -> bool:
        return (self.daily_limit, self.monthly_limit, self.monthly_recipients) != (None,) * 3

    def takes(self, parts: int) -> bool:
        """Whether a whole day and month let ``parts`` parts go (a message of more never
        goes through this modem)."""
        return all(cap is None or parts <= cap for cap in (self.daily_limit, self.monthly_limit))

    def pause(self, draw: float) -> float:
        """Seconds between two parts, for a random ``draw`` in [0, 1)."""
        return self.min_interval + self.jitter * draw


def slot(at: datetime) -> datetime:
    """The start of the quarter hour of UTC ``at`` is in (what the store counts parts by)."""
    return at - (at - _EPOCH) % SLOT


def recipient_key(secret: bytes, number: str) -> str:
    """How a recipient is counted: a keyed hash of its number (BLAKE2b keyed with the store's
    ``secret``), so that what is kept for a month holds no number an obfuscated message has
    masked. Whoever holds the secret can test a guessed number, as the cap itself must."""
    return hashlib.blake2b(number.encode(), key=secret, digest_size=16).hexdigest()


def _midnight(day: date, zone: tzinfo) -> datetime:
    # A wall time made in the zone, then read in UTC: an offset that changed since yesterday
    # (DST) is the one of that midnight, not of now.
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def day_start(now: datetime, zone: tzinfo) -> datetime:
    return _midnight(now.astimezone(zone).date(), zone)


def next_day(now: datetime, zone: tzinfo) -> datetime:
    return _midnight(now.astimezone(zone).date() + timedelta(days=1), zone)


def month_start(now: datetime, zone: tzinfo) -> datetime:
    return _midnight(now.astimezone(zone).date().replace(day=1), zone)


def next_month(now: datetime, zone: tzinfo) -> datetime:
    local = now.astimezone(zone).date()
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return _midnight(date(year, month, 1), zone)


@dataclass(slots=True)
class Usage:
    """What a modem sent in its current day and month (their starts in UTC); its recipients
    as :func:`recipient_key` keeps them, with the store's ``secret``."""

    day: datetime
    month: datetime
    secret: bytes
    day_parts: int = 0
    month_parts: int = 0
    recipients: set[str] = field(default_factory=set)  # this month's, keyed

    @classmethod
    def empty(cls, now: datetime, zone: tzinfo, secret: bytes) -> Usage:
        return cls(day_start(now, zone), month_start(now, zone), secret)

    def knows(self, recipient: str) -> bool:
        """Whether a part went to ``recipient`` (a number) this month."""
        return recipient_key(self.secret, recipient) in self.recipients

    def roll(self, now: datetime, zone: tzinfo) -> None:
        """Start the periods ``now`` is in, if they are new ones (only forwards: a clock set
        back keeps the counts it has)."""
        month = month_start(now, zone)
        if month > self.month:
            self.month, self.month_parts = month, 0
            self.recipients = set()
        day = day_start(now, zone)
        if day > self.day:
            self.day, self.day_parts = day, 0

    def record(self, now: datetime, zone: tzinfo, recipient: str, parts: int = 1) -> None:
        """``parts`` went to ``recipient``."""
        self.roll(now, zone)
        self.day_parts += parts
        self.month_parts += parts
        self.recipients.add(recipient_key(self.secret, recipient))


def held_until(
    quota: Quota, usage: Usage, now: datetime, parts: int, recipient: str
) -> datetime | None:
    """When ``parts`` more parts to ``recipient`` may go: ``None`` for now, the start of the
    period that lets them, or :data:`NEVER` when no whole period would."""
    usage.roll(now, quota.zone)
    daily, monthly, cap = quota.daily_limit, quota.monthly_limit, quota.monthly_recipients
    if not quota.takes(parts):
        return NEVER
    month_full = monthly is not None and usage.month_parts + parts > monthly
    new_recipient = not usage.knows(recipient)
    recipients_full = cap is not None and new_recipient and len(usage.recipients) >= cap
    if month_full or recipients_full:
        return next_month(now, quota.zone)
    if daily is not None and usage.day_parts + parts > daily:
        return next_day(now, quota.zone)
    return None


def too_late(until: datetime, expires_at: datetime | None) -> bool:
    """Whether a message held until ``until`` cannot go before its validity period ends at
    ``expires_at`` (or no period would ever let it go)."""
    return until >= NEVER or (expires_at is not None and expires_at < until)


def room(quota: Quota, usage: Usage, now: datetime, horizon: timedelta) -> int | None:
    """How many parts the caps let go from ``now`` to ``now + horizon`` (``None``: no cap),
    counting the next day's and month's allowance when it starts within the horizon."""
    usage.roll(now, quota.zone)
    end = now + horizon
    lefts = []
    if quota.daily_limit is not None:
        left = max(0, quota.daily_limit - usage.day_parts)
        if next_day(now, quota.zone) <= end:
            left += quota.daily_limit
        lefts.append(left)
    if quota.monthly_limit is not None:
        left = max(0, quota.monthly_limit - usage.month_parts)
        if next_month(now, quota.zone) <= end:
            left += quota.monthly_limit
        lefts.append(left)
    return min(lefts, default=None)


@dataclass(frozen=True, slots=True)
class Standing:
    """One cap as it stands: used and left in the current period, and when that ends."""

    period: str  # DAY, MONTH (parts) or RECIPIENTS (distinct, per month)
    limit: int
    used: int
    left: int
    resets_at: datetime


def standing(quota: Quota, usage: Usage, now: datetime) -> list[Standing]:
    """Each configured cap as it stands ``now``."""
    usage.roll(now, quota.zone)
    caps = [
        (DAY, quota.daily_limit, usage.day_parts, next_day(now, quota.zone)),
        (MONTH, quota.monthly_limit, usage.month_parts, next_month(now, quota.zone)),
        (RECIPIENTS, quota.monthly_recipients, len(usage.recipients), next_month(now, quota.zone)),
    ]
    return [
        Standing(period, limit, used, max(0, limit - used), resets)
        for period, limit, used, resets in caps
        if limit is not None
    ]
