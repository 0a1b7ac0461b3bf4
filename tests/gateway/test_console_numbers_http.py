"""The console's numbers page over a real socket: each of the account's numbers, editable with
the IncomingPhoneNumbers API's own checks and persistence; what the configuration decides
beyond them said as such."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import aiohttp
import pytest

from gateway.config import NumberConfig, ServiceConfig
from gateway.domain.records import PhoneNumber
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    CAROL,
    OTHER_ACCOUNT,
    basic_auth,
    config,
    running,
)
from tests.gateway.test_console_http import Console, assert_secured

SERVICE: Final = "MG" + "5e" * 16
CONFIGURED: Final = "https://configured.example.com/sms"


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """Alice's number configured with an SmsUrl; bob's in a Messaging Service whose own
    inbound URL takes its messages."""
    pool = ServiceConfig(SERVICE, "front desk", (BOB,), sms_url="https://desk.example.com/in")
    settings = config(
        tmp_path, numbers=(NumberConfig(ALICE, sms_url=CONFIGURED),), services=(pool,)
    )
    async with (
        running(settings, clock=Clock()) as gateway,
        aiohttp.ClientSession(gateway.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        yield Console(gateway, Clock(), http)


def record(console: Console, number: str) -> PhoneNumber:
    (found,) = [n for n in console.gateway.numbers.of_account(ACCOUNT.sid) if n.number == number]
    return found


def form_of(page: str, sid: str) -> dict[str, str]:
    """The fields of ``sid``'s form as the page fills them (what a browser would send)."""
    start = page.index(f'action="/console/numbers/{sid}"')
    form = page[start : page.index("</form>", start)]
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input[^>]* name="([^"]+)" value="([^"]*)"', form)
    }
    for name, options in re.findall(r'<select[^>]* name="([^"]+)">(.*?)</select>', form, re.S):
        (fields[name],) = re.findall(r"<option selected>(\w+)</option>", options)
    return fields


async def save(console: Console, sid: str, form: dict[str, str], status: int = 303) -> str:
    async with console.http.post(
        f"/console/numbers/{sid}", data=form, allow_redirects=False
    ) as reply:
        text = await reply.text()
        assert reply.status == status, text
        assert_secured(reply)
        return text


async def test_the_accounts_numbers_with_their_settings(console: Console) -> None:
    await console.sign_in()
    page = await console.page("/console/numbers")
    alice, bob = record(console, ALICE), record(console, BOB)
    assert f'id="{alice.sid}"' in page and f'id="{bob.sid}"' in page
    assert CAROL not in page  # the other account's
    assert form_of(page, alice.sid)["SmsUrl"] == CONFIGURED
    assert form_of(page, alice.sid)["SmsMethod"] == "POST"
    assert "settings from the configuration" in page
    # Bob's inbound messages go where his Messaging Service says: said, not offered.
    assert (
        "Inbound messages go to its Messaging Service front desk "
        f"({SERVICE}): https://desk.example.com/in, set in the configuration" in page
    )


async def test_a_change_is_the_apis_change(console: Console) -> None:
    await console.sign_in()
    sid = record(console, ALICE).sid
    page = await console.page("/console/numbers")
    untouched = form_of(page, sid)
    await save(console, sid, untouched)
    assert not record(console, ALICE).api_updated  # nothing changed: nothing pinned
    changed = {
        **untouched,
        "SmsUrl": " https://new.example.com/in ",
        "SmsMethod": "GET",
        "StatusCallback": "https://new.example.com/status",
    }
    await save(console, sid, changed)
    updated = record(console, ALICE)
    assert (updated.sms_url, updated.sms_method, updated.status_callback) == (
        "https://new.example.com/in",
        "GET",
        "https://new.example.com/status",
    )
    assert updated.api_updated
    # What the API shows, and what the page shows now.
    path = f"/2010-04-01/Accounts/{ACCOUNT.sid}/IncomingPhoneNumbers/{sid}.json"
    async with console.http.get(path, headers=basic_auth()) as reply:
        shown = await reply.json()
    assert (shown["sms_url"], shown["sms_method"]) == ("https://new.example.com/in", "GET")
    page = await console.page("/console/numbers")
    assert form_of(page, sid)["SmsUrl"] == "https://new.example.com/in"
    assert "settings from the API or this console" in page
    assert "entry no longer applies" in page
    # An emptied URL clears it, as Twilio's empty parameter does.
    await save(console, sid, {**form_of(page, sid), "StatusCallback": ""})
    assert record(console, ALICE).status_callback is None


async def test_a_refused_change_says_why_and_keeps_what_was_typed(console: Console) -> None:
    await console.sign_in()
    sid = record(console, ALICE).sid
    page = await console.page("/console/numbers")
    typed = {**form_of(page, sid), "SmsUrl": "ftp://files.example.com/x"}
    text = await save(console, sid, typed, 400)
    assert "Error 21502: Invalid SmsUrl: &#39;ftp://files.example.com/x&#39;" in text
    assert 'role="alert"' in text and 'aria-invalid="true"' in text
    assert form_of(text, sid)["SmsUrl"] == "ftp://files.example.com/x"  # kept to correct
    assert record(console, ALICE).sms_url == CONFIGURED  # nothing saved
    text = await save(console, sid, {**form_of(page, sid), "SmsMethod": "PUT"}, 400)
    assert "Error 20001: Invalid SmsMethod &#39;PUT&#39;: expected GET or POST" in text


async def test_a_change_needs_csrf_and_the_accounts_own_number(console: Console) -> None:
    await console.sign_in()
    sid = record(console, ALICE).sid
    text = await save(console, sid, {"csrf_token": "forged", "SmsUrl": ""}, 403)
    assert "CSRF" in text
    assert record(console, ALICE).sms_url == CONFIGURED
    (carols,) = console.gateway.numbers.of_account(OTHER_ACCOUNT.sid)
    token = await console.csrf()
    for other in (carols.sid, "PN" + "0" * 32, "nonsense"):
        await save(console, other, {"csrf_token": token, "SmsUrl": ""}, 404)
    assert carols.sms_url == console.gateway.numbers.of_account(OTHER_ACCOUNT.sid)[0].sms_url
