"""The console's application, which the API's mounts at ``/console`` (same port, same
listener: gateway.runtime)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from gateway.console import actions, compose, conversations, live, numbers, views, webhooks
from gateway.console.headers import secured
from gateway.console.parts import CONSOLE, ConsoleParts

PREFIX: Final = "/console"


def console_app(parts: ConsoleParts) -> web.Application:
    app = web.Application(middlewares=[secured])
    app[CONSOLE] = parts
    # Before the views: their last route takes every path.
    app.add_routes(actions.routes())
    app.add_routes(webhooks.routes())
    app.add_routes(numbers.routes())
    live.register(app)
    app.add_routes(compose.routes())
    app.add_routes(conversations.routes())
    app.add_routes(views.routes())
    return app
