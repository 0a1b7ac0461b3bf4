"""The IncomingPhoneNumber and Media JSON of :mod:`gateway.api.twilio_json.numbers` and
:mod:`gateway.api.twilio_json.messages`, against Twilio's own
shapes (a documented response, the OpenAPI schema's properties) and through the installed
``twilio`` package: its instance and page classes, and its list/fetch/update/paging calls over an
HTTP client that answers with this JSON.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from twilio.base import deserialize
from twilio.base.page import Page
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.api.v2010.account.incoming_phone_number import (
    IncomingPhoneNumberInstance,
    IncomingPhoneNumberList,
    IncomingPhoneNumberPage,
)
from twilio.rest.api.v2010.account.message.media import MediaPage

from gateway.api.twilio_json.messages import MEDIA_LIST_KEY, media_page_json
from gateway.api.twilio_json.numbers import (
    INCOMING_PHONE_NUMBER_FILTERS,
    INCOMING_PHONE_NUMBERS_KEY,
    incoming_phone_number_json,
    incoming_phone_number_uri,
    incoming_phone_numbers_page_json,
)
from gateway.domain.records import PhoneNumber

ACCOUNT: Final = "AC" + "0123456789abcdef" * 2
TOKEN: Final = "f" * 32
BASE_URL: Final = "http://gateway.test:8080"
LIST_PATH: Final = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers.json"
MESSAGE_SID: Final = "SM" + "5" * 32
MEDIA_PATH: Final = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{MESSAGE_SID}/Media.json"
CREATED: Final = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)
UPDATED: Final = datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC)

NUMBER: Final = PhoneNumber(
    number="+15550001001",
    sid="PN" + "1f" * 16,
    account_sid=ACCOUNT,
    friendly_name="alice",
    sms_url="https://example.com/sms",
    sms_method="POST",
    sms_fallback_url=None,
    sms_fallback_method="POST",
    status_callback=None,
    api_updated=False,
    date_created=CREATED,
    date_updated=UPDATED,
)

# Twilio's documented response to ``client.incoming_phone_numbers.list(limit=20)`` (twilio.com
# docs, "SHAKEN/STIR Onboarding with the Trust Hub REST API (Direct Customers)", "Get Phone Number
# SIDs from Parent Account"; the instance is the one every current IncomingPhoneNumber example of
# Twilio's docs shows, with ``status`` "in-use" and ``type`` "local").
DOCS_LIST_EXAMPLE: Final[dict[str, Any]] = json.loads(
    """
{
  "end": 0,
  "first_page_uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/IncomingPhoneNumbers.json?FriendlyName=friendly_name&Beta=true&PhoneNumber=%2B19876543210&PageSize=50&Page=0",
  "incoming_phone_numbers": [
    {
      "account_sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "address_requirements": "none",
      "address_sid": "ADaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "api_version": "2010-04-01",
      "beta": null,
      "capabilities": {
        "voice": true,
        "sms": false,
        "mms": true,
        "fax": false
      },
      "date_created": "Thu, 30 Jul 2015 23:19:04 +0000",
      "date_updated": "Thu, 30 Jul 2015 23:19:04 +0000",
      "emergency_status": "Active",
      "emergency_address_sid": "ADaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "emergency_address_status": "registered",
      "friendly_name": "(808) 925-5327",
      "identity_sid": "RIaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "origin": "origin",
      "phone_number": "+18089255327",
      "sid": "PNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "sms_application_sid": "",
      "sms_fallback_method": "POST",
      "sms_fallback_url": "",
      "sms_method": "POST",
      "sms_url": "",
      "status_callback": "",
      "status_callback_method": "POST",
      "trunk_sid": null,
      "uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/IncomingPhoneNumbers/PNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json",
      "voice_application_sid": "",
      "voice_caller_id_lookup": false,
      "voice_fallback_method": "POST",
      "voice_fallback_url": null,
      "voice_method": "POST",
      "voice_url": null,
      "bundle_sid": "BUaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "voice_receive_mode": "voice",
      "status": "in-use",
      "type": "local"
    }
  ],
  "next_page_uri": null,
  "page": 0,
  "page_size": 50,
  "previous_page_uri": null,
  "start": 0,
  "uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/IncomingPhoneNumbers.json?FriendlyName=friendly_name&Beta=true&PhoneNumber=%2B19876543210&PageSize=50&Page=0"
}"""  # noqa: E501 (verbatim)
)
DOCS_INSTANCE: Final[dict[str, Any]] = DOCS_LIST_EXAMPLE["incoming_phone_numbers"][0]

# The properties of ``api.v2010.account.incoming_phone_number`` in twilio-oai
# ``spec/json/twilio_api_v2010.json`` (commit 496e1df3c4f3), every one ``nullable``; JSON type
# of each ("object" is ``capabilities``).
OAI_PROPERTIES: Final[dict[str, str]] = {
    "account_sid": "string",
    "address_sid": "string",
    "address_requirements": "string",
    "api_version": "string",
    "beta": "boolean",
    "capabilities": "object",
    "date_created": "string",
    "date_updated": "string",
    "friendly_name": "string",
    "identity_sid": "string",
    "phone_number": "string",
    "origin": "string",
    "sid": "string",
    "sms_application_sid": "string",
    "sms_fallback_method": "string",
    "sms_fallback_url": "string",
    "sms_method": "string",
    "sms_url": "string",
    "status_callback": "string",
    "status_callback_method": "string",
    "trunk_sid": "string",
    "uri": "string",
    "voice_receive_mode": "string",
    "voice_application_sid": "string",
    "voice_caller_id_lookup": "boolean",
    "voice_fallback_method": "string",
    "voice_fallback_url": "string",
    "voice_method": "string",
    "voice_url": "string",
    "emergency_status": "string",
    "emergency_address_sid": "string",
    "emergency_address_status": "string",
    "bundle_sid": "string",
    "status": "string",
}
OAI_ENUMS: Final[dict[str, set[str]]] = {
    "address_requirements": {"none", "any", "local", "foreign"},
    "emergency_status": {"Active", "Inactive"},
    "emergency_address_status": {
        "registered",
        "unregistered",
        "pending-registration",
        "registration-failure",
        "pending-unregistration",
        "unregistration-failure",
    },
    "voice_receive_mode": {"voice", "fax"},
    "sms_method": {"GET", "POST"},
    "sms_fallback_method": {"GET", "POST"},
    "status_callback_method": {"GET", "POST"},
    "voice_method": {"GET", "POST"},
    "voice_fallback_method": {"GET", "POST"},
}
JSON_TYPES: Final[dict[str, type]] = {"string": str, "boolean": bool, "object": dict}
# ``ListIncomingPhoneNumberResponse`` / ``ListMediaResponse`` in the same spec: the list plus these.
LIST_META_KEYS: Final = {
    "end",
    "first_page_uri",
    "next_page_uri",
    "page",
    "page_size",
    "previous_page_uri",
    "start",
    "uri",
}
RFC2822: Final = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")


def number(index: int) -> PhoneNumber:
    return replace(
        NUMBER,
        sid="PN" + f"{index:032x}",
        number=f"+1555000{index:04d}",
        friendly_name=f"modem {index}",
    )


def client(http: FakeTwilioHttp) -> Any:
    sdk = Client(ACCOUNT, TOKEN, http_client=http)
    sdk.api.base_url = BASE_URL
    return sdk


# --- the instance, key for key ------------------------------------------------------------------


def test_keys_are_the_documented_response_s_plus_subresource_uris() -> None:
    body = incoming_phone_number_json(NUMBER)
    assert set(body) == set(DOCS_INSTANCE) | {"subresource_uris"}
    assert set(body["capabilities"]) == set(DOCS_INSTANCE["capabilities"])


def test_every_schema_property_is_there_with_its_json_type() -> None:
    body = incoming_phone_number_json(NUMBER)
    assert set(OAI_PROPERTIES) <= set(body)
    assert set(body) - set(OAI_PROPERTIES) == {"type", "subresource_uris"}
    for key, kind in OAI_PROPERTIES.items():
        assert body[key] is None or isinstance(body[key], JSON_TYPES[kind]), key
    assert all(isinstance(flag, bool) for flag in body["capabilities"].values())
    for key, allowed in OAI_ENUMS.items():
        assert body[key] in allowed, key


def test_types_match_the_documented_response_wherever_both_are_set() -> None:
    body = incoming_phone_number_json(NUMBER)
    for key, documented in DOCS_INSTANCE.items():
        if documented is not None and body[key] is not None:
            assert type(body[key]) is type(documented), key


def test_an_sms_only_number_with_twilio_s_defaults_for_the_rest() -> None:
    base = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{NUMBER.sid}"
    assert incoming_phone_number_json(NUMBER) == {
        "account_sid": ACCOUNT,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": "2010-04-01",
        "beta": False,
        "capabilities": {"voice": False, "sms": True, "mms": False, "fax": False},
        "date_created": "Sun, 01 Mar 2026 12:34:56 +0000",
        "date_updated": "Mon, 02 Mar 2026 08:00:01 +0000",
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "friendly_name": "alice",
        "identity_sid": None,
        "origin": "hosted",
        "phone_number": "+15550001001",
        "sid": NUMBER.sid,
        "sms_application_sid": "",
        "sms_fallback_method": "POST",
        "sms_fallback_url": "",
        "sms_method": "POST",
        "sms_url": "https://example.com/sms",
        "status_callback": "",
        "status_callback_method": "POST",
        "trunk_sid": None,
        "uri": f"{base}.json",
        "voice_application_sid": "",
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_url": None,
        "bundle_sid": None,
        "voice_receive_mode": "voice",
        "status": "in-use",
        "type": "mobile",
        "subresource_uris": {"assigned_add_ons": f"{base}/AssignedAddOns.json"},
    }
    assert incoming_phone_number_uri(ACCOUNT, NUMBER.sid) == f"{base}.json"


def test_unset_urls_are_empty_strings_as_twilio_shows_them_and_set_ones_are_kept() -> None:
    unset = incoming_phone_number_json(replace(NUMBER, sms_url=None))
    assert unset["sms_url"] == DOCS_INSTANCE["sms_url"] == ""
    assert unset["sms_fallback_url"] == DOCS_INSTANCE["sms_fallback_url"] == ""
    assert unset["status_callback"] == DOCS_INSTANCE["status_callback"] == ""
    updated = replace(
        NUMBER,
        sms_method="GET",
        sms_fallback_url="https://example.com/fallback",
        sms_fallback_method="GET",
        status_callback="https://example.com/status",
    )
    body = incoming_phone_number_json(updated)
    assert (body["sms_method"], body["sms_fallback_method"]) == ("GET", "GET")
    assert body["sms_fallback_url"] == "https://example.com/fallback"
    assert body["status_callback"] == "https://example.com/status"
    # A number here has no StatusCallbackMethod of its own: its callbacks are POSTed.
    assert body["status_callback_method"] == "POST"


def test_dates_are_rfc_2822_in_utc_whatever_zone_they_come_in() -> None:
    paris = timezone(timedelta(hours=1))
    body = incoming_phone_number_json(
        replace(NUMBER, date_created=datetime(2026, 3, 1, 13, 34, 56, tzinfo=paris))
    )
    assert body["date_created"] == "Sun, 01 Mar 2026 12:34:56 +0000"
    assert RFC2822.match(body["date_created"]) and RFC2822.match(body["date_updated"])
    assert RFC2822.match(DOCS_INSTANCE["date_created"])
    assert deserialize.rfc2822_datetime(body["date_updated"]) == UPDATED


def test_the_json_survives_a_round_trip_unchanged() -> None:
    body = incoming_phone_number_json(NUMBER)
    assert json.loads(json.dumps(body)) == body


# --- what the installed twilio package reads ----------------------------------------------------


def test_every_key_twilio_python_reads_is_there() -> None:
    source = inspect.getsource(IncomingPhoneNumberInstance.__init__)
    read = set(re.findall(r'payload\.get\(\s*"(\w+)"\s*\)', source))
    assert len(read) >= len(OAI_PROPERTIES)  # the pattern still finds what it reads
    assert read <= set(incoming_phone_number_json(NUMBER))


def test_the_list_filters_are_those_twilio_python_sends() -> None:
    source = inspect.getsource(IncomingPhoneNumberList.page)
    sent = re.findall(r'^\s*"(\w+)":', source, re.MULTILINE)
    paging = ["PageToken", "Page", "PageSize"]
    assert [name for name in sent if name not in paging] == list(INCOMING_PHONE_NUMBER_FILTERS)


def test_twilio_python_builds_an_instance_from_it() -> None:
    sdk = client(FakeTwilioHttp())
    instance = IncomingPhoneNumberInstance(
        sdk.api.v2010, incoming_phone_number_json(NUMBER), account_sid=ACCOUNT
    )
    assert instance.sid == NUMBER.sid
    assert instance.account_sid == ACCOUNT
    assert instance.phone_number == "+15550001001"
    assert instance.date_created == CREATED and instance.date_updated == UPDATED
    assert instance.capabilities == {"voice": False, "sms": True, "mms": False, "fax": False}
    assert instance.sms_url == "https://example.com/sms"
    assert instance.voice_url is None
    assert instance.beta is False
    assert instance.status == "in-use"
    assert instance.uri == incoming_phone_number_uri(ACCOUNT, NUMBER.sid)


# --- the list envelopes -------------------------------------------------------------------------


def test_the_list_envelope_has_the_documented_keys() -> None:
    body = incoming_phone_numbers_page_json(
        LIST_PATH, LIST_PATH, numbers=[NUMBER], page=0, page_size=50, has_more=False
    )
    assert set(body) == set(DOCS_LIST_EXAMPLE) == LIST_META_KEYS | {INCOMING_PHONE_NUMBERS_KEY}
    assert set(body) - Page.META_KEYS == {INCOMING_PHONE_NUMBERS_KEY}
    assert body[INCOMING_PHONE_NUMBERS_KEY] == [incoming_phone_number_json(NUMBER)]
    for key in ("end", "page", "page_size", "start"):
        assert type(body[key]) is type(DOCS_LIST_EXAMPLE[key]) is int, key


def test_the_first_page_uri_carries_the_filters_first_as_twilio_s_does() -> None:
    filters = [("FriendlyName", "friendly_name"), ("Beta", "true"), ("PhoneNumber", "+19876543210")]
    body = incoming_phone_numbers_page_json(
        LIST_PATH, "ignored", numbers=[], page=0, page_size=50, has_more=False, filters=filters
    )
    documented = DOCS_LIST_EXAMPLE["first_page_uri"].replace(
        "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ACCOUNT
    )
    assert body["first_page_uri"] == documented
    assert body[INCOMING_PHONE_NUMBERS_KEY] == []
    assert (body["start"], body["end"]) == (0, 0)
    assert body["next_page_uri"] is None and body["previous_page_uri"] is None


def test_paging_uris_carry_tokens_and_start_end_count_from_the_page() -> None:
    numbers = [number(3), number(4)]
    body = incoming_phone_numbers_page_json(
        LIST_PATH,
        f"{LIST_PATH}?PageSize=2&Page=1",
        numbers=numbers,
        page=1,
        page_size=2,
        has_more=True,
        filters=[("Origin", "hosted")],
    )
    assert body["uri"] == f"{LIST_PATH}?PageSize=2&Page=1"
    assert body["first_page_uri"] == f"{LIST_PATH}?Origin=hosted&PageSize=2&Page=0"
    assert body["next_page_uri"] == (
        f"{LIST_PATH}?Origin=hosted&PageSize=2&Page=2&PageToken=PA{numbers[-1].sid}"
    )
    assert body["previous_page_uri"] == (
        f"{LIST_PATH}?Origin=hosted&PageSize=2&Page=0&PageToken=PB{numbers[0].sid}"
    )
    assert (body["page"], body["page_size"], body["start"], body["end"]) == (1, 2, 2, 3)


def test_the_media_list_is_empty_with_the_same_envelope() -> None:
    body = media_page_json(MEDIA_PATH, f"{MEDIA_PATH}?PageSize=50", 50)
    assert body == {
        "end": 0,
        "first_page_uri": f"{MEDIA_PATH}?PageSize=50&Page=0",
        "media_list": [],
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
        "previous_page_uri": None,
        "start": 0,
        "uri": f"{MEDIA_PATH}?PageSize=50",
    }
    assert set(body) == LIST_META_KEYS | {MEDIA_LIST_KEY}
    assert set(body) - Page.META_KEYS == {MEDIA_LIST_KEY}
    later = media_page_json(MEDIA_PATH, "x", 10, page=3, filters=[("DateCreated", "2026-03-01")])
    assert later["first_page_uri"] == f"{MEDIA_PATH}?DateCreated=2026-03-01&PageSize=10&Page=0"
    assert later["page"] == 3 and later["previous_page_uri"] is None


def test_twilio_python_builds_its_pages_from_them() -> None:
    sdk = client(FakeTwilioHttp())
    numbers_page = IncomingPhoneNumberPage(
        sdk.api.v2010,
        Response(200, json.dumps(_numbers_page([number(1), number(2)], 0, 2, has_more=True))),
        solution={"account_sid": ACCOUNT},
    )
    assert [n.sid for n in numbers_page] == [number(1).sid, number(2).sid]
    assert numbers_page.next_page_url == (
        f"{BASE_URL}{LIST_PATH}?PageSize=2&Page=1&PageToken=PA{number(2).sid}"
    )
    assert numbers_page.previous_page_url is None
    media = MediaPage(
        sdk.api.v2010,
        Response(200, json.dumps(media_page_json(MEDIA_PATH, MEDIA_PATH, 50))),
        solution={"account_sid": ACCOUNT, "message_sid": MESSAGE_SID},
    )
    assert list(media) == []


# --- through the SDK's own calls ----------------------------------------------------------------


class FakeTwilioHttp:
    """Stands in for twilio's HttpClient: answers the IncomingPhoneNumbers and Media requests
    with this module's JSON, from its own numbers, and records what was asked."""

    is_async = False

    def __init__(self, numbers: list[PhoneNumber] | None = None) -> None:
        self.numbers = list(numbers or [])
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        url = urlsplit(uri)
        query = {**dict(parse_qsl(url.query)), **{k: str(v) for k, v in (params or {}).items()}}
        self.requests.append(
            (method, url.path, {**query, **{k: str(v) for k, v in (data or {}).items()}})
        )
        assert url.geturl().startswith(BASE_URL)
        if url.path == LIST_PATH and method == "GET":
            return self._list(url.path, query)
        if url.path == MEDIA_PATH and method == "GET":
            size = int(query.get("PageSize", "50"))
            return Response(200, json.dumps(media_page_json(url.path, url.path, size)))
        for index, n in enumerate(self.numbers):
            if url.path == incoming_phone_number_uri(ACCOUNT, n.sid):
                if method == "POST":
                    form = {k: str(v) for k, v in (data or {}).items()}
                    self.numbers[index] = _updated(n, form)
                return Response(200, json.dumps(incoming_phone_number_json(self.numbers[index])))
        return Response(404, json.dumps({"code": 20404, "message": "not found", "status": 404}))

    def _list(self, path: str, query: dict[str, str]) -> Response:
        size = int(query.get("PageSize", "50"))
        page = int(query.get("Page", "0"))
        matching = [
            n
            for n in self.numbers
            if query.get("FriendlyName") in (None, n.friendly_name)
            and query.get("PhoneNumber") in (None, n.number)
        ]
        token = query.get("PageToken", "")
        if token.startswith("PA"):
            after = [n.sid for n in matching].index(token[2:]) + 1
            matching = matching[after:]
        chosen = matching[:size]
        filters = [(k, query[k]) for k in INCOMING_PHONE_NUMBER_FILTERS if k in query]
        body = incoming_phone_numbers_page_json(
            path,
            f"{path}?{urlencode(query)}",
            numbers=chosen,
            page=page,
            page_size=size,
            has_more=len(matching) > size,
            filters=filters,
        )
        return Response(200, json.dumps(body))


