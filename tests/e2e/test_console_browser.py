"""The console in a real browser: Debian's chromium (``/usr/bin/chromium``, which ``make test``
installs when missing), driven by Playwright (never ``playwright install``: nothing is
downloaded), against a real gateway with two simulated modems on a real port (the e2e rig).

What a person does: signs in through the form by keyboard, sees both modems on the overview,
finds an SMS a stranger sent with markup in it shown as text (no script ran, no dialog), on a
phone's width as on a desktop's. Each page's screenshot is saved in the test's ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, ViewportSize

from gateway.domain.models import Status
from tests.e2e.console_browser import DESKTOP, PHONE, XSS_BODIES, open_page, sign_in
from tests.e2e.rig import HANDSET, Rig
from tests.gateway.gateway_rig import ALICE, BOB

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_sign_in_and_see_both_modems(
    browser: Browser, console_rig: Rig, tmp_path: Path, viewport: ViewportSize
) -> None:
    watched = await open_page(browser, viewport)
    page = watched.page
    await page.goto(f"{console_rig.gateway.base_url}/console/sign-in")
    await page.screenshot(path=tmp_path / "sign-in.png", full_page=True)
    await sign_in(watched, console_rig)
    for modem, number in (("alice", ALICE), ("bob", BOB)):
        card = page.locator("article.modem", has=page.get_by_role("heading", name=modem))
        await card.wait_for()
        assert number in await card.inner_text()
        assert "ready" in await card.get_by_role("heading").inner_text()
    await watched.fits()
    await page.screenshot(path=tmp_path / "overview.png", full_page=True)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/console/sign-in")
    await page.goto(f"{console_rig.gateway.base_url}/console/")
    assert page.url.endswith("/console/sign-in")  # the session ended
    assert watched.refused == [] and watched.dialogs == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_an_sms_with_markup_shows_as_text(
    browser: Browser, console_rig: Rig, tmp_path: Path, viewport: ViewportSize
) -> None:
    for body in XSS_BODIES:
        console_rig.text(body)
    received = await console_rig.inbox.wait(len(XSS_BODIES))
    watched = await open_page(browser, viewport)
    page = watched.page
    await sign_in(watched, console_rig)
    await page.get_by_role("link", name="Messages").click()
    await page.wait_for_url("**/console/messages")
    for body in XSS_BODIES:
        cell = page.locator("td.body", has_text=body)
        assert await cell.inner_text() == body  # the text itself, shown
        assert await cell.is_visible()
    assert await page.locator("main img").count() == 0  # no element the SMS made
    assert await page.locator("main script").count() == 0
    assert HANDSET in await page.locator("table.messages").inner_text()
    await watched.fits()
    await page.screenshot(path=tmp_path / "messages.png", full_page=True)
    await page.goto(f"{console_rig.gateway.base_url}/console/messages/{received[1].sid}")
    assert await page.locator("p.message-body").inner_text() == received[1].body
    await watched.fits()
    await page.screenshot(path=tmp_path / "message.png", full_page=True)
    assert watched.dialogs == [], "a script from an SMS ran"
    assert watched.refused == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_a_messages_page_shows_its_timeline_decoded_parts_and_callbacks(
    browser: Browser, console_rig: Rig, tmp_path: Path, viewport: ViewportSize
) -> None:
    sid = await console_rig.send(BOB, "Two parts: " + "z" * 160)
    await console_rig.statuses.reached(sid, Status.DELIVERED)
    # Every status callback it made (the last one comes with "delivered") taken: each shows
    # the attempt that delivered it.
    made = len((await console_rig.trail(sid)).webhooks)
    await console_rig.statuses.webhook_outcomes(made)
    watched = await open_page(browser, viewport)
    page = watched.page
    await sign_in(watched, console_rig)
    await page.goto(f"{console_rig.gateway.base_url}/console/messages/{sid}")

    timeline = page.get_by_role("region", name="Timeline")
    for what in ("created", "sending", "part 1 sent", "part 2 sent", "sent", "delivered"):
        entry = timeline.locator("li", has=page.locator("strong", has_text=what)).first
        assert await entry.is_visible(), what
    parts = page.get_by_role("region", name="Parts", exact=True)
    first = parts.locator("details.pdu").first
    assert await first.locator("summary").inner_text() == "SMS-SUBMIT"
    decoded = await first.locator("dl.decoded").inner_text()
    assert BOB in decoded and "part 1 of 2" in decoded and "Two parts: zzz" in decoded
    assert await first.locator("dl.decoded").is_visible()
    assert "transaction completed" in await parts.inner_text()  # TP-ST in words
    callbacks = page.get_by_role("region", name="Webhooks and callbacks")
    attempts = callbacks.locator("ol.attempts li")
    assert await attempts.count() == made
    assert "HTTP 200" in await attempts.last.inner_text()
    assert "/status" not in await callbacks.inner_text()  # where it goes, no path or query
    await watched.fits()
    await page.screenshot(path=tmp_path / "message-timeline.png", full_page=True)
    assert watched.refused == [] and watched.dialogs == []
