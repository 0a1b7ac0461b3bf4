"""The console's pages: sign-in and sign-out, the overview, the messages and one message.

Every page but the sign-in needs a session (else 303 to the sign-in); every POST of a session
carries its CSRF token (else 403, a page that says so). A session sees its account's data
only, through the same calls the API makes for those credentials: another account's message
is "not found", as it is through the API.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib import resources
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from drivers import rssi_dbm
from gateway.api import forms, page_tokens
from gateway.api.handlers.smsgw import account_modems
from gateway.api.page_tokens import MessageToken
from gateway.console import message_page
from gateway.console.guards import CSRF_FIELD, csrf_ok
from gateway.console.headers import NOT_FOUND, error_page
from gateway.console.offers import actions_of
from gateway.console.parts import CONSOLE, ConsoleParts
from gateway.console.rendering import BARS, bars, render
from gateway.console.sessions import COOKIE, Session
from gateway.domain.errors import ApiError
from gateway.domain.models import ERROR_MESSAGES, Status, is_sid
from gateway.store import ListPosition, MessageQuery, PageCursor

log = logging.getLogger(__name__)

ROOT: Final = "/console/"
SIGN_IN: Final = "/console/sign-in"
PAGE_SIZE: Final = 50
# The console's own files, served from the package (no CDN: a Pi may have no internet).
_STATIC: Final = {"console.css": "text/css"}

Page = Callable[[web.Request, ConsoleParts, Session], Awaitable[web.StreamResponse]]


def see_other(location: str) -> web.Response:
    # 303: after a POST the browser GETs the next page (RFC 9110 §15.4.4).
    return web.Response(status=303, headers={"Location": location})


def signed_in(page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The page for a session (its account's data only); the sign-in for anyone else. A POST
    must carry the session's CSRF token."""

    async def handler(request: web.Request) -> web.StreamResponse:
        console = request.app[CONSOLE]
        session = _session(request, console)
        if session is None:
            if request.method == "POST":
                return error_page(403, "You are not signed in (or your session ended).")
            return see_other(SIGN_IN)
        if request.method == "POST":
            form = await request.post()
            token = form.get(CSRF_FIELD)
            if not csrf_ok(session, token if isinstance(token, str) else None):
                return error_page(
                    403,
                    "This form is out of date or did not come from the console (its CSRF "
                    "token is missing or wrong). Go back, reload the page and try again.",
                )
        return await page(request, console, session)

    return handler


def _session(request: web.Request, console: ConsoleParts) -> Session | None:
    """The request's session, alive, and signed in with credentials that are still what they
    were: a reload that changed the auth token or removed the key or the account ends it."""
    session = console.sessions.get(request.cookies.get(COOKIE))
    if session is None:
        return None
    now = console.api.authenticator.fingerprint(session.username)
    if now is None or not hmac.compare_digest(now, session.credentials):
        console.sessions.end(session.token)
        return None
    return session


def page_context(session: Session | None, **values: Any) -> dict[str, Any]:
    """What every page's template is given (its account, the session's CSRF token), and
    ``values``: the console's pages each add theirs."""
    return {
        "account": session.account if session else None,
        "csrf_field": CSRF_FIELD,
        "csrf": session.csrf if session else "",
        **values,
    }


# --- signing in and out ------------------------------------------------------------------------


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    console = request.app[CONSOLE]
    if _session(request, console) is not None:
        return see_other(ROOT)
    return render("sign_in.html", page_context(None, error=None, username=""))