def _updated(n: PhoneNumber, form: dict[str, str]) -> PhoneNumber:
    return replace(
        n,
        sms_url=form.get("SmsUrl", n.sms_url),
        sms_method=form.get("SmsMethod", n.sms_method),
        sms_fallback_url=form.get("SmsFallbackUrl", n.sms_fallback_url),
        sms_fallback_method=form.get("SmsFallbackMethod", n.sms_fallback_method),
        status_callback=form.get("StatusCallback", n.status_callback),
        date_updated=n.date_updated + timedelta(minutes=1),
    )


def _numbers_page(
    numbers: list[PhoneNumber], page: int, size: int, *, has_more: bool
) -> dict[str, Any]:
    return incoming_phone_numbers_page_json(
        LIST_PATH, LIST_PATH, numbers=numbers, page=page, page_size=size, has_more=has_more
    )


def test_the_sdk_lists_every_number_following_next_page_uri() -> None:
    http = FakeTwilioHttp([number(i) for i in range(5)])
    listed = client(http).incoming_phone_numbers.list(page_size=2)
    assert [n.sid for n in listed] == [number(i).sid for i in range(5)]
    assert all(n.capabilities["sms"] and not n.capabilities["voice"] for n in listed)
    pages = [query for _, path, query in http.requests if path == LIST_PATH]
    assert [q.get("Page") for q in pages] == [None, "1", "2"]
    assert pages[2]["PageToken"] == "PA" + number(3).sid


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"phone_number": "+15550000002"}, {"PhoneNumber": "+15550000002"}),
        ({"friendly_name": "modem 1"}, {"FriendlyName": "modem 1"}),
        ({"beta": False, "origin": "hosted"}, {"Beta": "false", "Origin": "hosted"}),
    ],
)
def test_the_sdk_s_list_filters_arrive_as_twilio_names_them(
    arguments: dict[str, Any], expected: dict[str, str]
) -> None:
    http = FakeTwilioHttp([number(i) for i in range(3)])
    client(http).incoming_phone_numbers.list(**arguments)
    _, _, query = http.requests[0]
    assert {k: v for k, v in query.items() if k != "PageSize"} == expected


