"""Paging the Messages list while messages are created, sent, failed, canceled and deleted: a
Hypothesis state machine against a running gateway (real SQLite file, real socket), read
through the real ``twilio`` client (``messages.page()``/``next_page()``/``previous_page()``,
``messages.stream()`` taken a few messages at a time, and ``messages.list()``).

The seed: "When getting the list of all messages, results will be sorted on the DateSent field
with the most recent messages appearing first", and a next page "picks up where it left off
and can prevent you from retrieving duplicate data if you are actively sending or receiving
messages". The invariant: a walk from a first page lists exactly the messages that existed at
that first page and matched its filter (less those deleted on the way), each once, in the
order the list had then, whatever happened between its pages.

The machine writes through the gateway's own store (so it decides when each message is sent,
and with which DateSent: a slow modem's send lands in the past), and reads and deletes over
HTTP. Its messages belong to no modem, so the gateway's dispatcher leaves them alone.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.domain.models import Direction, Status
from gateway.store import Store
from gateway.store.sqlite import DATABASE_NAME
from tests.fakes import records
from tests.fakes.clock import T0
from tests.gateway.api_rig import Api
from tests.gateway.gateway_rig import ACCOUNT
from tests.properties import examples

T = TypeVar("T")
RECIPIENTS: Final = ("+15558675310", "+447700900123")
KINDS: Final = ("queued", "queued", "scheduled", "inbound")
FINAL: Final = (Status.SENT, Status.FAILED, Status.CANCELED, Status.RECEIVED)  # what it makes
NOWHERE: Final = "no-such-modem"  # no modem of the gateway: its messages stay as the test puts them


@dataclass
class Known:
    """A message as the machine made it, and where it stands in the list."""

    sid: str
    number: int  # in the order of creation, which is the store's id order
    to: str
    status: Status
    sent: datetime | None = None  # DateSent
    listed_at: datetime | None = None  # sent, or ended unsent, then; None while waiting
    deleted: bool = False

    def key(self) -> tuple[int, float, int]:
        """Its place in the list: waiting ones first, newest first; then by listed_at, most
        recent first; ties newest first."""
        if self.listed_at is None:
            return (0, 0.0, -self.number)
        return (1, -self.listed_at.timestamp(), -self.number)


@dataclass
class Walk:
    """A walk through the list from a first page: by pages, or by ``stream()``."""

    params: dict[str, Any]
    expected: list[str]  # the matching messages at the first page, in the order of then
    page_size: int
    pages: list[list[str]] = field(default_factory=list)
    page: Any = None  # the twilio MessagePage last read (page walks)
    stream: Iterator[Any] | None = None  # stream walks
    seen: list[str] = field(default_factory=list)
    deleted_before: dict[str, int] = field(default_factory=dict)  # sid: pages read then
    done: bool = False


class PagingMachine(RuleBasedStateMachine):
    def __init__(self, api: Api, loop: asyncio.AbstractEventLoop, client: Client) -> None:
        super().__init__()
        self.api, self.loop, self.client = api, loop, client
        self.known: dict[str, Known] = {}
        self.now = T0
        self.walk: Walk | None = None
        self.walks = 0

    # --- plumbing ------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.api.gateway.store

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """``make()`` awaited on the gateway's loop (the machine runs in a thread of its own)."""
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result()

    def alive(self) -> list[Known]:
        return [item for item in self.known.values() if not item.deleted]

    def of_status(self, *statuses: Status) -> list[str]:
        # In the order of creation: the SIDs are random, the examples must not be.
        return [item.sid for item in self.alive() if item.status in statuses]

    # --- what happens to messages ----------------------------------------------------------

    @rule(
        batch=st.lists(
            st.tuples(st.sampled_from(KINDS), st.sampled_from(RECIPIENTS), st.integers(-8, 0)),
            min_size=1,
            max_size=5,
        )
    )
    def create(self, batch: list[tuple[str, str, int]]) -> None:
        """Messages to send, scheduled ones, and received ones (their DateSent when the
        webhook was made; earlier by a lag if the clock stepped back, as NTP may set it);
        then time passes."""
        for kind, to, lag in batch:
            self.create_one(kind, to, lag)
        self.now += timedelta(seconds=len(batch))

    def create_one(self, kind: str, to: str, lag: int) -> None:
        status = {"queued": Status.QUEUED, "scheduled": Status.SCHEDULED}.get(kind, Status.RECEIVED)
        inbound = kind == "inbound"
        message = records.message(
            at=self.now,
            account_sid=ACCOUNT.sid,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND_API,
            status=status,
            to=to,
            from_="+15550001001",
            body=kind,
            date_sent=self.now + timedelta(seconds=lag) if inbound else None,
            modem=None if inbound else NOWHERE,
            send_at=self.now + timedelta(days=3) if kind == "scheduled" else None,
        )
        if inbound:
            assert self.run(lambda: self.store.receive_message(message, [], None))
        else:
            self.run(lambda: self.store.create_message(message, []))
        self.known[message.sid] = Known(
            message.sid,
            len(self.known),
            to,
            status,
            sent=message.date_sent,
            listed_at=message.date_sent,
        )

    @precondition(lambda self: self.of_status(Status.QUEUED))
    @rule(data=st.data())
    def send(self, data: st.DataObject) -> None:
        """A few are sent, now or earlier by a slow modem's clock (their DateSent lands in the
        past, maybe beside another's: ties)."""
        queued = self.of_status(Status.QUEUED)
        for sid in data.draw(
            st.lists(st.sampled_from(queued), min_size=1, max_size=3, unique=True)
        ):
            at = self.now + timedelta(seconds=data.draw(st.integers(-8, 2)))
            assert self.run(lambda: self.store.message_sent(sid, at)) is Status.SENT  # noqa: B023
            known = self.known[sid]
            known.status, known.sent, known.listed_at = Status.SENT, at, at

    @precondition(lambda self: self.of_status(Status.QUEUED))
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        """Failed before it was sent: it stands where it failed."""
        sid = data.draw(st.sampled_from(self.of_status(Status.QUEUED)))
        at = self.now
        assert self.run(lambda: self.store.update_status(sid, Status.FAILED, at, error_code=30008))
        known = self.known[sid]
        known.status, known.listed_at = Status.FAILED, at

    @precondition(lambda self: self.of_status(Status.SCHEDULED))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(self.of_status(Status.SCHEDULED)))
        at = self.now
        canceled = self.run(lambda: self.store.cancel(ACCOUNT.sid, sid, at))
        assert canceled is not None and canceled.status is Status.CANCELED
        known = self.known[sid]
        known.status, known.listed_at = Status.CANCELED, at

    @precondition(
        lambda self: self.of_status(Status.SENT, Status.FAILED, Status.CANCELED, Status.RECEIVED)
    )
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        final = self.of_status(Status.SENT, Status.FAILED, Status.CANCELED, Status.RECEIVED)
        sid = data.draw(st.sampled_from(final))
        assert self.client.messages(sid).delete() is True
        self.known[sid].deleted = True
        if self.walk is not None:
            self.walk.deleted_before.setdefault(sid, len(self.walk.pages))

    # --- reading the list ------------------------------------------------------------------

    def order(self, keep: Callable[[Known], bool] = lambda _: True) -> list[str]:
        return [item.sid for item in sorted(self.alive(), key=Known.key) if keep(item)]

    @precondition(lambda self: self.walk is None and len(self.alive()) >= 3)
    @rule(
        page_size=st.integers(1, 4),
        by=st.sampled_from(["pages", "pages", "stream"]),
        to=st.none() | st.sampled_from(RECIPIENTS),
        sent_after=st.none() | st.integers(-5, 20),
    )
    def start_walk(self, page_size: int, by: str, to: str | None, sent_after: int | None) -> None:
        params: dict[str, Any] = {"page_size": page_size}
        since = None if sent_after is None else T0 + timedelta(seconds=sent_after)
        if to is not None:
            params["to"] = to
        if since is not None:
            params["date_sent_after"] = since

        def matches(item: Known) -> bool:
            if to is not None and item.to != to:
                return False
            return since is None or (item.sent is not None and item.sent >= since)

        walk = Walk(params, self.order(matches), page_size)
        self.walk, self.walks = walk, self.walks + 1
        if by == "stream":
            walk.stream = iter(self.client.messages.stream(**params))
            self.take_from_stream(1)
        else:
            walk.page = self.client.messages.page(**params)
            self.read(walk.page)

    def read(self, page: Any) -> None:
        assert self.walk is not None
        sids = [message.sid for message in page]
        self.walk.pages.append(sids)
        self.walk.seen += sids
        if page.next_page_url is None:
            self.finish()
        else:
            self.check()

    @precondition(lambda self: self.walk is not None and self.walk.stream is None)
    @rule()
    def next_page(self) -> None:
        assert self.walk is not None
        previous = self.walk.pages[-1]
        assert len(previous) == self.walk.page_size  # a page with a next one is full
        self.walk.page = self.walk.page.next_page()
        self.read(self.walk.page)

    @precondition(
        lambda self: self.walk is not None and self.walk.stream is None and len(self.walk.pages) > 1
    )
    @rule()
    def previous_page(self) -> None:
        """The page before the current one: the messages just before its first, in the order of
        the walk's first page, as they are now (less those deleted)."""
        walk = self.walk
        assert walk is not None and walk.page is not None
        current = walk.pages[-1]
        if not current:
            return  # every message after the last page was deleted: no page to go back from
        back = [message.sid for message in walk.page.previous_page()]
        # Before where the page's first message stood, whether it was deleted since or not.
        earlier = walk.expected[: walk.expected.index(current[0])]
        alive = [sid for sid in earlier if not self.known[sid].deleted]
        assert back == alive[-walk.page_size :]

    @precondition(lambda self: self.walk is not None and self.walk.stream is not None)
    @rule(count=st.integers(1, 6))
    def take_from_stream(self, count: int) -> None:
        walk = self.walk
        assert walk is not None and walk.stream is not None
        for _ in range(count):
            message = next(walk.stream, None)
            if message is None:
                self.finish()
                return
            walk.seen.append(message.sid)
            walk.pages.append([message.sid])  # what a deletion is compared with
            self.check()

    def check(self) -> None:
        """So far, the walk listed messages that existed at its first page, each once, in the
        order of then, and skipped none but those deleted before it came to them."""
        walk = self.walk
        assert walk is not None
        assert len(walk.seen) == len(set(walk.seen)), walk
        shown = set(walk.seen)
        assert shown <= set(walk.expected), walk
        assert walk.seen == [sid for sid in walk.expected if sid in shown], walk
        reached = walk.expected.index(walk.seen[-1]) + 1 if walk.seen else 0
        for sid in walk.expected[:reached]:
            assert sid in shown or sid in walk.deleted_before, (sid, walk)

    def finish(self) -> None:
        """The walk is over: it listed all that existed at its first page, less what was
        deleted before the walk came to it."""
        self.check()
        walk = self.walk
        assert walk is not None
        self.walk = None
        for sid in walk.expected:
            assert sid in walk.seen or sid in walk.deleted_before, (sid, walk)
        # And messages.list(), every page at once: the list as it is now.
        listed = self.client.messages.list(page_size=walk.page_size)
        assert [message.sid for message in listed] == self.order()

    def teardown(self) -> None:
        # A walk still under way is followed to its end (and checked), then the next example
        # starts from an empty list (ids go on from where they were).
        try:
            while self.walk is not None:
                if self.walk.stream is not None:
                    self.take_from_stream(10)
                else:
                    self.next_page()
        finally:
            with sqlite3.connect(self.api.gateway.config.data_dir / DATABASE_NAME) as db:
                db.execute("PRAGMA busy_timeout = 5000")
                db.execute("DELETE FROM messages WHERE account_sid = ?", (ACCOUNT.sid,))

    @invariant()
    def nothing_shown_after_its_deletion(self) -> None:
        walk = self.walk
        if walk is None or walk.stream is not None:
            return  # a stream shows what it read before, page by page
        for sid, pages_then in walk.deleted_before.items():
            later = [sid_ for page in walk.pages[pages_then:] for sid_ in page]
            assert sid not in later


def twilio_client(api: Api) -> tuple[Client, TwilioHttpClient]:
    http = TwilioHttpClient()
    client = Client(ACCOUNT.sid, ACCOUNT.auth_token, http_client=http)
    client.api.base_url = api.base_url
    return client, http


async def test_walks_list_what_there_was_at_their_first_page(api: Api) -> None:
    loop = asyncio.get_running_loop()
    client, http = twilio_client(api)
    machines: list[PagingMachine] = []

    class Machine(PagingMachine):
        def __init__(self) -> None:
            super().__init__(api, loop, client)
            machines.append(self)

    try:
        await asyncio.to_thread(
            run_state_machine_as_test,
            Machine,
            settings=settings(max_examples=examples(50), stateful_step_count=50),
        )
    finally:
        if http.session is not None:
            http.session.close()
    walks = sum(machine.walks for machine in machines)
    # It did walk, many times (67 with the full 50 examples, 42 with the fast profile's 20).
    assert walks > examples(50), walks
