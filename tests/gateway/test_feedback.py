"""Message Feedback (``POST …/Messages/{MessageSid}/Feedback.json``) through the real ``twilio``
package, sync and async, and on the wire; ``ProvideFeedback`` on create; the Feedback kept in
SQLite across a restart and gone with its message.

Sources: the seed documentation's ``provide_feedback`` ("Set this value to true if you are
sending messages that have a trackable user action and you intend to confirm delivery of the
message using the Message Feedback API. This parameter is false by default."), Twilio's
"Feedback subresource" reference and twilio-python's ``message/feedback.py``
(see :mod:`gateway.domain.feedback`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException

from gateway.domain.models import Message, new_sid
from gateway.store.sqlite import DATABASE_NAME
from gateway.store.sqlite.schema import MIGRATIONS
from tests.fakes import records
from tests.fakes.clock import T0
from tests.gateway.api_rig import (
    ASYNC_CLIENT_WARNINGS,
    EXTERNAL,
    Api,
    Sdk,
    SdkFactory,
    api_gateway,
    assert_twilio_error,
    message_path,
    messages_path,
    raw_client,
    raw_create,
)
from tests.gateway.gateway_rig import ACCOUNT, ALICE, CAROL, OTHER_ACCOUNT
from tests.gateway.store_rig import opened

pytestmark = ASYNC_CLIENT_WARNINGS

FEEDBACK_KEYS: Final = {
    "account_sid",
    "message_sid",
    "outcome",
    "date_created",
    "date_updated",
    "uri",
}
CREATED: Final = T0.replace(microsecond=0)  # as RFC 2822 carries it


def feedback_path(sid: str) -> str:
    return message_path(sid).removesuffix(".json") + "/Feedback.json"


async def feedback(sdk: Sdk, sid: str, **params: Any) -> Any:
    """``client.messages(sid).feedback.create(**params)``, sync (in a thread) or async."""
    resource = sdk.messages(sid).feedback
    if sdk.is_async:
        return await resource.create_async(**params)
    return await asyncio.to_thread(lambda: resource.create(**params))


async def refused(sdk: Sdk, sid: str, code: int, status: int, **params: Any) -> str:
    with pytest.raises(TwilioRestException) as caught:
        await feedback(sdk, sid, **params)
    assert (caught.value.code, caught.value.status) == (code, status), caught.value.msg
    return str(caught.value.msg)


@pytest.fixture
async def sdk(sdks: SdkFactory) -> Sdk:
    return sdks.account(ACCOUNT)


# --- through the twilio client ------------------------------------------------------------------


async def test_feedback_confirms_a_message_created_with_provide_feedback(
    api: Api, sdk: Sdk
) -> None:
    """Twilio's reference: "To track and provide Message Feedback for a Message, you must set
    the ProvideFeedback parameter to true when you first create the Message" and "Pass the
    Outcome parameter with value confirmed to update the Message Feedback"; the answer is the
    Feedback: account_sid, message_sid, outcome, date_created, date_updated, uri."""
    message = await sdk.create(to=EXTERNAL, from_=ALICE, body="code 1234", provide_feedback=True)
    await api.statuses.final(message.sid)
    api.clock.advance(30)  # the user typed the code half a minute later
    confirmed = await feedback(sdk, message.sid, outcome="confirmed")
    assert confirmed.account_sid == ACCOUNT.sid
    assert confirmed.message_sid == message.sid
    assert confirmed.outcome == "confirmed"
    assert confirmed.date_created == confirmed.date_updated == CREATED + timedelta(seconds=30)
    assert confirmed.uri == feedback_path(message.sid)
    # Recorded for analytics, nothing more: the message is as it was.
    fetched = await sdk.fetch(message.sid)
    assert (fetched.status, fetched.date_updated) == ("sent", CREATED)


async def test_outcome_can_be_reported_again_and_its_first_date_stays(api: Api, sdk: Sdk) -> None:
    """Twilio's reference: "unconfirmed: The initial value for a Message created with
    ProvideFeedback=True. The reported outcome is unconfirmed until a Feedback subresource is
    created with an outcome property of confirmed"; and "Update the Message Feedback even if
    the Message is received with a delay"."""
    message = await sdk.create(to=EXTERNAL, from_=ALICE, body="code 5678", provide_feedback=True)
    first = await feedback(sdk, message.sid, outcome="unconfirmed")
    assert first.outcome == "unconfirmed"
    api.clock.advance(3600)
    later = await feedback(sdk, message.sid, outcome="confirmed")
    assert later.outcome == "confirmed"
    assert later.date_created == first.date_created == CREATED
    assert later.date_updated == CREATED + timedelta(hours=1)


async def test_without_an_outcome_the_feedback_confirms(sdk: Sdk) -> None:
    """twilio-python's ``feedback.create()`` takes ``outcome`` as optional and then sends no
    body at all; Twilio's reference: "Create Feedback to confirm that the recipient of the
    associated Message performed a tracked user action" (so: confirmed)."""
    message = await sdk.create(to=EXTERNAL, from_=ALICE, body="code 9", provide_feedback=True)
    assert (await feedback(sdk, message.sid)).outcome == "confirmed"


