"""Twilio's JSON for the IncomingPhoneNumber resource and its list, key for key, straight from
the gateway's :class:`~gateway.domain.records.PhoneNumber` record.

Pure: no I/O, nothing of aiohttp. Where the shapes come from:

* twilio-oai ``spec/json/twilio_api_v2010.json``, schema
  ``api.v2010.account.incoming_phone_number``: every property nullable; ``capabilities`` an
  object of the booleans ``voice``, ``sms``, ``mms`` and ``fax``; ``date_created`` and
  ``date_updated`` in RFC 2822; ``emergency_status`` is ``Active|Inactive``,
  ``emergency_address_status`` ``registered|unregistered|...``, ``voice_receive_mode``
  ``voice|fax``, ``address_requirements`` ``none|any|local|foreign``; ``status`` a plain string.
  Its list response ``ListIncomingPhoneNumberResponse`` is the list (``incoming_phone_numbers``)
  in Twilio's list envelope (:mod:`.envelope`).
* twilio-python (9.13, installed here) ``twilio/rest/api/v2010/account/incoming_phone_number/
  __init__.py``: ``IncomingPhoneNumberInstance`` reads the schema's keys plus ``type``; the list
  filters are ``Beta``, ``FriendlyName``, ``PhoneNumber`` and ``Origin``.
* Twilio's documented responses for the resource (create, update, list; twilio-python's
  generated integration tests use the same values): an unset ``sms_url``, ``sms_fallback_url`` or
  ``status_callback`` is ``""``, as are ``sms_application_sid`` and ``voice_application_sid``;
  an unset ``voice_url``, ``voice_fallback_url`` or ``trunk_sid`` is ``null``; every method
  defaults to ``"POST"``; ``status`` is ``"in-use"`` and ``voice_receive_mode`` ``"voice"``.

For a SIM in a modem (no voice carried, nothing regulatory): capabilities say SMS only, every SID
Twilio would link (address, identity, bundle, emergency address) is null, emergency calling is
``Inactive`` and its address ``unregistered``, ``origin`` is ``"hosted"`` (the number is not
Twilio's) and ``type`` is ``"mobile"``. ``subresource_uris`` carries ``assigned_add_ons`` as an
older documented response of Twilio's did; the current schema does not list it and no client
reads it. ``status_callback_method`` is ``"POST"``: a number here has no other. ``voice_url``
and its fallback are where a missed call is reported (the modem never answers one:
:mod:`gateway.inbound.calls`), unset ``null`` as Twilio shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from gateway.api.page_tokens import sid_tokens
from gateway.api.twilio_json.dates import rfc2822
from gateway.api.twilio_json.envelope import list_envelope
from gateway.domain.models import API_VERSION
from gateway.domain.records import PhoneNumber

INCOMING_PHONE_NUMBERS_KEY: Final = "incoming_phone_numbers"
# The list filters twilio-python sends for IncomingPhoneNumbers (besides the paging ones).
INCOMING_PHONE_NUMBER_FILTERS: Final = ("Beta", "FriendlyName", "PhoneNumber", "Origin")


def incoming_phone_number_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json"


def incoming_phone_number_json(n: PhoneNumber) -> dict[str, Any]:
    """What the API shows of one of the gateway's numbers; a URL the owner never set
    (``None``) is shown as ``""``, as Twilio shows it."""
    base = f"/{API_VERSION}/Accounts/{n.account_sid}/IncomingPhoneNumbers/{n.sid}"
    return {
        "account_sid": n.account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "capabilities": {"voice": False, "sms": True, "mms": False, "fax": False},
        "date_created": rfc2822(n.date_created),
        "date_updated": rfc2822(n.date_updated),
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "friendly_name": n.friendly_name,
        "identity_sid": None,
        "origin": "hosted",
        "phone_number": n.number,
        "sid": n.sid,
        "sms_application_sid": n.sms_application_sid or "",
        "sms_fallback_method": n.sms_fallback_method,
        "sms_fallback_url": n.sms_fallback_url or "",
        "sms_method": n.sms_method,
        "sms_url": n.sms_url or "",
        "status_callback": n.status_callback or "",
        "status_callback_method": "POST",
        "trunk_sid": None,
        "uri": f"{base}.json",
        "voice_application_sid": "",
        "voice_caller_id_lookup": False,
        "voice_fallback_method": n.voice_fallback_method,
        "voice_fallback_url": n.voice_fallback_url,
        "voice_method": n.voice_method,
        "voice_url": n.voice_url,
        "bundle_sid": None,
        "voice_receive_mode": "voice",
        "status": "in-use",
        "type": "mobile",
        "subresource_uris": {"assigned_add_ons": f"{base}/AssignedAddOns.json"},
    }


def incoming_phone_numbers_page_json(
    path: str,
    request_uri: str,
    *,
    numbers: Sequence[PhoneNumber],
    page: int,
    page_size: int,
    has_more: bool,
    filters: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The list envelope around ``numbers`` (this page's, in the caller's order):
    ``next_page_uri`` carries ``PageToken=PA<last SID>`` when ``has_more``,
    ``previous_page_uri`` ``PageToken=PB<first SID>`` after the first page."""
    next_token, previous_token = sid_tokens([n.sid for n in numbers], page=page, has_more=has_more)
    return list_envelope(
        path,
        request_uri,
        INCOMING_PHONE_NUMBERS_KEY,
        [incoming_phone_number_json(n) for n in numbers],
        page=page,
        page_size=page_size,
        filters=filters,
        next_token=next_token,
        previous_token=previous_token,
    )
