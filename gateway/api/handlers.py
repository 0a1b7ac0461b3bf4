"""The Twilio Message resource over HTTP: thin handlers that parse, call one service, serialise.

Routes (``../shared/docs/twilio-messages-api.md``):

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> 201 and the new message
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> a page, by DateSent, most recent first
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`` -> one message
* ``POST …/Messages/{Sid}.json`` -> redacted (``Body=""``) or canceled (``Status=canceled``)
* ``DELETE …/Messages/{Sid}.json`` -> 204 once final, 20009 while in progress
* ``GET  …/Messages/{Sid}/Media.json`` -> always empty (SMS only)
* ``POST …/Messages/{Sid}/Feedback.json`` -> 201, the message's Feedback
  (:mod:`gateway.domain.feedback`)
* ``GET  …/IncomingPhoneNumbers.json``, ``GET|POST …/IncomingPhoneNumbers/{Sid}.json`` -> the
  modems' numbers, and their SMS settings
* ``POST|GET …/Applications.json``, ``GET|POST|DELETE …/Applications/{Sid}.json`` -> the
  account's applications (:mod:`gateway.accounts.applications`)
* ``GET  /smsgw/modems.json`` -> the modems that carry the account's numbers (``smsgw modems``)
* ``GET  /smsgw/webhooks.json`` -> how the account's webhooks stand (``smsgw webhooks``)
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from gateway.accounts.applications import Applications
from gateway.accounts.numbers import PhoneNumbers
from gateway.api import page_tokens
from gateway.api.application_json import (
    APPLICATION_FILTERS,
    application_json,
    applications_page_json,
)
from gateway.api.auth import Authenticator, unauthorized
from gateway.api.feedback_json import feedback_json
from gateway.api.message_json import message_json, page_json
from gateway.api.number_json import (
    INCOMING_PHONE_NUMBER_FILTERS,
    incoming_phone_number_json,
    incoming_phone_numbers_page_json,
    media_page_json,
    view,
)
from gateway.api.openapi import openapi_document
from gateway.api.page_tokens import MessageToken
from gateway.domain.dates import parse_moment
from gateway.domain.errors import ApiError
from gateway.domain.feedback import outcome
from gateway.domain.integers import small_integer
from gateway.domain.models import API_VERSION, FINAL_STATUSES, Message, is_sid
from gateway.domain.records import Application, PhoneNumber
from gateway.modems.supervisor import ModemPool
from gateway.outbound.accept import Outbound
from gateway.store import ListPosition, MessageQuery, Messages, PageCursor

PREFIX: Final = f"/{API_VERSION}/Accounts/{{account}}"
MAX_PAGE_SIZE: Final = 1000
DEFAULT_PAGE_SIZE: Final = 50
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
_LIST_FILTERS: Final = (
    "To",
    "From",
    "DateSent",
    "DateSent<",
    "DateSent<=",
    "DateSent>",
    "DateSent>=",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    authenticator: Authenticator
    outbound: Outbound
    store: Messages
    modems: ModemPool
    numbers: PhoneNumbers
    applications: Applications


@dataclass(slots=True)
class RequestLimits:
    """What one request may take; a reload changes them in place, for the next request."""

    max_concurrent: int  # requests answered at once (max_concurrent_requests)
    body_timeout: float  # seconds to read a request's body


SERVICES: Final = web.AppKey("services", Services)
REQUEST_LIMITS: Final = web.AppKey("request_limits", RequestLimits)


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _not_found(request: web.Request) -> ApiError:
    return ApiError(20404, f"The requested resource {request.path} was not found", 404)


def authorize(request: web.Request) -> str:
    """The account the request acts for: its credentials' account, which must be the path's."""
    account = _services(request).authenticator.account_for(request.headers.get("Authorization"))
    path_account = request.match_info.get("account")
    if path_account is not None and path_account != account:
        raise unauthorized()
    return account


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The form parameters, or a Twilio-shaped 400 for a body that is not a UTF-8 form."""
    if not request.can_read_body:
        return MultiDictProxy(MultiDict())
    if request.content_type not in _FORM_TYPES:
        raise ApiError(
            20001,
            f"Expected form parameters (application/x-www-form-urlencoded), "
            f"got {request.content_type or 'no content type'}",
        )
    charset = (request.charset or "utf-8").lower()
    if charset not in ("utf-8", "utf8", "us-ascii", "ascii"):
        raise ApiError(20001, f"Form parameters must be UTF-8, not {request.charset}")
    seconds = request.app[REQUEST_LIMITS].body_timeout
    try:
        # A body sent a byte at a time would hold the connection, and the handler, for ever.
        async with asyncio.timeout(seconds):
            if request.content_type == "multipart/form-data":
                return await _multipart(request)
            raw = await request.read()
    except TimeoutError:
        message = f"Request Timeout: the request's body took longer than {seconds:g} s"
        raise ApiError(20001, message, 408, close=True) from None
    except (ConnectionError, web.RequestPayloadError) as exc:
        # The client went away, or its body is not valid HTTP (a bad chunk size...): the
        # connection cannot carry another request. The client's doing: no more than DEBUG.
        log.debug("%s %s: request body cut short or invalid: %s", request.method, request.path, exc)
        message = "The request body was cut short, or is not valid HTTP"
        raise ApiError(20001, message, 400, close=True) from None
    try:
        # Strictly: aiohttp's own parser replaces bytes that are not UTF-8, which would
        # silently change the text of a message.
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ApiError(20001, "The request body is not valid UTF-8 form data") from None
    return MultiDictProxy(MultiDict(pairs))


