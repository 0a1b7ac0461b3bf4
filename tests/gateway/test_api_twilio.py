"""The Messages API through the real ``twilio`` package, sync and async, with only its base URL
changed: create, fetch, list with paging and filters, API keys, and every refusal as the
exception a Twilio user catches (``../shared/docs/twilio-messages-api.md`` §1-3, §8, §9).

Every test runs twice: with ``Client`` on ``requests`` (in a thread: the gateway runs on the
test's event loop) and with ``AsyncTwilioHttpClient`` and the ``*_async`` methods.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.fakes.clock import T0
from tests.gateway.api_rig import (
    ASYNC_CLIENT_WARNINGS,
    EXTERNAL,
    EXTERNAL_2,
    Api,
    Sdk,
    SdkFactory,
)
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, CAROL, OTHER_ACCOUNT

pytestmark = ASYNC_CLIENT_WARNINGS

SID = re.compile(r"^SM[0-9a-f]{32}$")
UNKNOWN_ACCOUNT = "AC" + "d4" * 16


@pytest.fixture
async def sdk(sdks: SdkFactory) -> Sdk:
    return sdks.account(ACCOUNT)  # async: the async client's session needs the running loop


# --- create and fetch -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("Hello from the modem", "1"),
        ("Long " * 80, "3"),  # 400 GSM characters: 153 per part
        ("Привет 😀 " * 20, "3"),  # UCS-2, 180 code units: 67 per part
    ],
)
async def test_create_parses_into_a_message_instance(sdk: Sdk, body: str, segments: str) -> None:
    message = await sdk.create(to=EXTERNAL, from_=ALICE, body=body)
    assert SID.match(message.sid)
    base = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages/{message.sid}"
    assert message.account_sid == ACCOUNT.sid
    assert message.api_version == "2010-04-01"
    assert message.body == body
    assert message.num_segments == segments  # a string, as Twilio sends it
    assert message.num_media == "0"
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert (message.from_, message.to) == (ALICE, EXTERNAL)
    created = T0.replace(microsecond=0)
    assert message.date_created == created and message.date_created.tzinfo is not None
    assert message.date_updated == created
    assert message.date_sent is None
    assert message.price is None
    assert message.price_unit == "USD"
    assert message.error_code is None and message.error_message is None
    assert message.messaging_service_sid is None
    assert message.uri == f"{base}.json"
    assert message.subresource_uris == {
        "media": f"{base}/Media.json",
        "feedback": f"{base}/Feedback.json",
    }


async def test_fetch_sees_the_message_sent(api: Api, sdk: Sdk) -> None:
    created = await sdk.create(to=EXTERNAL, from_=ALICE, body="fetch me")
    await api.statuses.final(created.sid)
    fetched = await sdk.fetch(created.sid)
    assert fetched.sid == created.sid
    assert fetched.status == "sent"
    assert fetched.date_sent == T0.replace(microsecond=0)  # the gateway's clock stands at T0
    assert fetched.body == "fetch me"
    assert fetched.num_segments == "1"
    assert fetched.error_code is None


async def test_a_failed_message_has_an_integer_error_code(api: Api, sdk: Sdk) -> None:
    api.gateway.modems.simulated["alice"].fail_sends(1)  # +CMS ERROR: 1, unassigned number
    created = await sdk.create(to=EXTERNAL, from_=ALICE, body="nobody there")
    await api.statuses.final(created.sid)
    fetched = await sdk.fetch(created.sid)
    assert fetched.status == "failed"
    assert fetched.error_code == 30005
    assert fetched.error_message == "Unknown destination handset"
    assert fetched.date_sent is None


async def test_smart_encoded_is_sent_as_true(sdk: Sdk) -> None:
    text = "“Smart” ‘quotes’ – and dots… " * 3  # 87 characters: UCS-2 needs 2 parts
    plain = "\"Smart\" 'quotes' - and dots... " * 3
    message = await sdk.create(to=EXTERNAL, from_=ALICE, body=text, smart_encoded=True)
    assert (message.body, message.num_segments) == (plain, "1")


@pytest.mark.parametrize("validity", [1, 14400])
async def test_validity_period_within_the_seed_range_is_accepted(sdk: Sdk, validity: int) -> None:
    message = await sdk.create(to=EXTERNAL, from_=ALICE, body="x", validity_period=validity)
    assert message.status == "queued"


# --- list and paging ------------------------------------------------------------------------


async def test_list_pages_through_everything_newest_first(api: Api, sdk: Sdk) -> None:
    sids = []
    for number in range(25):
        message = await sdk.create(to=EXTERNAL, from_=ALICE, body=f"message {number}")
        sids.append(message.sid)
    newest_first = sids[::-1]
    list_url = f"{api.base_url}/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"

    sdk.requests.clear()
    listed = await sdk.read(page_size=10)
    assert [message.sid for message in listed] == newest_first
    gets = sdk.gets()
    assert len(gets) == 3  # 10 + 10 + 5, and no empty page after the last
    assert all(url.startswith(list_url) for url in gets)  # next_page_uri resolved on our host
    assert "PageToken" not in gets[0]
    assert all("PageToken=PA" in url for url in gets[1:])

    sdk.requests.clear()
    streamed = await sdk.stream(page_size=7)
    assert [message.sid for message in streamed] == newest_first
    assert len(sdk.gets()) == 4  # 7 + 7 + 7 + 4

    sdk.requests.clear()
    assert [message.sid for message in await sdk.read(page_size=5)] == newest_first
    assert len(sdk.gets()) == 5  # the fifth page is full and the last: nothing more asked

    sdk.requests.clear()
    limited = await sdk.read(limit=12, page_size=5)
    assert [message.sid for message in limited] == newest_first[:12]
    assert len(sdk.gets()) == 3

    sdk.requests.clear()
    assert [message.sid for message in await sdk.read()] == newest_first  # default page: 50
    assert len(sdk.gets()) == 1


async def test_an_empty_account_lists_nothing(sdk: Sdk) -> None:
    assert await sdk.read() == []
    assert await sdk.stream(page_size=3) == []


async def _sent_on_different_days(api: Api, sdk: Sdk) -> dict[str, str]:
    """Four messages: three sent on 1, 3 and 5 March 2026 (the days between stay empty, so
    date filters mean the same at any precision), and one that failed and was never sent."""
    sids = {}
    for name, moment, to, from_ in [
        ("m1", datetime(2026, 3, 1, 12, 0, tzinfo=UTC), EXTERNAL, ALICE),
        ("m2", datetime(2026, 3, 3, 12, 0, tzinfo=UTC), EXTERNAL_2, BOB),
        ("m3", datetime(2026, 3, 5, 8, 0, tzinfo=UTC), EXTERNAL, BOB),
    ]:
        api.clock.now = moment
        message = await sdk.create(to=to, from_=from_, body=name)
        sent = await api.statuses.final(message.sid)
        assert sent.date_sent == moment
        sids[name] = message.sid
    api.gateway.modems.simulated["alice"].fail_sends(1)
    message = await sdk.create(to=EXTERNAL_2, from_=ALICE, body="m4")
    failed = await api.statuses.final(message.sid)
    assert failed.date_sent is None
    sids["m4"] = message.sid
    return sids


FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["m4", "m3", "m2", "m1"]),
    ({"to": EXTERNAL}, ["m3", "m1"]),
    ({"to": EXTERNAL_2}, ["m4", "m2"]),
    ({"from_": ALICE}, ["m4", "m1"]),
    ({"from_": BOB}, ["m3", "m2"]),
    ({"to": EXTERNAL, "from_": BOB}, ["m3"]),
    ({"to": BOB}, []),
    ({"date_sent": date(2026, 3, 3)}, ["m2"]),
    ({"date_sent": date(2026, 3, 2)}, []),
    ({"date_sent": "2026-03-05"}, ["m3"]),
    ({"date_sent_before": date(2026, 3, 2)}, ["m1"]),
    ({"date_sent_after": date(2026, 3, 4)}, ["m3"]),
    ({"date_sent_after": date(2026, 3, 2), "date_sent_before": date(2026, 3, 4)}, ["m2"]),
    ({"date_sent_before": "2026-03-06"}, ["m3", "m2", "m1"]),  # m4 was never sent
    ({"date_sent_after": "2026-02-01", "from_": ALICE}, ["m1"]),
]


async def test_list_filters(api: Api, sdk: Sdk) -> None:
    names = {sid: name for name, sid in (await _sent_on_different_days(api, sdk)).items()}
    for params, expected in FILTERS:
        listed = await sdk.read(page_size=2, **params)  # paging keeps the filters
        assert [names[message.sid] for message in listed] == expected, params


async def test_date_sent_inequalities_use_the_time_given(api: Api, sdk: Sdk) -> None:
    """Seed documentation, "Read multiple Message resources", Example 4: "List all messages
    sent between January 15th, 2021, 01:23:45 UTC and January 17th, 2021, 01:23:45 UTC" with
    ``date_sent_after``/``date_sent_before`` datetimes: the time of day counts."""
    names = {sid: name for name, sid in (await _sent_on_different_days(api, sdk)).items()}
    listed = await sdk.read(
        date_sent_after=datetime(2026, 3, 1, 13, 0, tzinfo=UTC),  # after m1 (12:00 that day)
        date_sent_before=datetime(2026, 3, 5, 7, 0, tzinfo=UTC),  # before m3 (08:00 that day)
    )
    assert [names[message.sid] for message in listed] == ["m2"]


# --- API keys -------------------------------------------------------------------------------


async def test_an_api_key_acts_for_its_account(sdks: SdkFactory) -> None:
    (key,) = ACCOUNT.api_keys
    with_key = sdks(key.sid, key.secret, ACCOUNT.sid)
    created = await with_key.create(to=EXTERNAL, from_=BOB, body="signed with a key")
    assert created.account_sid == ACCOUNT.sid
    assert (await with_key.fetch(created.sid)).body == "signed with a key"
    assert [message.sid for message in await with_key.read()] == [created.sid]
    # The same message through the account's own credentials.
    assert (await sdks.account(ACCOUNT).fetch(created.sid)).sid == created.sid


# --- refusals -------------------------------------------------------------------------------

GOOD: dict[str, Any] = {"to": EXTERNAL, "from_": ALICE, "body": "hi"}

CREATE_ERRORS: list[tuple[str, dict[str, Any], int]] = [
    ("to-empty", {**GOOD, "to": ""}, 21604),
    ("to-invalid", {**GOOD, "to": "not a number"}, 21211),
    ("to-whatsapp", {**GOOD, "to": "whatsapp:" + EXTERNAL}, 21211),
    ("no-from", {"to": EXTERNAL, "body": "hi"}, 21603),
    ("from-malformed", {**GOOD, "from_": "+1-800-CALL-NOW"}, 21212),
    ("from-not-ours", {**GOOD, "from_": "+15559990000"}, 21606),
    ("from-other-account", {**GOOD, "from_": CAROL}, 21660),
    ("no-body", {"to": EXTERNAL, "from_": ALICE}, 21602),
    ("empty-body", {**GOOD, "body": ""}, 21602),
    ("body-1601", {**GOOD, "body": "a" * 1601}, 21617),
    ("callback-not-http", {**GOOD, "status_callback": "ftp://example.com/status"}, 21609),
    ("callback-underscore", {**GOOD, "status_callback": "https://my_host.example.com/s"}, 21609),
    ("callback-relative", {**GOOD, "status_callback": "/status"}, 21609),
    ("validity-0", {**GOOD, "validity_period": 0}, 21624),
    ("validity-14401", {**GOOD, "validity_period": 14401}, 21624),
    ("validity-abc", {**GOOD, "validity_period": "abc"}, 21624),
    ("to-equals-from", {**GOOD, "to": ALICE}, 21266),
    ("media-url", {**GOOD, "media_url": ["https://example.com/cat.jpg"]}, 21621),
    ("send-as-mms", {**GOOD, "send_as_mms": True}, 21621),
    ("service-bad-pattern", {**GOOD, "messaging_service_sid": "MG123"}, 21705),
    ("service-in-from-bad", {"to": EXTERNAL, "from_": "MGnot-a-sid", "body": "x"}, 21705),
    (
        "schedule-without-service",
        {**GOOD, "schedule_type": "fixed", "send_at": T0 + timedelta(days=1)},
        35118,
    ),
    ("to-before-from", {"body": "hi", "to": ""}, 21604),  # To is checked first
]


@pytest.mark.parametrize(
    ("params", "code"),
    [pytest.param(params, code, id=name) for name, params, code in CREATE_ERRORS],
)
async def test_create_refusals(sdk: Sdk, params: dict[str, Any], code: int) -> None:
    with pytest.raises(TwilioRestException) as refused:
        await sdk.create(**params)
    assert (refused.value.code, refused.value.status) == (code, 400)
    assert refused.value.msg.startswith("Unable to create record: ")
    assert await sdk.read() == []  # nothing was stored


async def test_an_unknown_messaging_service(sdk: Sdk) -> None:
    with pytest.raises(TwilioRestException) as refused:
        await sdk.create(**GOOD, messaging_service_sid="MG" + "0" * 32)
    assert refused.value.code == 21701
    assert refused.value.status in (400, 404)  # Twilio's HTTP status for 21701 is unverified


async def test_body_of_1600_characters_is_accepted(sdk: Sdk) -> None:
    message = await sdk.create(**{**GOOD, "body": "ж" * 1600})
    assert (len(message.body), message.num_segments) == (1600, "24")


@pytest.mark.parametrize("sid", ["SM" + "0" * 32, "MM" + "f" * 32, "not-a-sid", "SM123"])
async def test_fetch_unknown_sid_is_20404(sdk: Sdk, sid: str) -> None:
    with pytest.raises(TwilioRestException) as refused:
        await sdk.fetch(sid)
    assert (refused.value.code, refused.value.status) == (20404, 404)
    assert refused.value.msg.startswith("Unable to fetch record: ")


async def test_another_accounts_message_is_not_found(sdks: SdkFactory) -> None:
    carol = sdks.account(OTHER_ACCOUNT)
    theirs = await carol.create(to=EXTERNAL, from_=CAROL, body="carol's")
    assert theirs.account_sid == OTHER_ACCOUNT.sid
    with pytest.raises(TwilioRestException) as refused:
        await sdks.account(ACCOUNT).fetch(theirs.sid)
    assert (refused.value.code, refused.value.status) == (20404, 404)
    assert (await carol.fetch(theirs.sid)).body == "carol's"


BAD_CREDENTIALS: list[tuple[str, tuple[str, str, str | None]]] = [
    ("wrong-password", (ACCOUNT.sid, "not-the-token", None)),
    ("unknown-user", (UNKNOWN_ACCOUNT, "whatever", None)),
    ("other-accounts-path", (OTHER_ACCOUNT.sid, OTHER_ACCOUNT.auth_token, ACCOUNT.sid)),
    ("empty-password", (ACCOUNT.sid, "", None)),
    ("api-key-wrong-secret", (ACCOUNT.api_keys[0].sid, "wrong", ACCOUNT.sid)),
    (
        "api-key-other-path",
        (ACCOUNT.api_keys[0].sid, ACCOUNT.api_keys[0].secret, OTHER_ACCOUNT.sid),
    ),
    ("token-of-the-other", (ACCOUNT.sid, OTHER_ACCOUNT.auth_token, None)),
]


@pytest.mark.parametrize(
    "credentials", [pytest.param(value, id=name) for name, value in BAD_CREDENTIALS]
)
async def test_bad_credentials_are_20003(
    api: Api, sdks: SdkFactory, credentials: tuple[str, str, str | None]
) -> None:
    existing = await sdks.account(ACCOUNT).create(**GOOD)
    intruder = sdks(*credentials)
    with pytest.raises(TwilioRestException) as refused:
        await intruder.create(**GOOD)
    assert (refused.value.code, refused.value.status) == (20003, 401)
    with pytest.raises(TwilioRestException) as refused:
        await intruder.fetch(existing.sid)
    assert (refused.value.code, refused.value.status) == (20003, 401)
    # A list page that is not a 200 is no RestException in twilio-python (doc §3).
    with pytest.raises(TwilioException) as unlisted:
        await intruder.read()
    assert not isinstance(unlisted.value, TwilioRestException)
    assert unlisted.value.args[0] == "Unable to fetch page"
    assert await api.gateway.store.count_messages() == 1  # the refused create stored nothing
