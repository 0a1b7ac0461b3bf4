"""Reading a request's parameters: the form of a POST (:func:`read_form`), and the query's
paging, ``DateSent`` filters and page tokens, each refused with Twilio's 400 (20001) when it
is not what Twilio takes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from gateway.api import page_tokens
from gateway.api.keys import REQUEST_LIMITS
from gateway.api.page_tokens import MessageToken
from gateway.domain.dates import parse_moment
from gateway.domain.errors import ApiError
from gateway.domain.integers import small_integer
from gateway.store import PageCursor

MAX_PAGE_SIZE: Final = 1000
DEFAULT_PAGE_SIZE: Final = 50
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")

log = logging.getLogger(__name__)


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


def integer(query: Mapping[str, str], name: str, default: int, low: int) -> int:
    """A small integer parameter (:func:`gateway.domain.integers.small_integer`): ``default``
    when absent or empty, 20001 when it is not one, or is below ``low``."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    value = small_integer(raw)
    if value is None or value < low:
        raise ApiError(20001, f"Invalid {name} {raw!r}: expected an integer of at least {low}")
    return value


def page_number(query: Mapping[str, str]) -> int:
    """``Page``, "simply for client state": a page after the first is found by the
    ``PageToken`` of a ``next_page_uri`` (or ``previous_page_uri``) and only labelled by its
    number. Without a token, page N would be the first page labelled N: refused as Twilio
    refuses it (twilio-python issue #395: HTTP 400, 20001, "PageToken is required for
    paging.")."""
    page = integer(query, "Page", 0, 0)
    if page > 0 and not query.get("PageToken"):
        raise ApiError(
            20001,
            f"PageToken is required for paging: Page={page} is reached through the "
            "next_page_uri of the page before it",
        )
    return page


def page_size(query: Mapping[str, str]) -> int:
    """``PageSize``: 50 unless given, at most 1,000 (a larger one is read as 1,000)."""
    return min(integer(query, "PageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)


# The DateSent filters' keys, and the side of the day each bounds ("": the day itself).
_DATE_SENT: Final = {
    "DateSent": "",
    "DateSent<": "<",
    "DateSent<=": "<",
    "DateSent>": ">",
    "DateSent>=": ">",
}


def date_sent(query: Mapping[str, str]) -> tuple[date | None, datetime | None, datetime | None]:
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


def page_cursor(query: Mapping[str, str], account: str) -> PageCursor | MessageToken | None:
    """What ``PageToken`` names (:mod:`gateway.api.page_tokens`); 20001 for anything else."""
    token = query.get("PageToken")
    if not token:
        return None
    try:
        return page_tokens.decode(token, account)
    except page_tokens.TokenError as exc:
        raise ApiError(20001, f"Invalid PageToken {token!r}: {exc}") from None
