"""The console's live updates (``/console/events``), compose and conversations, over a real
socket with aiohttp's client as the browser: what a stream carries (its account's messages
only), when it ends (sign-out, expiry, the gateway's stop), the bound on a browser that does
not read; compose's errors next to their fields and its preview, the figures of
``smsgw pdu info``; the reply box; CSRF on every new form."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass

import aiohttp
import pytest
from yarl import URL

from gateway.cli import main
from gateway.console.feed import MAX_STREAMS, QUEUE_LIMIT
from gateway.console.sessions import COOKIE, IDLE_EXPIRY
from gateway.domain.models import Status
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, OTHER_ACCOUNT, WAIT, Inbox, Statuses
from tests.gateway.test_console_http import (
    HANDSET,
    Console,
    assert_secured,
    console,
    send,
)

__all__ = ["console"]  # the fixture, shared with the first slice's tests


@dataclass
class Event:
    number: int | None  # its id
    name: str
    data: dict[str, object] | list[dict[str, object]]


class Events:
    """A stream of ``/console/events`` as a browser's EventSource reads it."""

    def __init__(self, reply: aiohttp.ClientResponse) -> None:
        self.reply = reply
        self.comments: list[str] = []

    async def next(self) -> Event | None:
        """The next event (comments kept aside); ``None``: the stream ended."""
        name, data, number = "message", "", None
        while True:
            raw = await self.reply.content.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\n")
            if line == "":
                if data:
                    return Event(number, name, json.loads(data))
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                self.comments.append(value)
            elif field == "id":
                number = int(value)
            elif field == "event":
                name = value
            elif field == "data":
                data += value

    async def until(self, name: str, **match: object) -> list[Event]:
        """Every event up to the first ``name`` event whose data has ``match``'s values (the
        bound: a stream kept open by its heartbeats would wait for ever)."""
        seen: list[Event] = []
        async with asyncio.timeout(WAIT):
            return await self._until(seen, name, match)

    async def _until(self, seen: list[Event], name: str, match: dict[str, object]) -> list[Event]:
        while (event := await self.next()) is not None:
            seen.append(event)
            data = event.data
            if (
                event.name == name
                and isinstance(data, dict)
                and all(data.get(key) == value for key, value in match.items())
            ):
                return seen
        raise AssertionError(f"the stream ended before {name} {match}: {seen}")


async def opened(console: Console) -> aiohttp.ClientResponse:
    reply = await console.http.get("/console/events")
    assert reply.status == 200 and reply.content_type == "text/event-stream"
    assert_secured(reply)
    first = await reply.content.readline()
    assert first == b"retry: 5000\n"  # and a comment: the stream is open
    assert await reply.content.readline() == b": live\n"
    assert await reply.content.readline() == b"\n"
    return reply


async def test_events_need_a_session(console: Console) -> None:
    async with console.http.get("/console/events", allow_redirects=False) as reply:
        assert reply.status == 303 and reply.headers["Location"] == "/console/sign-in"


async def test_a_stream_carries_the_accounts_status_changes_and_no_other(
    console: Console,
) -> None:
    await console.sign_in()
    statuses = Statuses(console.gateway)
    async with await opened(console) as reply:
        stream = Events(reply)
        theirs = await send(console, OTHER_ACCOUNT, HANDSET, "carol's secret")
        await statuses.reached(theirs, Status.DELIVERED)
        ours = await send(console, ACCOUNT, HANDSET, "ours")
        seen = await stream.until("message", sid=ours, status="delivered")
        ours_seen = [e.data for e in seen if e.name == "message"]
        assert {e["sid"] for e in ours_seen if isinstance(e, dict)} == {ours}
        # Each event says the status the message has when the feed reads it: a change read
        # after the next one was committed says the later one (the page shows what is).
        order = ["sending", "sent", "delivered"]
        shown = [str(e["status"]) for e in ours_seen if isinstance(e, dict)]
        assert shown == sorted(shown, key=order.index)
        assert shown[-1] == "delivered"
        assert "carol" not in json.dumps([e.data for e in seen])
        queue = [e for e in seen if e.name == "queue"]
        assert queue, "the queue's counts go with the changes"


