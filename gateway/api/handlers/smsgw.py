"""The gateway's own resources, not Twilio's: under ``/smsgw/``, what ``smsgw modems`` and
``smsgw webhooks`` show of the account's modems and webhooks."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.api.handlers.requests import authorize, parts
from gateway.domain.quota import DAY, MONTH, RECIPIENTS, Standing


async def list_modems(request: web.Request) -> web.Response:
    """The modems whose numbers the account owns: another account's modems, their SIMs'
    identities and errors, are none of its business."""
    account = authorize(request)
    api = parts(request)
    quotas = api.outbound.dispatcher.quotas
    modems = [
        {**dataclasses.asdict(handle.status()), "quota": _quota(quotas.standing(handle.config))}
        for handle in api.modems.handles.values()
        if api.outbound.owner(handle.config.account) == account
    ]
    return web.json_response([_jsonable(modem) for modem in modems])


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
