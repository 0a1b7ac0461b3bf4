"""What the console's pages are given (built by gateway.runtime), under its application key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from aiohttp import web

from gateway.api.keys import ApiParts
from gateway.api.observability import Observability
from gateway.console.feed import LiveFeed
from gateway.console.guards import SignInThrottle
from gateway.console.sessions import Sessions
from gateway.store import Audit, PartsSent


@dataclass(slots=True)
class ConsoleParts:
    """What the console's pages read: the API's parts (its credentials check, its store and
    modems), what /healthz reads, what the store keeps of a message, and its own state."""

    api: ApiParts
    observability: Observability | None
    audit: Audit | None  # None: an engine that offers no Audit (the page shows no parts)
    clock: Callable[[], datetime]
    secure: bool  # the gateway serves TLS: the cookie is Secure
    # The webhook sender's wake-up: a webhook made due ("retry now") goes at once.
    wake_webhooks: Callable[[], None] = lambda: None
    # What a modem sent since a moment (the store's plan counts, by quarter hour of UTC), for
    # the overview's "parts sent"; None: not shown.
    parts_sent: Callable[[str, datetime], Awaitable[PartsSent]] | None = None
    sessions: Sessions = field(init=False)
    throttle: SignInThrottle = field(init=False)
    live: LiveFeed = field(init=False)  # what the open pages hear (gateway.console.live)

    def __post_init__(self) -> None:
        self.sessions = Sessions(self.clock)
        self.throttle = SignInThrottle(self.clock)
        store = self.observability.store if self.observability is not None else None
        self.live = LiveFeed(self.api, self.sessions, store)


CONSOLE: Final = web.AppKey("console", ConsoleParts)
