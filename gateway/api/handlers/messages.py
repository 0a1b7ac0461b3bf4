"""The Message resource and its Media: create, list, fetch, update (redact, cancel), delete."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway.api import page_tokens
from gateway.api.forms import date_sent, page_cursor, page_number, page_size, read_form
from gateway.api.handlers.requests import authorize, not_found, parts
from gateway.api.page_tokens import MessageToken
from gateway.api.twilio_json.messages import media_page_json, message_json, messages_page_json
from gateway.domain.errors import ApiError
from gateway.domain.models import FINAL_STATUSES, Message, is_sid
from gateway.store import ListPosition, MessageQuery, PageCursor

_LIST_FILTERS: Final = (
    "To",
    "From",
    "DateSent",
    "DateSent<",
    "DateSent<=",
    "DateSent>",
    "DateSent>=",
)


async def create_message(request: web.Request) -> web.Response:
    account = authorize(request)
    form = await read_form(request)
    media = len(form.getall("MediaUrl", []))
    message = await parts(request).outbound.create(account, form, media)
    return web.json_response(message_json(message), status=201)


def _message_sid(request: web.Request) -> str:
    sid = request.match_info["sid"]
    if not (is_sid(sid, "SM") or is_sid(sid, "MM")):
        raise not_found(request)
    return sid


async def message_of(request: web.Request, account: str) -> Message:
    """The message the path names, of ``account``; 404 (20404) when there is none."""
    message = await parts(request).store.get_message(account, _message_sid(request))
    if message is None:
        raise not_found(request)
    return message


async def fetch_message(request: web.Request) -> web.Response:
    account = authorize(request)
    return web.json_response(message_json(await message_of(request, account)))


async def update_message(request: web.Request) -> web.Response:
    """``Body=""`` redacts; ``Status=canceled`` cancels a message not sent yet."""
    account = authorize(request)
    form = await read_form(request)
    outbound = parts(request).outbound
    message = await message_of(request, account)
    status = form.get("Status")
    if status is not None:
        if status != "canceled":
            raise ApiError(20001, f"Invalid Status {status!r}: the only update is 'canceled'")
        message = await outbound.cancel(account, message.sid)
    body = form.get("Body")
    if body is not None:
        if body != "":
            raise ApiError(
                20001, "A message's Body can only be redacted: update it with Body set to ''"
            )
        message = await outbound.redact(account, message)
    return web.json_response(message_json(message))


async def delete_message(request: web.Request) -> web.Response:
    account = authorize(request)
    sid = _message_sid(request)
    message = await parts(request).store.delete_message(account, sid)
    if message is None:
        raise not_found(request)
    if message.status not in FINAL_STATUSES:
        raise ApiError(
            20009,
            f"Cannot delete this resource before it is complete: {sid} is {message.status}",
            409,
        )
    return web.Response(status=204)


async def list_media(request: web.Request) -> web.Response:
    account = authorize(request)
    page = page_number(request.query)
    await message_of(request, account)
    size = page_size(request.query)
    body = media_page_json(request.path, request.path_qs, size, page=page)
    return web.json_response(body)


async def fetch_media(request: web.Request) -> web.Response:
    account = authorize(request)
    await message_of(request, account)
    raise not_found(request)  # SMS only: a message has no media


async def list_messages(request: web.Request) -> web.Response:
    """A page of the account's messages, sorted on DateSent, most recent first (the seed); the
    ones not sent yet first, those that ended unsent where they ended (gateway.store
    ListPosition). Its page tokens read the list as it stood at the first page
    (gateway.store.listing), so paging stays exact while messages are being sent."""
    account = authorize(request)
    query = request.query
    page = page_number(query)
    size = page_size(query)
    cursor = page_cursor(query, account)
    on, sent_before, sent_after = date_sent(query)
    filters = [(name, query[name]) for name in _LIST_FILTERS if query.get(name)]
    to, from_ = query.get("To"), query.get("From")
    outbound = parts(request).outbound
    named = cursor if isinstance(cursor, MessageToken) else None
    message_query = MessageQuery(
        # As the numbers are stored: a national number in E.164 by default_region.
        to=outbound.number_filter(to) if to else None,
        from_=outbound.number_filter(from_) if from_ else None,
        from_given=from_ or None,
        sent_on=on,
        sent_at_or_before=sent_before,
        sent_at_or_after=sent_after,
        page_size=size,
        cursor=cursor if isinstance(cursor, PageCursor) else None,
        after_sid=named.sid if named is not None and named.forward else None,
        before_sid=named.sid if named is not None and not named.forward else None,
    )
    found = await parts(request).store.list_messages(account, message_query)
    if found is None:
        raise ApiError(20001, f"Invalid PageToken {query['PageToken']!r}: no such message")
    backwards = cursor is not None and not cursor.forward

    def token(position: ListPosition | None, forward: bool) -> str | None:
        if position is None:
            return None
        return page_tokens.encode(PageCursor(found.snapshot, position, forward), account)

    body = messages_page_json(
        request.path,
        request.path_qs,
        filters=filters,
        messages=found.messages,
        page=page,
        page_size=size,
        # Back from a later page, the page it came from is still after this one.
        next_token=token(found.last, True) if found.more or backwards else None,
        previous_token=token(found.first, False) if page > 0 else None,
    )
    return web.json_response(body)
