"""The Application resource: create, list, fetch, update, delete
(:mod:`gateway.accounts.applications` keeps them)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.forms import integer, page_size, read_form
from gateway.api.handlers.requests import authorize, not_found, parts
from gateway.api.twilio_json.applications import (
    APPLICATION_FILTERS,
    application_json,
    applications_page_json,
)
from gateway.domain.records import Application


async def create_application(request: web.Request) -> web.Response:
    account = authorize(request)
    form = await read_form(request)
    application = await parts(request).applications.create(account, form)
    return web.json_response(application_json(application), status=201)


async def list_applications(request: web.Request) -> web.Response:
    account = authorize(request)
    query = request.query
    size = page_size(query)
    page = integer(query, "Page", 0, 0)
    chosen, more = parts(request).applications.page(
        account, query.get("FriendlyName"), query.get("PageToken"), size
    )
    body = applications_page_json(
        request.path,
        request.path_qs,
        applications=chosen,
        page=page,
        page_size=size,
        has_more=more,
        filters=[(name, query[name]) for name in APPLICATION_FILTERS if query.get(name)],
    )
    return web.json_response(body)


def _application(request: web.Request, account: str) -> Application:
    application = parts(request).applications.get(account, request.match_info["sid"])
    if application is None:
        raise not_found(request)
    return application


async def fetch_application(request: web.Request) -> web.Response:
    account = authorize(request)
    return web.json_response(application_json(_application(request, account)))


async def update_application(request: web.Request) -> web.Response:
    account = authorize(request)
    form = await read_form(request)
    updated = await parts(request).applications.update(_application(request, account), form)
    if updated is None:  # deleted while the request was read
        raise not_found(request)
    return web.json_response(application_json(updated))


async def delete_application(request: web.Request) -> web.Response:
    account = authorize(request)
    if not await parts(request).applications.delete(_application(request, account)):
        raise not_found(request)
    return web.Response(status=204)
