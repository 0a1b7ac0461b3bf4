"""What the aiohttp application carries for its handlers, under its keys (``web.AppKey``): the
parts of the gateway they call, and the limits each request is held to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiohttp import web

from gateway.accounts.applications import Applications
from gateway.accounts.numbers import PhoneNumbers
from gateway.api.auth import Authenticator
from gateway.modems.pool import ModemPool
from gateway.outbound.accept import Outbound
from gateway.store import Messages


@dataclass(frozen=True, slots=True)
class ApiParts:
    """The parts of the gateway the API's handlers call, built by the runtime."""

    authenticator: Authenticator
    outbound: Outbound
    store: Messages
    modems: ModemPool
    numbers: PhoneNumbers
    applications: Applications


@dataclass(slots=True)
class RequestLimits:
    """What one request may take; a reload changes them in place, for the next request."""

    max_concurrent: int  # requests answered at once (max_concurrent_requests)
    body_timeout: float  # seconds to read a request's body


API_PARTS: Final = web.AppKey("api_parts", ApiParts)
REQUEST_LIMITS: Final = web.AppKey("request_limits", RequestLimits)
