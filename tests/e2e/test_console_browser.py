"""The console in a real browser: Debian's chromium (``/usr/bin/chromium``, which ``make test``
installs when missing), driven by Playwright (never ``playwright install``: nothing is
downloaded), against a real gateway with two simulated modems on a real port (the e2e rig).

What a person does: signs in through the form by keyboard, sees both modems on the overview,
finds an SMS a stranger sent with markup in it shown as text (no script ran, no dialog), on a
phone's width as on a desktop's. Each page's screenshot is saved in the test's ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    ViewportSize,
    async_playwright,
)

from gateway.config import ModemConfig
from tests.e2e.rig import HANDSET, Rig, started_rig
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB

pytestmark = pytest.mark.browser

CHROMIUM: Final = Path("/usr/bin/chromium")
XSS_BODIES: Final = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
PHONE: Final = ViewportSize(width=390, height=844)  # a phone's, in CSS pixels
DESKTOP: Final = ViewportSize(width=1280, height=900)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        # Not a skip: a console nobody tested in a browser is not tested.
        pytest.fail(
            f"the console's browser tests need Debian's chromium at {CHROMIUM}: "
            "apt-get install chromium (make test installs it when run as root)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    two = (ModemConfig("alice", "simulated", (ALICE,)), ModemConfig("bob", "simulated", (BOB,)))
    async with started_rig(tmp_path, *two) as started:
        yield started


class Watched:
    """A page, and what it did that the test must see did not happen: a dialog opened (a
    script an SMS smuggled in ran), or the browser refused something by the CSP (the console
    itself broke its own policy)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.refused: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.refused.append(message.text)

    async def fits(self) -> None:
        """Nothing wider than the viewport: no sideways scrolling on a phone."""
        overflow = await self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{self.page.url} is {overflow} px wider than the screen"


async def open_page(browser: Browser, viewport: ViewportSize) -> Watched:
    context = await browser.new_context(viewport=viewport)
    return Watched(await context.new_page())


async def sign_in(watched: Watched, rig: Rig) -> None:
    """Through the form, by keyboard: the fields found by their labels, Enter to send."""
    page = watched.page
    await page.goto(f"{rig.gateway.base_url}/console/")
    assert page.url.endswith("/console/sign-in")  # sent there: not signed in yet
    await page.get_by_label("Account SID or API key SID").fill(ACCOUNT.sid)
    await page.get_by_label("Auth token or API key secret").fill(ACCOUNT.auth_token)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == f"{rig.gateway.base_url}/console/", await page.content()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_sign_in_and_see_both_modems(
    browser: Browser, rig: Rig, tmp_path: Path, viewport: ViewportSize
) -> None:
    watched = await open_page(browser, viewport)
    page = watched.page
    await page.goto(f"{rig.gateway.base_url}/console/sign-in")
    await page.screenshot(path=tmp_path / "sign-in.png", full_page=True)
    await sign_in(watched, rig)
    for modem, number in (("alice", ALICE), ("bob", BOB)):
        card = page.locator("article.modem", has=page.get_by_role("heading", name=modem))
        await card.wait_for()
        assert number in await card.inner_text()
        assert "ready" in await card.get_by_role("heading").inner_text()
    await watched.fits()
    await page.screenshot(path=tmp_path / "overview.png", full_page=True)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/console/sign-in")
    await page.goto(f"{rig.gateway.base_url}/console/")
    assert page.url.endswith("/console/sign-in")  # the session ended
    assert watched.refused == [] and watched.dialogs == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_an_sms_with_markup_shows_as_text(
    browser: Browser, rig: Rig, tmp_path: Path, viewport: ViewportSize
) -> None:
    for body in XSS_BODIES:
        rig.text(body)
    received = await rig.inbox.wait(len(XSS_BODIES))
    watched = await open_page(browser, viewport)
    page = watched.page
    await sign_in(watched, rig)
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
    await page.goto(f"{rig.gateway.base_url}/console/messages/{received[1].sid}")
    assert await page.locator("p.message-body").inner_text() == received[1].body
    await watched.fits()
    await page.screenshot(path=tmp_path / "message.png", full_page=True)
    assert watched.dialogs == [], "a script from an SMS ran"
    assert watched.refused == []
