"""Parameters checked as the seed documentation and the shared reference word them: ``Attempt``
an integer, ``ShortenUrls=true`` refused (no link shortening domain here), more than ten
``MediaUrl`` counted before media are refused, ``Page`` only with a ``PageToken``, and the
``DateSent<=`` / ``DateSent>=`` filters in every form a URL or the twilio client gives them.

Through the real ``twilio`` package (sync and async), plain aiohttp, and, for what a URL
carries unencoded (``DateSent<=2026-03-02``), HTTP written by hand over a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.gateway.api_rig import (
    ASYNC_CLIENT_WARNINGS,
    EXTERNAL,
    Api,
    Sdk,
    SdkFactory,
    assert_twilio_error,
    messages_path,
    raw_client,
    raw_create,
)
from tests.gateway.gateway_rig import ACCOUNT, ALICE, basic_auth
from tests.gateway.raw_http import Connection, request

pytestmark = ASYNC_CLIENT_WARNINGS

LIST: Final = messages_path()
NUMBERS: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/IncomingPhoneNumbers.json"
SERVICE_LESS: Final = {"To": EXTERNAL, "From": ALICE, "Body": "x"}


@pytest.fixture
async def http(api: Api) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_client(api) as session:
        yield session


@pytest.fixture
async def sdk(sdks: SdkFactory) -> Sdk:
    return sdks.account(ACCOUNT)


async def post(http: aiohttp.ClientSession, form: Any) -> tuple[int, Any]:
    async with http.post(LIST, data=form) as reply:
        return reply.status, await reply.json()


async def refused(sdk: Sdk, code: int, **params: Any) -> str:
    with pytest.raises(TwilioRestException) as caught:
        await sdk.create(to=EXTERNAL, from_=ALICE, body="x", **params)
    assert (caught.value.code, caught.value.status) == (code, 400), caught.value.msg
    return str(caught.value.msg)


# --- Attempt ------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", ["1", "3", "+2", "0", "2147483647", ""])
async def test_attempt_as_an_integer_is_accepted(http: aiohttp.ClientSession, attempt: str) -> None:
    """The seed: "attempt Optional post integer … Total number of attempts made ( including
    this ) to send out the message regardless of the provider used"."""
    status, body = await post(http, {**SERVICE_LESS, "Attempt": attempt})
    assert status == 201, body


@pytest.mark.parametrize("attempt", ["two", "1.5", "1e3", "0x10", "²", "2147483648", "9" * 40])
async def test_attempt_that_is_no_integer_is_refused(
    http: aiohttp.ClientSession, attempt: str
) -> None:
    """The seed: attempt is an "integer". Anything else is a bad parameter: 400, 20001 (what
    Twilio's 2010 API answers for one, e.g. twilio-python issue #395), nothing stored."""
    _, body = await post(http, {**SERVICE_LESS, "Attempt": attempt})
    assert_twilio_error(body, 400, 20001)
    assert "Attempt" in body["message"]
    async with http.get(LIST) as reply:
        assert (await reply.json())["messages"] == []


async def test_attempt_through_the_client(sdk: Sdk) -> None:
    """twilio-python sends ``attempt`` as given (``"Attempt": attempt``)."""
    assert (await sdk.create(to=EXTERNAL, from_=ALICE, body="x", attempt=2)).status == "queued"
    await refused(sdk, 20001, attempt="twice")


# --- ShortenUrls --------------------------------------------------------------------------------


async def test_shorten_urls_true_is_refused_with_30106(sdk: Sdk) -> None:
    """The seed: shorten_urls "Setting it to true will instruct Twilio to replace all links in
    the Message with a shortened version based on the associated Domain Sid"; the shared
    reference (twilio-messages-api.md): "Channels other than SMS (…, ``ShortenUrls``) cannot
    be served by GSM modems: refuse them with a clear Twilio-shaped error rather than
    pretending". There is no link shortening domain here: Twilio's 30106, "Domain has not been
    set up for this account", saying so. ``false`` is what the gateway does anyway."""
    text = await refused(sdk, 30106, shorten_urls=True)
    assert "link shortening domain" in text and "ShortenUrls=false" in text
    kept = await sdk.create(
        to=EXTERNAL, from_=ALICE, body="https://example.com", shorten_urls=False
    )
    assert kept.body == "https://example.com"


