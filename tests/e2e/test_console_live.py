"""The console's live pages in a real browser (Debian's chromium through Playwright, as in
tests/e2e/test_console_browser.py), against a real gateway with simulated modems.

What a person does: composes a message, sees the preview follow the typing, sends it and
watches its page turn delivered with no reload (the handset is switched off until the page
shows "sent", then on: the change can only come through the live events); sees an SMS a
stranger sends appear in its conversation as it comes; replies from the conversation and sees
the reply sent. No sleep: each step waits on what the page shows. Screenshots go to
``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from drivers.simulated import Fate, HandsetRule
from tests.e2e.console_browser import DESKTOP, PHONE, Watched, open_page, sign_in
from tests.e2e.rig import HANDSET, Rig
from tests.gateway.gateway_rig import ALICE, BOB

pytestmark = pytest.mark.browser


async def live(page: Page) -> None:
    """The page's event stream is open: what happens from now on reaches it."""
    await expect(page.locator("html")).to_have_attribute("data-live", "open")


async def mark(page: Page) -> None:
    """A mark that a reload would wipe out."""
    await page.evaluate("window.notReloaded = true")


async def not_reloaded(page: Page) -> None:
    assert await page.evaluate("window.notReloaded === true"), "the page was reloaded"


async def test_compose_and_watch_it_turn_delivered(
    browser: Browser, console_rig: Rig, tmp_path: Path
) -> None:
    console_rig.network.set_rule(HANDSET, HandsetRule(Fate.PHONE_OFF))
    watched = await open_page(browser, DESKTOP)
    page = watched.page
    await sign_in(watched, console_rig)
    await page.get_by_role("link", name="Compose").click()
    await page.wait_for_url("**/console/compose")
    await page.get_by_label("To", exact=True).fill(HANDSET)
    await expect(page.get_by_label("From", exact=True)).to_have_value(ALICE)
    body = page.get_by_label("Body", exact=True)
    await body.press_sequentially("“Hello” from the console")
    form = page.locator("form.compose")
    await expect(form).to_have_attribute("data-previewed", "“Hello” from the console")
    summary = page.locator("#preview-summary")
    await expect(summary).to_have_text(
        "24 characters, UCS-2: 1 segment, 46 characters left in the last"
    )
    await expect(page.locator("#preview-smart")).to_have_text(
        'Smart encoding would send it as GSM-7 in 1 segment: "Hello" from the console'
    )
    await page.screenshot(path=tmp_path / "compose.png", full_page=True)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send").click()
    assert "/console/messages/SM" in page.url
    sid = page.url.rsplit("/", 1)[1]
    await live(page)
    status = page.locator("dl.fields .status")
    await expect(status).to_have_text("sent")  # the handset is off: no report yet
    await mark(page)
    console_rig.network.switch_on(HANDSET)
    await expect(status).to_have_text("delivered")
    await not_reloaded(page)
    assert (await console_rig.final(sid)).status == "delivered"
    await page.screenshot(path=tmp_path / "delivered.png", full_page=True)
    assert watched.refused == [] and watched.dialogs == []


async def test_compose_shows_an_error_next_to_its_field(
    browser: Browser, console_rig: Rig, tmp_path: Path
) -> None:
    watched = await open_page(browser, PHONE)
    page = watched.page
    await sign_in(watched, console_rig)
    await page.goto(f"{console_rig.gateway.base_url}/console/compose")
    await page.get_by_label("To", exact=True).fill("12")
    await page.get_by_label("Body", exact=True).fill("hello")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send").click()
    error = page.locator("#to-error")
    await expect(error).to_contain_text("The 'To' number 12 is not a valid phone number")
    await expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Body", exact=True)).to_have_value("hello")  # kept
    await watched.fits()
    await page.screenshot(path=tmp_path / "compose-error.png", full_page=True)
    assert watched.refused == [] and watched.dialogs == []


async def open_conversation(watched: Watched, rig: Rig, ours: str, theirs: str) -> Page:
    page = watched.page
    await page.get_by_role("link", name="Conversations").click()
    await page.wait_for_url("**/console/conversations")
    await page.get_by_role("link", name=f"{theirs} with {ours}").click()
    await page.wait_for_url(f"**/console/conversations/{ours}/{theirs}")
    await live(page)
    return page


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_an_inbound_sms_appears_live_and_a_reply_is_sent(
    browser: Browser, console_rig: Rig, tmp_path: Path, viewport: dict[str, int]
) -> None:
    console_rig.text("Are you open today?")
    await console_rig.inbox.wait()
    watched = await open_page(browser, viewport)  # type: ignore[arg-type]
    await sign_in(watched, console_rig)
    page = await open_conversation(watched, console_rig, BOB, HANDSET)
    bubbles = page.locator("ol.thread li")
    await expect(bubbles).to_have_count(1)
    await mark(page)
    console_rig.text("<img src=x onerror=alert(1)> hello?")
    await expect(bubbles).to_have_count(2)
    await expect(bubbles.nth(1).locator(".body")).to_have_text(
        "<img src=x onerror=alert(1)> hello?"
    )
    assert await page.locator("ol.thread img").count() == 0  # text, not markup
    await not_reloaded(page)
    await page.screenshot(path=tmp_path / "conversation.png", full_page=True)
    await page.get_by_label(f"Reply from {BOB}").fill("Yes, until six.")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Send").click()
    reply = page.locator("ol.thread li.outbound", has_text="Yes, until six.")
    await expect(reply).to_have_count(1)
    sid = await reply.get_attribute("data-sid")
    assert sid is not None
    await live(page)
    await expect(reply.locator(".status")).to_have_text("delivered")
    message = await console_rig.final(sid)
    assert (message.from_, message.to, message.body) == (BOB, HANDSET, "Yes, until six.")
    await watched.fits()
    await page.screenshot(path=tmp_path / "replied.png", full_page=True)
    assert watched.refused == [] and watched.dialogs == []


async def test_the_overview_follows_the_modems_and_the_queue(
    browser: Browser, console_rig: Rig, tmp_path: Path
) -> None:
    watched = await open_page(browser, DESKTOP)
    page = watched.page
    await sign_in(watched, console_rig)
    await live(page)
    await mark(page)
    alice = page.locator('article.modem[data-modem="alice"]')
    await expect(alice.locator("h3 .state")).to_have_text("ready")
    console_rig.alice.set_registration(0)  # TS 27.007 §7.2: not registered, not searching
    await expect(alice.locator("h3 .state")).to_have_text("no_service")
    await expect(alice.locator("h3 .state")).to_have_class("state bad")
    await expect(alice.locator('[data-field="registration"]')).to_contain_text("not registered")
    console_rig.alice.set_registration(1)
    await expect(alice.locator("h3 .state")).to_have_text("ready")
    console_rig.alice.faults.hold_submit = True  # the part waits on the air: "sending"
    sid = await console_rig.send(body="held")
    sending = page.locator("#queue-counts div", has=page.locator("dt", has_text="sending"))
    await expect(sending.locator("dd")).to_have_text("1")
    await page.screenshot(path=tmp_path / "overview-sending.png", full_page=True)
    console_rig.alice.release_submit()
    await console_rig.final(sid)
    await expect(sending.locator("dd")).to_have_text("0")
    await not_reloaded(page)
    assert watched.refused == [] and watched.dialogs == []
