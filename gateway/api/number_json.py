"""Twilio's JSON for the IncomingPhoneNumber resource and the Media list, key for key.

Pure: no I/O, nothing of aiohttp. Where the shapes come from:

* twilio-oai ``spec/json/twilio_api_v2010.json``, schema
  ``api.v2010.account.incoming_phone_number``: every property nullable; ``capabilities`` an
  object of the booleans ``voice``, ``sms``, ``mms`` and ``fax``; ``date_created`` and
  ``date_updated`` in RFC 2822; ``emergency_status`` is ``Active|Inactive``,
  ``emergency_address_status`` ``registered|unregistered|...``, ``voice_receive_mode``
  ``voice|fax``, ``address_requirements`` ``none|any|local|foreign``; ``status`` a plain string.
  Its list responses ``ListIncomingPhoneNumberResponse`` and ``ListMediaResponse`` (as the
  clients generated from it show them) are the list (``incoming_phone_numbers``, ``media_list``)
  plus ``end``, ``first_page_uri``, ``next_page_uri``, ``page``, ``page_size``,
  ``previous_page_uri``, ``start`` and ``uri``: no ``total``, ``num_pages`` or ``last_page_uri``.
* twilio-python (9.13, installed here) ``twilio/rest/api/v2010/account/incoming_phone_number/
  __init__.py``: ``IncomingPhoneNumberInstance`` reads the schema's keys plus ``type``; the list
  filters are ``Beta``, ``FriendlyName``, ``PhoneNumber`` and ``Origin``. ``message/media.py``:
  ``MediaPage`` takes ``media_list``. ``twilio.base.page.Page`` refuses a page whose keys, less
  the known meta keys, are not exactly one (the list).
* Twilio's documented responses for the resource (create, update, list; twilio-python's
  generated integration tests use the same values): an unset ``sms_url``, ``sms_fallback_url`` or
  ``status_callback`` is ``""``, as are ``sms_application_sid`` and ``voice_application_sid``;
  an unset ``voice_url``, ``voice_fallback_url`` or ``trunk_sid`` is ``null``; every method
  defaults to ``"POST"``; ``status`` is ``"in-use"`` and ``voice_receive_mode`` ``"voice"``.

For a SIM in a modem (nothing voice, nothing regulatory): capabilities say SMS only, every SID
Twilio would link (address, identity, bundle, emergency address) is null, emergency calling is
``Inactive`` and its address ``unregistered``, ``origin`` is ``"hosted"`` (the number is not
Twilio's) and ``type`` is ``"mobile"``. ``subresource_uris`` carries ``assigned_add_ons`` as an
older documented response of Twilio's did; the current schema does not list it and no client
reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from gateway.api.message_json import rfc2822
from gateway.domain.models import API_VERSION
from gateway.domain.records import PhoneNumber

INCOMING_PHONE_NUMBERS_KEY: Final = "incoming_phone_numbers"
MEDIA_LIST_KEY: Final = "media_list"
# The list filters twilio-python sends for IncomingPhoneNumbers (besides the paging ones).
INCOMING_PHONE_NUMBER_FILTERS: Final = ("Beta", "FriendlyName", "PhoneNumber", "Origin")


@dataclass(frozen=True, slots=True)
class NumberView:
    """What the gateway knows of one of its numbers.

    ``sid`` is "PN" and 32 hex digits, ``phone_number`` E.164, the dates UTC. A URL the owner
    never set is ``None`` (Twilio shows it as ``""``).
    """

    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    sms_url: str | None
    sms_method: str
    sms_fallback_url: str | None
    sms_fallback_method: str
    status_callback: str | None
    date_created: datetime
    date_updated: datetime
    status_callback_method: str = "POST"
    sms_application_sid: str | None = None  # shown as "" when unset, as Twilio does


def view(number: PhoneNumber) -> NumberView:
    """What the API shows of one of the gateway's numbers."""
    return NumberView(
        sid=number.sid,
        account_sid=number.account_sid,
        phone_number=number.number,
        friendly_name=number.friendly_name,
        sms_url=number.sms_url,
        sms_method=number.sms_method,
        sms_fallback_url=number.sms_fallback_url,
        sms_fallback_method=number.sms_fallback_method,
        status_callback=number.status_callback,
        date_created=number.date_created,
        date_updated=number.date_updated,
        sms_application_sid=number.sms_application_sid,
    )


def incoming_phone_number_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json"


def incoming_phone_number_json(n: NumberView) -> dict[str, Any]:
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
        "phone_number": n.phone_number,
        "sid": n.sid,
        "sms_application_sid": n.sms_application_sid or "",
        "sms_fallback_method": n.sms_fallback_method,
        "sms_fallback_url": n.sms_fallback_url or "",
        "sms_method": n.sms_method,
        "sms_url": n.sms_url or "",
        "status_callback": n.status_callback or "",
        "status_callback_method": n.status_callback_method,
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


def incoming_phone_numbers_page_json(
    path: str,
    request_uri: str,
    *,
    numbers: Sequence[NumberView],
    page: int,
    page_size: int,
    has_more: bool,
    filters: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The list envelope around ``numbers`` (this page's, in the caller's order).

    As ``gateway.api.message_json.page_json``: ``next_page_uri`` carries ``PageToken=PA<last SID>``
    when ``has_more``, ``previous_page_uri`` ``PageToken=PB<first SID>`` after the first page.
    """
    return list_envelope(
        path,
        request_uri,
        INCOMING_PHONE_NUMBERS_KEY,
        [incoming_phone_number_json(n) for n in numbers],
        [n.sid for n in numbers],
        page=page,
        page_size=page_size,
        has_more=has_more,
        filters=filters,
    )


def media_page_json(
    path: str,
    request_uri: str,
    page_size: int,
    *,
    page: int = 0,
    filters: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A message's Media list: always empty, the gateway carries no MMS."""
    return list_envelope(
        path,
        request_uri,
        MEDIA_LIST_KEY,
        [],
        [],
        page=page,
        page_size=page_size,
        has_more=False,
        filters=filters,
    )


def list_envelope(
    path: str,
    request_uri: str,
    key: str,
    items: list[dict[str, Any]],
    sids: list[str],
    *,
    page: int,
    page_size: int,
    has_more: bool,
    filters: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """Twilio's list envelope: ``items`` (the JSON of the resources whose SIDs are ``sids``)
    under ``key``, and the paging keys (see :func:`incoming_phone_numbers_page_json`)."""

    def uri(page_number: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
        if token is not None:
            query.append(("PageToken", token))
        return f"{path}?{urlencode(query)}"

    start = page * page_size
    next_uri = uri(page + 1, "PA" + sids[-1]) if has_more and sids else None
    previous_uri = uri(page - 1, "PB" + sids[0]) if page > 0 and sids else None
    return {
        "end": start + len(items) - 1 if items else 0,
        "first_page_uri": uri(0),
        key: items,
        "next_page_uri": next_uri,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": previous_uri,
        "start": start if items else 0,
        "uri": request_uri,
    }
