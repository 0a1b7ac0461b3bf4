"""What the console's browser tests share (tests/e2e/test_console_*.py): Debian's chromium
(``/usr/bin/chromium``, which ``make test`` installs when missing) driven by Playwright (never
``playwright install``: nothing is downloaded), a gateway with two simulated modems, a page
watched for dialogs and CSP refusals, and signing in through the form.

The fixtures are pytest's through tests/e2e/conftest.py, which imports them from here.
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
from tests.e2e.rig import Rig, started_rig
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB

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
async def console_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A real gateway with two simulated modems (alice and bob) on a real port."""
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
