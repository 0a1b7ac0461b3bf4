"""The aiohttp application: routes, and the one place errors become Twilio's JSON.

Every refusal is a Twilio-shaped body (``code``, ``message``, ``more_info``, ``status``). An
exception nobody expected is a bug: it is logged with its traceback and answered with a
Twilio-shaped 500 (code 20500), never with a traceback on the wire.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from gateway.api import handlers
from gateway.api.keys import API_PARTS, REQUEST_LIMITS, ApiParts, RequestLimits
from gateway.api.observability import OBSERVABILITY, UNMATCHED, Observability, counting
from gateway.api.observability import routes as observability_routes
from gateway.domain.errors import ApiError, StoreError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# aiohttp's own refusals, as Twilio codes.
_HTTP_CODES: Final = {
    404: (20404, "The requested resource {path} was not found"),
    405: (20004, "Method not allowed"),
    413: (20001, "The request body is larger than {limit} bytes"),
}


def _error_response(error: ApiError) -> web.Response:
    response = web.json_response(error.body(), status=error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="smsgw"'
    if error.close:
        response.force_close()
    return response


@web.middleware
async def twilio_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return _error_response(error)
    except StoreError as exc:
        # Not a bug: the database cannot be written (a full disk...). The client is told to
        # try again later; /healthz says why, and the log says it once, not per request.
        request.app[STORE_TROUBLE].report(str(exc))
        return _error_response(ApiError(20503, UNAVAILABLE, 503))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, text = _HTTP_CODES.get(exc.status, (20001, exc.reason))
        message = text.format(path=request.path, limit=request.app[MAX_BODY])
        return _error_response(ApiError(code, message, exc.status))
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path_qs)
        return _error_response(ApiError(20500, "Internal Server Error", 500))


async def unmatched(request: web.Request) -> web.Response:
    """A request no route takes: 405 when a route takes its path with another method, 404
    otherwise.

    A route of its own, last, rather than aiohttp's answer: for a request nothing matches,
    aiohttp makes a route that refers to itself (a reference cycle, ~3 KB a request that only
    the cyclic garbage collector gives back) and raises an exception held by it.
    """
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        # A mounted application (the console) answers every path under its prefix itself, so
        # none reaches here; and its resolve() does not check the prefix: it would resolve
        # this path in its own router, making the same cycle for nothing.
        if resource.name != UNMATCHED and not isinstance(resource, web.PrefixedSubAppResource):
            _, methods = await resource.resolve(request)
            allowed |= methods
    if not allowed:
        code, text = _HTTP_CODES[404]
        return _error_response(ApiError(code, text.format(path=request.path), 404))
    code, text = _HTTP_CODES[405]
    response = _error_response(ApiError(code, text, 405))
    response.headers[hdrs.ALLOW] = ",".join(sorted(allowed))  # RFC 9110 §15.5.6
    return response


MAX_BODY: Final = web.AppKey("max_body", int)
UNAVAILABLE: Final = (
    "Service Unavailable: the gateway cannot store anything now (see /healthz); nothing was "
    "accepted, try again later"
)


_QUIET: Final = 60.0  # seconds: the same failure is logged again at most this often


class StoreTrouble:
    """Requests the database refused; logged when the failure starts or changes (and once a
    minute while it lasts), not at every request: a client must not flood the journal."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.count = 0
        self._monotonic = monotonic
        self._last: tuple[str, float] | None = None

    def report(self, error: str) -> None:
        self.count += 1
        now = self._monotonic()
        if self._last is None or self._last[0] != error or now - self._last[1] >= _QUIET:
            log.error("the database refuses requests: %s (answered 503 until it recovers)", error)
            self._last = (error, now)


STORE_TROUBLE: Final = web.AppKey("store_trouble", StoreTrouble)


def concurrency_limit(limits: RequestLimits) -> Middleware:
    """At most ``limits.max_concurrent`` requests answered at once; the next get Twilio's 429
    (20429) at once, without waiting, so that a client's retry (twilio-node's ``autoRetry``)
    spreads them. Nothing accepted is ever refused after the fact: a create either commits or
    is refused here, before it starts."""
    active = 0

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal active
        limit = limits.max_concurrent
        if active >= limit:
            return _error_response(
                ApiError(20429, f"Too Many Requests: more than {limit} at once", 429)
            )
        active += 1
        try:
            return await handler(request)
        finally:
            active -= 1

    return middleware


def create_app(
    api_parts: ApiParts,
    max_request_bytes: int,
    limits: RequestLimits,
    observability: Observability | None = None,
    mounts: Mapping[str, web.Application] | None = None,
) -> web.Application:
    """The API's application; ``mounts``: applications served under a prefix of it (the
    console at ``/console``), ahead of the route that answers what nothing else takes."""
    middlewares: list[Middleware] = [twilio_errors, concurrency_limit(limits)]
    if observability is not None:
        # Outermost: it counts every answer, the refusals made of errors included.
        middlewares.insert(0, counting(observability.counters))
    app = web.Application(middlewares=middlewares, client_max_size=max_request_bytes)
    app[API_PARTS] = api_parts
    app[MAX_BODY] = max_request_bytes
    app[STORE_TROUBLE] = StoreTrouble()
    app[REQUEST_LIMITS] = limits
    app.add_routes(handlers.routes())
    if observability is not None:
        app[OBSERVABILITY] = observability
        app.add_routes(observability_routes())
    for prefix, mounted in (mounts or {}).items():
        app.add_subapp(prefix, mounted)
    app.router.add_route("*", "/{path:.*}", unmatched, name=UNMATCHED)  # last
    return app