@pytest.mark.parametrize(("value", "status"), [("TRUE", 400), ("False", 201), ("maybe", 400)])
async def test_shorten_urls_is_a_boolean(
    http: aiohttp.ClientSession, value: str, status: int
) -> None:
    """The seed: "shorten_urls … boolean"."""
    answer, body = await post(http, {**SERVICE_LESS, "ShortenUrls": value})
    assert answer == status, body
    if status == 400:
        assert_twilio_error(body, 400, 30106 if value == "TRUE" else 20001)


# --- MediaUrl -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "code"), [(1, 21621), (10, 21621), (11, 21623), (25, 21623)])
async def test_more_than_ten_media_urls_is_21623_before_the_media_refusal(
    sdk: Sdk, count: int, code: int
) -> None:
    """The seed: "You can include up to 10 media_url parameters per message"; the shared
    reference: "> 10 MediaUrl | 400 | 21623 | Number of media files exceeds allowed limit".
    Eleven are too many whatever they are; ten or fewer meet the SMS-only refusal, 21621."""
    urls = [f"https://example.com/{n}.png" for n in range(count)]
    text = await refused(sdk, code, media_url=urls)
    if code == 21623:
        assert f"{count} MediaUrl" in text


# --- Page without PageToken ---------------------------------------------------------------------


async def _media_list(http: aiohttp.ClientSession) -> str:
    created = await raw_create(http, **SERVICE_LESS)
    return str(created["subresource_uris"]["media"])


@pytest.mark.parametrize("route", ["messages", "numbers", "media"])
async def test_page_without_a_page_token_is_refused_on_every_list(
    http: aiohttp.ClientSession, route: str
) -> None:
    """The shared reference: ``Page`` is "simply for client state"; the next page is found by
    the ``PageToken`` of ``next_page_uri``. Twilio refuses a page number without one (twilio-
    python issue #395: ``HTTP 400 {"code": 20001, "message": "PageToken is required for
    paging."}``): never the first page labelled N."""
    path = {"messages": LIST, "numbers": NUMBERS}.get(route) or await _media_list(http)
    for query in ({}, {"Page": "0"}, {"Page": "0", "PageSize": "1"}):
        async with http.get(path, params=query) as reply:
            page = await reply.json()
            assert (reply.status, page["page"], page["start"]) == (200, 0, 0), page
    for page_number in ("1", "3", "999999999"):
        async with http.get(path, params={"Page": page_number, "PageSize": "1"}) as reply:
            body = await reply.json()
        assert_twilio_error(body, 400, 20001)
        assert body["message"].startswith("PageToken is required for paging")


@pytest.mark.parametrize("route", ["messages", "numbers"])
async def test_page_with_the_token_of_next_page_uri_is_that_page(
    http: aiohttp.ClientSession, route: str
) -> None:
    """Following ``next_page_uri`` (Page and PageToken) still gives page 1, numbered so."""
    path = LIST if route == "messages" else NUMBERS
    for n in range(3):
        await raw_create(http, **{**SERVICE_LESS, "Body": str(n)})
    async with http.get(path, params={"PageSize": "1"}) as reply:
        first = await reply.json()
    query = parse_qs(urlsplit(first["next_page_uri"]).query)
    assert query["Page"] == ["1"] and query["PageToken"][0].startswith("PA")
    async with http.get(first["next_page_uri"]) as reply:
        second = await reply.json()
    assert (reply.status, second["page"], second["start"]) == (200, 1, 1), second
    key = "messages" if route == "messages" else "incoming_phone_numbers"
    assert second[key][0]["sid"] != first[key][0]["sid"]


