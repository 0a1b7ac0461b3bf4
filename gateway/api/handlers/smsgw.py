"""The gateway's own resources, not Twilio's: under ``/smsgw/``, what ``smsgw modems`` and
``smsgw webhooks`` show of the account's modems and webhooks, and a modem's USSD
(``smsgw ussd``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from drivers import USSD_TIMEOUT, check_ussd_request
from gateway.api.forms import read_form
from gateway.api.handlers.requests import authorize, not_found, parts
from gateway.api.keys import ApiParts
from gateway.domain.errors import ApiError
from gateway.domain.integers import small_integer
from gateway.domain.quota import DAY, MONTH, RECIPIENTS, Standing
from gateway.domain.ussd import code_problem as ussd_code_problem
from gateway.modems import ussd
from gateway.modems.balance import BalanceWatch
from gateway.modems.exclusive import UssdBusy


async def list_modems(request: web.Request) -> web.Response:
    account = authorize(request)
    return web.json_response(account_modems(parts(request), account))


def account_modems(api: ApiParts, account: str) -> list[dict[str, Any]]:
    """The modems whose numbers the account owns, as JSON's values (``/smsgw/modems.json``,
    and the console's overview): another account's modems, their SIMs' identities and
    errors, are none of its business."""
    quotas = api.outbound.dispatcher.quotas
    modems = [
        {
            **dataclasses.asdict(handle.status()),
            "balance": _balance(api.modems.balances.get(handle.id)),
            "quota": _quota(quotas.standing(handle.config)),
        }
        for handle in api.modems.handles.values()
        if api.outbound.owner(handle.config.account) == account
    ]
    return [_jsonable(modem) for modem in modems]


def _balance(watch: BalanceWatch | None) -> dict[str, Any] | None:
    """The SIM's balance as balance_ussd last read it (``None``: not watched, or not read yet)."""
    latest = watch.latest if watch is not None else None
    return dataclasses.asdict(latest) if latest is not None else None


def _quota(standing: list[Standing]) -> dict[str, Any] | None:
    """The modem's plan caps, used and left in their current periods (``None``: no caps)."""
    if not standing:
        return None
    periods: dict[str, Any] = dict.fromkeys((DAY, MONTH, RECIPIENTS))
    for cap in standing:
        periods[cap.period] = {
            "limit": cap.limit,
            "used": cap.used,
            "left": cap.left,
            "resets_at": cap.resets_at,
        }
    return periods


async def fetch_webhook_states(request: web.Request) -> web.Response:
    account = authorize(request)
    states = await parts(request).store.webhook_states(account)
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
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- USSD: POST /smsgw/modems/{modem}/ussd.json ------------------------------------------------

MAX_REPLIES: Final = 10
MAX_USSD_TIMEOUT: Final = 120
# The errors of this resource (README: USSD), in Twilio's shape.
INVALID_CODE: Final = 21790
INVALID_REPLY: Final = 21791
INVALID_TIMEOUT: Final = 21792
SESSION_RUNNING: Final = 20409
MODEM_UNAVAILABLE: Final = 20503


async def run_ussd(request: web.Request) -> web.Response:
    """A USSD session through one of the account's modems: ``Code``, then each ``Reply`` (the
    parameter repeated, in order) while the network's menus ask for one; ``Timeout`` seconds
    for each answer. 200 with the answers, however the session ended."""
    account = authorize(request)
    api = parts(request)
    handle = api.modems.handles.get(request.match_info["modem"])
    if handle is None or api.outbound.owner(handle.config.account) != account:
        raise not_found(request)
    form = await read_form(request)
    code = form.get("Code", "").strip()
    if problem := ussd_code_problem(code):
        raise ApiError(INVALID_CODE, problem if not code else f"Code {problem}")
    replies = tuple(form.getall("Reply", ()))
    if len(replies) > MAX_REPLIES:
        raise ApiError(INVALID_REPLY, f"At most {MAX_REPLIES} Reply values")
    for reply in replies:
        try:
            check_ussd_request(reply)
        except ValueError as exc:
            raise ApiError(INVALID_REPLY, f"Reply: {exc}") from None
    timeout = _timeout(form.get("Timeout"))
    try:
        session = await ussd.run(handle, code, replies, timeout)
    except UssdBusy:
        message = f"A USSD session is running on modem {handle.id}; try again once it ends"
        raise ApiError(SESSION_RUNNING, message, 409) from None
    except ussd.UssdUnavailable as exc:
        raise ApiError(MODEM_UNAVAILABLE, str(exc), 503) from None
    answer = session.answer
    return web.json_response(
        {
            "modem": session.modem,
            "code": code,
            "status": answer.state.value,
            "text": answer.text,
            "dcs": answer.dcs,
            "menu_closed": session.closed,
            "steps": [
                {
                    "sent": step.sent,
                    "status": step.answer.state.value,
                    "text": step.answer.text,
                    "dcs": step.answer.dcs,
                }
                for step in session.steps
            ],
        }
    )


def _timeout(value: str | None) -> float:
    if value is None:
        return USSD_TIMEOUT
    seconds = small_integer(value)  # ASCII digits: str.isdigit() takes "²", int() does not
    if seconds is None or not 1 <= seconds <= MAX_USSD_TIMEOUT:
        raise ApiError(INVALID_TIMEOUT, f"Timeout must be seconds from 1 to {MAX_USSD_TIMEOUT}")
    return seconds
