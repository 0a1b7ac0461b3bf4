"""The Application JSON of :mod:`gateway.api.twilio_json.applications` against Twilio's own
shapes: the OpenAPI schema's properties, a documented response, and what the installed
``twilio`` package reads and sends (``twilio/rest/api/v2010/account/application.py``)."""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from twilio.base.page import Page
from twilio.rest import Client
from twilio.rest.api.v2010.account.application import (
    ApplicationInstance,
    ApplicationList,
)

from gateway.api.twilio_json.applications import (
    APPLICATION_FILTERS,
    APPLICATIONS_KEY,
    application_json,
    application_uri,
    applications_page_json,
)
from gateway.domain.records import Application

ACCOUNT: Final = "AC" + "0123456789abcdef" * 2
LIST_PATH: Final = f"/2010-04-01/Accounts/{ACCOUNT}/Applications.json"
CREATED: Final = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)
UPDATED: Final = datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC)

# An application created with nothing but a name: Twilio's defaults.
APPLICATION: Final = replace(
    Application.new("AP" + "1f" * 16, ACCOUNT, "2010-04-01", CREATED),
    friendly_name="alerts",
    date_updated=UPDATED,
)

# twilio-oai ``spec/json/twilio_api_v2010.json`` (commit d50069b44ea8), ``ListApplication``
# example ``readFull``: an application as Twilio lists it, nothing set but its name.
DOCS_INSTANCE: Final[dict[str, Any]] = json.loads(
    """
{
  "account_sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "api_version": "2010-04-01",
  "date_created": "Fri, 21 Aug 2015 00:07:25 +0000",
  "date_updated": "Fri, 21 Aug 2015 00:07:25 +0000",
  "friendly_name": "d8821fb7-4d01-48b2-bdc5-34e46252b90b",
  "message_status_callback": null,
  "sid": "APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "sms_fallback_method": "POST",
  "sms_fallback_url": null,
  "sms_method": "POST",
  "sms_status_callback": null,
  "sms_url": null,
  "status_callback": null,
  "status_callback_method": "POST",
  "uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Applications/APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json",
  "voice_caller_id_lookup": false,
  "voice_fallback_method": "POST",
  "voice_fallback_url": null,
  "voice_method": "POST",
  "voice_url": null,
  "public_application_connect_enabled": false
}"""  # noqa: E501 (verbatim)
)
# The properties of ``api.v2010.account.application`` in the same spec, every one nullable:
# JSON type of each.
OAI_PROPERTIES: Final[dict[str, str]] = {
    "account_sid": "string",
    "api_version": "string",
    "date_created": "string",
    "date_updated": "string",
    "friendly_name": "string",
    "message_status_callback": "string",
    "sid": "string",
    "sms_fallback_method": "string",
    "sms_fallback_url": "string",
    "sms_method": "string",
    "sms_status_callback": "string",
    "sms_url": "string",
    "status_callback": "string",
    "status_callback_method": "string",
    "uri": "string",
    "voice_caller_id_lookup": "boolean",
    "voice_fallback_method": "string",
    "voice_fallback_url": "string",
    "voice_method": "string",
    "voice_url": "string",
    "public_application_connect_enabled": "boolean",
}
OAI_METHODS: Final = (
    "sms_fallback_method",
    "sms_method",
    "status_callback_method",
    "voice_fallback_method",
    "voice_method",
)
JSON_TYPES: Final[dict[str, type]] = {"string": str, "boolean": bool}
RFC2822: Final = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")


def test_keys_are_the_schema_s_and_the_documented_response_s() -> None:
    body = application_json(APPLICATION)
    assert set(body) == set(OAI_PROPERTIES) == set(DOCS_INSTANCE)
    for key, kind in OAI_PROPERTIES.items():
        assert body[key] is None or isinstance(body[key], JSON_TYPES[kind]), key
    assert all(body[key] in ("GET", "POST") for key in OAI_METHODS)