async def test_a_message_without_provide_feedback_has_no_feedback_resource(sdk: Sdk) -> None:
    """The seed: ProvideFeedback "is false by default"; Twilio's reference: "you must set the
    ProvideFeedback parameter to true when you first create the Message". Without it there is
    no Feedback to create: 404, 20404, as for a message that does not exist."""
    plain = await sdk.create(to=EXTERNAL, from_=ALICE, body="no tracking")
    declined = await sdk.create(to=EXTERNAL, from_=ALICE, body="no", provide_feedback=False)
    for sid in (plain.sid, declined.sid):
        text = await refused(sdk, sid, 20404, 404, outcome="confirmed")
        assert "ProvideFeedback=true" in text


async def test_unknown_and_other_accounts_messages_are_not_found(
    api: Api, sdks: SdkFactory, sdk: Sdk
) -> None:
    """Twilio's 20404 "The requested resource … was not found" (``../shared/docs/
    twilio-messages-api.md`` §2) for a message that is not the account's."""
    carol = sdks.account(OTHER_ACCOUNT)
    theirs = await carol.create(to=EXTERNAL, from_=CAROL, body="carol's", provide_feedback=True)
    await refused(sdk, theirs.sid, 20404, 404, outcome="confirmed")
    await refused(sdk, "SM" + "0" * 32, 20404, 404, outcome="confirmed")
    assert (await feedback(carol, theirs.sid)).outcome == "confirmed"  # theirs to confirm


@pytest.mark.parametrize("outcome", ["maybe", "Confirmed", "CONFIRMED", "delivered"])
async def test_an_outcome_other_than_twilio_s_two_is_refused(sdk: Sdk, outcome: str) -> None:
    """Twilio's reference: Outcome "Can be: unconfirmed or confirmed" (its enum
    ``message_feedback_enum_outcome``); anything else is a bad parameter, 400 and 20001."""
    message = await sdk.create(to=EXTERNAL, from_=ALICE, body="x", provide_feedback=True)
    assert "Outcome" in await refused(sdk, message.sid, 20001, 400, outcome=outcome)


# --- on the wire ----------------------------------------------------------------------------------


@pytest.fixture
async def http(api: Api) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_client(api) as session:
        yield session


@pytest.mark.parametrize("flag", ["true", "True", "TRUE"])
async def test_the_feedback_json_is_twilio_s_key_for_key(
    http: aiohttp.ClientSession, flag: str
) -> None:
    """Twilio's reference, Create Feedback's example answer: ``{"account_sid": …,
    "date_created": "Thu, 30 Jul 2015 20:00:00 +0000", "date_updated": …, "message_sid": …,
    "outcome": "confirmed", "uri": "/2010-04-01/Accounts/…/Messages/…/Feedback.json"}``,
    answered 201 as twilio-python's generated test mocks it. ProvideFeedback is a boolean in
    any case (twilio-python sent "True" before its boolean_to_string)."""
    created = await raw_create(http, To=EXTERNAL, From=ALICE, Body="hi", ProvideFeedback=flag)
    async with http.post(feedback_path(created["sid"]), data={"Outcome": "confirmed"}) as reply:
        assert reply.status == 201
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        body = await reply.json()
    assert body == {
        "account_sid": ACCOUNT.sid,
        "message_sid": created["sid"],
        "outcome": "confirmed",
        "date_created": "Sun, 01 Mar 2026 12:34:56 +0000",
        "date_updated": "Sun, 01 Mar 2026 12:34:56 +0000",
        "uri": feedback_path(created["sid"]),
    }
    assert set(body) == FEEDBACK_KEYS


@pytest.mark.parametrize("flag", ["yes", "1", "on", "truth", "t"])
async def test_provide_feedback_must_be_a_boolean(http: aiohttp.ClientSession, flag: str) -> None:
    """The seed: "provide_feedback … boolean"; "true", "false" (in any case) or nothing. Any
    other value is refused, 400 and 20001, and nothing is stored."""
    form = {"To": EXTERNAL, "From": ALICE, "Body": "x", "ProvideFeedback": flag}
    async with http.post(messages_path(), data=form) as reply:
        assert_twilio_error(await reply.json(), 400, 20001)
    async with http.get(messages_path()) as reply:
        assert (await reply.json())["messages"] == []


