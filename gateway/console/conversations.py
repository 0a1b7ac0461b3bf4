"""Conversations: the account's messages as threads, one per pair of numbers (ours, the
other party's), like a phone's messaging app, newest thread first; a thread's page, oldest
message first, new ones appearing live (static/live.js), and a reply box that sends through
the compose page's call (gateway.console.compose.send: the API's create, its errors).

The threads are made from the account's latest :data:`RECENT` messages, read as the API's
list reads them (the store's listing): an older thread shows again with its next message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from aiohttp import web

from gateway.console.compose import send
from gateway.console.headers import error_page
from gateway.console.parts import ConsoleParts
from gateway.console.rendering import render
from gateway.console.sessions import Session
from gateway.console.views import page_context, see_other, signed_in
from gateway.domain.models import Direction, Message
from gateway.store import MessageQuery

RECENT: Final = 500  # the latest messages the list of threads is made from
THREAD: Final = 200  # the latest messages of a thread its page shows
MAX_NUMBER: Final = 64  # longer than any address (E.164: 15 digits; alphanumeric: 11)


@dataclass(frozen=True, slots=True)
class Thread:
    ours: str
    theirs: str
    last: Message
    count: int  # of the latest RECENT messages

    @property
    def path(self) -> str:
        return thread_path(self.ours, self.theirs)


def thread_path(ours: str, theirs: str) -> str:
    return f"/console/conversations/{quote(ours, safe='+')}/{quote(theirs, safe='+')}"


def pair(message: Message) -> tuple[str, str] | None:
    """(ours, theirs) of a message; ``None`` for one with no sender yet (a Messaging
    Service's, waiting for its number)."""
    if message.direction is Direction.INBOUND:
        return (message.to, message.from_) if message.from_ else None
    return (message.from_, message.to) if message.from_ else None


@signed_in
async def threads(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    page = await console.api.store.list_messages(session.account, MessageQuery(page_size=RECENT))
    found: dict[tuple[str, str], Thread] = {}
    for message in page.messages if page is not None else ():  # newest first
        key = pair(message)
        if key is None:
            continue
        known = found.get(key)
        found[key] = (
            Thread(*key, last=message, count=1)
            if known is None
            else Thread(*key, last=known.last, count=known.count + 1)
        )
    context = page_context(session, threads=list(found.values()), recent=RECENT)
    return render("conversations.html", context)


async def _thread(console: ConsoleParts, session: Session, ours: str, theirs: str) -> list[Message]:
    store = console.api.store
    sent = await store.list_messages(
        session.account, MessageQuery(from_=ours, to=theirs, page_size=THREAD, inbound=False)
    )
    received = await store.list_messages(
        session.account,
        MessageQuery(from_=theirs, from_given=theirs, to=ours, page_size=THREAD, inbound=True),
    )
    messages = [*(sent.messages if sent else ()), *(received.messages if received else ())]
    messages.sort(key=lambda m: (m.date_sent or m.date_created, m.sid))
    return messages[-THREAD:]


def _numbers(request: web.Request) -> tuple[str, str] | None:
    ours, theirs = request.match_info["ours"], request.match_info["theirs"]
    if not ours or not theirs or len(ours) > MAX_NUMBER or len(theirs) > MAX_NUMBER:
        return None
    return ours, theirs


async def _page(
    console: ConsoleParts,
    session: Session,
    ours: str,
    theirs: str,
    *,
    body: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    messages = await _thread(console, session, ours, theirs)
    context = page_context(
        session,
        ours=ours,
        theirs=theirs,
        path=thread_path(ours, theirs),
        messages=messages,
        body=body,
        errors=errors or {},
    )
    return render("conversation.html", context, status)


@signed_in
async def conversation(
    request: web.Request, console: ConsoleParts, session: Session
) -> web.Response:
    numbers = _numbers(request)
    if numbers is None:
        return error_page(404, "There is no such conversation.")
    return await _page(console, session, *numbers)


@signed_in
async def reply(request: web.Request, console: ConsoleParts, session: Session) -> web.Response:
    """A reply from our number to theirs (the API's create: a number of another account, or
    none of this gateway's, is refused as it would be there)."""
    numbers = _numbers(request)
    if numbers is None:
        return error_page(404, "There is no such conversation.")
    ours, theirs = numbers
    body = str((await request.post()).get("body", ""))
    message, errors = await send(console, session, {"to": theirs, "sender": ours, "body": body})
    if message is None:
        # To and From are the page's own: any error is shown at the reply box.
        text = " ".join(errors.values())
        return await _page(
            console, session, ours, theirs, body=body, errors={"body": text}, status=400
        )
    return see_other(thread_path(ours, theirs))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/conversations", threads, allow_head=False),
        web.get("/conversations/{ours}/{theirs}", conversation, allow_head=False),
        web.post("/conversations/{ours}/{theirs}", reply),
    ]
