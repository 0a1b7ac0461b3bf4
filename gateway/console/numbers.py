"""The numbers page (``/console/numbers``): each of the account's numbers with where its
inbound messages, its status callbacks and its missed calls go, editable.

A change goes through :meth:`gateway.accounts.numbers.PhoneNumbers.update`, the call behind
``POST …/IncomingPhoneNumbers/{Sid}.json``: the same checks (a URL the webhooks can request,
GET or POST), the same Twilio errors, and the same persistence (once changed, the number's
settings win over its ``[[numbers]]`` entry, across restarts and reloads). Only what was
changed in the form is sent: saving an untouched form pins nothing.

What the number's own settings do not decide is said, not offered for editing: a Messaging
Service's inbound URL (configuration only: no API changes it) takes its numbers' inbound
messages, as does an application the number names (SmsApplicationSid).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from gateway.console.headers import error_page
from gateway.console.parts import ConsoleParts
from gateway.console.rendering import render
from gateway.console.sessions import Session
from gateway.console.views import page_context, signed_in
from gateway.domain.errors import ApiError
from gateway.domain.models import is_sid
from gateway.domain.records import PhoneNumber

NUMBERS: Final = "/console/numbers"
# The form's fields: the API's parameter, the record's field, its label on the page, and the
# parameter of its method (GET or POST), if it has one.
SMS: Final = (
    ("SmsUrl", "sms_url", "Inbound SMS URL", "SmsMethod"),
    ("SmsFallbackUrl", "sms_fallback_url", "Inbound SMS fallback URL", "SmsFallbackMethod"),
    ("StatusCallback", "status_callback", "Status callback URL", None),
)
VOICE: Final = (
    ("VoiceUrl", "voice_url", "Missed call URL", "VoiceMethod"),
    ("VoiceFallbackUrl", "voice_fallback_url", "Missed call fallback URL", "VoiceFallbackMethod"),
)
_FIELDS: Final = {
    **{name: field for name, field, _, _ in (*SMS, *VOICE)},
    **{
        method: field.replace("_url", "_method") for _, field, _, method in (*SMS, *VOICE) if method
    },
}


def _view(
    console: ConsoleParts,
    number: PhoneNumber,
    typed: Mapping[str, str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """A number as its form shows it: its values (or what was typed, after a refusal), and
    what decides where its messages go if not these."""
    values = {name: getattr(number, field) or "" for name, field in _FIELDS.items()}
    if typed is not None:
        values.update({name: typed[name] for name in _FIELDS if name in typed})
    config = console.api.numbers.config
    service = config.service_of(number.number)
    overridden = None
    if service is not None and service.sms_url:
        overridden = (
            f"Inbound messages go to its Messaging Service {service.name} ({service.sid}): "
            f"{service.sms_url}, set in the configuration, not here."
        )
    elif number.sms_application_sid:
        overridden = (
            f"Inbound messages go to the SMS URLs of application {number.sms_application_sid} "
            "(SmsApplicationSid), not these."
        )
    return {
        "sid": number.sid,
        "number": number.number,
        "friendly_name": number.friendly_name,
        "values": values,
        "source": "the API or this console" if number.api_updated else "the configuration",
        "configured": config.number_settings(number.number) is not None,
        "overridden": overridden,
        "voice": bool(number.voice_url or number.voice_fallback_url),
        "error": error,
    }


def _page(
    console: ConsoleParts, session: Session, views: list[dict[str, Any]], status: int = 200
) -> web.Response:
    context = page_context(session, numbers=views, sms=SMS, voice=VOICE)
    return render("numbers.html", context, status)


@signed_in
async def numbers(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    owned = console.api.numbers.of_account(session.account)
    return _page(console, session, [_view(console, number) for number in owned])


@signed_in
async def update(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    sid = request.match_info["sid"]
    phone_numbers = console.api.numbers
    number = phone_numbers.by_sid(session.account, sid) if is_sid(sid, "PN") else None
    if number is None:
        return error_page(404, "There is no such number in this account.")
    form = await request.post()
    typed = {name: value for name in _FIELDS if isinstance(value := form.get(name), str)}
    try:
        await phone_numbers.update(number, _changes(number, typed))
    except ApiError as exc:
        views = [
            _view(console, n, typed, f"Error {exc.code}: {exc.message}")
            if n.sid == sid
            # The others as they are: only this form was sent.
            else _view(console, n)
            for n in phone_numbers.of_account(session.account)
        ]
        return _page(console, session, views, exc.status)
    return web.Response(status=303, headers={"Location": f"{NUMBERS}#{sid}"})


def _changes(number: PhoneNumber, typed: Mapping[str, str]) -> dict[str, str]:
    """The parameters ``POST …/IncomingPhoneNumbers/{Sid}.json`` is given: those whose value
    the form changed (a method compared as the API reads it, upper case)."""
    changes = {}
    for name, value in typed.items():
        current = getattr(number, _FIELDS[name]) or ""
        if name.endswith("Method"):
            if value.strip().upper() != current.upper():
                changes[name] = value
        elif value.strip() != current:
            changes[name] = value.strip()  # as pasted: a URL has no spaces around it
    return changes


def routes() -> list[web.RouteDef]:
    return [
        web.get("/numbers", numbers, allow_head=False),
        web.post("/numbers/{sid}", update),
    ]