async def test_the_client_s_page_number_without_a_token_is_refused(sdk: Sdk) -> None:
    """twilio-python issue #395: ``client.messages.page(page_number=1)`` "throws an Exception
    requiring PageToken" on Twilio; here too (a list page that is not a 200 is a plain
    ``TwilioException`` in twilio-python)."""
    await sdk.create(to=EXTERNAL, from_=ALICE, body="x")

    async def page(number: int) -> Any:
        if sdk.is_async:
            return await sdk.messages.page_async(page_number=number, page_size=1)
        return await asyncio.to_thread(lambda: sdk.messages.page(page_number=number, page_size=1))

    assert len(list(await page(0))) == 1
    with pytest.raises(TwilioException) as caught:
        await page(1)
    assert not isinstance(caught.value, TwilioRestException)
    assert caught.value.args[0] == "Unable to fetch page"
    assert caught.value.args[1].status_code == 400


# --- DateSent<= and DateSent>= ------------------------------------------------------------------

# Sent (the test's clock) just before, at and after midnight GMT starting 2 March 2026.
SENT: Final = {
    "1st-noon": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    "1st-last-second": datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC),
    "2nd-midnight": datetime(2026, 3, 2, 0, 0, tzinfo=UTC),
    "2nd-9am": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    "3rd-9am": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
}
ON_OR_BEFORE: Final = {"1st-noon", "1st-last-second", "2nd-midnight"}
ON_OR_AFTER: Final = {"2nd-midnight", "2nd-9am", "3rd-9am"}
ON: Final = {"2nd-midnight", "2nd-9am"}


async def _sent(api: Api, http: aiohttp.ClientSession) -> dict[str, str]:
    """Each of SENT sent at its moment: name by SID."""
    names = {}
    for name, moment in SENT.items():
        api.clock.now = moment
        created = await raw_create(http, **{**SERVICE_LESS, "Body": name})
        sent = await api.statuses.final(created["sid"])
        assert sent.date_sent == moment
        names[created["sid"]] = name
    return names


