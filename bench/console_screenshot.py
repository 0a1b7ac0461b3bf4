"""The README's picture of the console's overview (``docs/console-overview.png``), made again.

The gateway is started as ``make run`` starts it: ``smsgw serve`` with ``config/gateway.toml``
as it is (two simulated modems, ``alice`` and ``bob``), copied into a temporary directory with
another port only, so that its data directory (``../data`` of the file) is a fresh one there
and a gateway already running on 8080 is not in the way. On its first start it makes an
account and prints it once; this reads the SID and token off that, as a user would. A few
messages are sent through the API (to a handset, and from one modem to the other, which makes
inbound ones) and waited for until final, so that the page is not empty. Debian's chromium
(``/usr/bin/chromium``, driven by Playwright: never ``playwright install``) then signs in
through the form and takes the overview at 1280 x 800 CSS pixels.

Run with ``make screenshot`` (or ``.venv/bin/python -m bench.console_screenshot [PATH]``);
about 15 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import aiohttp
from playwright.async_api import ViewportSize, async_playwright

from bench.gateway_process import free_port, stop_process

CHECKOUT: Final = Path(__file__).resolve().parent.parent
CONFIG: Final = CHECKOUT / "config" / "gateway.toml"
OUTPUT: Final = CHECKOUT / "docs" / "console-overview.png"
CHROMIUM: Final = Path("/usr/bin/chromium")
VIEWPORT: Final = ViewportSize(width=1280, height=800)
ALICE: Final = "+15550001001"
BOB: Final = "+15550002002"
# (From, To, Body): what a gateway's first minutes might carry.
MESSAGES: Final = (
    (ALICE, "+447700900123", "Your parcel is out for delivery today between 10:00 and 12:00."),
    (ALICE, BOB, "Door code for tonight is 4711, see you at 8."),
    (BOB, ALICE, "Thanks! On my way."),
    (BOB, "+447700900456", "Reminder: dentist appointment tomorrow at 09:30. Reply C to cancel."),
    (ALICE, "+15017122661", "Server room temperature back to normal (21.4 °C)."),
)
FINAL: Final = ("delivered", "undelivered", "failed")
_BANNER: Final = re.compile(r"smsgw is listening on (\S+)")
_SID: Final = re.compile(r"Account SID: (AC[0-9a-f]{32})")
_TOKEN: Final = re.compile(r"Auth token:\s+(\S+)")
_TIMEOUT_S: Final = 30.0


async def _started(log: Path, process: asyncio.subprocess.Process) -> tuple[str, str, str]:
    """The base URL, account SID and auth token the gateway printed at its first start."""
    deadline = time.monotonic() + _TIMEOUT_S
    while True:
        text = log.read_text(errors="replace")
        banner, sid, token = (pattern.search(text) for pattern in (_BANNER, _SID, _TOKEN))
        if banner and sid and token:
            return banner.group(1), sid.group(1), token.group(1)
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"smsgw serve did not start: {text[-500:]}")
        await asyncio.sleep(0.1)


async def _send(base_url: str, sid: str, token: str) -> None:
    """The messages, through the API; back once each is final (or after the timeout)."""
    basic = base64.b64encode(f"{sid}:{token}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    messages = f"{base_url}/2010-04-01/Accounts/{sid}/Messages"
    sids: list[str] = []
    async with aiohttp.ClientSession(headers=headers) as http:
        for from_, to, body in MESSAGES:
            form = {"From": from_, "To": to, "Body": body}
            async with http.post(f"{messages}.json", data=form) as answer:
                if answer.status != 201:
                    raise RuntimeError(f"create refused: {answer.status} {await answer.text()}")
                sids.append((await answer.json())["sid"])
        deadline = time.monotonic() + _TIMEOUT_S
        while sids and time.monotonic() < deadline:
            async with http.get(f"{messages}/{sids[0]}.json") as answer:
                if (await answer.json())["status"] in FINAL:
                    sids.pop(0)
                    continue
            await asyncio.sleep(0.2)  # the simulated network's delivery reports take seconds


async def _shoot(base_url: str, sid: str, token: str, output: Path) -> None:
    if not CHROMIUM.exists():
        raise SystemExit(f"Debian's chromium is needed at {CHROMIUM}: apt-get install chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = await browser.new_page(viewport=VIEWPORT)
            await page.goto(f"{base_url}/console/sign-in")
            await page.fill("input[name=username]", sid)
            await page.fill("input[name=secret]", token)
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            # The chart is an image loaded after the page (networkidle would never come: the
            # live stream stays open).
            await page.wait_for_function("[...document.images].every((i) => i.complete)")
            output.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(output))
        finally:
            await browser.close()


async def run(output: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="smsgw-screenshot-") as name:
        directory = Path(name)
        (directory / "config").mkdir()
        config = directory / "config" / "gateway.toml"
        listen = f'listen = "127.0.0.1:{free_port()}"'
        config.write_text(CONFIG.read_text().replace('listen = "127.0.0.1:8080"', listen, 1))
        log = directory / "gateway.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "gateway", "serve", "--config", str(config)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            base_url, sid, token = await _started(log, process)
            await _send(base_url, sid, token)
            await _shoot(base_url, sid, token, output)
        finally:
            await stop_process(process)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.console_screenshot", description=__doc__)
    parser.add_argument("output", nargs="?", type=Path, default=OUTPUT, help="(%(default)s)")
    args = parser.parse_args(argv)
    asyncio.run(run(args.output))
    size = args.output.stat().st_size
    print(f"{args.output}: {size // 1024} KiB")


if __name__ == "__main__":
    main()
