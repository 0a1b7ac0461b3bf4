"""The Numbers role's phone numbers, on each engine: a number's settings as saved, the voice
URLs (where its missed calls are reported) with them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from gateway.domain.models import new_sid
from gateway.domain.records import PhoneNumber
from gateway.store import Numbers
from tests.fakes.clock import T0
from tests.gateway.store_contract.conftest import POSTGRESQL_TOO

ENGINES = POSTGRESQL_TOO

NUMBER = PhoneNumber(
    number="+15550001111",
    sid=new_sid("PN"),
    account_sid=new_sid("AC"),
    friendly_name="+15550001111",
    sms_url="https://example.com/sms",
    sms_method="POST",
    sms_fallback_url=None,
    sms_fallback_method="POST",
    status_callback=None,
    api_updated=False,
    date_created=T0,
    date_updated=T0,
)


async def test_a_numbers_voice_urls_are_kept_and_changed_with_it(store: Numbers) -> None:
    assert (NUMBER.voice_url, NUMBER.voice_method) == (None, "POST")  # none unless set
    await store.save_phone_number(NUMBER)
    assert await store.phone_numbers() == [NUMBER]
    voiced = replace(
        NUMBER,
        voice_url="https://example.com/missed",
        voice_method="GET",
        voice_fallback_url="https://example.com/fallback",
        voice_fallback_method="GET",
        api_updated=True,
    )
    await store.save_phone_number(voiced)
    assert await store.phone_numbers() == [voiced]
    cleared = replace(voiced, voice_url=None, voice_fallback_url=None)
    await store.save_phone_number(cleared)
    assert await store.phone_numbers() == [cleared]


async def test_a_number_saved_again_is_listed_last(store: Numbers) -> None:
    other = replace(NUMBER, number="+15550002222", sid=new_sid("PN"), friendly_name="other")
    await store.save_phone_number(NUMBER)
    await store.save_phone_number(other)
    assert await store.phone_numbers() == [NUMBER, other]
    renamed = replace(
        NUMBER, friendly_name="renamed", api_updated=True, date_updated=T0 + timedelta(minutes=1)
    )
    await store.save_phone_number(renamed)
    assert await store.phone_numbers() == [other, renamed]
