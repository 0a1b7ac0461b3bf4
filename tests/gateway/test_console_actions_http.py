"""A message's actions in the console (cancel, redact, delete, send again) over a real socket:
each a POST with the session's CSRF token, each going through the API's own calls, so that
what the API refuses the console refuses too, with Twilio's code in words."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Final

import aiohttp
import pytest

from gateway.config import ServiceConfig
from gateway.domain.models import Status
from tests.fakes.clock import T0, Clock
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    OTHER_ACCOUNT,
    Statuses,
    basic_auth,
    config,
    running,
)
from tests.gateway.test_console_http import HANDSET, Console, assert_secured, send

SERVICE: Final = "MG" + "5e" * 16


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    clock = Clock()
    pool = ServiceConfig(SERVICE, "pool", (ALICE, BOB))
    async with (
        running(config(tmp_path, services=(pool,)), clock=clock) as gateway,
        aiohttp.ClientSession(gateway.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        yield Console(gateway, clock, http)


async def scheduled(console: Console, body: str = "see you at noon") -> str:
    path = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"
    form = {
        "To": HANDSET,
        "MessagingServiceSid": SERVICE,
        "Body": body,
        "ScheduleType": "fixed",
        "SendAt": (T0 + timedelta(hours=2)).isoformat(),
    }
    async with console.http.post(path, data=form, headers=basic_auth()) as reply:
        assert reply.status == 201, await reply.text()
        sid: str = (await reply.json())["sid"]
        return sid


async def act(
    console: Console, sid: str, action: str, status: int = 303, token: str | None = None
) -> tuple[str, str]:
    """POST an action's form as the page has it: the answer's Location (or body)."""
    form = {"csrf_token": token if token is not None else await console.csrf()}
    path = f"/console/messages/{sid}/{action}"
    async with console.http.post(path, data=form, allow_redirects=False) as reply:
        text = await reply.text()
        assert reply.status == status, (action, reply.status, text)
        assert_secured(reply)
        return reply.headers.get("Location", ""), text


async def stored_status(console: Console, sid: str) -> Status | None:
    message = await console.gateway.store.get_message(ACCOUNT.sid, sid)
    return None if message is None else message.status


async def test_a_scheduled_message_is_canceled_from_its_page(console: Console) -> None:
    sid = await scheduled(console)
    await console.sign_in()
    page = await console.page(f"/console/messages/{sid}")
    assert f'action="/console/messages/{sid}/cancel"' in page
    assert f'action="/console/messages/{sid}/delete"' not in page  # not final yet: 20009
    location, _ = await act(console, sid, "cancel")
    assert location == f"/console/messages/{sid}"
    assert await stored_status(console, sid) is Status.CANCELED
    page = await console.page(location)
    assert '<span class="status canceled">canceled</span>' in page
    assert "/cancel" not in page  # nothing left to cancel
    # Posted again (a second tab, say): as the API, nothing more to do, and no complaint.
    await act(console, sid, "cancel")


async def test_a_message_gone_cannot_be_canceled(console: Console) -> None:
    statuses = Statuses(console.gateway)
    sid = await send(console, ACCOUNT, HANDSET, "too late")
    await statuses.final(sid)
    await console.sign_in()
    assert "/cancel" not in await console.page(f"/console/messages/{sid}")
    # Posted anyway (a page open since before it went): refused as the API refuses it.
    _, text = await act(console, sid, "cancel", 400)
    assert re.search(r"Error 30409: This message cannot be canceled: it is (sent|delivered)", text)
    assert f'href="/console/messages/{sid}"' in text


async def test_an_action_needs_the_sessions_csrf_token(console: Console) -> None:
    sid = await scheduled(console)
    await console.sign_in()
    for token in ("", "forged"):
        _, text = await act(console, sid, "cancel", 403, token=token)
        assert "CSRF" in text
    assert await stored_status(console, sid) is Status.SCHEDULED
    async with aiohttp.ClientSession(console.gateway.base_url) as stranger:
        path = f"/console/messages/{sid}/cancel"
        async with stranger.post(path, data={"csrf_token": "x"}) as reply:
            assert reply.status == 403  # no session at all
    assert await stored_status(console, sid) is Status.SCHEDULED


async def test_redact_and_delete_wait_for_the_end_as_the_api_does(console: Console) -> None:
    sid = await scheduled(console, "my PIN is 1234")
    await console.sign_in()
    # Not offered while it is scheduled; posted anyway, refused with the API's 20009.
    _, text = await act(console, sid, "redact", 409)
    assert "Error 20009: Cannot redact this message before it is complete" in text
    _, text = await act(console, sid, "delete", 409)
    assert "Error 20009: Cannot delete this resource before it is complete" in text
    await act(console, sid, "cancel")
    page = await console.page(f"/console/messages/{sid}")
    assert "/redact" in page and "/delete" in page
    await act(console, sid, "redact")
    message = await console.gateway.store.get_message(ACCOUNT.sid, sid)
    assert message is not None and message.body == ""
    assert "my PIN is 1234" not in await console.page(f"/console/messages/{sid}")
    location, _ = await act(console, sid, "delete")
    assert location == "/console/messages"
    assert await stored_status(console, sid) is None
    await console.page(f"/console/messages/{sid}", 404)
    await act(console, sid, "delete", 404)


async def test_send_again_makes_a_new_message_with_the_same_sender(console: Console) -> None:
    statuses = Statuses(console.gateway)
    first = await send(console, ACCOUNT, HANDSET, "the same words")
    await statuses.final(first)
    await console.sign_in()
    location, _ = await act(console, first, "send-again")
    again = re.fullmatch(r"/console/messages/(SM[0-9a-f]{32})", location)
    assert again is not None and again.group(1) != first
    message = await statuses.final(again.group(1))
    assert (message.to, message.from_, message.body) == (HANDSET, ALICE, "the same words")
    assert message.status in (Status.SENT, Status.DELIVERED)
    # Through a Messaging Service: the service picks the sender again.
    sid = await scheduled(console, "pooled")
    location, _ = await act(console, sid, "send-again")
    pooled = await console.gateway.store.get_message(ACCOUNT.sid, location.rsplit("/", 1)[1])
    assert pooled is not None
    assert (pooled.messaging_service_sid, pooled.body, pooled.send_at) == (SERVICE, "pooled", None)


async def test_an_inbound_or_redacted_message_cannot_be_sent_again(console: Console) -> None:
    statuses = Statuses(console.gateway)
    sid = await send(console, ACCOUNT, HANDSET, "soon gone")
    await statuses.final(sid)
    await console.sign_in()
    await act(console, sid, "redact")
    _, text = await act(console, sid, "send-again", 400)
    assert "Error 21602" in text  # Twilio's "Message body is required"


async def test_another_accounts_message_takes_no_action(console: Console) -> None:
    theirs = await send(console, OTHER_ACCOUNT, HANDSET, "carol's")
    await console.sign_in()
    for action in ("cancel", "redact", "delete", "send-again"):
        await act(console, theirs, action, 404)
    assert await console.gateway.store.get_message(OTHER_ACCOUNT.sid, theirs) is not None
    await act(console, theirs, "unknown", 404)