async def sign_in(request: web.Request) -> web.StreamResponse:
    """An account SID and its auth token, or an API key SID and its secret: checked by the
    API's own check (gateway.api.auth); too many failures from one address: 429."""
    console = request.app[CONSOLE]
    if not _same_origin(request):
        return error_page(403, "This sign-in did not come from the console's own form.")
    address = request.remote or "unknown"
    wait = console.throttle.retry_after(address)
    if wait is not None:
        response = render(
            "sign_in.html",
            page_context(
                None,
                error=f"Too many failed sign-ins from your address: try again in {wait} s.",
                username="",
            ),
            429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    form = await request.post()
    username, secret = form.get("username"), form.get("secret")
    if not isinstance(username, str) or not isinstance(secret, str):
        username, secret = "", ""
    username = username.strip()  # as pasted: a SID has no spaces
    # The body's size is the API's limit (max_request_bytes): no other bound is needed.
    account = console.api.authenticator.account_of(username, secret.encode())
    if account is None:
        console.throttle.failed(address)
        # A SID only, never the secret, nor what may be one pasted in the wrong field (it is
        # not shown again in the form either).
        named = username if is_sid(username, "AC") or is_sid(username, "SK") else ""
        log.info("console: a failed sign-in as %s from %s", named or "a non-SID", address)
        error = "These credentials are not an account's (SID and auth token) or an API key's."
        return render("sign_in.html", page_context(None, error=error, username=named), 401)
    console.throttle.succeeded(address)
    credentials = console.api.authenticator.fingerprint(username)
    assert credentials is not None  # they were just checked, in the same step
    session = console.sessions.start(account, username, credentials)
    response = see_other(ROOT)
    response.set_cookie(
        COOKIE,
        session.token,
        path=ROOT,
        httponly=True,
        samesite="Strict",
        secure=console.secure,
    )
    return response


def _same_origin(request: web.Request) -> bool:
    """A sign-in has no session, so no CSRF token yet: its form must come from this console
    (login CSRF, OWASP). A browser says where a request comes from in Sec-Fetch-Site (Fetch
    Metadata); one too old to, in Origin (Fetch §3.1), except that under the console's
    Referrer-Policy no-referrer a form's Origin is "null". A client that is no browser sends
    neither, and is no CSRF's vehicle."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")  # "none": typed, or a bookmark
    origin = request.headers.get("Origin")
    # Host only: behind a TLS proxy the browser's scheme is https, the request's http.
    return origin is None or origin == "null" or urlsplit(origin).netloc == request.host


@signed_in
async def sign_out(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    console.sessions.end(session.token)
    response = see_other(SIGN_IN)
    response.del_cookie(COOKIE, path=ROOT)
    return response


# --- the overview ------------------------------------------------------------------------------


@signed_in
async def overview(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    """The account's modems (what ``/smsgw/modems.json`` says), its webhooks (what
    ``/smsgw/webhooks.json`` says), and the gateway's health and queue (what ``/healthz``
    says: the whole gateway's, as it says them to anyone)."""
    modems = [_modem_view(modem) for modem in account_modems(console.api, session.account)]
    if console.parts_sent is not None:
        now = console.clock()
        for modem in modems:
            # Counted by quarter hour (the plan caps' slots): "the last hour" is the last
            # four quarters and the one under way.
            hour = await console.parts_sent(modem["id"], now - timedelta(hours=1))
            day = await console.parts_sent(modem["id"], now - timedelta(days=1))
            modem["sent"] = (hour.parts, day.parts)
    # Pending and given up: what the page shows (the delivered would read every webhook).
    webhooks = await console.api.store.webhook_states(session.account, delivered=False)
    health: dict[str, Any] | None = None
    if console.observability is not None:
        ok, body = await console.observability.health()
        health = {"ok": ok, **body}
    context = page_context(
        session,
        modems=modems,
        max_bars=BARS,
        webhooks=webhooks.counts,
        troubled=webhooks.troubled,
        health=health,
    )
    return render("overview.html", context)


def _modem_view(modem: dict[str, Any]) -> dict[str, Any]:
    info = modem.get("info") or {}
    health = modem.get("health") or {}
    rssi = health.get("rssi", info.get("rssi"))
    network = health.get("network") or info.get("network")
    storage = None
    if health.get("storage_total"):
        storage = f"{health['storage_used']} of {health['storage_total']} ({health['storage']})"
    return {
        "id": modem["id"],
        "numbers": modem["numbers"],
        "state": str(modem["state"]),
        "dbm": rssi_dbm(rssi) if isinstance(rssi, int) else None,
        "bars": bars(rssi if isinstance(rssi, int) else None),
        "operator": _operator(network),
        "registration": _registration(network),
        "storage": storage,
        "error": modem.get("error") or modem.get("trouble"),
        "recoveries": modem.get("recoveries", 0),
        "sent": None,  # (the last hour, the last day), when the store says
    }


def _operator(network: dict[str, Any] | None) -> str | None:
    if not network or not network["registered"]:
        return None
    name = network["operator"] or network["code"]
    if network["operator"] and network["code"]:
        name += f" ({network['code']})"
    return str(name) if name else None


def _registration(network: dict[str, Any] | None) -> str:
    if not network:
        return "unknown"
    if not network["registered"]:
        return f"not registered (+CREG <stat> {network['stat']})"  # TS 27.007 §7.2
    parts = ["roaming" if network["roaming"] else "home", network["technology"]]
    return ", ".join(part for part in parts if part)


# --- messages ----------------------------------------------------------------------------------


# The direction filter's choices: what a person asks ("in", "out"), as MessageQuery.inbound.
_DIRECTIONS: Final = {"": None, "inbound": True, "outbound": False}
STATUSES: Final = tuple(status.value for status in Status)
# The date filters (the form's names) as the API's DateSent filters (its query's keys), which
# read them: the day itself; on or before (DateSent<=); on or after (DateSent>=).
_DATE_FILTERS: Final = {
    "sent_on": ("DateSent", "Sent on"),
    "sent_before": ("DateSent<", "Sent up to"),
    "sent_after": ("DateSent>", "Sent from"),
}


