"""The Twilio Message resource over HTTP: thin handlers that parse, call one service, serialise.

Routes (``../shared/docs/twilio-messages-api.md``):

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> 201 and the new message
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> a page, newest first
* ``GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`` -> one message
* ``GET  /smsgw/modems.json`` -> the gateway's modems (``smsgw modems``), any account
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from aiohttp import web
from multidict import MultiDictProxy

from gateway.auth import Authenticator
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
    """The form parameters, or a Twilio-shaped 400 for a body that is not a form."""
    if request.can_read_body and request.content_type not in _FORM_TYPES:
        raise ApiError(
            20001,
            f"Expected form parameters (application/x-www-form-urlencoded), "
            f"got {request.content_type or 'no content type'}",
        )
    try:
        form = await request.post()
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(20001, f"The request body is not valid UTF-8 form data: {exc}") from None
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
    if not raw.isdigit() or int(raw) < low:
        raise ApiError(20001, f"Invalid {name} {raw!r}: expected an integer of at least {low}")
    return int(raw)


def parse_date(raw: str, name: str) -> date:
    """A GMT date from the forms clients send: ``2019-06-11``, ``2019-06-11T22:05:25Z``..."""
    text = raw.strip()
    for parser in (date.fromisoformat, lambda t: datetime.fromisoformat(t).date()):
        try:
            return parser(text)
        except ValueError:
            continue
    raise ApiError(20001, f"Invalid {name} {raw!r}: expected a date such as 2024-05-31")


async def list_messages(request: web.Request) -> web.Response:
    account = authorize(request)
    query = request.query
    page_size = min(_int(query, "PageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    page = _int(query, "Page", 0, 0)
    token = query.get("PageToken")
    after = None
    if token:
        after = token[2:]
        if not token.startswith("PA") or not is_sid(after, after[:2]):
            raise ApiError(20001, f"Invalid PageToken {token!r}")
    filters = [(name, query[name]) for name in _LIST_FILTERS if query.get(name)]
    to, from_ = query.get("To"), query.get("From")
    message_query = MessageQuery(
        to=(normalise_number(to) or to) if to else None,
        from_=(normalise_number(from_) or from_) if from_ else None,
        sent_on=parse_date(query["DateSent"], "DateSent") if query.get("DateSent") else None,
        sent_on_or_before=(
            parse_date(query["DateSent<"], "DateSent<") if query.get("DateSent<") else None
        ),
        sent_on_or_after=(
            parse_date(query["DateSent>"], "DateSent>") if query.get("DateSent>") else None
        ),
        page_size=page_size,
        after_sid=after,
    )
    messages = await _services(request).store.list_messages(account, message_query)
    has_more = len(messages) > page_size
    body = page_json(
        request.path,
        request.path_qs,
        filters=filters,
        messages=messages[:page_size],
        page=page,
        page_size=page_size,
        has_more=has_more,
    )
    return web.json_response(body)


async def list_modems(request: web.Request) -> web.Response:
    authorize(request)
    statuses = [handle.status() for handle in _services(request).modems.handles.values()]
    return web.json_response([_jsonable(dataclasses.asdict(status)) for status in statuses])


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
    ]
