"""The Applications resource through the real ``twilio`` package, sync and async, with only its
base URL changed: create, fetch, list (FriendlyName, paging), update, delete, per account,
kept across a restart, and every refusal as the ``TwilioRestException`` a Twilio user catches.

Where it comes from: twilio-oai ``spec/json/twilio_api_v2010.json`` (``CreateApplication``,
``ListApplication``, ``FetchApplication``, ``UpdateApplication``, ``DeleteApplication``: 201, 200,
200, 200, 204) and twilio-python's ``twilio/rest/api/v2010/account/application.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.fakes.clock import T0
from tests.gateway.api_rig import (
    ASYNC_CLIENT_WARNINGS,
    Api,
    Sdk,
    SdkFactory,
    api_gateway,
    assert_twilio_error,
    raw_client,
)
from tests.gateway.gateway_rig import ACCOUNT, OTHER_ACCOUNT

pytestmark = ASYNC_CLIENT_WARNINGS

APPLICATIONS = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Applications.json"


async def call(sdk: Sdk, resource: Any, method: str, **params: Any) -> Any:
    """``resource.method(**params)``, in a thread for the sync client (the gateway runs on this
    loop), or its ``*_async`` twin."""
    if sdk.is_async:
        return await getattr(resource, f"{method}_async")(**params)
    return await asyncio.to_thread(getattr(resource, method), **params)


async def refused(
    sdk: Sdk, code: int, status: int, resource: Any, method: str, **params: Any
) -> str:
    with pytest.raises(TwilioRestException) as caught:
        await call(sdk, resource, method, **params)
    assert (caught.value.code, caught.value.status) == (code, status), caught.value.msg
    return str(caught.value.msg)


@pytest.fixture
async def sdk(sdks: SdkFactory) -> Sdk:
    return sdks.account(ACCOUNT)


async def test_create_fetch_update_and_delete(api: Api, sdk: Sdk) -> None:
    apps = sdk.client.applications
    created = await call(
        sdk,
        apps,
        "create",
        friendly_name="alerts",
        sms_url="https://example.com/sms",
        message_status_callback="https://example.com/status",
    )
    assert created.sid.startswith("AP") and len(created.sid) == 34
    assert (created.account_sid, created.api_version) == (ACCOUNT.sid, "2010-04-01")
    assert created.friendly_name == "alerts"
    assert (created.sms_url, created.sms_method) == ("https://example.com/sms", "POST")
    assert created.message_status_callback == "https://example.com/status"
    # Twilio's defaults for what was not given.
    assert (created.sms_fallback_url, created.sms_fallback_method) == (None, "POST")
    assert (created.sms_status_callback, created.status_callback) == (None, None)
    assert (created.voice_url, created.voice_method) == (None, "POST")
    assert created.voice_caller_id_lookup is False
    assert created.public_application_connect_enabled is False
    assert created.date_created == created.date_updated == T0.replace(microsecond=0)
    assert created.uri == f"/2010-04-01/Accounts/{ACCOUNT.sid}/Applications/{created.sid}.json"

    fetched = await call(sdk, apps(created.sid), "fetch")
    assert (fetched.sid, fetched.sms_url) == (created.sid, created.sms_url)

    api.clock.advance(60)
    updated = await call(
        sdk, apps(created.sid), "update", sms_method="GET", sms_url="", voice_caller_id_lookup=True
    )
    assert (updated.sms_url, updated.sms_method) == (None, "GET")  # '' clears a URL
    assert updated.message_status_callback == "https://example.com/status"  # not named: kept
    assert updated.voice_caller_id_lookup is True
    assert updated.date_created == created.date_created
    assert (updated.date_updated - created.date_updated).total_seconds() == 60

    assert await call(sdk, apps(created.sid), "delete") is True
    await refused(sdk, 20404, 404, apps(created.sid), "fetch")
    await refused(sdk, 20404, 404, apps(created.sid), "update", friendly_name="gone")
    await refused(sdk, 20404, 404, apps(created.sid), "delete")


async def test_the_list_pages_in_creation_order_and_filters_by_name(sdk: Sdk) -> None:
    apps = sdk.client.applications
    made = []
    for n in range(5):
        app = await call(sdk, apps, "create", friendly_name="even" if n % 2 == 0 else "odd")
        made.append(app.sid)
    listed = await call(sdk, apps, "list")
    assert [app.sid for app in listed] == made
    evens = await call(sdk, apps, "list", friendly_name="even")
    assert [app.sid for app in evens] == made[0::2]
    sdk.requests.clear()
    assert [app.sid for app in await call(sdk, apps, "list", page_size=2)] == made
    assert len(sdk.gets()) == 3
    page1 = await call(sdk, apps, "page", page_size=2)
    page2 = await call(sdk, page1, "next_page")
    assert [app.sid for app in page2] == made[2:4]
    back = await call(sdk, page2, "previous_page")
    assert [app.sid for app in back] == made[:2]
    # A page token still finds its place once the application it names is deleted.
    assert await call(sdk, apps(made[3]), "delete") is True
    page3 = await call(sdk, page2, "next_page")
    assert [app.sid for app in page3] == made[4:]
    assert page3.next_page_url is None


async def test_another_account_s_application_is_not_found(sdks: SdkFactory, sdk: Sdk) -> None:
    carol = sdks.account(OTHER_ACCOUNT)
    theirs = await call(carol, carol.client.applications, "create", friendly_name="carol's")
    mine = sdk.client.applications(theirs.sid)
    await refused(sdk, 20404, 404, mine, "fetch")
    await refused(sdk, 20404, 404, mine, "update", friendly_name="taken")
    await refused(sdk, 20404, 404, mine, "delete")
    assert await call(sdk, sdk.client.applications, "list") == []
    kept = await call(carol, carol.client.applications(theirs.sid), "fetch")
    assert kept.friendly_name == "carol's"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        pytest.param({"sms_url": "ftp://example.com/sms"}, 21502, id="sms-url-not-http"),
        pytest.param({"sms_fallback_url": "/relative"}, 21502, id="fallback-relative"),
        pytest.param({"voice_url": "http://exa mple.com/"}, 21502, id="voice-url-space"),
        pytest.param({"message_status_callback": "nope"}, 21609, id="message-status-callback"),
        pytest.param({"sms_status_callback": "http://a_b.com/"}, 21609, id="underscore-host"),
        pytest.param({"status_callback": "mailto:me@example.com"}, 21609, id="status-callback"),
        pytest.param({"sms_method": "PUT"}, 20001, id="method"),
        pytest.param({"friendly_name": "x" * 65}, 20001, id="friendly-name-too-long"),
        pytest.param({"api_version": "2099-01-01"}, 20001, id="api-version"),
    ],
)
async def test_refusals(sdk: Sdk, params: dict[str, Any], code: int) -> None:
    apps = sdk.client.applications
    await refused(sdk, code, 400, apps, "create", **params)
    assert await call(sdk, apps, "list") == []  # nothing made
    app = await call(sdk, apps, "create", friendly_name="kept")
    await refused(sdk, code, 400, apps(app.sid), "update", **params)
    fetched = await call(sdk, apps(app.sid), "fetch")
    assert (fetched.friendly_name, fetched.sms_url, fetched.date_updated) == (
        "kept",
        None,
        app.date_updated,
    )


async def test_raw_requests_the_client_cannot_make(api: Api) -> None:
    async with raw_client(api) as http:
        async with http.post(APPLICATIONS, data={"VoiceCallerIdLookup": "perhaps"}) as reply:
            assert reply.status == 400
            assert_twilio_error(await reply.json(), 400, 20001)
        async with http.post(APPLICATIONS, data={}) as reply:
            assert reply.status == 201
            nameless = await reply.json()
        assert nameless["friendly_name"] is None
        path = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Applications/{nameless['sid']}.json"
        async with http.get(f"{APPLICATIONS[:-5]}/nonsense.json") as reply:
            assert_twilio_error(await reply.json(), 404, 20404)
        async with http.get(APPLICATIONS, params={"PageToken": "PAnonsense"}) as reply:
            assert_twilio_error(await reply.json(), 400, 20001)
        async with http.delete(path) as reply:
            assert (reply.status, await reply.read()) == (204, b"")


async def test_applications_are_kept_across_a_restart(tmp_path: Path) -> None:
    async with api_gateway(tmp_path) as api:
        factory = SdkFactory(api, is_async=True)
        sdk = factory.account(ACCOUNT)
        created = await call(
            sdk, sdk.client.applications, "create", friendly_name="kept", sms_url="http://h/sms"
        )
        await factory.close()
    async with api_gateway(tmp_path) as api:
        factory = SdkFactory(api, is_async=True)
        sdk = factory.account(ACCOUNT)
        fetched = await call(sdk, sdk.client.applications(created.sid), "fetch")
        assert (fetched.friendly_name, fetched.sms_url) == ("kept", "http://h/sms")
        assert fetched.date_created == created.date_created
        await factory.close()
