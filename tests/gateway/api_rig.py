"""What the API conformance tests share: a gateway on a real port whose clock the test sets, a
way to await a message's final status, the real ``twilio`` client (sync and async) pointed at
it, and a raw aiohttp client for what the SDK cannot send.

The gateway is the one :mod:`tests.gateway.gateway_rig` describes (alice and bob owned by
ACCOUNT, carol by OTHER_ACCOUNT); only the clock is the test's, so dates are exact and a
message can be "sent" on a chosen day.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

import aiohttp
import pytest
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from drivers.simulated.network import Fate, HandsetRule
from gateway.config import Account
from gateway.runtime import Gateway
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import ACCOUNT, Statuses, basic_auth, config

# Numbers no simulated modem answers: messages to them never come back in as inbound ones.
EXTERNAL: Final = "+15558675310"
EXTERNAL_2: Final = "+447700900123"
ERROR_KEYS: Final = {"code", "message", "more_info", "status"}
# twilio's AsyncTwilioHttpClient authenticates with aiohttp.BasicAuth and the ``auth=``
# argument, both deprecated in aiohttp 3.14 (removed in 4.0): the library's warnings, not ours.
# A module that drives the async client says ``pytestmark = ASYNC_CLIENT_WARNINGS``.
ASYNC_CLIENT_WARNINGS: Final = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]


@dataclass
class Api:
    gateway: Gateway
    clock: Clock
    statuses: Statuses

    @property
    def base_url(self) -> str:
        return self.gateway.base_url


@contextlib.asynccontextmanager
async def api_gateway(data_dir: Path, max_request_bytes: int | None = None) -> AsyncIterator[Api]:
    """``gateway_rig.running`` with the test's clock (and, if given, a request size limit)."""
    configuration = config(data_dir)
    if max_request_bytes is not None:
        configuration = replace(configuration, max_request_bytes=max_request_bytes)
    clock = Clock()
    gateway = Gateway(configuration, clock=clock)
    # Handsets outside the gateway never report delivery here: a message sent stays "sent",
    # so the API's JSON is what these tests say (delivery reports have tests of their own).
    gateway.modems.network.set_rule("*", HandsetRule(Fate.NO_REPORT))
    await gateway.start()
    try:
        for handle in gateway.modems.handles.values():
            await handle.ready()
        yield Api(gateway, clock, Statuses(gateway))
    finally:
        await gateway.stop()


def messages_path(account: Account = ACCOUNT) -> str:
    return f"/2010-04-01/Accounts/{account.sid}/Messages.json"


def message_path(sid: str, account: Account = ACCOUNT) -> str:
    return f"/2010-04-01/Accounts/{account.sid}/Messages/{sid}.json"


def raw_client(api: Api, account: Account | None = ACCOUNT) -> aiohttp.ClientSession:
    """A plain HTTP client with ``account``'s Basic credentials (none for ``None``)."""
    headers = basic_auth(account) if account is not None else {}
    return aiohttp.ClientSession(api.base_url, headers=headers)


async def raw_create(http: aiohttp.ClientSession, **form: str) -> dict[str, Any]:
    """Creates a message in ACCOUNT (the client must carry its credentials); 201 or fail."""
    async with http.post(messages_path(ACCOUNT), data=form) as reply:
        body: dict[str, Any] = await reply.json()
        assert reply.status == 201, body
        return body


@dataclass
class Sdk:
    """The real ``twilio`` client, used synchronously (in a thread, since the gateway runs on
    this test's event loop) or with its ``*_async`` methods. ``requests`` lists every HTTP
    request it made, as (method, URL), seen by the HTTP library itself."""

    client: Any
    is_async: bool
    requests: list[tuple[str, str]] = field(default_factory=list)

    @property
    def messages(self) -> Any:
        return self.client.messages

    async def create(self, **params: Any) -> Any:
        if self.is_async:
            return await self.messages.create_async(**params)
        return await asyncio.to_thread(lambda: self.messages.create(**params))

    async def fetch(self, sid: str) -> Any:
        if self.is_async:
            return await self.messages(sid).fetch_async()
        return await asyncio.to_thread(lambda: self.messages(sid).fetch())

    async def read(self, **params: Any) -> list[Any]:
        """``list``/``list_async``: every page, read eagerly."""
        if self.is_async:
            return list(await self.messages.list_async(**params))
        return list(await asyncio.to_thread(lambda: self.messages.list(**params)))

    async def stream(self, **params: Any) -> list[Any]:
        if self.is_async:
            return [message async for message in await self.messages.stream_async(**params)]
        return await asyncio.to_thread(lambda: list(self.messages.stream(**params)))

    def gets(self) -> list[str]:
        """The URLs of the GET requests made so far."""
        return [url for method, url in self.requests if method == "GET"]


class SdkFactory:
    """Makes :class:`Sdk` clients for one gateway and closes their HTTP sessions afterwards."""

    def __init__(self, api: Api, is_async: bool) -> None:
        self.api = api
        self.is_async = is_async
        self._http: list[Any] = []

    def __call__(self, username: str, password: str, account_sid: str | None = None) -> Sdk:
        requests: list[tuple[str, str]] = []
        if self.is_async:

            async def on_start(
                session: aiohttp.ClientSession,
                context: SimpleNamespace,
                params: aiohttp.TraceRequestStartParams,
            ) -> None:
                requests.append((params.method, str(params.url)))

            trace = aiohttp.TraceConfig()
            trace.on_request_start.append(on_start)
            http: Any = AsyncTwilioHttpClient(trace_configs=[trace])
        else:

            def on_response(response: Any, *args: object, **kwargs: object) -> None:
                requests.append((response.request.method, response.url))

            http = TwilioHttpClient(request_hooks={"response": [on_response]})
        self._http.append(http)
        client = Client(username, password, account_sid, http_client=http)
        client.api.base_url = self.api.base_url  # the one change a user makes
        return Sdk(client, self.is_async, requests)

    def account(self, account: Account = ACCOUNT) -> Sdk:
        return self(account.sid, account.auth_token)

    async def close(self) -> None:
        for http in self._http:
            if self.is_async:
                await http.close()
            elif http.session is not None:
                http.session.close()


def assert_twilio_error(body: Mapping[str, Any], status: int, code: int | None = None) -> None:
    """A Twilio legacy error body: exactly code, message, more_info and status."""
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status, body
    assert isinstance(body["code"], int) and isinstance(body["message"], str), body
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}", body
    if code is not None:
        assert body["code"] == code, body