async def _multipart(request: web.Request) -> MultiDictProxy[str]:
    try:
        form = await request.post()
    except (UnicodeDecodeError, ValueError, LookupError) as exc:
        raise ApiError(20001, f"The request body is not valid form data: {exc}") from None
    if any(not isinstance(value, str) for value in form.values()):
        raise ApiError(20001, "File uploads are not accepted; send form parameters")
    return form  # type: ignore[return-value]


async def create_message(request: web.Request) -> web.Response:
    account = authorize(request)
    form = await read_form(request)
    media = len(form.getall("MediaUrl", []))
    message = await _services(request).outbound.create(account, form, media)
    return web.json_response(message_json(message), status=201)


def _message_sid(request: web.Request) -> str:
    sid = request.match_info["sid"]
    if not (is_sid(sid, "SM") or is_sid(sid, "MM")):
        raise _not_found(request)
    return sid


async def _message(request: web.Request, account: str) -> Message:
    message = await _services(request).store.get_message(account, _message_sid(request))
    if message is None:
        raise _not_found(request)
    return message


async def fetch_message(request: web.Request) -> web.Response:
    account = authorize(request)
    return web.json_response(message_json(await _message(request, account)))


async def update_message(request: web.Request) -> web.Response:
    """``Body=""`` redacts; ``Status=canceled`` cancels a message not sent yet."""
    account = authorize(request)
    form = await read_form(request)
    services = _services(request)
    message = await _message(request, account)
    status = form.get("Status")
    if status is not None:
        if status != "canceled":
            raise ApiError(20001, f"Invalid Status {status!r}: the only update is 'canceled'")
        message = await services.outbound.cancel(account, message.sid)
    body = form.get("Body")
    if body is not None:
        if body != "":
            raise ApiError(
                20001, "A message's Body can only be redacted: update it with Body set to ''"
            )
        message = await services.outbound.redact(account, message)
    return web.json_response(message_json(message))


async def delete_message(request: web.Request) -> web.Response:
    account = authorize(request)
    sid = _message_sid(request)
    message = await _services(request).store.delete_message(account, sid)
    if message is None:
        raise _not_found(request)
    if message.status not in FINAL_STATUSES:
        raise ApiError(
            20009,
            f"Cannot delete this resource before it is complete: {sid} is {message.status}",
            409,
        )
    return web.Response(status=204)


async def create_feedback(request: web.Request) -> web.Response:
    """A message's Feedback: only for one created with ``ProvideFeedback=true``. For any other
    the resource does not exist (Twilio's reference: "To track and provide Message Feedback for
    a Message, you must set the ProvideFeedback parameter to true when you first create the
    Message"), so the answer is the same 404 (20404) as for an unknown message."""
    account = authorize(request)
    form = await read_form(request)
    services = _services(request)
    message = await _message(request, account)
    feedback = None
    if message.provide_feedback:
        wanted = outcome(form)
        now = services.outbound.clock()
        feedback = await services.store.record_feedback(account, message.sid, wanted, now)
    if feedback is None:  # never asked for (or the message was deleted meanwhile)
        raise ApiError(
            20404,
            f"The requested resource {request.path} was not found: message {message.sid} was "
            "not created with ProvideFeedback=true",
            404,
        )
    return web.json_response(feedback_json(feedback), status=201)


