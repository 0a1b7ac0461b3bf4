"""Every console page through axe-core (Deque's accessibility engine, from npm: pinned in
tests/e2e/axe/package-lock.json, installed by ``make axe``), run inside the page in Debian's
chromium: no violation of impact "serious" or "critical" (WCAG 2 A/AA: names, labels,
contrast, landmarks...), on a desktop's width and a phone's.

axe is injected as a script the console did not serve, which the console's own CSP forbids:
this test's browser context alone bypasses the CSP (Playwright's ``bypass_csp``), so that the
pages are checked as they are, with no exception made in the gateway for a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import pytest
from playwright.async_api import Browser, Page, ViewportSize

from tests.e2e.console_browser import DESKTOP, PHONE, Watched, sign_in
from tests.e2e.rig import HANDSET, Rig
from tests.gateway.gateway_rig import ACCOUNT
from tests.gateway.webhook_receiver import Answer

pytestmark = pytest.mark.browser

AXE: Final = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING: Final = ("serious", "critical")
# The whole of WCAG 2.0/2.1/2.2 A and AA, and axe's best practices (landmarks, headings).
TAGS: Final = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


async def violations(page: Page) -> list[str]:
    """axe's serious and critical violations on ``page`` as it stands, one line each: the
    rule, its impact, and the elements (their CSS selectors)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make axe` (npm ci)")
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    found: list[dict[str, Any]] = await page.evaluate(
        "async options => (await axe.run(document, options)).violations", options
    )
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']}: "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"])
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_every_console_page_passes_axe(
    browser: Browser, console_rig: Rig, tmp_path: Path, viewport: ViewportSize
) -> None:
    # Something on each page: an inbound message, an outbound one, a webhook failing.
    console_rig.text("<b>hello</b> from a stranger")
    (inbound,) = await console_rig.inbox.wait(1)
    console_rig.receiver.answers["/status"] = Answer(status=503)
    outbound = await console_rig.send(HANDSET, "an answer")
    await console_rig.final(outbound)
    assert (await console_rig.statuses.webhook_outcomes(1))[0] is not None
    context = await browser.new_context(viewport=viewport, bypass_csp=True)  # for axe only
    watched = Watched(await context.new_page())
    page = watched.page
    base = console_rig.gateway.base_url
    await page.goto(f"{base}/console/sign-in")
    found = await violations(page)
    await sign_in(watched, console_rig)
    pages = {
        "overview": "/console/",
        "messages": "/console/messages",
        "message-in": f"/console/messages/{inbound.sid}",
        "message-out": f"/console/messages/{outbound}",
        "webhooks": "/console/webhooks",
        "numbers": "/console/numbers",
        "compose": "/console/compose",
        "conversations": "/console/conversations",
        "refused": f"/console/messages/{'SM' + '0' * 32}",
    }
    for name, path in pages.items():
        await page.goto(base + path)
        found += await violations(page)
        await watched.fits()  # and nothing wider than a phone's screen
        await page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
    # A thread, with its reply box: the first of the conversations.
    await page.goto(f"{base}/console/conversations")
    async with page.expect_navigation():
        await page.locator("ul.threads a").first.click()
    found += await violations(page)
    await watched.fits()
    await page.screenshot(path=tmp_path / "conversation.png", full_page=True)
    # A form refused: the sign-in's error, shown to a screen reader too.
    await page.goto(f"{base}/console/")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/console/sign-in")
    await page.get_by_label("Account SID or API key SID").fill(ACCOUNT.sid)
    await page.get_by_label("Auth token or API key secret").fill("wrong")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    found += await violations(page)
    assert found == [], "\n".join(found)
    # The check checks: a field with no label, put in by hand, is one of its violations.
    await page.evaluate("document.querySelector('main').append(document.createElement('input'))")
    assert any(" label (critical)" in line for line in await violations(page))
    assert watched.dialogs == []
    await context.close()
