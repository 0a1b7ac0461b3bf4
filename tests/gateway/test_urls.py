"""One URL rule wherever a URL enters (the API, the configuration, TwiML): any string is either
accepted, and then requested exactly as written, or refused with the field's own error; never a
500, a traceback or a webhook that fails at every attempt for its URL's sake."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from yarl import URL

from gateway.config import parse
from gateway.domain.errors import ConfigError
from gateway.domain.urls import MAX_URL, url_problem
from gateway.webhooks.twiml import TwimlError
from gateway.webhooks.twiml import parse as parse_twiml
from tests.gateway.api_rig import EXTERNAL, Api
from tests.gateway.gateway_rig import ACCOUNT, ALICE
from tests.properties import examples

_TEXT: Final = st.characters(codec="utf-8")  # what a form or TOML can carry
_HOSTS: Final = st.one_of(
    st.sampled_from(
        [
            "example.com",
            "EXAMPLE.com.",
            "127.0.0.1",
            "[::1]",
            "[::1",
            "[zz]",
            "[fe80::1%25eth0]",
            "a_b.example",
            "xn--bcher-kva.example",
            "bücher.example",
            "-x.example",
            "999",
            "1.2.3.4.5",
            "h%41",
            "user:pw@example.com",
            "",
        ]
    ),
    st.from_regex(r"[a-z0-9.\-_]{0,24}", fullmatch=True),
    st.text(_TEXT, max_size=12),
)
_PORTS: Final = st.one_of(
    st.just(""),
    st.integers(-1, 70000).map(lambda port: f":{port}"),
    st.text(_TEXT, max_size=4).map(lambda text: ":" + text),
)
_SCHEMES: Final = st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "http:/", ""])
# Strings shaped like URLs, so that acceptance is exercised as often as refusal, and any text.
CANDIDATES: Final = st.one_of(
    st.builds(
        lambda scheme, host, port, path: scheme + host + port + path,
        _SCHEMES,
        _HOSTS,
        _PORTS,
        st.one_of(
            st.just(""),
            st.text(_TEXT, max_size=20).map(lambda text: "/" + text),
            st.from_regex(r"(/[\w.~%!$&'()*+,;=:@-]{0,12}){1,3}(\?[\w=&%]{0,12})?", fullmatch=True),
        ),
    ),
    st.text(_TEXT, max_size=40),
)

# Well-formed URLs of every shape a webhook URL takes: most of them must be accepted.
WELL_FORMED: Final = st.builds(
    lambda scheme, userinfo, host, port, path: scheme + userinfo + host + port + path,
    st.sampled_from(["http://", "https://", "HTTPS://"]),
    st.sampled_from(["", "user@", "user:p%40ss@"]),
    st.one_of(
        st.from_regex(r"([a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\.){0,3}[a-z]{2,6}\.?", fullmatch=True),
        st.ip_addresses(v=4).map(str),
        st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
    ),
    st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}")),
    st.from_regex(r"(/[\w.~%!$&'()*+,;=:@-]{0,12}){0,3}(\?[\w=&]{0,12})?", fullmatch=True).filter(
        lambda path: "%" not in path or bool(re.fullmatch(r"[^%]*(%[0-9A-Fa-f]{2}[^%]*)*", path))
    ),
)


def as_sent(url: str) -> str:
    """What a proxy sees requested for ``url``: the same URL without its user information
    (which travels as an Authorization header), over plain http."""
    parts = urlsplit(url)
    rest = url[url.index("://") + 3 + len(parts.netloc) :]
    return "http://" + parts.netloc.rpartition("@")[2] + rest


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """An HTTP proxy that answers every request and records the absolute target it got."""
    targets: list[str] = []

    async def answer(request: web.BaseRequest) -> web.Response:
        targets.append(request.raw_path)
        return web.Response(text="ok")

    runner = web.ServerRunner(web.Server(answer))  # no routing: every target is answered
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", targets
    finally:
        await runner.cleanup()


async def test_an_accepted_url_is_requested_exactly_as_written(
    proxy: tuple[str, list[str]],
) -> None:
    proxy_url, targets = proxy
    accepted: list[str] = []

    @settings(max_examples=examples(500))
    @given(st.one_of(CANDIDATES, WELL_FORMED))
    def check(candidate: str) -> None:
        problem = url_problem(candidate)  # never raises, whatever the string
        if problem is None:
            assert len(candidate) <= MAX_URL
            accepted.append(candidate)
        else:
            assert problem and isinstance(problem, str)

    await asyncio.to_thread(check)
    assert len(accepted) > examples(500) // 10  # the strategy reaches acceptance, not only refusals
    async with aiohttp.ClientSession() as session:
        for url in dict.fromkeys(accepted):
            # How the webhook sender requests a URL (gateway.webhooks.signing._exact), through the
            # proxy so that any host and port "answers"; https goes over http to reach it.
            plain = "http" + url[url.index(":") :]
            async with session.post(URL(plain, encoded=True), proxy=proxy_url, data=b"x") as reply:
                assert reply.status == 200
            assert targets[-1] == as_sent(plain), url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://[::1/x", "is not a valid URL (Invalid IPv6 URL)"),
        ("https://example.com:99999/", "is not a valid URL (Port out of range 0-65535)"),
        ("https://example.com:0/", "has port 0, which cannot be connected to"),
        ("https://bücher.example/", "has 'ü': percent-encode it, and write a host name in its"),
        ("https://my_host.example/s", "has the host 'my_host.example', which is not a valid host"),
        ("https://example.com/s#top", "has a #fragment, which is never sent"),
        ("https://example.com/a b", "has ' ', which must be percent-encoded"),
        ("https://example.com/%zz", "has a '%' that does not begin a percent-encoded octet"),
        ("https://1.2.3.999/", "has the host '1.2.3.999', which is not an IPv4 address"),
        ("ftp://example.com/", "is not an http:// or https:// URL"),
        ("/status", "is not an http:// or https:// URL"),
        ("https://", "has no host"),
        ("https://example.com/sms?", "ends with an empty query '?', which is not sent"),
        ("https://example.com?a=1", "has a query but no path: write '/' before the '?'"),
        ("https://example.com/" + "x" * MAX_URL, f"is longer than {MAX_URL} characters"),
    ],
)
def test_each_refusal_says_why(url: str, problem: str) -> None:
    assert (url_problem(url) or "").startswith(problem)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/sms?key=1&b=%20",
        "HTTPS://Example.com/",
        "http://user:secret@example.com:8080/hook",
        "http://[::1]:8080/x",
        "http://192.0.2.7/",
        "https://xn--bcher-kva.example/",
        "https://example.com./",
    ],
)
def test_requestable_urls_are_accepted(url: str) -> None:
    assert url_problem(url) is None


@given(CANDIDATES)
def test_the_configuration_takes_the_url_or_names_the_key(candidate: str) -> None:
    entry = {"number": "+15550001111", "sms_url": candidate}
    refused: ConfigError | None = None
    try:
        config = parse({"numbers": [entry]})
    except ConfigError as exc:
        refused = exc
    if refused is not None:
        assert str(refused).startswith("numbers[0].sms_url: ")
        assert candidate and url_problem(candidate) is not None
        return
    settings = config.number_settings("+15550001111")
    assert settings is not None
    assert settings.sms_url == (candidate or None)
    assert not candidate or url_problem(candidate) is None


@given(CANDIDATES)
def test_a_twiml_redirect_is_followed_or_refused_with_11100(candidate: str) -> None:
    document = f"<Response><Redirect><![CDATA[{candidate}]]></Redirect></Response>"
    refused: TwimlError | None = None
    try:
        twiml = parse_twiml(document, "https://receiver.example/sms")
    except TwimlError as exc:
        refused = exc
    if refused is not None:
        assert refused.code in (11100, 12100), refused  # 12100: no URL at all, or not XML
        return
    assert twiml.redirect is not None
    assert url_problem(twiml.redirect.url) is None


def _sdk(api: Api) -> Client:
    client = Client(ACCOUNT.sid, ACCOUNT.auth_token, http_client=TwilioHttpClient(timeout=10))
    client.api.base_url = api.base_url
    return client


def _refusal(call: Callable[[], object]) -> TwilioRestException | None:
    try:
        call()
    except TwilioRestException as exc:
        return exc
    return None


async def test_the_api_takes_a_status_callback_or_refuses_it_with_21609(api: Api) -> None:
    client = _sdk(api)
    outcomes: list[int] = []

    @settings(max_examples=examples(150))
    @given(CANDIDATES.filter(bool))
    def create(candidate: str) -> None:
        refused = _refusal(
            lambda: client.messages.create(
                to=EXTERNAL, from_=ALICE, body="hi", status_callback=candidate
            )
        )
        if refused is not None:
            assert (refused.status, refused.code) == (400, 21609), (candidate, refused.msg)
            assert url_problem(candidate) is not None
        else:
            assert url_problem(candidate) is None, candidate
        outcomes.append(201 if refused is None else refused.code)

    await asyncio.to_thread(create)
    assert {201, 21609} <= set(outcomes)


async def test_a_number_takes_a_webhook_url_or_refuses_it_with_21502(api: Api) -> None:
    client = _sdk(api)
    outcomes: list[int] = []

    @settings(max_examples=examples(150))
    @given(CANDIDATES)
    def update(candidate: str) -> None:
        (number,) = [n for n in client.incoming_phone_numbers.list() if n.phone_number == ALICE]
        refused = _refusal(
            lambda: client.incoming_phone_numbers(number.sid).update(sms_url=candidate)
        )
        if refused is not None:
            assert (refused.status, refused.code) == (400, 21502), (candidate, refused.msg)
            assert url_problem(candidate) is not None
        else:
            assert (client.incoming_phone_numbers(number.sid).fetch().sms_url or "") == candidate
            assert not candidate or url_problem(candidate) is None, candidate
        outcomes.append(200 if refused is None else refused.code)

    await asyncio.to_thread(update)
    assert {200, 21502} <= set(outcomes)
