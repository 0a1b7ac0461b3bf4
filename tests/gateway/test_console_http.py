"""The console over a real socket (``/console/`` on the API's port), with aiohttp's client as
the browser: sign-in, its cookie, the throttle, CSRF, the headers, what a session may see, and
a stranger's SMS rendered as text (issue 18, "Safety")."""

from __future__ import annotations

import html
import logging
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import aiohttp
import pytest
import trustme

from gateway.config import Account, ConsoleConfig
from gateway.console.guards import FAILURES, WINDOW
from gateway.console.headers import CONTENT_SECURITY_POLICY
from gateway.console.sessions import ABSOLUTE_EXPIRY, IDLE_EXPIRY
from gateway.console.views import PAGE_SIZE
from gateway.domain.models import Status
from gateway.runtime import Gateway
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    CAROL,
    OTHER_ACCOUNT,
    Inbox,
    Statuses,
    basic_auth,
    config,
    running,
)

HANDSET: Final = "+447700900123"
XSS_BODIES: Final = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
# Each as the page must carry it: text, every markup character escaped (as Jinja2 escapes).
ESCAPED: Final = (
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class Console:
    gateway: Gateway
    clock: Clock
    http: aiohttp.ClientSession  # a browser: it keeps the cookies it is given

    async def sign_in(
        self, username: str = ACCOUNT.sid, secret: str = ACCOUNT.auth_token
    ) -> aiohttp.ClientResponse:
        form = {"username": username, "secret": secret}
        async with self.http.post("/console/sign-in", data=form, allow_redirects=False) as reply:
            await reply.read()
            return reply

    async def page(self, path: str, status: int = 200) -> str:
        async with self.http.get(path, allow_redirects=False) as reply:
            text = await reply.text()
            assert reply.status == status, (path, reply.status, text)
            assert_secured(reply)
            return text

    async def csrf(self) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', await self.page("/console/"))
        assert found is not None
        return found.group(1)


def assert_secured(reply: aiohttp.ClientResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, (reply.url, name)
    if reply.content_type == "text/html":
        assert reply.headers.get("Cache-Control") == "no-store", reply.url


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    clock = Clock()
    async with (
        running(config(tmp_path), clock=clock) as gateway,
        aiohttp.ClientSession(
            gateway.base_url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # 127.0.0.1: an IP
        ) as http,
    ):
        yield Console(gateway, clock, http)


async def test_a_page_without_a_session_sends_to_the_sign_in(console: Console) -> None:
    for path in ("/console/", "/console/messages", "/console/messages/SM" + "0" * 32):
        async with console.http.get(path, allow_redirects=False) as reply:
            assert reply.status == 303
            assert reply.headers["Location"] == "/console/sign-in"
            assert_secured(reply)
    async with console.http.get("/console", allow_redirects=False) as reply:
        assert reply.status == 308
        assert reply.headers["Location"] == "/console/"
    text = await console.page("/console/sign-in")
    assert '<label for="username">' in text and '<label for="secret">' in text


async def test_wrong_credentials_are_refused_without_a_cookie(console: Console) -> None:
    for username, secret in (
        (ACCOUNT.sid, "wrong-token"),
        (ACCOUNT.sid, ""),
        ("AC" + "0" * 32, ACCOUNT.auth_token),
        (ACCOUNT.api_keys[0].sid, ACCOUNT.auth_token),  # a key with the account's token
    ):
        reply = await console.sign_in(username, secret)
        assert reply.status == 401
        assert "Set-Cookie" not in reply.headers
        assert_secured(reply)
    assert len(console.http.cookie_jar) == 0
    await console.page("/console/", 303)


async def test_the_right_credentials_give_a_strict_cookie(console: Console) -> None:
    reply = await console.sign_in()
    assert reply.status == 303 and reply.headers["Location"] == "/console/"
    cookie = reply.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite"} <= attributes
    assert "Path=/console/" in cookie and "SameSite=Strict" in cookie
    assert "secure" not in attributes  # plain HTTP: a Secure cookie would never come back
    assert ACCOUNT.auth_token not in cookie
    text = await console.page("/console/")
    assert ACCOUNT.sid in text


async def test_an_api_key_signs_in_to_its_account(console: Console) -> None:
    key = ACCOUNT.api_keys[0]
    assert (await console.sign_in(key.sid, key.secret)).status == 303
    assert ACCOUNT.sid in await console.page("/console/")


async def test_failed_sign_ins_are_throttled_per_address(console: Console) -> None:
    for _ in range(FAILURES):
        assert (await console.sign_in(secret="guess")).status == 401
    reply = await console.sign_in()  # even the right token: the address waits
    assert reply.status == 429
    assert reply.headers["Retry-After"] == str(int(WINDOW.total_seconds()))
    assert "Set-Cookie" not in reply.headers
    assert_secured(reply)
    console.clock.advance(WINDOW.total_seconds() - 1)
    reply = await console.sign_in()
    assert reply.status == 429 and reply.headers["Retry-After"] == "1"
    console.clock.advance(1)
    assert (await console.sign_in()).status == 303


async def test_a_post_needs_its_sessions_csrf_token(console: Console) -> None:
    await console.sign_in()
    token = await console.csrf()
    for form in ({}, {"csrf_token": "forged"}, {"csrf_token": token[:-1]}):
        async with console.http.post("/console/sign-out", data=form) as reply:
            assert reply.status == 403
            assert "CSRF token" in await reply.text()
            assert_secured(reply)
    await console.page("/console/")  # still signed in
    async with console.http.post(
        "/console/sign-out", data={"csrf_token": token}, allow_redirects=False
    ) as reply:
        assert reply.status == 303 and reply.headers["Location"] == "/console/sign-in"
    await console.page("/console/", 303)


async def test_a_sign_in_from_another_site_is_refused(console: Console) -> None:
    form = {"username": ACCOUNT.sid, "secret": ACCOUNT.auth_token}
    for headers in (
        {"Sec-Fetch-Site": "cross-site", "Origin": "null"},  # a browser: Fetch Metadata
        {"Sec-Fetch-Site": "same-site"},  # another port or subdomain of the same site
        {"Origin": "https://evil.example"},  # an older one
    ):
        async with console.http.post("/console/sign-in", data=form, headers=headers) as reply:
            assert reply.status == 403, headers
            assert "Set-Cookie" not in reply.headers
    same = {"Sec-Fetch-Site": "same-origin", "Origin": "null"}  # the console's own form
    async with console.http.post(
        "/console/sign-in", data=form, headers=same, allow_redirects=False
    ) as reply:
        assert reply.status == 303


async def test_a_session_ends_when_idle_and_at_its_end(console: Console) -> None:
    await console.sign_in()
    console.clock.advance(IDLE_EXPIRY.total_seconds() - 1)
    await console.page("/console/")  # a request: the idle time starts again
    console.clock.advance(IDLE_EXPIRY.total_seconds() - 1)
    await console.page("/console/")
    console.clock.advance(IDLE_EXPIRY.total_seconds())
    await console.page("/console/", 303)
    await console.sign_in()
    steps = int(ABSOLUTE_EXPIRY / IDLE_EXPIRY)
    for _ in range(steps - 1):
        console.clock.advance(IDLE_EXPIRY.total_seconds() - 1)
        await console.page("/console/")
    console.clock.advance(IDLE_EXPIRY.total_seconds())  # active all along, but 12 h on
    await console.page("/console/", 303)


async def test_every_page_carries_the_security_headers(console: Console) -> None:
    await console.sign_in()
    sid = await send(console, ACCOUNT, BOB, "headers")
    for path in ("/console/", "/console/messages", f"/console/messages/{sid}"):
        await console.page(path)
    await console.page("/console/no-such-page", 404)
    await console.page("/console/messages?page=garbage", 400)
    async with console.http.get("/console/static/console.css") as reply:
        assert reply.status == 200 and reply.content_type == "text/css"
        assert_secured(reply)
    async with console.http.delete("/console/") as reply:
        assert reply.status == 405
        assert_secured(reply)


async def send(console: Console, account: Account, to: str, body: str) -> str:
    """A message sent through the API, as ``account``: its SID."""
    path = f"/2010-04-01/Accounts/{account.sid}/Messages.json"
    sender = CAROL if account == OTHER_ACCOUNT else ALICE
    form = {"To": to, "From": sender, "Body": body}
    async with console.http.post(path, data=form, headers=basic_auth(account)) as reply:
        assert reply.status == 201, await reply.text()
        sid: str = (await reply.json())["sid"]
        return sid


async def test_another_accounts_message_is_not_found(console: Console) -> None:
    theirs = await send(console, OTHER_ACCOUNT, HANDSET, "carol's secret")
    ours = await send(console, ACCOUNT, HANDSET, "ours")
    await console.sign_in()
    assert "ours" in await console.page(f"/console/messages/{ours}")
    text = await console.page(f"/console/messages/{theirs}", 404)
    assert "carol&#39;s secret" not in text and "secret" not in text
    listing = await console.page("/console/messages")
    assert ours in listing and theirs not in listing
    overview = await console.page("/console/")
    assert CAROL not in overview  # carol's modem is the other account's


async def test_an_sms_with_markup_renders_as_text(console: Console) -> None:
    inbox = Inbox(console.gateway)
    for body in XSS_BODIES:
        console.gateway.modems.network.inject(BOB, HANDSET, body)
    received = await inbox.wait(len(XSS_BODIES))
    await console.sign_in()
    listing = await console.page("/console/messages")
    pages = [await console.page(f"/console/messages/{m.sid}") for m in received]
    for text in (listing, *pages):
        assert "<script>alert(1)" not in text and "<img src=x" not in text
    for body, escaped in zip(XSS_BODIES, ESCAPED, strict=True):
        assert html.unescape(escaped) == body
        assert escaped in listing
        assert any(escaped in page for page in pages)


async def test_the_messages_filter_by_to_and_from(console: Console) -> None:
    first = await send(console, ACCOUNT, HANDSET, "to the handset")
    second = await send(console, ACCOUNT, BOB, "to bob")
    await console.sign_in()
    only_handset = await console.page("/console/messages?to=%2B447700900123")
    assert first in only_handset and second not in only_handset
    assert 'value="+447700900123"' in only_handset
    nobody = await console.page("/console/messages?from=%2B15550009999")
    assert first not in nobody and "No messages match these filters" in nobody


async def test_the_cookie_is_secure_under_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    settings = config(tmp_path / "data", tls_cert=cert, tls_key=key)
    async with (
        running(settings) as gateway,
        aiohttp.ClientSession(
            gateway.base_url, connector=aiohttp.TCPConnector(ssl=trusted)
        ) as http,
    ):
        form = {"username": ACCOUNT.sid, "secret": ACCOUNT.auth_token}
        async with http.post("/console/sign-in", data=form, allow_redirects=False) as reply:
            assert reply.status == 303
            assert "Secure" in reply.headers["Set-Cookie"].split("; ")


async def test_a_console_turned_off_is_not_there(tmp_path: Path) -> None:
    async with (
        running(config(tmp_path, console=ConsoleConfig(enabled=False))) as gateway,
        aiohttp.ClientSession(gateway.base_url) as http,
    ):
        for path in ("/console/", "/console/sign-in", "/console/static/console.css"):
            async with http.get(path, allow_redirects=False) as reply:
                assert reply.status == 404
                assert (await reply.json())["code"] == 20404  # the API's answer


async def test_the_messages_filter_by_status_and_direction(console: Console) -> None:
    inbox = Inbox(console.gateway)
    console.gateway.modems.network.inject(BOB, HANDSET, "from a stranger")
    (received,) = await inbox.wait()
    sent = await send(console, ACCOUNT, HANDSET, "to a stranger")
    await console.sign_in()
    inbound = await console.page("/console/messages?direction=inbound")
    assert received.sid in inbound and sent not in inbound
    assert '<option value="inbound" selected>' in inbound
    outbound = await console.page("/console/messages?direction=outbound")
    assert sent in outbound and received.sid not in outbound
    by_status = await console.page("/console/messages?status=received")
    assert received.sid in by_status and sent not in by_status
    assert '<option value="received" selected>' in by_status
    none = await console.page("/console/messages?status=received&direction=outbound")
    assert "No messages match these filters" in none
    assert "no status &#39;lost&#39;" in await console.page("/console/messages?status=lost", 400)
    await console.page("/console/messages?direction=sideways", 400)


async def test_the_messages_come_in_pages_that_keep_their_filters(console: Console) -> None:
    sids = [await send(console, ACCOUNT, HANDSET, f"number {n}") for n in range(PAGE_SIZE + 1)]
    await send(console, ACCOUNT, BOB, "another recipient")
    await console.sign_in()
    first = await console.page("/console/messages?to=%2B447700900123")
    assert "Newer" not in first
    older = re.search(r'href="(\?[^"]+)" rel="next">Older', first)
    assert older is not None
    second = await console.page("/console/messages" + html.unescape(older.group(1)))
    listed = [sid for sid in sids if sid in first] + [sid for sid in sids if sid in second]
    assert sorted(listed) == sorted(sids)  # each once, the filter kept on the next page
    assert 'rel="prev">Newer' in second and "Older" not in second


async def test_a_session_ends_when_its_credentials_change(console: Console) -> None:
    key = ACCOUNT.api_keys[0]
    await console.sign_in(key.sid, key.secret)
    other = aiohttp.ClientSession(
        console.gateway.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    async with other:
        by_token = Console(console.gateway, console.clock, other)
        await by_token.sign_in()
        # A reload that removes the API key: its session ends, the token's does not.
        gateway = console.gateway
        without_key = replace(ACCOUNT, api_keys=())
        await gateway.reload(replace(gateway.config, accounts=(without_key, OTHER_ACCOUNT)))
        await console.page("/console/", 303)
        await by_token.page("/console/")
        # One that changes the auth token: signed in with the old one, the session ends.
        rotated = replace(ACCOUNT, auth_token="rotated-auth-token", api_keys=())
        await gateway.reload(replace(gateway.config, accounts=(rotated, OTHER_ACCOUNT)))
        await by_token.page("/console/", 303)
        assert (await by_token.sign_in(ACCOUNT.sid, "rotated-auth-token")).status == 303
        await by_token.page("/console/")


async def test_a_failed_message_shows_twilios_error_text(console: Console) -> None:
    statuses = Statuses(console.gateway)
    console.gateway.modems.simulated["alice"].fail_sends(1)  # +CMS ERROR 1: unassigned number
    sid = await send(console, ACCOUNT, HANDSET, "nobody there")
    await statuses.reached(sid, Status.FAILED)
    await console.sign_in()
    text = await console.page(f"/console/messages/{sid}")
    assert "30005: Unknown destination handset" in text
    assert '<span class="status failed">failed</span>' in text


async def test_the_overview_shows_the_modems_their_signal_and_the_health(console: Console) -> None:
    await console.sign_in()
    text = await console.page("/console/")
    for modem, number in (("alice", ALICE), ("bob", BOB)):
        assert f'>{modem} <span class="state ok">ready</span>' in text
        assert number in text
    assert re.search(r'aria-label="[0-4] of 4 bars"', text)
    assert re.search(r"-\d+ dBm", text)
    assert 'Health: <span class="state ok">ready</span>' in text
    assert text.count('<dd data-field="recoveries">0</dd>') == 2
    # What each modem sent: the plan counts, read at each load.
    statuses = Statuses(console.gateway)
    for body in ("one", "two"):
        await statuses.reached(await send(console, ACCOUNT, HANDSET, body), Status.SENT)
    text = await console.page("/console/")
    alice = text[text.index('data-modem="alice"') : text.index('data-modem="bob"')]
    assert '<dd data-field="sent">2 in the last hour, 2 in the last day</dd>' in alice
    bob = text[text.index('data-modem="bob"') :]
    assert '<dd data-field="sent">0 in the last hour, 0 in the last day</dd>' in bob


async def test_a_sign_in_too_large_is_refused_with_a_page(console: Console) -> None:
    form = {"username": ACCOUNT.sid, "secret": "x" * 200_000}
    async with console.http.post("/console/sign-in", data=form) as reply:
        assert reply.status == 413
        assert "Too large" in await reply.text()
        assert_secured(reply)
    for body, kind in ((b'{"username": "x"}', "application/json"), (b"\xff\xfe", "text/plain")):
        headers = {"Content-Type": kind}
        async with console.http.post("/console/sign-in", data=body, headers=headers) as reply:
            assert reply.status == 401  # no credentials in it: refused, and counted
            assert_secured(reply)


async def test_no_secret_reaches_the_log(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await console.sign_in(ACCOUNT.sid, "a-wrong-but-secret-guess")
    await console.sign_in(ACCOUNT.auth_token, ACCOUNT.auth_token)  # the token in the SID field
    await console.sign_in()
    await console.page("/console/")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"a failed sign-in as {ACCOUNT.sid} from 127.0.0.1" in logged
    assert "a failed sign-in as a non-SID from 127.0.0.1" in logged
    for secret in ("a-wrong-but-secret-guess", ACCOUNT.auth_token):
        assert secret not in logged


async def test_a_refused_sign_in_shows_the_sid_again_and_no_secret(console: Console) -> None:
    for username, shown in ((ACCOUNT.sid, ACCOUNT.sid), (ACCOUNT.auth_token, "")):
        form = {"username": username, "secret": "wrong"}
        async with console.http.post("/console/sign-in", data=form) as reply:
            assert reply.status == 401
            text = await reply.text()
            assert f'name="username" value="{shown}"' in text
            assert ACCOUNT.auth_token not in text
