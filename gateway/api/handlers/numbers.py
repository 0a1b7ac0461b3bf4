"""The IncomingPhoneNumber resource: the modems' numbers (list, fetch) and their SMS settings
(update), as :mod:`gateway.accounts.numbers` keeps them."""

from __future__ import annotations

from aiohttp import web

from gateway.api.forms import page_number, page_size, read_form
from gateway.api.handlers.requests import authorize, not_found, parts
from gateway.api.twilio_json.numbers import (
    INCOMING_PHONE_NUMBER_FILTERS,
    incoming_phone_number_json,
    incoming_phone_numbers_page_json,
)
from gateway.domain.models import is_sid
from gateway.domain.records import PhoneNumber


async def list_numbers(request: web.Request) -> web.Response:
    account = authorize(request)
    query = request.query
    page = page_number(query)
    size = page_size(query)
    chosen, more = parts(request).numbers.page(
        account,
        phone_number=query.get("PhoneNumber"),
        friendly_name=query.get("FriendlyName"),
        origin=query.get("Origin"),
        token=query.get("PageToken"),
        size=size,
    )
    filters = [(name, query[name]) for name in INCOMING_PHONE_NUMBER_FILTERS if query.get(name)]
    body = incoming_phone_numbers_page_json(
        request.path,
        request.path_qs,
        numbers=chosen,
        page=page,
        page_size=size,
        has_more=more,
        filters=filters,
    )
    return web.json_response(body)


def _number(request: web.Request, account: str) -> PhoneNumber:
    sid = request.match_info["sid"]
    number = parts(request).numbers.by_sid(account, sid) if is_sid(sid, "PN") else None
    if number is None:
        raise not_found(request)
    return number


async def fetch_number(request: web.Request) -> web.Response:
    account = authorize(request)
    return web.json_response(incoming_phone_number_json(_number(request, account)))


async def update_number(request: web.Request) -> web.Response:
    account = authorize(request)
    form = await read_form(request)
    number = await parts(request).numbers.update(_number(request, account), form)
    return web.json_response(incoming_phone_number_json(number))