async def _raw_list(api: Api, target: str) -> tuple[int, Any]:
    """GET ``target`` written into the request line as is: ``<`` and ``=`` unencoded, as curl
    sends ``'…/Messages.json?DateSent<=2026-03-02'``."""
    connection = await Connection.open("127.0.0.1", api.gateway.port)
    try:
        auth = basic_auth(ACCOUNT)["Authorization"]
        reply = await connection.exchange(request("GET", target, f"Authorization: {auth}"))
    finally:
        await connection.close()
    return reply.status, reply.json()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("DateSent<=2026-03-02", ON_OR_BEFORE),  # key DateSent<, as a URL splits it
        ("DateSent%3C=2026-03-02", ON_OR_BEFORE),  # date_sent_before, as the clients send it
        ("DateSent=%3C%3D2026-03-02", ON_OR_BEFORE),  # twilio-python's date_sent="<=…"
        ("DateSent=<=2026-03-02", ON_OR_BEFORE),
        ("DateSent%3C%3D=2026-03-02", ON_OR_BEFORE),  # the whole of "DateSent<=" encoded
        ("DateSent>=2026-03-02", ON_OR_AFTER),
        ("DateSent%3E=2026-03-02", ON_OR_AFTER),
        ("DateSent=%3E%3D2026-03-02", ON_OR_AFTER),
        ("DateSent%3E%3D=2026-03-02", ON_OR_AFTER),
        ("DateSent=2026-03-02", ON),
        ("DateSent>=2026-03-02&DateSent<=2026-03-03", ON_OR_AFTER - {"3rd-9am"}),
        ("DateSent<=2026-03-03&DateSent=%3C%3D2026-03-02", ON_OR_BEFORE),  # the narrower
        ("DateSent<=2026-03-02T00:00:00Z", ON_OR_BEFORE),
        ("DateSent<=2026-03-01T23:59:59Z", ON_OR_BEFORE - {"2nd-midnight"}),
        ("DateSent>=2026-03-02T00:00:01Z", ON_OR_AFTER - {"2nd-midnight"}),
    ],
)
async def test_date_sent_inequalities_read_midnight_on_a_date(
    api: Api, http: aiohttp.ClientSession, query: str, expected: set[str]
) -> None:
    """The seed: "You can also specify an inequality, such as DateSent<=YYYY-MM-DD, to read
    messages sent on or before midnight on a date, and DateSent>=YYYY-MM-DD to read messages
    sent on or after midnight on a date." Midnight on a date is its first instant, 00:00:00
    GMT, in both sentences: ``DateSent<=2026-03-02`` is up to and with 2026-03-02T00:00:00Z
    (not that day's 09:00), ``DateSent>=2026-03-02`` from it on; "Specify a date as
    YYYY-MM-DD in GMT to read only messages sent on this date" is the whole day."""
    names = await _sent(api, http)
    status, page = await _raw_list(api, f"{LIST}?{query}")
    assert status == 200, page
    assert {names[message["sid"]] for message in page["messages"]} == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"date_sent_before": date(2026, 3, 2)}, ON_OR_BEFORE),  # sent as 2026-03-02T00:00:00Z
        ({"date_sent_before": "2026-03-02"}, ON_OR_BEFORE),
        ({"date_sent": "<=2026-03-02"}, ON_OR_BEFORE),  # as twilio-python's docstring has it
        ({"date_sent_after": date(2026, 3, 2)}, ON_OR_AFTER),
        ({"date_sent": ">=2026-03-02"}, ON_OR_AFTER),
        ({"date_sent": date(2026, 3, 2)}, ON),
    ],
)
async def test_date_sent_inequalities_through_the_client(
    api: Api, http: aiohttp.ClientSession, sdk: Sdk, params: dict[str, Any], expected: set[str]
) -> None:
    """The seed's "DateSent<=YYYY-MM-DD … on or before midnight on a date" as the twilio client
    asks for it: ``date_sent_before`` (key ``DateSent<``; a ``date`` goes as its midnight,
    ``2026-03-02T00:00:00Z``, and reads the same as the bare date) and ``date_sent="<=…"``
    (twilio-python: "Accepts GMT dates in the following formats: YYYY-MM-DD …, <=YYYY-MM-DD
    …, and >=YYYY-MM-DD"). A page of 2 makes the filter ride on ``next_page_uri``."""
    names = await _sent(api, http)
    listed = await sdk.read(page_size=2, **params)
    assert {names[message.sid] for message in listed} == expected


async def test_an_alias_key_rides_on_the_next_page_uri(
    api: Api, http: aiohttp.ClientSession
) -> None:
    """``DateSent<=`` as a key of its own is kept in the paging links like the others."""
    names = await _sent(api, http)
    seen: set[str] = set()
    status, page = await _raw_list(api, f"{LIST}?DateSent%3C%3D=2026-03-02&PageSize=1")
    while True:
        assert status == 200, page
        seen |= {names[message["sid"]] for message in page["messages"]}
        if page["next_page_uri"] is None:
            break
        assert "DateSent%3C%3D=2026-03-02" in page["next_page_uri"]
        status, page = await _raw_list(api, page["next_page_uri"])
    assert seen == ON_OR_BEFORE


@pytest.mark.parametrize(
    "query",
    [
        "DateSent<2026-03-02",  # no "=": the key would be "DateSent<2026-03-02", the value ""
        "DateSent>2026-03-02",
        "DateSent%3C%3C=2026-03-02",
        "DateSent=%3C2026-03-02",
        "DateSent=%3D%3C2026-03-02",
        "DateSent<=yesterday",
    ],
)
async def test_a_date_sent_filter_that_cannot_be_read_is_refused(api: Api, query: str) -> None:
    """Refused (400, 20001) rather than ignored: a list that was not filtered would look like
    one that was."""
    status, body = await _raw_list(api, f"{LIST}?{query}")
    assert_twilio_error(body, 400, 20001)
    assert status == 400
