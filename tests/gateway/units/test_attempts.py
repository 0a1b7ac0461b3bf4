"""What follows an attempt to send (``gateway/outbound/attempts.py``), decided alone: a
``+CMS ERROR`` into a failure, a retry, the modem's own trouble or a part the SC already has;
the retry delays and when to give up; the pauses after the modem's own trouble; MaxPrice and
the charge."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.domain import send_errors
from gateway.outbound.attempts import (
    LOCAL_DELAYS,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    Charge,
    Next,
    after_refusal,
    charged,
    local_pause,
    over_max_price,
    retry_delay,
)


@pytest.mark.parametrize(
    ("code", "step", "twilio_code", "releases"),
    [
        (1, Next.FAIL, 30005, False),  # unassigned number: fails now, nothing to give back
        (42, Next.RETRY, 30008, True),  # congestion: the part is given back for a later try
        (None, Next.RETRY, 30008, True),  # a plain ERROR: tried again
        (314, Next.RECOVER, 30008, True),  # SIM busy: the modem's own, the message waits
        (197, Next.SENT, 30008, False),  # TS 23.040 §9.2.3.22: the SC has it already
    ],
)
def test_a_refusal_decides_what_follows(
    code: int | None, step: Next, twilio_code: int, releases: bool
) -> None:
    refusal = after_refusal(code)
    assert (refusal.next, refusal.twilio_code, refusal.releases_part) == (
        step,
        twilio_code,
        releases,
    )
    assert refusal.kind is send_errors.meaning(code).kind


def test_retries_back_off_by_attempt_and_give_up_at_the_limit() -> None:
    delays = (30.0, 120.0)
    assert [retry_delay(n, 4, delays) for n in (1, 2, 3, 4, 5)] == [30.0, 120.0, 120.0, None, None]
    assert retry_delay(1) == RETRY_DELAYS[0]
    assert retry_delay(MAX_ATTEMPTS - 1) == RETRY_DELAYS[-1]
    assert retry_delay(MAX_ATTEMPTS) is None


def test_pauses_after_the_modems_own_trouble_grow_to_the_last() -> None:
    assert [local_pause(n, (1.0, 5.0)) for n in (0, 1, 2, 9)] == [1.0, 5.0, 5.0, 5.0]
    assert local_pause(0) == LOCAL_DELAYS[0]
    assert local_pause(len(LOCAL_DELAYS) + 3) == LOCAL_DELAYS[-1]


def test_max_price_is_exceeded_only_by_a_known_higher_price() -> None:
    assert over_max_price(Decimal("0.05"), "0.04")
    assert not over_max_price(Decimal("0.04"), "0.04")  # equal is not over
    assert not over_max_price(Decimal("0.05"), None)  # no MaxPrice
    assert not over_max_price(None, "0.01")  # not priced: never over


def test_a_sent_message_is_charged_its_price_when_priced() -> None:
    assert charged(Decimal("0.0075"), "USD") == Charge("-0.00750", "USD")
    assert charged(Decimal("0"), "EUR") == Charge("0.00000", "EUR")
    assert charged(None, "USD") == Charge(None, None)
