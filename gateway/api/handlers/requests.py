"""What every handler reads off its request: the account it acts for, the parts of the gateway
it calls, and the 404 for a resource that is not there."""

from __future__ import annotations

from aiohttp import web

from gateway.api.auth import unauthorized
from gateway.api.keys import API_PARTS, ApiParts
from gateway.domain.errors import ApiError


def parts(request: web.Request) -> ApiParts:
    return request.app[API_PARTS]


def not_found(request: web.Request) -> ApiError:
    return ApiError(20404, f"The requested resource {request.path} was not found", 404)


def authorize(request: web.Request) -> str:
    """The account the request acts for: its credentials' account, which must be the path's."""
    account = parts(request).authenticator.account_for(request.headers.get("Authorization"))
    path_account = request.match_info.get("account")
    if path_account is not None and path_account != account:
        raise unauthorized()
    return account
