"""The list's order and its page tokens in the store, on a real SQLite file: where each kind of
message stands (the seed: "results will be sorted on the DateSent field with the most recent
messages appearing first"), the list as it stood at a walk's first page, schema migration 14 on
a database that has messages already, and every query of a page walking an index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from gateway.domain.models import FINAL_STATUSES, Direction, Message, Status, new_sid
from gateway.store import MessagePage, MessageQuery, PageCursor
from gateway.store.sqlite import DATABASE_NAME, SqliteStore
from gateway.store.sqlite.listing import read_page
from gateway.store.sqlite.schema import MIGRATIONS
from tests.fakes import records
from tests.fakes.records import ACCOUNT
from tests.gateway.store_rig import opened

# Where schema migration 14 (the list's order and clock) stands among the migrations.
LIST_ORDER_MIGRATION = next(n for n, script in enumerate(MIGRATIONS) if "list_clock" in script)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def message(*, created: datetime = T0, sent: datetime | None = None, **changes: Any) -> Message:
    """A message created at ``created`` (last updated then), sent at ``sent`` if it was."""
    return replace(records.message(at=created, to="+15558675310", date_sent=sent), **changes)


async def page_of(store: SqliteStore, query: MessageQuery) -> MessagePage:
    page = await store.list_messages(ACCOUNT, query)
    assert page is not None
    return page


async def walk(store: SqliteStore, query: MessageQuery | None = None) -> list[str]:
    query = query or MessageQuery()
    found: list[str] = []
    while True:
        page = await page_of(store, query)
        found += [m.sid for m in page.messages]
        if not page.more:
            return found
        assert page.last is not None
        query = replace(query, cursor=PageCursor(page.snapshot, page.last, forward=True))


async def create(store: SqliteStore, item: Message) -> str:
    await store.create_message(item, [])
    return item.sid


async def test_where_each_kind_of_message_stands(store: SqliteStore) -> None:
    """The seed: "results will be sorted on the DateSent field with the most recent messages
    appearing first". A message not sent yet (queued, scheduled, receiving...) will be sent
    after every one sent so far: it stands above them, newest first; one that ended without
    being sent (failed, canceled) stands where it ended, as if sent then."""
    early = await create(store, message(created=at(0)))  # sent last, through a slow modem
    quick = await create(store, message(created=at(1)))
    inbound = await create(
        store,
        message(status=Status.RECEIVED, direction=Direction.INBOUND, created=at(2), sent=at(2)),
    )
    doomed = await create(store, message(created=at(3)))
    scheduled = await create(
        store, message(status=Status.SCHEDULED, created=at(4), send_at=at(3600), from_=None)
    )
    waiting = await create(store, message(created=at(5)))
    later = await create(store, message(status=Status.SCHEDULED, created=at(6), send_at=at(7200)))
    assert await store.message_sent(quick, at(7)) is Status.SENT
    assert await store.update_status(doomed, Status.FAILED, at(8), error_code=30008)
    assert await store.message_sent(early, at(9)) is Status.SENT
    canceled = await store.cancel(ACCOUNT, later, at(10))
    assert canceled is not None and canceled.status is Status.CANCELED
    assert await walk(store, MessageQuery(page_size=2)) == [
        waiting,  # not sent yet: the newest first
        scheduled,
        later,  # canceled at 10 s, never sent
        early,  # sent at 9 s, though created first
        doomed,  # failed at 8 s, never sent
        quick,  # sent at 7 s
        inbound,  # received at 2 s
    ]


async def test_ties_go_newest_first(store: SqliteStore) -> None:
    sids = [await create(store, message(status=Status.SENT, sent=T0)) for _ in range(5)]
    assert await walk(store, MessageQuery(page_size=2)) == sids[::-1]


async def test_pages_keep_the_order_of_the_first_page(store: SqliteStore) -> None:
    """A message that gets its DateSent between two pages keeps the place it had at the first
    page: none is shown twice, none skipped (the seed: the next page "picks up where it left
    off and can prevent you from retrieving duplicate data if you are actively sending or
    receiving messages")."""
    sent = [await create(store, message(status=Status.SENT, sent=at(n))) for n in range(4)]
    waiting = [await create(store, message(created=at(10 + n))) for n in range(4)]
    query = MessageQuery(page_size=3)
    first = await page_of(store, query)
    assert [m.sid for m in first.messages] == waiting[::-1][:3]
    # Between the pages: the one shown first is sent now (it moves to the top of the sent
    # ones, behind the position), the one not shown yet is sent with an old date (a slow
    # modem's clock: it moves down, past the sent ones still to come), one is new.
    assert await store.message_sent(waiting[3], at(100)) is Status.SENT
    assert await store.message_sent(waiting[0], at(1.5)) is Status.SENT
    newer = await create(store, message(created=at(50)))
    assert first.last is not None
    rest = await walk(store, replace(query, cursor=PageCursor(first.snapshot, first.last, True)))
    assert [m.sid for m in first.messages] + rest == waiting[::-1] + sent[::-1]
    # A new walk sees the list as it is now.
    now = [newer, waiting[2], waiting[1], waiting[3], sent[3], sent[2], waiting[0], *sent[1::-1]]
    assert await walk(store, query) == now


async def test_a_page_before_keeps_the_first_pages_order(store: SqliteStore) -> None:
    waiting = [await create(store, message(created=at(n))) for n in range(6)]
    query = MessageQuery(page_size=2)
    first = await page_of(store, query)
    assert first.last is not None
    second = await page_of(
        store, replace(query, cursor=PageCursor(first.snapshot, first.last, True))
    )
    for sid in waiting:
        assert await store.message_sent(sid, at(60)) is Status.SENT
    await create(store, message(created=at(70)))
    assert second.first is not None
    back = await page_of(
        store, replace(query, cursor=PageCursor(second.snapshot, second.first, forward=False))
    )
    assert back.messages == [*(await store_messages(store, waiting[::-1][:2]))]
    assert back.more is False  # nothing before the first page: the new one came after


async def store_messages(store: SqliteStore, sids: list[str]) -> list[Message]:
    found = [await store.get_message(ACCOUNT, sid) for sid in sids]
    return [item for item in found if item is not None]


async def test_a_date_sent_filter_reads_the_sent_as_they_stood(store: SqliteStore) -> None:
    sent = [await create(store, message(status=Status.SENT, sent=at(n))) for n in range(5)]
    waiting = await create(store, message(created=at(9)))
    query = MessageQuery(page_size=2, sent_at_or_after=at(0))
    first = await page_of(store, query)
    assert [m.sid for m in first.messages] == [sent[4], sent[3]]
    assert await store.message_sent(waiting, at(3.5)) is Status.SENT  # not sent at the start
    assert first.last is not None
    rest = await walk(store, replace(query, cursor=PageCursor(first.snapshot, first.last, True)))
    assert rest == [sent[2], sent[1], sent[0]]
    assert await walk(store, query) == [sent[4], waiting, sent[3], sent[2], sent[1], sent[0]]


async def test_a_token_naming_a_message_pages_from_where_it_stands_now(
    store: SqliteStore,
) -> None:
    sids = [await create(store, message(status=Status.SENT, sent=at(n))) for n in range(4)]
    page = await page_of(store, MessageQuery(after_sid=sids[2]))
    assert [m.sid for m in page.messages] == [sids[1], sids[0]]
    page = await page_of(store, MessageQuery(before_sid=sids[1]))
    assert [m.sid for m in page.messages] == [sids[3], sids[2]]
    assert await store.list_messages(ACCOUNT, MessageQuery(after_sid=new_sid("SM"))) is None
    assert await store.list_messages("AC" + "b" * 32, MessageQuery(after_sid=sids[0])) is None


async def test_an_id_is_never_used_twice(store: SqliteStore) -> None:
    """A page token's snapshot knows the messages created after it by their ids: a message
    created after the newest one was deleted must not take its id."""
    first = await create(store, message(status=Status.SENT, sent=at(0)))
    newest = await create(store, message(status=Status.SENT, sent=at(1)))
    page = await page_of(store, MessageQuery(page_size=1))
    deleted = await store.delete_message(ACCOUNT, newest)
    assert deleted is not None and deleted.sid == newest
    await create(store, message(status=Status.SENT, sent=at(0.5)))  # would stand after first
    assert page.last is not None
    rest = await walk(store, MessageQuery(cursor=PageCursor(page.snapshot, page.last, True)))
    assert rest == [first]
    with sqlite3.connect(store.path) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM messages ORDER BY id")]
    assert ids == [1, 3]


async def test_the_list_order_migration_places_the_messages_there_are(tmp_path: Path) -> None:
    before = LIST_ORDER_MIGRATION
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        # What migration 7 calls to fill pending webhooks (there are none here).
        db.create_function("smsgw_destination", 1, lambda url: "")
        db.create_function("smsgw_token", 0, lambda: "")
        for number, script in enumerate(MIGRATIONS[:before], 1):
            db.executescript(script)
            db.execute(f"PRAGMA user_version = {number}")
        rows = [
            (1, "sent", 100, 100),  # sent at 100
            (2, "queued", None, 50),  # waiting
            (3, "failed", None, 300),  # failed at 300, never sent
            (4, "delivered", 200, 400),  # sent at 200
        ]
        db.executemany(
            "INSERT INTO messages (id, sid, account_sid, direction, status, to_number, body, "
            "num_segments, date_created, date_updated, date_sent) "
            "VALUES (?, ?, ?, 'outbound-api', ?, '+15558675310', 'x', 1, 0, ?, ?)",
            [
                (n, f"SM{n:032x}", ACCOUNT, status, updated, sent)
                for n, status, sent, updated in rows
            ],
        )
        db.execute("INSERT INTO deleted_messages (sid, id) VALUES (?, 7)", (f"SM{7:032x}",))
    async with opened(tmp_path) as store:
        assert await walk(store) == [f"SM{n:032x}" for n in (2, 3, 4, 1)]
        newer = await create(store, message(status=Status.SENT, sent=at(0)))
        with sqlite3.connect(store.path) as db:
            assert db.execute("SELECT id FROM messages WHERE sid = ?", (newer,)).fetchone() == (8,)


def test_the_list_order_migration_names_the_final_statuses() -> None:
    """The list order's migration lists the final statuses in SQL: the same as the models'."""
    final = "(" + ", ".join(f"'{s.value}'" for s in Status if s in FINAL_STATUSES) + ")"
    assert (
        MIGRATIONS[LIST_ORDER_MIGRATION].count(f"status IN {final}") == 2
    )  # the rows there were, the trigger


class _Planner:
    """A connection that records the query plan of every SELECT of a page."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.plans: list[list[str]] = []

    def execute(self, sql: str, values: Any = ()) -> sqlite3.Cursor:
        if sql.startswith("SELECT") and "list_clock" not in sql:
            plan = self.db.execute(f"EXPLAIN QUERY PLAN {sql}", values).fetchall()
            self.plans.append([str(step[3]) for step in plan])
        return self.db.execute(sql, values)


@contextmanager
def planner(path: Path) -> Iterator[_Planner]:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield _Planner(db)
    finally:
        db.close()


async def test_every_query_of_a_page_walks_an_index(store: SqliteStore) -> None:
    """Nothing sorts what it finds, but the few rows sent since a page token's snapshot (so a
    page costs what it holds, not what the list holds: bench/gateway_list.py)."""
    for n in range(30):
        await create(store, message(status=Status.SENT, sent=at(n), to=f"+1555867{n % 3:04d}"))
        await create(store, message(created=at(n)))
    first = await page_of(store, MessageQuery(page_size=5))
    assert first.last is not None and first.first is not None
    day = T0.date()
    queries = [
        MessageQuery(),
        MessageQuery(to="+15558670001"),
        MessageQuery(from_="+15550001001"),
        MessageQuery(to="+15558670001", from_="+15550001001"),
        MessageQuery(sent_on=day),
        MessageQuery(sent_at_or_after=at(3), sent_at_or_before=at(20)),
        MessageQuery(to="+15558670001", from_="+15550001001", sent_at_or_after=at(3)),
    ]
    listed = await page_of(store, MessageQuery(page_size=40))
    assert listed.last is not None and not listed.last.waiting
    positions = [first.last, first.first, listed.last]
    with planner(store.path) as db:
        for query in queries:
            for position in positions:
                for forward in (True, False):
                    cursor = PageCursor(first.snapshot, position, forward)
                    read_page(cast(sqlite3.Connection, db), ACCOUNT, replace(query, cursor=cursor))
            read_page(cast(sqlite3.Connection, db), ACCOUNT, query)
    assert db.plans
    for plan in db.plans:
        assert plan[0].startswith("SEARCH messages USING INDEX"), plan
        if "messages_moved" not in plan[0]:
            assert not any("TEMP B-TREE" in step for step in plan), plan


async def test_the_consoles_status_and_direction_filters(store: SqliteStore) -> None:
    """The console's filters (no Twilio parameter): a status, and inbound or outbound, each
    alone and with the others, in list order and across pages, waiting messages included."""
    queued = await create(store, message(created=at(0)))
    reply = await create(
        store, message(created=at(1), direction=Direction.OUTBOUND_REPLY, status=Status.SENT)
    )
    inbound = await create(
        store,
        message(status=Status.RECEIVED, direction=Direction.INBOUND, created=at(2), sent=at(2)),
    )
    failed = await create(store, message(created=at(3)))
    assert await store.update_status(failed, Status.FAILED, at(4), error_code=30008)
    sent = [await create(store, message(status=Status.SENT, sent=at(5 + n))) for n in range(3)]
    assert await walk(store, MessageQuery(page_size=2, status=Status.SENT)) == [
        *sent[::-1],
        reply,
    ]
    assert await walk(store, MessageQuery(page_size=2, inbound=True)) == [inbound]
    outbound = await walk(store, MessageQuery(page_size=2, inbound=False))
    assert outbound == [queued, *sent[::-1], failed, reply]
    assert await walk(store, MessageQuery(status=Status.QUEUED, inbound=False)) == [queued]
    assert await walk(store, MessageQuery(status=Status.RECEIVED, inbound=False)) == []
    assert await walk(store, MessageQuery(status=Status.FAILED, to="+15558675310")) == [failed]
