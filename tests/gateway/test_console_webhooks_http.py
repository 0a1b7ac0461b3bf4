"""The console's webhooks page over a real socket, against a real webhook receiver: what is
failing and what was given up, and "retry now" (POST with the session's CSRF token) making a
given-up webhook go again at once, delivered the next time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from gateway.config import NumberConfig
from gateway.console.webhooks import shown_url
from gateway.runtime import Gateway
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import ACCOUNT, BOB, Inbox, Statuses, config, running
from tests.gateway.test_console_http import HANDSET, Console, assert_secured
from tests.gateway.webhook_receiver import Answer, Receiver


@dataclass
class Rigged:
    console: Console
    receiver: Receiver
    statuses: Statuses
    inbox: Inbox


@pytest.fixture
async def rigged(tmp_path: Path) -> AsyncIterator[Rigged]:
    """Bob's inbound webhook to a real receiver that answers 500 (until told otherwise); one
    attempt, then given up."""
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/sms"] = Answer(status=500, body="down for maintenance")
    clock = Clock()
    # A key in the query, as receivers often take one: never on a page.
    sms_url = receiver.url("/sms") + "?key=s3cret"
    settings = config(tmp_path, numbers=(NumberConfig(BOB, sms_url=sms_url),), webhook_attempts=1)

    heard: list[tuple[Statuses, Inbox]] = []

    def hear(gateway: Gateway) -> None:
        heard.append((Statuses(gateway), Inbox(gateway)))  # before it starts: nothing missed

    try:
        async with (
            running(settings, clock=clock, prepare=hear) as gateway,
            aiohttp.ClientSession(
                gateway.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
            ) as http,
        ):
            ((statuses, inbox),) = heard
            yield Rigged(Console(gateway, clock, http), receiver, statuses, inbox)
    finally:
        await receiver.stop()


async def test_a_given_up_webhook_is_shown_and_retried_now(rigged: Rigged) -> None:
    console, receiver = rigged.console, rigged.receiver
    console.gateway.modems.network.inject(BOB, HANDSET, "are you there?")
    (message,) = await rigged.inbox.wait(1)
    failed = f"HTTP 500 from {receiver.url('/sms')}?key=s3cret"
    assert await rigged.statuses.webhook_outcomes(1) == [failed]
    await console.sign_in()
    page = await console.page("/console/webhooks")
    given_up = page[page.index('id="given-up"') :]
    assert f'<a href="/console/messages/{message.sid}">{message.sid}</a>' in given_up
    assert f"HTTP 500 from {receiver.url('/sms')}<" in given_up  # its path, not its query
    assert "s3cret" not in page
    assert 'Given up <span class="count">(1)</span>' in page
    form = re.search(r'action="(/console/webhooks/(\d+)/retry)"', given_up)
    assert form is not None
    receiver.answers["/sms"] = Answer()  # back up
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    async with console.http.post(
        form.group(1), data={"csrf_token": token.group(1)}, allow_redirects=False
    ) as reply:
        assert reply.status == 303
        assert reply.headers["Location"] == "/console/webhooks"
        assert_secured(reply)
    # Delivered at once: no clock moved, the sender was woken.
    assert await rigged.statuses.webhook_outcomes(2) == [failed, None]
    assert [r.params["Body"] for r in receiver.requests] == ["are you there?"] * 2
    assert receiver.requests[0].token == receiver.requests[1].token  # the same webhook
    page = await console.page("/console/webhooks")
    assert 'Given up <span class="count">(0)</span>' in page
    assert 'Failing (being retried) <span class="count">(0)</span>' in page
    # Delivered: nothing to retry any more.
    async with console.http.post(form.group(1), data={"csrf_token": token.group(1)}) as reply:
        assert reply.status == 404
        assert "no such webhook" in await reply.text()


async def test_retry_needs_csrf_and_the_accounts_own_webhook(rigged: Rigged) -> None:
    console = rigged.console
    console.gateway.modems.network.inject(BOB, HANDSET, "hello")
    await rigged.statuses.webhook_outcomes(1)
    await console.sign_in()
    page = await console.page("/console/webhooks")
    path = re.search(r'action="(/console/webhooks/\d+/retry)"', page)
    assert path is not None
    async with console.http.post(path.group(1), data={"csrf_token": "forged"}) as reply:
        assert reply.status == 403
    token = await console.csrf()
    for bad in ("/console/webhooks/999999/retry", "/console/webhooks/x1/retry"):
        async with console.http.post(bad, data={"csrf_token": token}) as reply:
            assert reply.status == 404, bad
    assert (await console.gateway.store.webhook_states(ACCOUNT.sid)).counts["failed"] == 1


def test_a_shown_url_keeps_no_credentials_nor_query() -> None:
    url = "https://user:secret@Example.com/sms/in?key=abc"
    assert shown_url(url) == "https://example.com:443/sms/in"