async def test_an_inbound_message_is_an_event_of_its_account(console: Console) -> None:
    await console.sign_in()
    inbox = Inbox(console.gateway)
    async with await opened(console) as reply:
        stream = Events(reply)
        console.gateway.modems.network.inject(BOB, HANDSET, "<b>hello</b>")
        (received,) = await inbox.wait()
        (event,) = await stream.until("message", sid=received.sid)
        assert event.data == {
            "sid": received.sid,
            "status": "received",
            "direction": "inbound",
            "from": HANDSET,
            "to": BOB,
            "body": "<b>hello</b>",  # as text: the page sets it as text (live.js)
            "date": (received.date_sent or received.date_created).isoformat(),
            "error_code": None,
            "error_text": None,
        }


async def test_a_stream_ends_at_sign_out(console: Console) -> None:
    await console.sign_in()
    token = await console.csrf()
    async with await opened(console) as reply:
        async with console.http.post(
            "/console/sign-out", data={"csrf_token": token}, allow_redirects=False
        ) as out:
            assert out.status == 303
        assert await Events(reply).next() is None  # ended, at once
    assert console.gateway.console is not None
    assert len(console.gateway.console.live) == 0


async def test_a_stream_ends_when_its_session_expires(console: Console) -> None:
    await console.sign_in()
    inbox = Inbox(console.gateway)
    async with await opened(console) as reply:
        console.clock.advance(IDLE_EXPIRY.total_seconds())  # a stream is no activity
        console.gateway.modems.network.inject(BOB, HANDSET, "after the end")
        await inbox.wait()
        stream = Events(reply)
        assert await stream.next() is None  # ended, without the message
    await console.page("/console/", 303)


async def test_the_gateway_stops_with_streams_open(console: Console) -> None:
    await console.sign_in()
    async with await opened(console) as first, await opened(console) as second:
        await console.gateway.stop()  # does not wait for the open pages
        assert await Events(first).next() is None
        assert await Events(second).next() is None


async def test_a_browser_that_does_not_read_is_cut_off(console: Console) -> None:
    await console.sign_in()
    cookie = console.http.cookie_jar.filter_cookies(URL(console.gateway.base_url + "/console/"))[
        COOKIE
    ].value
    assert console.gateway.console is not None
    live = console.gateway.console.live
    cut: list[bool] = []
    stream = live.open(cookie, ACCOUNT.sid, lambda: cut.append(True))
    assert stream is not None
    inbox = Inbox(console.gateway)
    for n in range(QUEUE_LIMIT):
        console.gateway.modems.network.inject(BOB, HANDSET, f"unread {n}")
    await inbox.wait(QUEUE_LIMIT)
    assert stream.queue.qsize() == QUEUE_LIMIT and cut == []  # full, not over
    console.gateway.modems.network.inject(BOB, HANDSET, "one more")
    await inbox.wait(QUEUE_LIMIT + 1)
    assert cut == [True] and stream.ended
    assert stream.queue.qsize() == 1 and stream.queue.get_nowait() is None  # nothing kept
    live.close(stream)
    assert len(live) == 0


# --- compose -----------------------------------------------------------------------------------


async def compose(console: Console, **fields: str) -> tuple[int, str, str | None]:
    form = {"csrf_token": await console.csrf(), "sender": ALICE, **fields}
    async with console.http.post("/console/compose", data=form, allow_redirects=False) as reply:
        assert_secured(reply)
        return reply.status, await reply.text(), reply.headers.get("Location")


async def test_compose_sends_through_the_apis_create(console: Console) -> None:
    await console.sign_in()
    statuses = Statuses(console.gateway)
    status, _, location = await compose(console, to=HANDSET, body="Hi from the console")
    assert status == 303 and location is not None
    sid = location.removeprefix("/console/messages/")
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    message = await statuses.final(sid)
    assert (message.status, message.from_, message.to) == (Status.DELIVERED, ALICE, HANDSET)
    assert message.body == "Hi from the console"


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"to": "", "body": "x"}, "to", "A &#39;To&#39; phone number is required. (error 21604)"),
        ({"to": "12", "body": "x"}, "to", "is not a valid phone number"),
        ({"to": HANDSET, "body": ""}, "body", "Message body is required. (error 21602)"),
        ({"to": HANDSET, "body": "x" * 1601}, "body", "1600 character limit (error 21617)"),
        ({"to": HANDSET, "body": "x", "sender": "+15550009999"}, "sender", "(error 21606)"),
        (
            {"to": HANDSET, "body": "x", "send_at": "2030-01-01T10:00"},
            "send_at",
            "MessagingServiceSid is required to schedule a message (error 35118)",
        ),
    ],
    ids=["no-to", "bad-to", "no-body", "long-body", "foreign-from", "schedule-without-service"],
)
async def test_compose_shows_twilios_error_next_to_its_field(
    console: Console, fields: dict[str, str], field: str, text: str
) -> None:
    await console.sign_in()
    status, page, _ = await compose(console, **fields)
    assert status == 400
    shown = re.search(rf'<p class="problem field-error" id="{field}-error"[^>]*>([^<]*)</p>', page)
    assert shown is not None, page
    assert text in shown.group(1)
    assert "Traceback" not in page
    assert "No messages" in await console.page("/console/messages")  # nothing was sent


