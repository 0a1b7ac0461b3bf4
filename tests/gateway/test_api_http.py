"""The Messages API on the wire, with a plain HTTP client: the exact JSON of a message and of a
list page, paging links, segment counting, and every kind of bad request answered with a
Twilio-shaped 4xx, never a 500 or a traceback (``../shared/docs/twilio-messages-api.md``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest

from gateway.api import page_tokens
from gateway.store import PageCursor
from tests.gateway.api_rig import (
    EXTERNAL,
    EXTERNAL_2,
    Api,
    api_gateway,
    assert_twilio_error,
    message_path,
    messages_path,
    raw_client,
    raw_create,
)
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, OTHER_ACCOUNT, basic_auth

MESSAGE_KEYS: Final = {
    "account_sid",
    "api_version",
    "body",
    "date_created",
    "date_sent",
    "date_updated",
    "direction",
    "error_code",
    "error_message",
    "from",
    "messaging_service_sid",
    "num_media",
    "num_segments",
    "price",
    "price_unit",
    "sid",
    "status",
    "subresource_uris",
    "to",
    "uri",
}
ENVELOPE_KEYS: Final = {
    "end",
    "first_page_uri",
    "messages",
    "next_page_uri",
    "page",
    "page_size",
    "previous_page_uri",
    "start",
    "uri",
}
RFC2822_GMT: Final = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)
JSON_UTF8: Final = "application/json; charset=utf-8"
FORM: Final = "application/x-www-form-urlencoded"
LIST: Final = messages_path()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with api_gateway(tmp_path) as running:
        yield running


@pytest.fixture
async def http(api: Api) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_client(api) as session:
        yield session


async def get_json(
    http: aiohttp.ClientSession, path: str, params: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(path, params=params) as reply:
        assert reply.headers["Content-Type"] == JSON_UTF8
        return reply.status, await reply.json()


async def get_page(
    http: aiohttp.ClientSession, path: str, params: dict[str, str] | None = None
) -> dict[str, Any]:
    status, page = await get_json(http, path, params)
    assert status == 200, page
    assert isinstance(page, dict)
    return page


def expected_message(sid: str, **fields: Any) -> dict[str, Any]:
    """A freshly created outbound message of ACCOUNT, as the JSON must show it."""
    base = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages/{sid}"
    created = "Sun, 01 Mar 2026 12:34:56 +0000"  # api_rig.T0, in GMT
    message = {
        "account_sid": ACCOUNT.sid,
        "api_version": "2010-04-01",
        "body": "Hello from the modem",
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": ALICE,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
        "to": EXTERNAL,
        "uri": f"{base}.json",
    }
    message.update(fields)
    return message


def assert_message_types(message: dict[str, Any]) -> None:
    assert set(message) == MESSAGE_KEYS
    assert isinstance(message["num_segments"], str) and message["num_segments"].isdigit()
    assert isinstance(message["num_media"], str) and message["num_media"].isdigit()
    assert message["error_code"] is None or type(message["error_code"]) is int
    for key in ("date_created", "date_updated"):
        assert RFC2822_GMT.match(message[key]), message[key]
    assert message["date_sent"] is None or RFC2822_GMT.match(message["date_sent"])


# --- the message JSON -----------------------------------------------------------------------


async def test_created_message_json_is_twilios(http: aiohttp.ClientSession) -> None:
    async with http.post(
        LIST, data={"To": EXTERNAL, "From": ALICE, "Body": "Hello from the modem"}
    ) as reply:
        assert reply.status == 201
        assert reply.headers["Content-Type"] == JSON_UTF8
        message = await reply.json()
    assert message == expected_message(message["sid"])
    assert_message_types(message)
    assert re.match(r"^SM[0-9a-f]{32}$", message["sid"])


async def test_fetched_message_json_once_sent(api: Api, http: aiohttp.ClientSession) -> None:
    created = await raw_create(http, To=EXTERNAL, From=ALICE, Body="Hello from the modem")
    await api.statuses.final(created["sid"])
    status, message = await get_json(http, message_path(created["sid"]))
    assert status == 200
    sent = "Sun, 01 Mar 2026 12:34:56 +0000"
    assert message == expected_message(
        created["sid"], status="sent", date_sent=sent, date_updated=sent
    )
    assert_message_types(message)


async def test_failed_message_json_has_an_integer_error_code(
    api: Api, http: aiohttp.ClientSession
) -> None:
    api.gateway.modems.simulated["alice"].fail_sends(1)  # +CMS ERROR: 1, unassigned number
    created = await raw_create(http, To=EXTERNAL, From=ALICE, Body="Hello from the modem")
    await api.statuses.final(created["sid"])
    _, message = await get_json(http, message_path(created["sid"]))
    assert message == expected_message(
        created["sid"],
        status="failed",
        error_code=30005,
        error_message="Unknown destination handset",
    )
    assert_message_types(message)


async def test_unknown_parameters_are_ignored(http: aiohttp.ClientSession) -> None:
    form = {"To": EXTERNAL, "From": ALICE, "Body": "hi", "Foo": "bar", "Tags[]": "x", "to": "y"}
    message = await raw_create(http, **form)
    assert set(message) == MESSAGE_KEYS
    assert (message["to"], message["body"]) == (EXTERNAL, "hi")


# --- segments and the body limit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        pytest.param("a" * 160, "1", id="gsm-160"),
        pytest.param("a" * 161, "2", id="gsm-161"),
        pytest.param("a" * 306, "2", id="gsm-306"),
        pytest.param("a" * 307, "3", id="gsm-307"),
        pytest.param("€" * 80, "1", id="gsm-escapes-160-septets"),
        pytest.param("€" * 81, "2", id="gsm-escapes-162-septets"),
        pytest.param("ж" * 70, "1", id="ucs2-70"),
        pytest.param("ж" * 71, "2", id="ucs2-71"),
        pytest.param("ж" * 134, "2", id="ucs2-134"),
        pytest.param("ж" * 135, "3", id="ucs2-135"),
        pytest.param("a" * 159 + "ж", "3", id="one-ucs2-char-makes-it-ucs2"),
        pytest.param("😀" * 35, "1", id="emoji-70-code-units"),
        pytest.param("😀" * 36, "2", id="emoji-72-code-units"),
        pytest.param("a" * 1600, "11", id="gsm-1600"),
    ],
)
async def test_num_segments(http: aiohttp.ClientSession, body: str, segments: str) -> None:
    message = await raw_create(http, To=EXTERNAL, From=ALICE, Body=body)
    assert (message["body"], message["num_segments"]) == (body, segments)


@pytest.mark.parametrize("body", ["a" * 1601, "ж" * 1601, "€" * 1601])
async def test_a_body_over_1600_characters_is_21617(http: aiohttp.ClientSession, body: str) -> None:
    async with http.post(LIST, data={"To": EXTERNAL, "From": ALICE, "Body": body}) as reply:
        assert_twilio_error(await reply.json(), 400, 21617)


SMART_TEXT: Final = "“Smart” ‘quotes’ – and dots… " * 3  # 87 characters with look-alikes
SMART_PLAIN: Final = "\"Smart\" 'quotes' - and dots... " * 3


@pytest.mark.parametrize(
    ("flag", "body", "segments"),
    [
        ("true", SMART_PLAIN, "1"),
        ("True", SMART_PLAIN, "1"),
        ("false", SMART_TEXT, "2"),
        (None, SMART_TEXT, "2"),
    ],
)
async def test_smart_encoded(
    http: aiohttp.ClientSession, flag: str | None, body: str, segments: str
) -> None:
    form = {"To": EXTERNAL, "From": ALICE, "Body": SMART_TEXT}
    if flag is not None:
        form["SmartEncoded"] = flag
    message = await raw_create(http, **form)
    assert (message["body"], message["num_segments"]) == (body, segments)


# --- the list envelope and paging -----------------------------------------------------------


async def test_list_envelope_and_paging_links(http: aiohttp.ClientSession) -> None:
    created = [
        (await raw_create(http, To=EXTERNAL, From=ALICE, Body=f"number {n}"))["sid"]
        for n in range(25)
    ]
    newest_first = created[::-1]
    seen: list[str] = []
    page = await get_page(http, LIST, {"PageSize": "10"})
    assert page["uri"] == f"{LIST}?PageSize=10"
    for number, (start, end) in enumerate([(0, 9), (10, 19), (20, 24)]):
        assert set(page) == ENVELOPE_KEYS
        assert (page["page"], page["page_size"], page["start"], page["end"]) == (
            number,
            10,
            start,
            end,
        )
        assert all(type(page[key]) is int for key in ("page", "page_size", "start", "end"))
        assert page["first_page_uri"] == f"{LIST}?PageSize=10&Page=0"
        previous_uri = page["previous_page_uri"]
        assert (previous_uri is None) if number == 0 else previous_uri.startswith(f"{LIST}?")
        for message in page["messages"]:
            assert_message_types(message)
        seen += [message["sid"] for message in page["messages"]]
        next_uri = page["next_page_uri"]
        if end == 24:
            assert next_uri is None
            break
        # Host-less, under /2010-04-01/: twilio-python prefixes its own base URL (doc §3).
        assert next_uri.startswith(f"{LIST}?")
        query = parse_qs(urlsplit(next_uri).query)
        token = query.pop("PageToken")[0]
        assert query == {"PageSize": ["10"], "Page": [str(number + 1)]}
        # PA and where the page ends, in the list as it stood at the first page.
        cursor = page_tokens.decode(token, ACCOUNT.sid)
        assert isinstance(cursor, PageCursor) and cursor.forward and token.startswith("PA")
        page = await get_page(http, next_uri)
        assert page["uri"] == next_uri
    assert seen == newest_first


async def test_previous_page_uri_leads_back(http: aiohttp.ClientSession) -> None:
    """``previous_page_uri`` names the previous page (doc §3 list envelope): following it from
    page 2 gives page 1's records again, with page 1's numbers (twilio-python's
    ``Page.previous_page()`` does exactly this)."""
    for n in range(7):
        await raw_create(http, To=EXTERNAL, From=ALICE, Body=str(n))
    first = await get_page(http, LIST, {"PageSize": "3"})
    second = await get_page(http, first["next_page_uri"])
    third = await get_page(http, second["next_page_uri"])
    assert third["page"] == 2 and len(third["messages"]) == 1
    back = await get_page(http, third["previous_page_uri"])
    assert (back["page"], back["start"], back["end"]) == (1, 3, 5)
    assert [m["sid"] for m in back["messages"]] == [m["sid"] for m in second["messages"]]


async def test_next_page_keeps_the_filters(http: aiohttp.ClientSession) -> None:
    ours = []
    for n in range(6):
        message = await raw_create(http, To=EXTERNAL, From=(ALICE, BOB)[n % 2], Body=str(n))
        if n % 2 == 0:
            ours.append(message["sid"])
    page = await get_page(http, LIST, {"From": ALICE, "PageSize": "2"})
    assert "From=%2B15550001001" in page["first_page_uri"]
    assert "From=%2B15550001001" in page["next_page_uri"]
    second = await get_page(http, page["next_page_uri"])
    assert second["next_page_uri"] is None
    sids = [message["sid"] for message in page["messages"] + second["messages"]]
    assert sids == ours[::-1]


async def test_an_empty_list(http: aiohttp.ClientSession) -> None:
    page = await get_page(http, LIST)
    assert page == {
        "end": 0,
        "first_page_uri": f"{LIST}?PageSize=50&Page=0",
        "messages": [],
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
        "previous_page_uri": None,
        "start": 0,
        "uri": LIST,
    }


@pytest.mark.parametrize("size", ["1001", "5000", "1000000"])
async def test_page_size_over_1000_is_clamped(http: aiohttp.ClientSession, size: str) -> None:
    await raw_create(http, To=EXTERNAL, From=ALICE, Body="one")
    page = await get_page(http, LIST, {"PageSize": size})
    assert (page["page_size"], len(page["messages"])) == (1000, 1)


@pytest.mark.parametrize(
    "query",
    [
        "PageSize=abc",
        "PageSize=0",
        "PageSize=-5",
        "PageSize=1.5",
        "PageSize=%C2%B2",  # '²': str.isdigit() says yes, int() says no
        pytest.param("PageSize=" + "9" * 5000, id="PageSize=9*5000"),  # over int()'s 4300 digits
        "Page=abc",
        "Page=-1",
        "Page=%C2%B2",
        pytest.param("Page=" + "9" * 5000, id="Page=9*5000"),
        "PageToken=garbage",
        "PageToken=PA",
        "PageToken=PASM123",
        "PageToken=PA" + "A" * 40,  # a token's shape, not one the gateway gave
        "PageToken=PBSM" + "0" * 32,  # no such message
        "PageToken=PA%00%FF",
        pytest.param("PageToken=PA" + "x" * 5000, id="PageToken=PA+x*5000"),
        "DateSent=garbage",
        "DateSent=2026-13-01",
        "DateSent%3C=yesterday",
        "DateSent%3E=2026-02-30",
    ],
)
async def test_bad_list_parameters_are_400(http: aiohttp.ClientSession, query: str) -> None:
    async with http.get(f"{LIST}?{query}") as reply:
        text = await reply.text()
        assert "Traceback" not in text
        assert_twilio_error(json.loads(text), 400)


# --- DateSent: the forms clients send, compared by GMT date (doc §3 "Read") ------------------


@pytest.mark.parametrize(
    ("name", "value", "found"),
    [
        ("DateSent", "2026-03-02", True),
        ("DateSent", "2026-03-01", False),
        ("DateSent", "2026-03-03", False),
        ("DateSent", "2026-03-02T03:00:00Z", True),
        ("DateSent", "2026-03-02 03:00:00.000", True),
        ("DateSent", "2026-03-01T22:00:00-05:00", True),  # 03:00 on the 2nd in GMT
        ("DateSent", "03/01/2026 20:00:00 MST", True),  # OAI example form; 03:00 GMT the 2nd
        ("DateSent", "Mon, 02 Mar 2026 03:00:00 +0000", True),  # RFC 2822, as Twilio writes
        # "on or before midnight on a date": 2026-03-02T00:00Z, before 03:00 (see api._date_sent)
        ("DateSent<", "2026-03-02", False),
        ("DateSent<", "2026-03-03", True),
        ("DateSent>", "2026-03-02", True),
        ("DateSent>", "2026-03-03", False),
    ],
)
async def test_date_sent_forms(
    api: Api, http: aiohttp.ClientSession, name: str, value: str, found: bool
) -> None:
    api.clock.now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    created = await raw_create(http, To=EXTERNAL, From=ALICE, Body="dated")
    await api.statuses.final(created["sid"])
    page = await get_page(http, LIST, {name: value})
    assert [message["sid"] for message in page["messages"]] == ([created["sid"]] * found)


# --- bad requests: Twilio-shaped 4xx, never a 500 -------------------------------------------


@dataclass(frozen=True)
class Bad:
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = FORM
    status: int = 400
    code: int | None = None


GOOD_FORM: Final = b"To=%2B15558675310&From=%2B15550001001&Body=hi"
BAD_REQUESTS: Final = [
    pytest.param(Bad("POST", LIST, b"To=%FF%FE&From=%2B15550001001&Body=hi"), id="to-invalid-utf8"),
    pytest.param(
        Bad("POST", LIST, b"To=%2B15558675310&From=%2B15550001001&Body=%FF%FE"),
        id="body-percent-encoded-invalid-utf8",
    ),
    pytest.param(
        Bad("POST", LIST, b"To=%2B15558675310&From=%2B15550001001&Body=\xff"),
        id="raw-invalid-utf8",
    ),
    pytest.param(Bad("POST", LIST, b"\x00\x01\x02\xfe"), id="binary-garbage"),
    pytest.param(
        Bad(
            "POST",
            LIST,
            b'{"To": "+15558675310", "From": "+15550001001", "Body": "hi"}',
            "application/json",
        ),
        id="json-body",
    ),
    pytest.param(Bad("POST", LIST, GOOD_FORM, "text/plain"), id="text-plain"),
    pytest.param(Bad("POST", LIST, GOOD_FORM, "application/octet-stream"), id="octet-stream"),
    pytest.param(Bad("POST", LIST, GOOD_FORM, f"{FORM}; charset=bogus"), id="unknown-charset"),
    pytest.param(
        Bad(
            "POST",
            LIST,
            b'--x\r\nContent-Disposition: form-data; name="To"\r\n\r\n\xff\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
        id="multipart-invalid-utf8",
    ),
    pytest.param(
        Bad(
            "POST",
            LIST,
            b'--x\r\nContent-Disposition: form-data; name="Body"; filename="a.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\nhello\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
        ),
        id="multipart-file-upload",
    ),
    pytest.param(Bad("POST", LIST, b"", None, 400, 21604), id="no-body"),
    pytest.param(Bad("POST", LIST, b"To=" + b"1" * 5000, FORM, 400, 21211), id="to-5000-digits"),
    pytest.param(
        Bad("POST", LIST, GOOD_FORM + b"&ValidityPeriod=%C2%B2", FORM, 400, 21624),
        id="validity-superscript-two",
    ),
    pytest.param(
        Bad("POST", LIST, GOOD_FORM + b"&ValidityPeriod=" + b"9" * 5000, FORM, 400, 21624),
        id="validity-5000-digits",
    ),
    pytest.param(
        Bad("POST", LIST, GOOD_FORM + b"&ValidityPeriod=-5", FORM, 400, 21624),
        id="validity-negative",
    ),
    pytest.param(
        Bad("POST", LIST, GOOD_FORM + b"&StatusCallback=http://exa mple.com/", FORM, 400, 21609),
        id="callback-with-space",
    ),
    pytest.param(
        Bad("POST", LIST, GOOD_FORM + b"&StatusCallback=http://%5B::1/x", FORM, 400, 21609),
        id="callback-unclosed-ipv6-bracket",  # was a 500: urlsplit raised ValueError
    ),
    pytest.param(
        Bad("POST", LIST, GOOD_FORM + b"&StatusCallback=http://h.example:99999/", FORM, 400, 21609),
        id="callback-port-out-of-range",
    ),
    pytest.param(
        Bad(
            "POST",
            LIST,
            GOOD_FORM + b"&StatusCallback=https://" + b"a" * 4000 + b".com/",
            FORM,
            400,
            21609,
        ),
        id="callback-over-4000",
    ),
    pytest.param(Bad("GET", message_path("not-a-sid"), None, None, 404, 20404), id="bad-sid"),
    pytest.param(Bad("GET", message_path("SM" + "0" * 32), None, None, 404, 20404), id="no-sid"),
    pytest.param(
        Bad("GET", f"/2010-04-01/Accounts/{ACCOUNT.sid}/Calls.json", None, None, 404, 20404),
        id="unknown-resource",
    ),
    pytest.param(Bad("GET", "/", None, None, 404, 20404), id="root"),
    pytest.param(Bad("GET", "/2010-04-01/Accounts.json", None, None, 404, 20404), id="accounts"),
    pytest.param(Bad("PUT", LIST, GOOD_FORM, FORM, 405), id="put"),
    pytest.param(Bad("PATCH", message_path("SM" + "0" * 32), GOOD_FORM, FORM, 405), id="patch"),
    pytest.param(
        Bad("GET", "/2010-04-01/Accounts/not-an-account/Messages.json", None, None, 401, 20003),
        id="malformed-path-account",
    ),
    pytest.param(
        Bad("POST", messages_path(OTHER_ACCOUNT), GOOD_FORM, FORM, 401, 20003),
        id="other-path-account",
    ),
]


@pytest.mark.parametrize("bad", BAD_REQUESTS)
async def test_bad_requests_get_twilio_errors(http: aiohttp.ClientSession, bad: Bad) -> None:
    headers = {"Content-Type": bad.content_type} if bad.content_type else {}
    async with http.request(bad.method, bad.path, data=bad.body, headers=headers) as reply:
        text = await reply.text()
        assert reply.headers["Content-Type"] == JSON_UTF8
    assert "Traceback" not in text and 'File "' not in text
    assert_twilio_error(json.loads(text), bad.status, bad.code)


def form_of_size(size: int) -> bytes:
    """A valid create form padded (with a parameter the gateway ignores) to ``size`` bytes."""
    base = urlencode({"To": EXTERNAL, "From": ALICE, "Body": "padded", "Pad": ""}).encode()
    return base + b"x" * (size - len(base))


async def test_body_size_limit_is_the_configured_one(http: aiohttp.ClientSession) -> None:
    limit = 65536  # max_request_bytes by default
    headers = {"Content-Type": FORM}
    async with http.post(LIST, data=form_of_size(limit), headers=headers) as reply:
        assert reply.status == 201
    async with http.post(LIST, data=form_of_size(limit + 1), headers=headers) as reply:
        text = await reply.text()
        assert reply.status == 413
    assert_twilio_error(json.loads(text), 413)


async def test_a_smaller_configured_limit(tmp_path: Path) -> None:
    async with (
        api_gateway(tmp_path, max_request_bytes=4096) as api,
        raw_client(api) as http,
    ):
        headers = {"Content-Type": FORM}
        async with http.post(LIST, data=form_of_size(4096), headers=headers) as reply:
            assert reply.status == 201
        async with http.post(LIST, data=form_of_size(4097), headers=headers) as reply:
            assert_twilio_error(await reply.json(), 413)


# --- authentication -------------------------------------------------------------------------


def _basic(user: str, password: str | None) -> str:
    raw = user if password is None else f"{user}:{password}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="none"),
        pytest.param(_basic(ACCOUNT.sid, "wrong"), id="wrong-password"),
        pytest.param(_basic("AC" + "d4" * 16, ACCOUNT.auth_token), id="unknown-user"),
        pytest.param(_basic(ACCOUNT.sid, None), id="no-colon"),
        pytest.param(_basic(ACCOUNT.sid, ""), id="empty-password"),
        pytest.param("Basic !!!not-base64!!!", id="not-base64"),
        pytest.param("Basic " + "é", id="non-ascii"),
        pytest.param("Bearer " + ACCOUNT.auth_token, id="bearer"),
        pytest.param(basic_auth(OTHER_ACCOUNT)["Authorization"], id="other-account"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", LIST), ("POST", LIST), ("GET", message_path("SM" + "0" * 32))],
)
async def test_401_is_20003_with_www_authenticate(
    api: Api, authorization: str | None, method: str, path: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with raw_client(api, None) as http:
        data = GOOD_FORM if method == "POST" else None
        if data is not None:
            headers["Content-Type"] = FORM
        async with http.request(method, path, data=data, headers=headers) as reply:
            assert reply.headers.get("WWW-Authenticate", "").startswith("Basic")
            assert_twilio_error(await reply.json(), 401, 20003)


async def test_api_key_credentials_work(api: Api) -> None:
    (key,) = ACCOUNT.api_keys
    async with raw_client(api, None) as http:
        headers = {"Authorization": _basic(key.sid, key.secret)}
        async with http.post(
            LIST, data={"To": EXTERNAL_2, "From": BOB, "Body": "k"}, headers=headers
        ) as reply:
            assert reply.status == 201
            created = await reply.json()
        assert created["account_sid"] == ACCOUNT.sid
        async with http.get(message_path(created["sid"]), headers=headers) as reply:
            assert reply.status == 200