async def test_a_bad_outcome_on_the_wire_and_an_empty_one(http: aiohttp.ClientSession) -> None:
    """An empty ``Outcome=`` is no outcome (confirmed), as empty parameters are elsewhere; a
    made-up one is 400/20001; a feedback for a message with no ProvideFeedback is 404/20404."""
    tracked = await raw_create(http, To=EXTERNAL, From=ALICE, Body="t", ProvideFeedback="true")
    plain = await raw_create(http, To=EXTERNAL, From=ALICE, Body="p")
    async with http.post(feedback_path(tracked["sid"]), data={"Outcome": ""}) as reply:
        assert (reply.status, (await reply.json())["outcome"]) == (201, "confirmed")
    async with http.post(feedback_path(tracked["sid"]), data={"Outcome": "x"}) as reply:
        assert_twilio_error(await reply.json(), 400, 20001)
    async with http.post(feedback_path(plain["sid"]), data={"Outcome": "x"}) as reply:
        assert_twilio_error(await reply.json(), 404, 20404)  # no such resource, whatever asked
    async with http.post(feedback_path("SMnot-a-sid"), data={"Outcome": "confirmed"}) as reply:
        assert_twilio_error(await reply.json(), 404, 20404)


# --- kept in SQLite -----------------------------------------------------------------------------


async def test_feedback_and_provide_feedback_survive_a_restart(tmp_path: Path) -> None:
    """Persisted (migration 11): a message's ProvideFeedback and its Feedback are there after a
    restart, the Feedback's first date with it."""
    async with api_gateway(tmp_path) as api, raw_client(api) as http:
        created = await raw_create(http, To=EXTERNAL, From=ALICE, Body="t", ProvideFeedback="true")
        await api.statuses.final(created["sid"])
        outcome = {"Outcome": "unconfirmed"}
        async with http.post(feedback_path(created["sid"]), data=outcome) as reply:
            assert reply.status == 201
    async with api_gateway(tmp_path) as api, raw_client(api) as http:
        api.clock.advance(60)
        async with http.post(feedback_path(created["sid"])) as reply:
            body = await reply.json()
    assert reply.status == 201, body
    assert body["outcome"] == "confirmed"
    assert body["date_created"] == "Sun, 01 Mar 2026 12:34:56 +0000"
    assert body["date_updated"] == "Sun, 01 Mar 2026 12:35:56 +0000"


async def test_deleting_the_message_deletes_its_feedback(api: Api, sdk: Sdk) -> None:
    """A deleted message's Feedback goes with it (Twilio: "Once the record is deleted, it will
    no longer appear in the API")."""
    message = await sdk.create(to=EXTERNAL, from_=ALICE, body="bye", provide_feedback=True)
    await api.statuses.final(message.sid)
    await feedback(sdk, message.sid)
    if sdk.is_async:
        await sdk.messages(message.sid).delete_async()
    else:
        await asyncio.to_thread(sdk.messages(message.sid).delete)
    await refused(sdk, message.sid, 20404, 404)
    with sqlite3.connect(api.gateway.config.data_dir / DATABASE_NAME) as db:
        assert db.execute("SELECT count(*) FROM message_feedback").fetchone() == (0,)


# --- the store ----------------------------------------------------------------------------------


def _message(provide_feedback: bool) -> Message:
    return records.message(
        account_sid=ACCOUNT.sid,
        to=EXTERNAL,
        from_=ALICE,
        body="x",
        provide_feedback=provide_feedback,
    )


async def test_the_store_records_feedback_only_where_it_was_asked_for(tmp_path: Path) -> None:
    async with opened(tmp_path) as store:
        tracked, plain = _message(True), _message(False)
        for message in (tracked, plain):
            await store.create_message(message, ())
            assert await store.get_message(ACCOUNT.sid, message.sid) == message
        assert await store.record_feedback(ACCOUNT.sid, plain.sid, "confirmed", T0) is None
        assert await store.record_feedback(OTHER_ACCOUNT.sid, tracked.sid, "confirmed", T0) is None
        kept = await store.record_feedback(ACCOUNT.sid, tracked.sid, "confirmed", T0)
        assert kept is not None
        assert (kept.message_sid, kept.outcome, kept.date_created) == (tracked.sid, "confirmed", T0)


async def test_messages_from_before_migration_11_have_no_provide_feedback(tmp_path: Path) -> None:
    """A database from before migration 11: its messages read as sent without ProvideFeedback
    (the seed: "This parameter is false by default")."""
    before = next(n for n, script in enumerate(MIGRATIONS) if "provide_feedback" in script)
    sid = new_sid("SM")
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        # What migration 7 calls for pending webhooks (there are none here).
        db.create_function("smsgw_destination", 1, lambda url: "")
        db.create_function("smsgw_token", 0, lambda: "")
        for script in MIGRATIONS[:before]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version = {before}")
        db.execute(
            "INSERT INTO messages (sid, account_sid, direction, status, to_number, from_number, "
            "body, num_segments, date_created, date_updated) "
            "VALUES (?, ?, 'outbound-api', 'sent', ?, ?, 'old', 1, 0, 0)",
            (sid, ACCOUNT.sid, EXTERNAL, ALICE),
        )
    async with opened(tmp_path) as store:
        old = await store.get_message(ACCOUNT.sid, sid)
        assert old is not None and old.provide_feedback is False
        assert await store.record_feedback(ACCOUNT.sid, sid, "confirmed", T0) is None