async def list_media(request: web.Request) -> web.Response:
    account = authorize(request)
    page = _page(request.query)
    await _message(request, account)
    page_size = min(_int(request.query, "PageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    body = media_page_json(request.path, request.path_qs, page_size, page=page)
    return web.json_response(body)


async def fetch_media(request: web.Request) -> web.Response:
    account = authorize(request)
    await _message(request, account)
    raise _not_found(request)  # SMS only: a message has no media


async def list_numbers(request: web.Request) -> web.Response:
    account = authorize(request)
    query = request.query
    page = _page(query)
    page_size = min(_int(query, "PageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    numbers = _services(request).numbers.of_account(account)
    wanted = query.get("PhoneNumber")
    if wanted:
        # Twilio matches any part of the number: "555" finds +15550001001.
        digits = "".join(char for char in wanted if char.isdigit() or char == "*")
        numbers = [n for n in numbers if digits.replace("*", "") in n.number]
    if query.get("FriendlyName"):
        numbers = [n for n in numbers if n.friendly_name == query["FriendlyName"]]
    if query.get("Origin") not in (None, "", "hosted"):
        numbers = []  # these numbers are hosted on the gateway's SIMs, none is Twilio's
    filters = [(name, query[name]) for name in INCOMING_PHONE_NUMBER_FILTERS if query.get(name)]
    after = query.get("PageToken", "")[2:]
    start = next((i + 1 for i, n in enumerate(numbers) if n.sid == after), 0) if after else 0
    chosen = numbers[start : start + page_size]
    body = incoming_phone_numbers_page_json(
        request.path,
        request.path_qs,
        numbers=[view(number) for number in chosen],
        page=page,
        page_size=page_size,
        has_more=start + page_size < len(numbers),
        filters=filters,
    )
    return web.json_response(body)


def _number(request: web.Request, account: str) -> PhoneNumber:
    sid = request.match_info["sid"]
    number = _services(request).numbers.by_sid(account, sid) if is_sid(sid, "PN") else None
    if number is None:
        raise _not_found(request)
    return number


async def fetch_number(request: web.Request) -> web.Response:
    account = authorize(request)
    return web.json_response(incoming_phone_number_json(view(_number(request, account))))


async def update_number(request: web.Request) -> web.Response:
    account = authorize(request)
    form = await read_form(request)
    number = await _services(request).numbers.update(_number(request, account), form)
    return web.json_response(incoming_phone_number_json(view(number)))


async def create_application(request: web.Request) -> web.Response:
    account = authorize(request)
    form = await read_form(request)
    application = await _services(request).applications.create(account, form)
    return web.json_response(application_json(application), status=201)


async def list_applications(request: web.Request) -> web.Response:
    account = authorize(request)
    query = request.query
    page_size = min(_int(query, "PageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    page = _int(query, "Page", 0, 0)
    chosen, more = _services(request).applications.page(
        account, query.get("FriendlyName"), query.get("PageToken"), page_size
    )
    body = applications_page_json(
        request.path,
        request.path_qs,
        applications=chosen,
        page=page,
        page_size=page_size,
        has_more=more,
        filters=[(name, query[name]) for name in APPLICATION_FILTERS if query.get(name)],
    )
    return web.json_response(body)


def _application(request: web.Request, account: str) -> Application:
    application = _services(request).applications.get(account, request.match_info["sid"])
    if application is None:
        raise _not_found(request)
    return application


async def fetch_application(request: web.Request) -> web.Response:
    account = authorize(request)
    return web.json_response(application_json(_application(request, account)))


async def update_application(request: web.Request) -> web.Response:
    account = authorize(request)
    form = await read_form(request)
    updated = await _services(request).applications.update(_application(request, account), form)
    if updated is None:  # deleted while the request was read
        raise _not_found(request)
    return web.json_response(application_json(updated))


async def delete_application(request: web.Request) -> web.Response:
    account = authorize(request)
    if not await _services(request).applications.delete(_application(request, account)):
        raise _not_found(request)
    return web.Response(status=204)


def _int(query: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    value = small_integer(raw)
    if value is None or value < low:
        raise ApiError(20001, f"Invalid {name} {raw!r}: expected an integer of at least {low}")
    return value


def _page(query: Mapping[str, str]) -> int:
    """``Page``, "simply for client state": a page after the first is found by the
    ``PageToken`` of a ``next_page_uri`` (or ``previous_page_uri``) and only labelled by its
    number. Without a token, page N would be the first page labelled N: refused as Twilio
    refuses it (twilio-python issue #395: HTTP 400, 20001, "PageToken is required for
    paging.")."""
    page = _int(query, "Page", 0, 0)
    if page > 0 and not query.get("PageToken"):
        raise ApiError(
            20001,
            f"PageToken is required for paging: Page={page} is reached through the "
            "next_page_uri of the page before it",
        )
    return page


# The DateSent filters' keys, and the side of the day each bounds ("": the day itself).
_DATE_SENT: Final = {
    "DateSent": "",
    "DateSent<": "<",
    "DateSent<=": "<",
    "DateSent>": ">",
    "DateSent>=": ">",
}


def _date_sent(query: Mapping[str, str]) -> tuple[date | None, datetime | None, datetime | None]:
    """(the GMT day, sent at or before, sent at or after) that the DateSent filters ask for.

    The seed: "Specify a date as YYYY-MM-DD in GMT to read only messages sent on this date. ...
    You can also specify an inequality, such as DateSent<=YYYY-MM-DD, to read messages sent on
    or before midnight on a date, and DateSent>=YYYY-MM-DD to read messages sent on or after
    midnight on a date." Midnight on a date is read the same in both: the date's first instant,
    00:00:00 GMT. So ``DateSent<=2024-01-01`` lists what was sent up to 2024-01-01T00:00:00Z,
    that instant included (none of that day's later messages), and ``DateSent>=2024-01-01``
    what was sent from that instant on. A time given with the date is that moment (the seed's
    "sent between January 15th, 2021, 01:23:45 UTC and January 17th, 2021, 01:23:45 UTC"): a
    date reads as the twilio clients send a date object, ``2024-01-01T00:00:00Z``.

    ``DateSent<=2024-01-01`` in a URL is key ``DateSent<`` (its first ``=`` ends the key), as
    the clients send ``date_sent_before`` (``DateSent%3C=``); the operator may also come in the
    value (``DateSent=%3C%3D2024-01-01``, twilio-python's ``date_sent="<=YYYY-MM-DD"``) or
    whole in the key (``DateSent%3C%3D=``). Two bounds on one side: the narrower holds. Any
    other ``DateSent<…`` or ``DateSent>…`` key (``DateSent<2024-01-01``, with no ``=``) is
    refused rather than ignored: a list unfiltered by mistake looks like a filtered one.
    """
    day: date | None = None
    bounds: dict[str, list[datetime]] = {"<": [], ">": []}
    for name in query:
        if name.startswith(("DateSent<", "DateSent>")) and name not in _DATE_SENT:
            raise ApiError(
                20001,
                f"Invalid DateSent filter {name!r}: write DateSent<=YYYY-MM-DD (key "
                "DateSent<) or DateSent>=YYYY-MM-DD (key DateSent>)",
            )
    for name, operator in _DATE_SENT.items():
        raw = query.get(name)
        if not raw:
            continue
        in_value = not operator and raw[:2] in ("<=", ">=")
        side, text = (raw[0], raw[2:]) if in_value else (operator, raw)
        moment = parse_moment(text)
        if moment is None:
            raise ApiError(
                20001, f"Invalid {name} {query[name]!r}: expected a date such as 2024-05-31"
            )
        if side:
            bounds[side].append(moment)
        else:
            day = moment.date()
    return day, min(bounds["<"], default=None), max(bounds[">"], default=None)


def _cursor(query: Mapping[str, str], account: str) -> PageCursor | MessageToken | None:
    """What ``PageToken`` names (:mod:`gateway.api.page_tokens`); 20001 for anything else."""
    token = query.get("PageToken")
    if not token:
        return None
    try:
        return page_tokens.decode(token, account)
    except page_tokens.TokenError as exc:
        raise ApiError(20001, f"Invalid PageToken {token!r}: {exc}") from None


async def list_messages(request: web.Request) -> web.Response:
    """A page of the account's messages, sorted on DateSent, most recent first (the seed); the
    ones not sent yet first, those that ended unsent where they ended (gateway.store
    ListPosition). Its page tokens read the list as it stood at the first page
    (gateway.store.sqlite.listing), so paging stays exact while messages are being sent."""
    account = authorize(request)
    query = request.query
    page = _page(query)
    page_size = min(_int(query, "PageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    cursor = _cursor(query, account)
    on, sent_before, sent_after = _date_sent(query)
    filters = [(name, query[name]) for name in _LIST_FILTERS if query.get(name)]
    to, from_ = query.get("To"), query.get("From")
    outbound = _services(request).outbound
    named = cursor if isinstance(cursor, MessageToken) else None
    message_query = MessageQuery(
        # As the numbers are stored: a national number in E.164 by default_region.
        to=outbound.number_filter(to) if to else None,
        from_=outbound.number_filter(from_) if from_ else None,
        from_given=from_ or None,
        sent_on=on,
        sent_at_or_before=sent_before,
        sent_at_or_after=sent_after,
        page_size=page_size,
        cursor=cursor if isinstance(cursor, PageCursor) else None,
        after_sid=named.sid if named is not None and named.forward else None,
        before_sid=named.sid if named is not None and not named.forward else None,
    )
    found = await _services(request).store.list_messages(account, message_query)
    if found is None:
        raise ApiError(20001, f"Invalid PageToken {query['PageToken']!r}: no such message")
    backwards = cursor is not None and not cursor.forward

    def token(position: ListPosition | None, forward: bool) -> str | None:
        if position is None:
            return None
        return page_tokens.encode(PageCursor(found.snapshot, position, forward), account)

    body = page_json(
        request.path,
        request.path_qs,
        filters=filters,
        messages=found.messages,
        page=page,
        page_size=page_size,
        # Back from a later page, the page it came from is still after this one.
        next_token=token(found.last, True) if found.more or backwards else None,
        previous_token=token(found.first, False) if page > 0 else None,
    )
    return web.json_response(body)


async def list_modems(request: web.Request) -> web.Response:
    """The modems whose numbers the account owns: another account's modems, their SIMs'
    identities and errors, are none of its business."""
    account = authorize(request)
    services = _services(request)
    statuses = [
        handle.status()
        for handle in services.modems.handles.values()
        if services.outbound.owner(handle.config.account) == account
    ]
    return web.json_response([_jsonable(dataclasses.asdict(status)) for status in statuses])


async def webhook_states(request: web.Request) -> web.Response:
    account = authorize(request)
    states = await _services(request).store.webhook_states(account)
    troubled = [
        {
            "message_sid": item.message_sid,
            "kind": item.kind,
            "url": item.url,
            "state": item.state,
            "attempts": item.attempts,
            "last_error": item.last_error,
            "next_attempt": item.next_attempt_at.isoformat() if item.next_attempt_at else None,
            "updated": item.updated_at.isoformat(),
        }
        for item in states.troubled
    ]
    return web.json_response({**states.counts, "troubled": troubled})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def routes() -> list[web.RouteDef]:
    return [
        web.post(f"{PREFIX}/Messages.json", create_message),
        web.get(f"{PREFIX}/Messages.json", list_messages, allow_head=False),
        web.get(f"{PREFIX}/Messages/{{sid}}.json", fetch_message, allow_head=False),
        web.post(f"{PREFIX}/Messages/{{sid}}.json", update_message),
        web.delete(f"{PREFIX}/Messages/{{sid}}.json", delete_message),
        web.get(f"{PREFIX}/Messages/{{sid}}/Media.json", list_media, allow_head=False),
        web.post(f"{PREFIX}/Messages/{{sid}}/Feedback.json", create_feedback),
        web.get(f"{PREFIX}/Messages/{{sid}}/Media/{{media}}.json", fetch_media, allow_head=False),
        web.delete(f"{PREFIX}/Messages/{{sid}}/Media/{{media}}.json", fetch_media),
        web.get(f"{PREFIX}/IncomingPhoneNumbers.json", list_numbers, allow_head=False),
        web.get(f"{PREFIX}/IncomingPhoneNumbers/{{sid}}.json", fetch_number, allow_head=False),
        web.post(f"{PREFIX}/IncomingPhoneNumbers/{{sid}}.json", update_number),
        web.post(f"{PREFIX}/Applications.json", create_application),
        web.get(f"{PREFIX}/Applications.json", list_applications, allow_head=False),
        web.get(f"{PREFIX}/Applications/{{sid}}.json", fetch_application, allow_head=False),
        web.post(f"{PREFIX}/Applications/{{sid}}.json", update_application),
        web.delete(f"{PREFIX}/Applications/{{sid}}.json", delete_application),
        web.get("/smsgw/modems.json", list_modems, allow_head=False),
        web.get("/smsgw/webhooks.json", webhook_states, allow_head=False),
        web.get("/openapi.json", openapi_document, allow_head=False),
    ]
