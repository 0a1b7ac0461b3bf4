"""What an attempt to send a message leads to: the decisions the dispatcher's worker
(:mod:`gateway.outbound.dispatcher`) acts on. Pure: no store, no modem, no clock.

Before the first part, a message whose price would exceed its ``MaxPrice`` fails with 30010.
A part the modem refused with ``+CMS ERROR`` (see :mod:`gateway.domain.send_errors`) fails the
message at once (permanent), defers it to a later attempt (temporary: backoff, up to an attempt
limit, then it fails with the table's code), or keeps it queued, uncounted, while the modem is
initialised again (the modem's own trouble: SIM busy, no network), after a pause growing with
each such failure in a row. A message sent is charged its price, if the price table knows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Final

from gateway.domain import send_errors
from gateway.domain.pricing import charge

MAX_ATTEMPTS: Final = 5
RETRY_DELAYS: Final = (30.0, 120.0, 600.0, 1800.0)  # seconds, by attempt
# Pauses after the modem itself refused a part (SIM busy, no network...), by failures in a row.
LOCAL_DELAYS: Final = (1.0, 5.0, 30.0, 120.0, 300.0)
PRICE_EXCEEDS_MAX: Final = 30010
# A message its modem's plan caps (gateway.domain.quota) hold back past its validity period, or
# that no whole period lets go: Twilio's 30001 "Queue overflow" (the Messages error codes:
# sent too much too quickly for the sender's queue), the sender's capacity, not the message.
QUOTA_EXCEEDED: Final = 30001


class Next(Enum):
    """What follows a part the modem refused."""

    FAIL = "fail"  # the message fails now, with the refusal's Twilio code
    RETRY = "retry"  # an attempt is counted; the message waits for the next one
    RECOVER = "recover"  # the modem or its SIM: uncounted, the modem is initialised again
    SENT = "sent"  # TS 23.040 §9.2.3.22: the SC already has this part (TP-MR unknown)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A ``+CMS ERROR`` to ``AT+CMGS``, as the worker acts on it."""

    next: Next
    twilio_code: int  # used when the message fails (now, or after the last retry)
    kind: send_errors.Kind

    @property
    def releases_part(self) -> bool:
        """The modem answered: the part did not go, and may expire while it waits (its grant
        is given back)."""
        return self.kind in (send_errors.Kind.TEMPORARY, send_errors.Kind.LOCAL)


def after_refusal(code: int | None) -> Refusal:
    """What follows ``+CMS ERROR: <code>`` (``None`` for a plain ERROR)."""
    meaning = send_errors.meaning(code)
    match meaning.kind:
        case send_errors.Kind.PERMANENT:
            step = Next.FAIL
        case send_errors.Kind.LOCAL:
            step = Next.RECOVER
        case send_errors.Kind.DUPLICATE:
            step = Next.SENT
        case _:
            step = Next.RETRY
    return Refusal(step, meaning.twilio_code, meaning.kind)


def retry_delay(
    attempts: int, max_attempts: int = MAX_ATTEMPTS, delays: tuple[float, ...] = RETRY_DELAYS
) -> float | None:
    """Seconds until the next attempt, after ``attempts`` failed ones (counted, so at least
    one); ``None`` to give up (the message fails)."""
    if attempts >= max_attempts:
        return None
    return delays[min(attempts, len(delays)) - 1]


def local_pause(failures: int, delays: tuple[float, ...] = LOCAL_DELAYS) -> float:
    """Seconds the modem's queue waits after its own trouble, ``failures`` such ones in a row
    before this one (the last delay, once they run out)."""
    return delays[min(failures, len(delays) - 1)]


def over_max_price(price: Decimal | None, max_price: str | None) -> bool:
    """Whether a message priced ``price`` (``None``: not priced) costs more than its
    ``MaxPrice``; an unpriced message is never over."""
    return max_price is not None and price is not None and price > Decimal(str(max_price))


@dataclass(frozen=True, slots=True)
class Charge:
    """What a message is charged once sent (its ``price`` and ``price_unit``), if priced."""

    price: str | None
    unit: str | None


def charged(price: Decimal | None, unit: str) -> Charge:
    """The charge of a message priced ``price`` in ``unit`` (none if it is not priced)."""
    return Charge(None, None) if price is None else Charge(charge(price), unit)
