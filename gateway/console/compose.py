"""Compose: a message sent by hand, through the same call as ``POST …/Messages.json``
(``Outbound.create``: Twilio's checks in Twilio's order, the same errors), with a preview of
how its body is sent (gateway.domain.sizing: what ``smsgw pdu info`` says), which
``static/compose.js`` asks for as the operator types and the form shows when posted without
JavaScript. The conversations' reply box sends through :func:`send` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from drivers.codec import PduError, plan_text
from gateway.api.handlers.smsgw import account_modems
from gateway.console.parts import ConsoleParts
from gateway.console.rendering import render
from gateway.console.sessions import Session
from gateway.console.views import page_context, see_other, signed_in
from gateway.domain.errors import ApiError
from gateway.domain.models import Message
from gateway.domain.sizing import plan_summary

# Twilio's limit on a body (Message resource, Body), as the API refuses it (21617).
MAX_BODY_CHARS: Final = 1600
# Which field an error of Outbound.create is about (Twilio's codes), so that its text is shown
# next to that field; any other is shown above the form.
FIELD_OF_ERROR: Final = {
    21604: "to",
    21211: "to",
    21266: "to",
    21610: "to",
    21212: "sender",
    21606: "sender",
    21660: "sender",
    21701: "sender",
    21705: "sender",
    21602: "body",
    21617: "body",
    35111: "send_at",
    35114: "send_at",
    35118: "send_at",
    35126: "send_at",
}


def senders(console: ConsoleParts, session: Session) -> tuple[list[str], list[dict[str, str]]]:
    """The account's numbers (its modems') and its Messaging Services, to send from."""
    api = console.api
    numbers = [n for modem in account_modems(api, session.account) for n in modem["numbers"]]
    services = [
        {"sid": service.sid, "name": service.name}
        for service in api.outbound.config.services
        if api.outbound.service_owner(service) == session.account
    ]
    return numbers, services


def preview(body: str) -> dict[str, Any]:
    """How ``body`` is sent as written, and what smart encoding (SmartEncoded=true) would
    send instead, when it changes anything; the figures ``smsgw pdu info --json`` prints."""
    if len(body) > MAX_BODY_CHARS:
        return {
            "problem": f"The body is {len(body)} characters; the limit is {MAX_BODY_CHARS} "
            "(Twilio's 21617).",
            "plain": None,
            "smart": None,
            "summary": "",
            "smart_note": "",
        }
    try:
        plain = plan_summary(plan_text(body), body)
        smart = plan_summary(plan_text(body, smart_encoded=True), body)
    except PduError as exc:
        return {"problem": str(exc), "plain": None, "smart": None, "summary": "", "smart_note": ""}
    changed = smart if smart["smart_encoded"] else None
    return {
        "problem": None,
        "plain": plain,
        "smart": changed,
        "summary": _summary(plain, len(body)),
        "smart_note": (
            f"Smart encoding would send it as {changed['encoding']} in "
            f"{_segments(changed['segments'])}: {changed['text']}"
            if changed is not None
            else ""
        ),
    }


def _segments(count: int) -> str:
    return f"{count} segment" + ("s" if count != 1 else "")


def _summary(plan: dict[str, Any], length: int) -> str:
    return (
        f"{length} characters, {plan['encoding']}: {_segments(plan['segments'])}, "
        f"{plan['characters_left']} characters left in the last"
    )


async def send(
    console: ConsoleParts, session: Session, fields: Mapping[str, str]
) -> tuple[Message | None, dict[str, str]]:
    """The message ``fields`` (the console's form: to, sender, body, send_at, smart) asks
    for, created as the API creates it; or the errors to show, by field."""
    form = {"To": fields.get("to", ""), "Body": fields.get("body", "")}
    sender = fields.get("sender", "")
    if sender.startswith("MG"):
        form["MessagingServiceSid"] = sender
    elif sender:
        form["From"] = sender
    if send_at := fields.get("send_at", "").strip():
        # datetime-local gives no zone: the form says UTC, and the API reads it so.
        form["SendAt"] = send_at if send_at.endswith("Z") else send_at + "Z"
        form["ScheduleType"] = "fixed"
    if fields.get("smart") == "true":
        form["SmartEncoded"] = "true"
    try:
        return await console.api.outbound.create(session.account, form), {}
    except ApiError as exc:
        field = FIELD_OF_ERROR.get(exc.code, "form")
        return None, {field: f"{exc.message} (error {exc.code})"}


_FIELDS: Final = ("to", "sender", "body", "send_at", "smart")


def _page(
    console: ConsoleParts,
    session: Session,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> web.Response:
    numbers, services = senders(console, session)
    context = page_context(
        session,
        values=values,
        errors=errors,
        numbers=numbers,
        services=services,
        preview=preview(values.get("body", "")),
    )
    return render("compose.html", context, status)


@signed_in
async def compose_form(
    request: web.Request, console: ConsoleParts, session: Session
) -> web.Response:
    values = dict.fromkeys(_FIELDS, "")
    values["to"] = request.query.get("to", "")
    return _page(console, session, values, {})


@signed_in
async def compose(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    """Sent, then its page (where its status changes live); or the form again with the
    errors next to their fields. "Preview" (the form without JavaScript): the form again."""
    posted = await request.post()
    values = {name: str(posted.get(name, "")) for name in _FIELDS}
    if posted.get("action") == "preview":
        return _page(console, session, values, {})
    message, errors = await send(console, session, values)
    if message is None:
        return _page(console, session, values, errors, 400)
    return see_other(f"/console/messages/{message.sid}")


@signed_in
async def preview_json(
    request: web.Request, console: ConsoleParts, session: Session
) -> web.Response:
    """The preview of a body as JSON (compose.js, as the operator types). A POST, with the
    session's CSRF token: a body is up to 1600 characters, too long for a URL."""
    posted = await request.post()
    return web.json_response(preview(str(posted.get("body", ""))))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/compose", compose_form, allow_head=False),
        web.post("/compose", compose),
        web.post("/compose/preview", preview_json),
    ]
