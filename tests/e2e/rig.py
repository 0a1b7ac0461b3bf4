"""The e2e rig: a real gateway in-process (:mod:`tests.gateway.gateway_rig`: real sockets,
SQLite, simulated modems) on the test's clock, heard from before it starts (its
:class:`~tests.gateway.gateway_rig.Statuses` and :class:`~tests.gateway.gateway_rig.Inbox`),
with a real webhook receiver, the real ``twilio`` client (sync or async) and plain HTTP.

What the tests check, they check through what a user or an operator sees: the API, the
webhooks, the simulated network, the logs and metrics, and what the store says it keeps
(:meth:`gateway.store.Store.message_trail`), never its tables. ``smsgw serve`` run as its own
process is in :mod:`tests.e2e.served`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from twilio.base.exceptions import TwilioException, TwilioRestException

from drivers.simulated import SimulatedModem, SimulatedNetwork
from gateway.config import Account, ModemConfig
from gateway.domain.models import Message
from gateway.runtime import Gateway
from gateway.store import Audit, MessageTrail
from tests.fakes.clock import Clock
from tests.gateway.api_rig import Api, Sdk, SdkFactory
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    Inbox,
    Statuses,
    basic_auth,
    config,
    running,
)
from tests.gateway.webhook_receiver import Received, Receiver

# Handsets outside the gateway: messages to them never come back in as inbound ones.
HANDSET: Final = "+447700900123"
HANDSET_2: Final = "+447700900456"
SENTINELS: Final = itertools.count(1)


@dataclass
class Rig:
    """One running gateway, and what a test drives it and watches it with."""

    gateway: Gateway
    clock: Clock
    receiver: Receiver
    statuses: Statuses
    inbox: Inbox
    sdk: Sdk  # ACCOUNT's
    clients: SdkFactory  # for other credentials

    # --- the gateway ----------------------------------------------------------------------

    @property
    def network(self) -> SimulatedNetwork:
        return self.gateway.modems.network

    @property
    def alice(self) -> SimulatedModem:
        return self.gateway.modems.simulated["alice"]

    @property
    def bob(self) -> SimulatedModem:
        return self.gateway.modems.simulated["bob"]

    async def replug_alice(self) -> None:
        """Alice answers again and is plugged back in: what she held is sent. (A hung modem
        left to the teardown would cost its in-flight send the 2 s abort grace.)"""
        self.alice.resume()
        await self.alice.drop_line()

    async def final(self, sid: str, account: Account = ACCOUNT) -> Message:
        """The message as stored once its status is final."""
        return await self.statuses.final(sid, account)

    async def callbacks(self, sid: str, count: int) -> list[Received]:
        """The webhooks for ``sid`` the receiver got, once ``count`` of them have come."""
        return await self.receiver.wait_for(sid, count)

    async def trail(self, sid: str) -> MessageTrail:
        """What the store keeps of message ``sid`` now."""
        store = self.gateway.store
        assert isinstance(store, Audit), "an engine the e2e tests run on offers the audit role"
        trail = await store.message_trail(sid)
        assert trail is not None, f"the store keeps nothing of {sid}"
        return trail

    # --- texts to bob ---------------------------------------------------------------------

    def text(self, body: str, sender: str = HANDSET, **options: Any) -> list[tuple[str, int]]:
        """``sender`` texts Bob's SIM (``order``, ``reference``, ``ucs2``, ``ref16``...)."""
        return self.network.inject(BOB, sender, body, **options)

    async def last(self, after: int) -> list[Message]:
        """Everything the gateway made of what was sent so far, after ``after`` messages:
        a plain message sent now comes back after all of it (one modem's notifications are
        handled in order), so nothing still on its way is missed."""
        # Never the same PDU twice (across gateways too): that would be one message.
        sentinel = f"sentinel {next(SENTINELS)}"
        self.text(sentinel, sender=HANDSET_2)
        count = after + 1
        while True:
            messages = await self.inbox.wait(count)
            if messages[-1].from_ == HANDSET_2 and messages[-1].body == sentinel:
                return messages[after:-1]
            count += 1

    # --- the twilio client ----------------------------------------------------------------

    @property
    def messages(self) -> Any:
        return self.sdk.client.messages

    @property
    def numbers(self) -> Any:
        return self.sdk.client.incoming_phone_numbers

    async def call(self, resource: Any, method: str, **params: Any) -> Any:
        """``resource.method(**params)``: in a thread for the sync client (the gateway runs
        on this loop), or its ``method_async`` twin for the async one."""
        if self.sdk.is_async:
            return await getattr(resource, f"{method}_async")(**params)
        return await asyncio.to_thread(getattr(resource, method), **params)

    async def refused(
        self, code: int, http_status: int, resource: Any, method: str, /, **params: Any
    ) -> TwilioRestException:
        """The call raises ``TwilioRestException`` with Twilio's ``code`` and HTTP status."""
        with pytest.raises(TwilioRestException) as caught:
            await self.call(resource, method, **params)
        error = caught.value
        assert (error.code, error.status) == (code, http_status), error.msg
        return error

    async def page_refused(self, code: int, http_status: int, resource: Any) -> None:
        """Listing ``resource`` fails: twilio-python raises a plain ``TwilioException`` for a
        page that is not a 200 (not a RestException), carrying the response."""
        with pytest.raises(TwilioException) as caught:
            await self.call(resource, "list")
        assert not isinstance(caught.value, TwilioRestException)
        message, response = caught.value.args
        assert message == "Unable to fetch page"
        assert response.status_code == http_status
        assert json.loads(response.text)["code"] == code

    async def create(self, **params: Any) -> Any:
        return await self.call(self.messages, "create", **params)

    async def fetch(self, sid: str) -> Any:
        return await self.call(self.messages(sid), "fetch")

    async def listed(self, **params: Any) -> list[str]:
        return [message.sid for message in await self.call(self.messages, "list", **params)]

    # --- plain HTTP -----------------------------------------------------------------------

    async def post(self, expect: int = 201, /, **form: str) -> dict[str, Any]:
        """``POST …/Messages.json`` with ``form``, answered ``expect``: the JSON."""
        async with aiohttp.ClientSession(self.gateway.base_url, headers=basic_auth()) as http:
            reply = await http.post(f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json", data=form)
            body: dict[str, Any] = await reply.json()
            assert reply.status == expect, body
            return body

    async def send(self, to: str = HANDSET, body: str = "Hello", **form: str) -> str:
        """A message from alice, its status callbacks to the receiver's ``/status``."""
        created = await self.post(
            To=to, From=ALICE, Body=body, StatusCallback=self.receiver.url("/status"), **form
        )
        return str(created["sid"])

    async def get(self, sid: str) -> dict[str, Any]:
        """``GET …/Messages/{sid}.json``: the JSON."""
        async with aiohttp.ClientSession(self.gateway.base_url, headers=basic_auth()) as http:
            reply = await http.get(f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages/{sid}.json")
            body: dict[str, Any] = await reply.json()
            return body


@asynccontextmanager
async def started_rig(
    tmp_path: Path,
    *modems: ModemConfig,
    mode: str = "sync",
    clock: Clock | None = None,
    receiver: Receiver | None = None,
    prepare: Callable[[Gateway], None] | None = None,
    **changes: Any,
) -> AsyncIterator[Rig]:
    """A started gateway (:func:`~tests.gateway.gateway_rig.config`: alice, bob and carol
    unless ``modems`` are given; its data in ``tmp_path / "data"``; ``changes``) on the test's
    ``clock``, heard from before it starts; the webhook ``receiver`` (a new one unless given)
    started, and stopped on the way out (a later rig starts it again, on the same port); the
    ``twilio`` client for ACCOUNT, ``mode`` "sync" or "async". ``prepare`` sees the gateway
    before it starts (to put messages on a simulated SIM, say)."""
    receiver = receiver or Receiver(ACCOUNT.auth_token)
    if not receiver.listening:
        await receiver.start()
    clock = clock or Clock()
    heard: list[tuple[Statuses, Inbox]] = []

    def before_start(gateway: Gateway) -> None:
        heard.append((Statuses(gateway), Inbox(gateway)))  # what it does while starting too
        if prepare is not None:
            prepare(gateway)

    try:
        configuration = config(tmp_path / "data", *modems, **changes)
        async with running(configuration, clock=clock, prepare=before_start) as gateway:
            statuses, inbox = heard[0]
            clients = SdkFactory(Api(gateway, clock, statuses), is_async=mode == "async")
            try:
                sdk = clients.account(ACCOUNT)
                yield Rig(gateway, clock, receiver, statuses, inbox, sdk, clients)
            finally:
                await clients.close()
    finally:
        await receiver.stop()


# --- what an operator reads ------------------------------------------------------------------


async def scrape(base_url: str) -> dict[str, Metric]:
    """``GET /metrics``, read by Prometheus's own parser of its text format, by family."""
    async with (
        aiohttp.ClientSession(base_url) as http,
        http.get("/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict[str, Metric], name: str, **labels: str) -> float:
    """The one sample of family ``name`` with ``labels``."""
    family = families[name]
    wanted = [
        sample.value
        for sample in family.samples
        if all(sample.labels.get(key) == item for key, item in labels.items())
        and sample.name in (name, f"{name}_total")
    ]
    assert len(wanted) == 1, (name, labels, family.samples)
    return wanted[0]