def test_an_application_with_nothing_set_is_shown_as_twilio_shows_one() -> None:
    """twilio-oai ``ListApplication`` example ``readFull``: unset URLs ``null``, methods
    ``POST``, both booleans ``false``."""
    body = application_json(APPLICATION)
    differing = {"account_sid", "date_created", "date_updated", "friendly_name", "sid", "uri"}
    assert {k: v for k, v in body.items() if k not in differing} == {
        k: v for k, v in DOCS_INSTANCE.items() if k not in differing
    }
    assert body["uri"] == f"{LIST_PATH.removesuffix('.json')}/{APPLICATION.sid}.json"
    assert body["uri"] == application_uri(ACCOUNT, APPLICATION.sid)
    assert body["date_created"] == "Sun, 01 Mar 2026 12:34:56 +0000"
    assert RFC2822.match(body["date_updated"]) and RFC2822.match(DOCS_INSTANCE["date_created"])


def test_set_values_are_shown_as_set() -> None:
    configured = replace(
        APPLICATION,
        friendly_name=None,
        sms_url="https://example.com/sms",
        sms_method="GET",
        sms_fallback_url="https://example.com/fallback",
        message_status_callback="https://example.com/status",
        voice_caller_id_lookup=True,
    )
    body = application_json(configured)
    assert body["friendly_name"] is None
    assert (body["sms_url"], body["sms_method"]) == ("https://example.com/sms", "GET")
    assert body["sms_fallback_url"] == "https://example.com/fallback"
    assert body["message_status_callback"] == "https://example.com/status"
    assert body["voice_caller_id_lookup"] is True
    assert json.loads(json.dumps(body)) == body


def test_every_key_twilio_python_reads_is_there_and_it_builds_an_instance() -> None:
    source = inspect.getsource(ApplicationInstance.__init__)
    read = set(re.findall(r'payload\.get\(\s*"(\w+)"\s*\)', source))
    assert read == set(OAI_PROPERTIES)
    client = Client(ACCOUNT, "f" * 32)
    instance = ApplicationInstance(
        client.api.v2010, application_json(APPLICATION), account_sid=ACCOUNT
    )
    assert (instance.sid, instance.account_sid) == (APPLICATION.sid, ACCOUNT)
    assert instance.date_created == CREATED and instance.date_updated == UPDATED
    assert (instance.sms_url, instance.sms_method) == (None, "POST")
    assert instance.public_application_connect_enabled is False


def test_the_list_filters_are_those_twilio_python_sends() -> None:
    source = inspect.getsource(ApplicationList.page)
    sent = re.findall(r'^\s*"(\w+)":', source, re.MULTILINE)
    paging = ["PageToken", "Page", "PageSize"]
    assert [name for name in sent if name not in paging] == list(APPLICATION_FILTERS)


def test_the_list_envelope_is_the_list_and_the_paging_keys() -> None:
    second = replace(APPLICATION, sid="AP" + "2e" * 16)
    body = applications_page_json(
        LIST_PATH,
        f"{LIST_PATH}?PageSize=2&Page=1",
        applications=[APPLICATION, second],
        page=1,
        page_size=2,
        has_more=True,
        filters=[("FriendlyName", "alerts")],
    )
    assert set(body) - Page.META_KEYS == {APPLICATIONS_KEY}
    assert body[APPLICATIONS_KEY] == [application_json(APPLICATION), application_json(second)]
    assert body["first_page_uri"] == f"{LIST_PATH}?FriendlyName=alerts&PageSize=2&Page=0"
    assert body["next_page_uri"] == (
        f"{LIST_PATH}?FriendlyName=alerts&PageSize=2&Page=2&PageToken=PA{second.sid}"
    )
    assert body["previous_page_uri"] == (
        f"{LIST_PATH}?FriendlyName=alerts&PageSize=2&Page=0&PageToken=PB{APPLICATION.sid}"
    )
    assert (body["start"], body["end"]) == (2, 3)