def test_the_sdk_fetches_and_updates_a_number() -> None:
    http = FakeTwilioHttp([NUMBER])
    sdk = client(http)
    fetched = sdk.incoming_phone_numbers(NUMBER.sid).fetch()
    assert (fetched.sid, fetched.phone_number, fetched.sms_url) == (
        NUMBER.sid,
        "+15550001001",
        "https://example.com/sms",
    )
    updated = sdk.incoming_phone_numbers(NUMBER.sid).update(
        sms_url="https://example.com/new",
        sms_method="GET",
        sms_fallback_url="https://example.com/fallback",
        sms_fallback_method="GET",
        status_callback="https://example.com/status",
    )
    method, path, form = http.requests[-1]
    assert (method, path) == ("POST", incoming_phone_number_uri(ACCOUNT, NUMBER.sid))
    assert form == {
        "SmsUrl": "https://example.com/new",
        "SmsMethod": "GET",
        "SmsFallbackUrl": "https://example.com/fallback",
        "SmsFallbackMethod": "GET",
        "StatusCallback": "https://example.com/status",
    }
    assert updated.sms_url == "https://example.com/new"
    assert updated.sms_method == "GET" and updated.sms_fallback_method == "GET"
    assert updated.status_callback == "https://example.com/status"
    assert updated.date_updated == UPDATED + timedelta(minutes=1)


def test_the_sdk_lists_a_message_s_media_as_nothing() -> None:
    http = FakeTwilioHttp()
    assert client(http).messages(MESSAGE_SID).media.list() == []
    assert http.requests[0][:2] == ("GET", MEDIA_PATH)
