"""What an operator does to one message from its page: cancel, redact, delete, send again.

Each is a POST form (with the session's CSRF token: :func:`gateway.console.views.signed_in`)
that goes through the same calls as the API's update, delete and create
(``POST|DELETE …/Messages/{Sid}.json``, ``POST …/Messages.json``), so the same rules refuse
the same things with the same Twilio error, shown here as a page that says it in words.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway.console.guards import CSRF_FIELD
from gateway.console.headers import error_page
from gateway.console.parts import ConsoleParts
from gateway.console.rendering import render
from gateway.console.sessions import Session
from gateway.console.views import signed_in
from gateway.domain.errors import ApiError
from gateway.domain.models import FINAL_STATUSES, Message, is_sid

MESSAGES: Final = "/console/messages"
# What each action is called on its refusal page.
_NAMES: Final = {
    "cancel": "cancel",
    "redact": "redact",
    "delete": "delete",
    "send-again": "send again",
}


def see_other(location: str) -> web.Response:
    # 303: after a POST the browser GETs the next page (RFC 9110 §15.4.4).
    return web.Response(status=303, headers={"Location": location})


async def _message(request: web.Request, console: ConsoleParts, session: Session) -> Message | None:
    """The message the path names, of the session's account: another account's is not found,
    as through the API."""
    sid = request.match_info["sid"]
    if not (is_sid(sid, "SM") or is_sid(sid, "MM")):
        return None
    return await console.api.store.get_message(session.account, sid)


def _refused(session: Session, action: str, message: Message, error: ApiError) -> web.Response:
    context = {
        "account": session.account,
        "csrf_field": CSRF_FIELD,
        "csrf": session.csrf,
        "action": _NAMES[action],
        "message": message,
        "code": error.code,
        "explanation": error.message,
    }
    # The API's status (400, 409...): what the same request there would have been told.
    return render("action_refused.html", context, error.status)


async def _act(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    action = request.match_info["action"]
    if action not in _NAMES:
        return error_page(404, "There is no such action on a message.")
    message = await _message(request, console, session)
    if message is None:
        return error_page(404, "There is no such message in this account.")
    outbound = console.api.outbound
    try:
        if action == "cancel":
            await outbound.cancel(session.account, message.sid)
        elif action == "redact":
            await outbound.redact(session.account, message)
        elif action == "delete":
            await _delete(console, session, message)
            return see_other(MESSAGES)
        else:
            again = await outbound.create(session.account, _again(message))
            return see_other(f"{MESSAGES}/{again.sid}")
    except ApiError as exc:
        return _refused(session, action, message, exc)
    return see_other(f"{MESSAGES}/{message.sid}")


async def _delete(console: ConsoleParts, session: Session, message: Message) -> None:
    # As DELETE …/Messages/{Sid}.json (gateway.api.handlers.messages.delete_message): the
    # store deletes only a final message, and says what it found.
    found = await console.api.store.delete_message(session.account, message.sid)
    if found is not None and found.status not in FINAL_STATUSES:
        raise ApiError(
            20009,
            f"Cannot delete this resource before it is complete: {found.sid} is {found.status}",
            409,
        )


def _again(message: Message) -> dict[str, str]:
    """The form ``POST …/Messages.json`` would be given to send ``message`` again: its To,
    Body, and its sender as it was chosen (a Messaging Service picks one again, unless the
    message named its From)."""
    form = {"To": message.to, "Body": message.body}
    if message.messaging_service_sid is not None:
        form["MessagingServiceSid"] = message.messaging_service_sid
        if message.sender_pinned and message.from_ is not None:
            form["From"] = message.from_
    elif message.from_ is not None:
        form["From"] = message.from_
    return form


def routes() -> list[web.RouteDef]:
    return [web.post("/messages/{sid}/{action}", signed_in(_act))]
