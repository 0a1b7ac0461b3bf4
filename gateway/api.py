"""The Twilio Message resource over HTTP: thin handlers that parse, call one service, serialise.

Routes (``../shared/docs/twilio-messages-api.md``):

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> 201 and the new message
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> a page, newest first
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`` -> one message
* ``GET  /smsgw/modems.json`` -> the gateway's modems (``smsgw modems``), any account
* ``GET  /smsgw/webhooks.json`` -> how the account's webhooks stand (``smsgw webhooks``)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from gateway.auth import Authenticator
from gateway.dates import Moment, parse_moment
from gateway.errors import ApiError
from gateway.models import API_VERSION, is_sid, normalise_number
from gateway.modems import ModemPool
from gateway.outbound import Outbound
from gateway.serializers import message_json, page_json
from gateway.store import MessageQuery, Store

PREFIX: Final = f"/{API_VERSION}/Accounts/{{account}}"
MAX_PAGE_SIZE: Final = 1000
DEFAULT_PAGE_SIZE: Final = 50
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
_LIST_FILTERS: Final = ("To", "From", "DateSent", "DateSent<", "DateSent>")
_SMALL_NUMBER: Final = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class Services:
    authenticator: Authenticator
    outbound: Outbound
    store: Store
    modems: ModemPool


SERVICES: Final = web.AppKey("services", Services)


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _not_found(request: web.Request) -> ApiError:
    return ApiError(20404, f"The requested resource {request.path} was not found", 404)


def authorize(request: web.Request) -> str:
    """The account the request acts for: its credentials' account, which must be the path's."""
    account = _services(request).authenticator.account_for(request.headers.get("Authorization"))
    path_account = request.match_info.get("account")
    if path_account is not None and path_account != account:
        raise ApiError(20003, "Authenticate", 401)
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
    if request.content_type == "multipart/form-data":
        return await _multipart(request)
    raw = await request.read()
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


async def fetch_message(request: web.Request) -> web.Response:
    account = authorize(request)
    sid = request.match_info["sid"]
    if not (is_sid(sid, "SM") or is_sid(sid, "MM")):
        raise _not_found(request)
    message = await _services(request).store.get_message(account, sid)
    if message is None:
        raise _not_found(request)
    return web.json_response(message_json(message))


def _int(query: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    # Not str.isdigit(): it accepts "²", which int() refuses, and numbers of any length.
    if not _SMALL_NUMBER.fullmatch(raw) or int(raw) < low:
        raise ApiError(20001, f"Invalid {name} {raw!r}: expected an integer of at least {low}")
    return int(raw)


def _moment(query: Mapping[str, str], name: str) -> Moment | None:
    raw = query.get(name)
    if not raw:
        return None
    moment = parse_moment(raw)
    if moment is None:
        raise ApiError(20001, f"Invalid {name} {raw!r}: expected a date such as 2024-05-31")
    return moment


def _last_instant(moment: Moment | None) -> datetime | None:
    """``DateSent<``: a date alone includes its whole GMT day ("on or before" it); with a time,
    the moment itself (the seed's "sent between ... 01:23:45 UTC and ... 01:23:45 UTC")."""
    if moment is None:
        return None
    if moment.has_time:
        return moment.at
    return moment.at + timedelta(days=1) - timedelta(microseconds=1)


def _token(query: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(after, before) SIDs from ``PageToken``: ``PA<sid>`` pages on, ``PB<sid>`` back."""
    token = query.get("PageToken")
    if not token:
        return None, None
    sid = token[2:]
    if token[:2] not in ("PA", "PB") or not (is_sid(sid, "SM") or is_sid(sid, "MM")):
        raise ApiError(20001, f"Invalid PageToken {token!r}")
    return (sid, None) if token.startswith("PA") else (None, sid)


async def list_messages(request: web.Request) -> web.Response:
    account = authorize(request)
    query = request.query
    page_size = min(_int(query, "PageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    page = _int(query, "Page", 0, 0)
    after, before = _token(query)
    on, before_moment, after_moment = (
        _moment(query, "DateSent"),
        _moment(query, "DateSent<"),
        _moment(query, "DateSent>"),
    )
    filters = [(name, query[name]) for name in _LIST_FILTERS if query.get(name)]
    to, from_ = query.get("To"), query.get("From")
    message_query = MessageQuery(
        to=(normalise_number(to) or to) if to else None,
        from_=(normalise_number(from_) or from_) if from_ else None,
        sent_on=on.at.date() if on else None,
        sent_at_or_before=_last_instant(before_moment),
        sent_at_or_after=after_moment.at if after_moment else None,
        page_size=page_size,
        after_sid=after,
        before_sid=before,
    )
    messages, more = await _services(request).store.list_messages(account, message_query)
    body = page_json(
        request.path,
        request.path_qs,
        filters=filters,
        messages=messages,
        page=page,
        page_size=page_size,
        has_more=more or before is not None,
    )
    return web.json_response(body)


async def list_modems(request: web.Request) -> web.Response:
    authorize(request)
    statuses = [handle.status() for handle in _services(request).modems.handles.values()]
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
    return value


def routes() -> list[web.RouteDef]:
    return [
        web.post(f"{PREFIX}/Messages.json", create_message),
        web.get(f"{PREFIX}/Messages.json", list_messages, allow_head=False),
        web.get(f"{PREFIX}/Messages/{{sid}}.json", fetch_message, allow_head=False),
        web.get("/smsgw/modems.json", list_modems, allow_head=False),
        web.get("/smsgw/webhooks.json", webhook_states, allow_head=False),
    ]
