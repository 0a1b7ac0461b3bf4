"""The Numbers role's applications, on each engine (PostgreSQL's too): added, listed oldest
first, changed and deleted only by their own account, and a deleted one's numbers let go of
it in the same transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from gateway.domain.models import new_sid
from gateway.domain.records import Application, PhoneNumber
from gateway.store import Numbers
from tests.fakes.clock import T0
from tests.gateway.store_contract.conftest import POSTGRESQL_TOO

ENGINES = POSTGRESQL_TOO
ACCOUNT = new_sid("AC")
OTHER_ACCOUNT = new_sid("AC")
LATER = T0 + timedelta(minutes=5)


def application(account_sid: str = ACCOUNT) -> Application:
    return Application.new(new_sid("AP"), account_sid, "2010-04-01", T0)


def number(value: str, application_sid: str | None) -> PhoneNumber:
    return PhoneNumber(
        number=value,
        sid=new_sid("PN"),
        account_sid=ACCOUNT,
        friendly_name=value,
        sms_url=None,
        sms_method="POST",
        sms_fallback_url=None,
        sms_fallback_method="POST",
        status_callback=None,
        api_updated=True,
        date_created=T0,
        date_updated=T0,
        sms_application_sid=application_sid,
    )


async def test_applications_are_kept_with_every_setting(store: Numbers) -> None:
    first = application()
    second = replace(
        application(OTHER_ACCOUNT),
        friendly_name="Alerts",
        sms_url="https://example.com/sms",
        sms_method="GET",
        sms_fallback_url="https://example.com/fallback",
        sms_status_callback="https://example.com/status",
        message_status_callback="https://example.com/message-status",
        voice_url="https://example.com/voice",
        status_callback="https://example.com/call-status",
        status_callback_method="GET",
        voice_caller_id_lookup=True,
        public_application_connect_enabled=True,
    )
    await store.add_application(first)
    await store.add_application(second)
    assert await store.applications() == [first, second]


async def test_an_application_changes_only_through_its_own_account(store: Numbers) -> None:
    added = application()
    await store.add_application(added)
    changed = replace(added, friendly_name="renamed", sms_url="https://example.com/new")
    changed = replace(changed, date_updated=LATER)
    assert await store.update_application(changed)
    assert await store.applications() == [changed]
    # The creation date is the store's: a change never moves it.
    assert await store.update_application(replace(changed, date_created=LATER))
    assert await store.applications() == [changed]
    assert not await store.update_application(replace(changed, account_sid=OTHER_ACCOUNT))
    assert not await store.delete_application(OTHER_ACCOUNT, added.sid, LATER)
    assert await store.applications() == [changed]


async def test_a_deleted_application_is_let_go_of_by_its_numbers(store: Numbers) -> None:
    gone, kept = application(), application()
    await store.add_application(gone)
    await store.add_application(kept)
    using, other = number("+15550001111", gone.sid), number("+15550002222", kept.sid)
    await store.save_phone_number(using)
    await store.save_phone_number(other)
    assert await store.delete_application(ACCOUNT, gone.sid, LATER)
    assert await store.applications() == [kept]
    released = replace(using, sms_application_sid=None, date_updated=LATER)
    assert await store.phone_numbers() == [released, other]
    assert not await store.delete_application(ACCOUNT, gone.sid, LATER)  # gone already
    assert not await store.update_application(gone)
