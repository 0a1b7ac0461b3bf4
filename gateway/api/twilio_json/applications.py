"""Twilio's JSON for the Application resource and its list, key for key.

Pure: no I/O, nothing of aiohttp. Where the shape comes from:

* twilio-oai ``spec/json/twilio_api_v2010.json``, schema ``api.v2010.account.application``:
  21 properties, every one nullable; the methods ``GET|POST``; ``voice_caller_id_lookup`` and
  ``public_application_connect_enabled`` booleans; ``date_created`` and ``date_updated`` in
  RFC 2822. Its ``ListApplicationResponse`` is ``applications`` in Twilio's list envelope
  (:mod:`.envelope`), nothing else.
* Its documented responses (``ListApplication`` example ``readFull``, the same values
  twilio-python's generated tests use): a URL never set is ``null`` (unlike an
  IncomingPhoneNumber's ``""``), every method ``"POST"`` unless set, both booleans ``false``.
* twilio-python (9.13, installed here) ``twilio/rest/api/v2010/account/application.py``:
  ``ApplicationInstance`` reads exactly these 21 keys; ``ApplicationPage`` takes the list
  under ``applications``; the list filter is ``FriendlyName``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from gateway.api.page_tokens import sid_tokens
from gateway.api.twilio_json.dates import rfc2822
from gateway.api.twilio_json.envelope import list_envelope
from gateway.domain.models import API_VERSION
from gateway.domain.records import Application

APPLICATIONS_KEY: Final = "applications"
# The list filter twilio-python sends for Applications (besides the paging ones).
APPLICATION_FILTERS: Final = ("FriendlyName",)


def application_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Applications/{sid}.json"


def application_json(a: Application) -> dict[str, Any]:
    return {
        "account_sid": a.account_sid,
        "api_version": a.api_version,
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_updated),
        "friendly_name": a.friendly_name,
        "message_status_callback": a.message_status_callback,
        "sid": a.sid,
        "sms_fallback_method": a.sms_fallback_method,
        "sms_fallback_url": a.sms_fallback_url,
        "sms_method": a.sms_method,
        "sms_status_callback": a.sms_status_callback,
        "sms_url": a.sms_url,
        "status_callback": a.status_callback,
        "status_callback_method": a.status_callback_method,
        "uri": application_uri(a.account_sid, a.sid),
        "voice_caller_id_lookup": a.voice_caller_id_lookup,
        "voice_fallback_method": a.voice_fallback_method,
        "voice_fallback_url": a.voice_fallback_url,
        "voice_method": a.voice_method,
        "voice_url": a.voice_url,
        "public_application_connect_enabled": a.public_application_connect_enabled,
    }


def applications_page_json(
    path: str,
    request_uri: str,
    *,
    applications: Sequence[Application],
    page: int,
    page_size: int,
    has_more: bool,
    filters: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The list envelope around ``applications`` (this page's, in list order): as for the
    other lists, ``next_page_uri`` carries ``PageToken=PA<last SID>`` when ``has_more``,
    ``previous_page_uri`` ``PageToken=PB<first SID>`` after the first page."""
    sids = [a.sid for a in applications]
    next_token, previous_token = sid_tokens(sids, page=page, has_more=has_more)
    return list_envelope(
        path,
        request_uri,
        APPLICATIONS_KEY,
        [application_json(a) for a in applications],
        page=page,
        page_size=page_size,
        filters=filters,
        next_token=next_token,
        previous_token=previous_token,
    )