async def test_compose_keeps_what_was_typed_and_previews_without_javascript(
    console: Console,
) -> None:
    await console.sign_in()
    status, page, _ = await compose(console, to=HANDSET, body="“Hi” ☃", action="preview")
    assert status == 200
    assert 'value="+447700900123"' in page
    assert ">“Hi” ☃</textarea>" in page
    assert "6 characters, UCS-2: 1 segment, 64 characters left in the last" in page
    assert '<p id="preview-smart" class="note"></p>' in page  # the snowman stays UCS-2
    status, page, _ = await compose(console, to=HANDSET, body="“Hi”", action="preview")
    assert "4 characters, UCS-2: 1 segment, 66 characters left in the last" in page
    assert "Smart encoding would send it as GSM-7 in 1 segment: &#34;Hi&#34;" in page


async def pdu_info(capsys: pytest.CaptureFixture[str], body: str, *flags: str) -> object:
    assert main(["pdu", "info", "--json", "--body", body, *flags]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "body",
    ["Hello", "€uro [x] {y}", "Grüße, ça va?", "“Smart” quotes — and dashes…", "🙂 ok", "x" * 161],
)
async def test_the_preview_has_the_figures_of_pdu_info(
    console: Console, capsys: pytest.CaptureFixture[str], body: str
) -> None:
    await console.sign_in()
    form = {"csrf_token": await console.csrf(), "body": body}
    async with console.http.post("/console/compose/preview", data=form) as reply:
        assert reply.status == 200 and reply.content_type == "application/json"
        preview = await reply.json()
    assert preview["plain"] == await pdu_info(capsys, body)
    smart = await pdu_info(capsys, body, "--smart-encoded")
    assert isinstance(smart, dict)
    assert preview["smart"] == (smart if smart["smart_encoded"] else None)
    assert preview["problem"] is None
    segments = preview["plain"]["segments"]
    assert f"{segments} segment" in preview["summary"]


async def test_a_preview_of_a_body_too_long_says_so(console: Console) -> None:
    await console.sign_in()
    form = {"csrf_token": await console.csrf(), "body": "x" * 1601}
    async with console.http.post("/console/compose/preview", data=form) as reply:
        preview = await reply.json()
    assert preview["problem"] == "The body is 1601 characters; the limit is 1600 (Twilio's 21617)."


async def test_every_new_form_needs_its_csrf_token(console: Console) -> None:
    await console.sign_in()
    conversation = f"/console/conversations/{ALICE}/{HANDSET}"
    for path in ("/console/compose", "/console/compose/preview", conversation):
        for form in ({"body": "x", "to": HANDSET}, {"body": "x", "csrf_token": "forged"}):
            async with console.http.post(path, data=form) as reply:
                assert reply.status == 403, path
                assert "CSRF token" in await reply.text()
                assert_secured(reply)
    listing = await console.page("/console/messages")
    assert "No messages" in listing  # nothing was sent


# --- conversations ---------------------------------------------------------------------------


async def test_conversations_are_threads_newest_first(console: Console) -> None:
    inbox = Inbox(console.gateway)
    statuses = Statuses(console.gateway)
    await statuses.final(await send(console, ACCOUNT, HANDSET, "first to the handset"))
    console.clock.advance(60)  # the list's order is DateSent's
    console.gateway.modems.network.inject(BOB, "+447700900999", "from another handset")
    await inbox.wait()
    await send(console, OTHER_ACCOUNT, HANDSET, "carol's")
    await console.sign_in()
    page = await console.page("/console/conversations")
    links = re.findall(r'<a href="(/console/conversations/[^"]+)">', page)
    assert links == [
        f"/console/conversations/{BOB}/+447700900999",
        f"/console/conversations/{ALICE}/{HANDSET}",
    ]
    assert "carol&#39;s" not in page and "from another handset" in page