@signed_in
async def messages(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    """The account's messages, newest first, as ``GET .../Messages.json`` lists them (the
    store's listing, its page tokens), filtered by To, From, status and direction."""
    query = request.query
    filters = {
        "to": query.get("to", "").strip(),
        "from": query.get("from", "").strip(),
        "status": query.get("status", ""),
        "direction": query.get("direction", ""),
        **{name: query.get(name, "").strip() for name in _DATE_FILTERS},
    }
    dates = {key: filters[name] for name, (key, _) in _DATE_FILTERS.items() if filters[name]}
    for name, (key, label) in _DATE_FILTERS.items():
        try:
            # The API's own reading of DateSent, DateSent< and DateSent> (gateway.api.forms).
            forms.date_sent({key: dates[key]} if key in dates else {})
        except ApiError:
            return error_page(400, f"{label}: {filters[name]!r} is not a date such as 2024-05-31.")
    sent_on, sent_before, sent_after = forms.date_sent(dates)
    if filters["status"] and filters["status"] not in STATUSES:
        return error_page(400, f"There is no status {filters['status']!r}.")
    if filters["direction"] not in _DIRECTIONS:
        return error_page(400, "The direction is inbound or outbound.")
    cursor: PageCursor | MessageToken | None = None
    if token := query.get("page"):
        try:
            cursor = page_tokens.decode(token, session.account)
        except page_tokens.TokenError:
            return error_page(400, "This page of the list no longer exists: start again.")
    outbound = console.api.outbound
    to, from_ = filters["to"], filters["from"]
    message_query = MessageQuery(
        # As the numbers are stored, as the API reads its filters (a national number in E.164).
        to=outbound.number_filter(to) if to else None,
        from_=outbound.number_filter(from_) if from_ else None,
        from_given=from_ or None,
        page_size=PAGE_SIZE,
        cursor=cursor if isinstance(cursor, PageCursor) else None,
        status=Status(filters["status"]) if filters["status"] else None,
        inbound=_DIRECTIONS[filters["direction"]],
        sent_on=sent_on,
        sent_at_or_before=sent_before,
        sent_at_or_after=sent_after,
    )
    found = await console.api.store.list_messages(session.account, message_query)
    if found is None:
        return error_page(400, "This page of the list no longer exists: start again.")
    backwards = cursor is not None and not cursor.forward

    def link(position: ListPosition | None, forward: bool) -> str | None:
        if position is None:
            return None
        token = page_tokens.encode(PageCursor(found.snapshot, position, forward), session.account)
        return "?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": token})

    older = link(found.last, True) if found.more or backwards else None
    newer = link(found.first, False) if cursor is not None else None
    context = page_context(
        session,
        messages=found.messages,
        filters=filters,
        statuses=STATUSES,
        older=older,
        newer=newer,
    )
    return render("messages.html", context)


@signed_in
async def message(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    sid = request.match_info["sid"]
    found = None
    if is_sid(sid, "SM") or is_sid(sid, "MM"):
        found = await console.api.store.get_message(session.account, sid)
    if found is None:  # another account's too: it is not this session's to know it exists
        return error_page(404, "There is no such message in this account.")
    trail = await console.audit.message_trail(sid) if console.audit is not None else None
    error_text = None
    if found.error_code is not None:
        error_text = ERROR_MESSAGES.get(found.error_code, found.error_message)
    context = page_context(
        session,
        message=found,
        error_text=error_text,
        actions=actions_of(found),
        timeline=message_page.timeline(found, trail),
        parts=message_page.part_views(trail.parts) if trail is not None else (),
        received=message_page.received_views(trail.received_parts) if trail is not None else (),
        webhooks=message_page.webhook_views(trail.webhook_trails) if trail is not None else (),
    )
    return render("message.html", context)


# --- the console's files -----------------------------------------------------------------------


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = _STATIC.get(name)
    if content_type is None:
        return error_page(404, NOT_FOUND)
    body = resources.files("gateway.console").joinpath("static", name).read_bytes()
    response = web.Response(body=body, content_type=content_type)
    response.headers["Cache-Control"] = "no-cache"  # revalidated: a new release shows at once
    return response


_UNMATCHED: Final = "console-unmatched"


async def unmatched(request: web.Request) -> web.Response:
    """A path of the console no page takes: 405 when a page takes it with another method, 404
    otherwise. Answered, not raised: aiohttp's own answer keeps a reference cycle and an
    exception's traceback per request until the cyclic collector runs (as the API's
    ``gateway.api.app.unmatched`` says), and anyone who can reach the port may ask."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name != _UNMATCHED:
            _, methods = await resource.resolve(request)
            allowed |= methods
    if not allowed:
        return error_page(404, NOT_FOUND)
    response = error_page(405, f"This page takes {', '.join(sorted(allowed))} only.")
    response.headers["Allow"] = ",".join(sorted(allowed))  # RFC 9110 §15.5.6
    return response


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", overview, allow_head=False),
        web.get("/sign-in", sign_in_form, allow_head=False),
        web.post("/sign-in", sign_in),
        web.post("/sign-out", sign_out),
        web.get("/messages", messages, allow_head=False),
        web.get("/messages/{sid}", message, allow_head=False),
        web.get("/static/{name}", static, allow_head=False),
        web.route("*", "/{path:.*}", unmatched, name=_UNMATCHED),  # last
    ]
