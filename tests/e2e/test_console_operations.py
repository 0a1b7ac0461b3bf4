"""What an operator does from the console, in a real browser (Debian's chromium through
Playwright) against a real gateway with simulated modems and a real webhook receiver:
cancels a scheduled message, points a number's inbound webhook somewhere else and sees the
next SMS go there, retries a failing webhook and sees it delivered. Each page's screenshot is
saved in the test's ``tmp_path``. Nothing waits on time: the test clock stands still, and each
step waits for what the page or the gateway says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser

from gateway.config import ModemConfig, ServiceConfig
from gateway.domain.models import Status
from tests.e2e.console_browser import DESKTOP, open_page, sign_in
from tests.e2e.rig import HANDSET, Rig, started_rig
from tests.fakes.clock import T0
from tests.gateway.gateway_rig import ALICE, BOB
from tests.gateway.webhook_receiver import Answer

pytestmark = pytest.mark.browser

SERVICE: Final = "MG" + "5e" * 16


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """Alice and bob, and a Messaging Service of alice's number (to schedule through)."""
    two = (ModemConfig("alice", "simulated", (ALICE,)), ModemConfig("bob", "simulated", (BOB,)))
    pool = ServiceConfig(SERVICE, "pool", (ALICE,))
    async with started_rig(tmp_path / "gateway", *two, services=(pool,)) as started:
        yield started


async def test_cancel_a_scheduled_message(browser: Browser, rig: Rig, tmp_path: Path) -> None:
    created = await rig.post(
        To=HANDSET,
        MessagingServiceSid=SERVICE,
        Body="reminder: dentist at 3",
        ScheduleType="fixed",
        SendAt=(T0 + timedelta(hours=3)).isoformat(),
    )
    sid = created["sid"]
    watched = await open_page(browser, DESKTOP)
    page = watched.page
    await sign_in(watched, rig)
    await page.goto(f"{rig.gateway.base_url}/console/messages/{sid}")
    assert await page.locator("span.status").inner_text() == "scheduled"
    await page.screenshot(path=tmp_path / "scheduled.png", full_page=True)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Cancel").click()
    assert page.url.endswith(f"/console/messages/{sid}")
    assert await page.locator("span.status").inner_text() == "canceled"
    assert await page.get_by_role("button", name="Cancel").count() == 0
    assert (await rig.get(sid))["status"] == Status.CANCELED
    await page.screenshot(path=tmp_path / "canceled.png", full_page=True)
    assert watched.refused == [] and watched.dialogs == []


async def test_a_numbers_new_webhook_url_takes_the_next_sms(
    browser: Browser, rig: Rig, tmp_path: Path
) -> None:
    watched = await open_page(browser, DESKTOP)
    page = watched.page
    await sign_in(watched, rig)
    await page.get_by_role("link", name="Numbers").click()
    await page.wait_for_url("**/console/numbers")
    bobs = page.locator("section.number", has=page.get_by_role("heading", name=BOB))
    await bobs.get_by_label("Inbound SMS URL", exact=True).fill(rig.receiver.url("/edited"))
    await bobs.get_by_label("Inbound SMS URL: method", exact=True).select_option("POST")
    async with page.expect_navigation():
        await bobs.get_by_role("button", name=f"Save {BOB}").click()
    assert await bobs.get_by_label("Inbound SMS URL", exact=True).input_value() == (
        rig.receiver.url("/edited")
    )
    await page.screenshot(path=tmp_path / "numbers.png", full_page=True)
    rig.text("is this thing on?")
    (message,) = await rig.inbox.wait(1)
    (received,) = await rig.receiver.wait_for(message.sid)
    assert (received.path, received.params["Body"], received.signed) == (
        "/edited",
        "is this thing on?",
        True,
    )
    assert watched.refused == [] and watched.dialogs == []


async def test_retry_a_failing_webhook(browser: Browser, rig: Rig, tmp_path: Path) -> None:
    rig.receiver.answers["/status"] = Answer(status=503, body="maintenance")
    sid = await rig.send(HANDSET, "status, please")
    await rig.final(sid)
    (failure,) = await rig.statuses.webhook_outcomes(1)
    assert failure == f"HTTP 503 from {rig.receiver.url('/status')}"
    # Its next attempt is minutes away, and the test clock stands still: only "retry now"
    # brings it.
    watched = await open_page(browser, DESKTOP)
    page = watched.page
    await sign_in(watched, rig)
    await page.get_by_role("link", name="Webhooks").click()
    await page.wait_for_url("**/console/webhooks")
    failing = page.locator("section", has=page.get_by_role("heading", name="Failing"))
    row = failing.locator("tbody tr", has_text=sid)
    assert "HTTP 503" in await row.inner_text()
    await page.screenshot(path=tmp_path / "failing.png", full_page=True)
    rig.receiver.answers["/status"] = Answer()  # the receiver is back
    async with page.expect_navigation():
        await row.get_by_role("button", name="Retry now").click()
    assert await rig.statuses.webhook_outcomes(2) == [failure, None]
    callbacks = await rig.callbacks(sid, 2)
    assert callbacks[0].token == callbacks[1].token  # the same webhook, delivered this time
    await page.reload()
    assert await failing.locator("tbody tr", has_text=sid).count() == 0
    await page.screenshot(path=tmp_path / "retried.png", full_page=True)
    assert watched.refused == [] and watched.dialogs == []