async def test_a_reply_from_the_conversation_is_sent(console: Console) -> None:
    inbox = Inbox(console.gateway)
    statuses = Statuses(console.gateway)
    console.gateway.modems.network.inject(BOB, HANDSET, "are you there?")
    await inbox.wait()
    await console.sign_in()
    path = f"/console/conversations/{BOB}/{HANDSET}"
    page = await console.page(path)
    assert "are you there?" in page and 'class="bubble inbound"' in page
    form = {"csrf_token": await console.csrf(), "body": "yes"}
    async with console.http.post(path, data=form, allow_redirects=False) as reply:
        assert reply.status == 303 and reply.headers["Location"] == path
    page = await console.page(path)
    sid = re.search(r'class="bubble outbound" data-sid="(SM[0-9a-f]{32})"', page)
    assert sid is not None
    message = await statuses.final(sid.group(1))
    assert (message.from_, message.to, message.body) == (BOB, HANDSET, "yes")
    form = {"csrf_token": await console.csrf(), "body": ""}
    async with console.http.post(path, data=form) as reply:
        assert reply.status == 400
        assert "Message body is required. (error 21602)" in await reply.text()


async def test_a_stream_opened_late_gets_what_it_missed(console: Console) -> None:
    """A page rendered, then its stream opened: what happened between is sent on opening
    (a compose's redirect races its message's first changes); a browser that connects again
    gets what came after the last event it saw (Last-Event-ID)."""
    await console.sign_in()
    statuses = Statuses(console.gateway)
    sid = await send(console, ACCOUNT, HANDSET, "before the page listened")
    await statuses.reached(sid, Status.DELIVERED)
    async with await opened(console) as reply:
        await Events(reply).until("message", sid=sid, status="delivered")
    async with console.http.get("/console/events") as reply:
        raw = b""
        async with asyncio.timeout(WAIT):
            while b"delivered" not in raw:
                raw += await reply.content.readline()
        numbers = [int(n) for n in re.findall(rb"^id: (\d+)$", raw, re.M)]
    later = await send(console, ACCOUNT, HANDSET, "while it reconnected")
    await statuses.reached(later, Status.DELIVERED)
    headers = {"Last-Event-ID": str(max(numbers))}
    async with console.http.get("/console/events", headers=headers) as reply:
        stream = Events(reply)
        missed = await stream.until("message", sid=later, status="delivered")
        assert all(e.number is not None and e.number > max(numbers) for e in missed)


async def test_the_chart_counts_the_accounts_messages_per_minute(console: Console) -> None:
    statuses = Statuses(console.gateway)
    inbox = Inbox(console.gateway)
    for body in ("one", "two"):
        await statuses.final(await send(console, ACCOUNT, HANDSET, body))
    await statuses.final(await send(console, OTHER_ACCOUNT, HANDSET, "carol's"), OTHER_ACCOUNT)
    console.gateway.modems.network.inject(BOB, HANDSET, "in")
    await inbox.wait()
    async with console.http.get("/console/chart.svg", allow_redirects=False) as reply:
        assert reply.status == 303  # not signed in
    await console.sign_in()
    async with console.http.get("/console/chart.svg") as reply:
        assert reply.status == 200 and reply.content_type == "image/svg+xml"
        assert_secured(reply)
        svg = await reply.text()
    assert "3 in all, at most 3 in a minute</title>" in svg  # the test's clock stands still
    assert svg.count("<rect") == 1
    assert 'alt="A bar chart' in await console.page("/console/")


async def test_streams_beyond_the_limit_are_refused_with_a_page(console: Console) -> None:
    await console.sign_in()
    assert console.gateway.console is not None
    live = console.gateway.console.live
    cookie = console.http.cookie_jar.filter_cookies(URL(console.gateway.base_url + "/console/"))
    token = cookie[COOKIE].value
    held = [live.open(token, ACCOUNT.sid, lambda: None) for _ in range(MAX_STREAMS)]
    async with console.http.get("/console/events") as reply:
        assert reply.status == 503
        assert "Too many live pages are open" in await reply.text()
        assert_secured(reply)
    for stream in held:
        assert stream is not None
        live.close(stream)
    async with await opened(console):
        assert len(live) == 1
