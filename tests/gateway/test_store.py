"""The SQLite store on a real file: migrations, messages, paging, the dispatcher's side, group
commit and durability."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Account
from gateway.domain.errors import StoreError
from gateway.domain.models import Message, Status, new_sid
from gateway.domain.quota import recipient_key
from gateway.store import Claim, MessagePage, MessageQuery, PageCursor
from gateway.store.sqlite import DATABASE_NAME, SqliteStore, read_accounts
from gateway.store.sqlite.engine import register_functions
from gateway.store.sqlite.rows import to_micros
from gateway.store.sqlite.schema import MIGRATIONS
from gateway.store.sqlite.transitions import insert_outbound
from gateway.store.sqlite.webhooks import _PENDING, _TROUBLED
from tests.fakes import records
from tests.fakes.records import ACCOUNT, parts
from tests.gateway.store_rig import opened

OTHER = "AC" + "b" * 32
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def message(*, at: datetime = T0, **changes: Any) -> Message:
    """A queued message with a StatusCallback and a ValidityPeriod (its expiry not set)."""
    created = records.message(
        at=at, status_callback="https://example.com/status", validity_period=3600
    )
    return replace(created, **changes)


async def test_a_new_database_is_migrated_once(tmp_path: Path) -> None:
    async with opened(tmp_path) as first:
        await first.create_message(message(), parts(1))
    async with opened(tmp_path) as again:  # no error: the migrations that ran are not run twice
        assert await again.count_messages() == 1
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    store = SqliteStore(tmp_path)
    with pytest.raises(StoreError, match="newer than this smsgw knows"):
        await store.open()
    await store.close()


async def test_an_unusable_data_dir_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = SqliteStore(blocker / "data")
    with pytest.raises(StoreError, match="cannot create"):
        await store.open()


async def test_create_is_durable_when_it_returns(store: SqliteStore) -> None:
    created = message()
    await store.create_message(created, parts(2, reference=7))
    # Another connection, as after a crash: the row and its segments are committed.
    with sqlite3.connect(store.path) as db:
        row = db.execute(
            "SELECT status, body FROM messages WHERE sid = ?", (created.sid,)
        ).fetchone()
        assert row == ("queued", "hello")
        segments = db.execute(
            "SELECT sequence, concat_reference, reference FROM segments ORDER BY sequence"
        ).fetchall()
        assert segments == [(1, 7, None), (2, 7, None)]


async def test_get_is_per_account(store: SqliteStore) -> None:
    mine = message()
    await store.create_message(mine, parts(1))
    assert await store.get_message(ACCOUNT, mine.sid) == mine
    assert await store.get_message(OTHER, mine.sid) is None
    assert await store.get_message(ACCOUNT, new_sid("SM")) is None


async def page_of(store: SqliteStore, query: MessageQuery) -> MessagePage:
    page = await store.list_messages(ACCOUNT, query)
    assert page is not None
    return page


def after(page: MessagePage, query: MessageQuery) -> MessageQuery:
    """The query for the page after ``page`` (what ``next_page_uri``'s token names)."""
    assert page.last is not None
    return replace(query, cursor=PageCursor(page.snapshot, page.last, forward=True))


def before(page: MessagePage, query: MessageQuery) -> MessageQuery:
    assert page.first is not None
    return replace(query, cursor=PageCursor(page.snapshot, page.first, forward=False))


async def test_list_newest_first_with_filters_and_pages(store: SqliteStore) -> None:
    created = []
    for n in range(7):
        item = message(
            to="+15550002002" if n % 2 else "+15550003003",
            date_sent=T0 + timedelta(days=n),
            at=T0 + timedelta(days=n),
        )
        created.append(item)
        await store.create_message(item, parts(1))
    await store.create_message(message(account_sid=OTHER), parts(1))

    everything = await page_of(store, MessageQuery(page_size=50))
    assert [m.sid for m in everything.messages] == [m.sid for m in reversed(created)]
    assert not everything.more

    query = MessageQuery(page_size=3)
    first = await page_of(store, query)
    assert first.more and len(first.messages) == 3
    second = await page_of(store, after(first, query))
    third = await page_of(store, after(second, query))
    assert not third.more
    paged = [m.sid for m in first.messages + second.messages + third.messages]
    assert paged == [m.sid for m in reversed(created)]
    back = await page_of(store, before(third, query))
    assert back.messages == second.messages and back.more  # the previous page, and more

    to = (await page_of(store, MessageQuery(to="+15550002002"))).messages
    assert {m.to for m in to} == {"+15550002002"} and len(to) == 3
    on = (await page_of(store, MessageQuery(sent_on=date(2026, 3, 3)))).messages
    assert [m.sid for m in on] == [created[2].sid]
    earlier = await page_of(
        store, MessageQuery(sent_at_or_before=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    )
    assert {m.sid for m in earlier.messages} == {created[0].sid, created[1].sid}
    later = await page_of(
        store, MessageQuery(sent_at_or_after=datetime(2026, 3, 6, 12, 0, tzinfo=UTC))
    )
    assert {m.sid for m in later.messages} == {created[5].sid, created[6].sid}


async def test_paging_is_stable_while_messages_arrive(store: SqliteStore) -> None:
    older = [message() for _ in range(5)]
    for item in older:
        await store.create_message(item, parts(1))
    first = await page_of(store, MessageQuery(page_size=2))
    for _ in range(3):  # new messages arrive between the page requests
        await store.create_message(message(), parts(1))
    rest = await page_of(store, after(first, MessageQuery(page_size=10)))
    assert [m.sid for m in first.messages + rest.messages] == [m.sid for m in reversed(older)]


async def test_the_dispatchers_side(store: SqliteStore) -> None:
    first, second, elsewhere = message(), message(), message(modem="bob")
    for item in (first, second, elsewhere):
        await store.create_message(item, parts(3, reference=42))
    work = await store.outbound_work("alice", T0)
    assert [w.message.sid for w in work] == [first.sid, second.sid]
    assert [s.sequence for s in work[0].segments] == [1, 2, 3]

    await store.update_status(first.sid, Status.SENDING, T0)
    await store.record_part_sent(first.sid, 1, 17, T0)
    await store.record_part_sent(first.sid, 2, None, T0)  # "duplicate": the SC had it
    (resumed, _) = await store.outbound_work("alice", T0)
    assert resumed.message.status is Status.SENDING
    assert [(s.reference, s.sent_at is not None) for s in resumed.segments] == [
        (17, True),
        (None, True),
        (None, False),
    ]

    assert await store.count_attempt(second.sid) == 1
    assert await store.count_attempt(second.sid) == 2
    later = T0 + timedelta(minutes=5)
    await store.defer(second.sid, later)
    assert [w.message.sid for w in await store.outbound_work("alice", T0)] == [first.sid]
    assert await store.next_attempt_at("alice") == datetime.fromtimestamp(0, UTC)
    assert [w.message.sid for w in await store.outbound_work("alice", later)] == [
        first.sid,
        second.sid,
    ]

    assert await store.message_sent(first.sid, later) is Status.SENT
    assert await store.message_sent(first.sid, later) is None  # sent once
    assert await store.update_status(second.sid, Status.FAILED, later, error_code=30005)
    assert not await store.update_status(second.sid, Status.SENDING, later)  # final stays
    assert await store.outbound_work("alice", later) == []
    failed = await store.get_message(ACCOUNT, second.sid)
    assert failed is not None
    assert (failed.status, failed.error_code, failed.date_updated) == (Status.FAILED, 30005, later)
    assert failed.error_message == "Unknown destination handset"
    sent = await store.get_message(ACCOUNT, first.sid)
    assert sent is not None and sent.date_sent == later
    assert await store.next_attempt_at("alice") is None
    assert await store.last_concat_reference("alice") == 42
    assert await store.last_concat_reference("carol") is None


async def test_a_part_is_granted_or_its_message_expires_never_both(store: SqliteStore) -> None:
    late = T0 + timedelta(hours=2)  # past the messages' 3600 s validity
    expiring, claimed, refused = (
        replace(message(), expires_at=T0 + timedelta(hours=1)) for _ in range(3)
    )
    for item in (expiring, claimed, refused):
        await store.create_message(item, parts(2))
    assert await store.claim_part(claimed.sid, 1, "alice", T0) is Claim.STARTED
    assert await store.claim_part(refused.sid, 1, "alice", T0) is Claim.STARTED
    await store.release_part(refused.sid, 1)  # +CMS ERROR: the modem did not take it
    assert await store.claim_part(claimed.sid, 1, "bob", T0) is Claim.GONE  # not bob's

    # A granted part may be on the air: its message is past expiring. The others expire.
    assert sorted(await store.expire_unsent(late)) == sorted([expiring.sid, refused.sid])
    assert await store.claim_part(expiring.sid, 1, "alice", late) is Claim.GONE
    assert await store.claim_part(claimed.sid, 2, "alice", late) is Claim.GRANTED

    # At the claim itself: expired, failed with its callback, in the same transaction.
    fresh = replace(message(), expires_at=T0 + timedelta(hours=1))
    await store.create_message(fresh, parts(1))
    assert await store.claim_part(fresh.sid, 1, "alice", late) is Claim.EXPIRED
    failed = await store.get_message(ACCOUNT, fresh.sid)
    assert failed is not None and (failed.status, failed.error_code) == (Status.FAILED, 30036)
    assert await store.expire_unsent(late + timedelta(hours=1)) == []
    with sqlite3.connect(store.path) as db:
        rows = db.execute(
            "SELECT params FROM webhooks WHERE message_sid = ? ORDER BY id", (fresh.sid,)
        ).fetchall()
    statuses = [dict(json.loads(params))["MessageStatus"] for (params,) in rows]
    assert statuses == ["queued", "failed"]


async def test_concurrent_writes_share_commits_and_fail_alone(store: SqliteStore) -> None:
    messages = [message() for _ in range(300)]
    duplicate = messages[10]
    results = await asyncio.gather(
        *(store.create_message(item, parts(1)) for item in messages),
        store.create_message(duplicate, parts(1)),  # the same SID again: this one fails
        return_exceptions=True,
    )
    refused = [result for result in results if isinstance(result, StoreError)]
    assert [type(result.__cause__) for result in refused] == [sqlite3.IntegrityError]
    assert await store.count_messages() == 300


async def test_accounts(store: SqliteStore, tmp_path: Path) -> None:
    assert read_accounts(tmp_path / "elsewhere") == []
    account = Account("AC" + "c" * 32, "secret")
    await store.add_account(account)
    assert await store.accounts() == [account]
    assert read_accounts(tmp_path) == [account]  # read-only, beside the running store


async def test_list_pages_are_what_a_plain_filter_gives(store: SqliteStore) -> None:
    """Every filter and page of list_messages against the same filter done by hand, on more
    messages than the store looks at first for a date range (its recent-first shortcut)."""
    rng = random.Random(2026)
    created: list[Message] = []
    for n in range(2600):
        # Sent over ten days, not in id order (a queue drains out of order), some never.
        sent = None if n % 7 == 0 else T0 + timedelta(hours=rng.randrange(240))
        item = message(
            to=f"+1555000{rng.randrange(40):04d}",
            from_=rng.choice(["+15550001001", "+15550002002", "+15550003003"]),
            date_sent=sent,
        )
        created.append(item)
    for chunk in range(0, len(created), 200):
        await asyncio.gather(
            *(store.create_message(m, parts(1)) for m in created[chunk : chunk + 200])
        )
    # The list: the unsent first, newest first (ids follow the commits, which follow
    # ``created``), then by DateSent, most recent first, ties newest first.
    newest_first = [
        m
        for _, m in sorted(
            enumerate(created),
            key=lambda pair: (
                (0, 0.0, -pair[0])
                if pair[1].date_sent is None
                else (1, -pair[1].date_sent.timestamp(), -pair[0])
            ),
        )
    ]

    def expected(query: MessageQuery) -> list[Message]:
        def keep(m: Message) -> bool:
            if query.to is not None and m.to != query.to:
                return False
            if query.from_ is not None and m.from_ != query.from_:
                return False
            sent = m.date_sent
            if query.sent_on is not None and (sent is None or sent.date() != query.sent_on):
                return False
            if query.sent_at_or_before is not None and (
                sent is None or sent > query.sent_at_or_before
            ):
                return False
            return not (
                query.sent_at_or_after is not None
                and (sent is None or sent < query.sent_at_or_after)
            )

        return [m for m in newest_first if keep(m)]

    for _ in range(60):
        base = MessageQuery(
            to=rng.choice([None, None, f"+1555000{rng.randrange(40):04d}"]),
            from_=rng.choice([None, None, "+15550002002"]),
            sent_on=rng.choice([None, None, (T0 + timedelta(days=rng.randrange(11))).date()]),
            sent_at_or_after=rng.choice([None, T0 + timedelta(hours=rng.randrange(240))]),
            sent_at_or_before=rng.choice([None, None, T0 + timedelta(hours=rng.randrange(240))]),
            page_size=rng.choice([1, 7, 50, 1000]),
        )
        wanted = expected(base)
        listed: list[Message] = []
        query = base
        pages = []
        while True:  # page after page by token, as a client follows next_page_uri
            page = await page_of(store, query)
            pages.append(page)
            listed += page.messages
            if not page.more:
                break
            query = after(page, base)
        assert [m.sid for m in listed] == [m.sid for m in wanted], base
        if len(pages) > 1:  # and one page back from the second page
            back = await page_of(store, before(pages[1], base))
            assert [m.sid for m in back.messages] == [m.sid for m in wanted[: base.page_size]]


async def test_a_batch_that_cannot_commit_fails_each_write_with_its_own_error(
    store: SqliteStore, tmp_path: Path
) -> None:
    # One instance raised in every waiting coroutine would gather all their frames.
    (tmp_path / DATABASE_NAME).rename(tmp_path / "elsewhere.sqlite3")
    results = await asyncio.gather(
        *(store.create_message(message(), parts(1)) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, StoreError) for result in results)
    assert len({id(result) for result in results}) == 3
    assert all("was deleted under the running gateway" in str(result) for result in results)


async def test_numbers_kept_before_voice_urls_have_none_after_the_migration(
    tmp_path: Path,
) -> None:
    """Migration 15 gives the phone numbers kept before it their voice URLs: none, each
    method POST, as a number the API never set shows them."""
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        # What migration 7 calls to fill pending webhooks (there are none here).
        db.create_function("smsgw_destination", 1, lambda url: "")
        db.create_function("smsgw_token", 0, lambda: "")
        for number, script in enumerate(MIGRATIONS[:14], 1):
            db.executescript(script)
            db.execute(f"PRAGMA user_version = {number}")
        db.execute(
            "INSERT INTO phone_numbers (number, sid, account_sid, friendly_name, sms_url, "
            "sms_method, sms_fallback_method, api_updated, date_created, date_updated) "
            "VALUES ('+15550001111', ?, ?, 'mine', 'https://example.com/sms', 'GET', 'POST', "
            "1, 0, 0)",
            (new_sid("PN"), ACCOUNT),
        )
    async with opened(tmp_path) as store:
        (kept,) = await store.phone_numbers()
    assert (kept.friendly_name, kept.sms_url, kept.sms_method) == (
        "mine",
        "https://example.com/sms",
        "GET",
    )
    assert (kept.voice_url, kept.voice_method) == (None, "POST")
    assert (kept.voice_fallback_url, kept.voice_fallback_method) == (None, "POST")


async def test_the_plan_counts_carry_over_the_last_month_of_sent_parts_when_migrated(
    tmp_path: Path,
) -> None:
    """Migration 17 counts what the messages show was sent in the last 32 days (real time: a
    migration runs once, when the gateway is upgraded), so an upgrade mid-month forgets none."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with sqlite3.connect(tmp_path / DATABASE_NAME) as db:
        register_functions(db)
        for number, script in enumerate(MIGRATIONS[:16], 1):
            db.executescript(script)
            db.execute(f"PRAGMA user_version = {number}")
        for sent_at, count in ((now - timedelta(days=1), 2), (now - timedelta(days=40), 1)):
            going = message(modem="alice")
            insert_outbound(db, going, parts(count))
            db.execute(
                "UPDATE segments SET sent_at = ? WHERE message_id = "
                "(SELECT id FROM messages WHERE sid = ?)",
                (to_micros(sent_at), going.sid),
            )
    async with opened(tmp_path) as store:
        counted = await store.parts_sent("alice", now - timedelta(days=60))
        secret = await store.recipient_secret()
    assert counted.parts == 2
    assert counted.recipients == {recipient_key(secret, records.HANDSET)}


async def test_an_account_s_webhooks_are_counted_through_their_partial_indexes(
    store: SqliteStore,
) -> None:
    """The console's overview and webhooks page (issue 18: 100 ms with 100,000 messages) read
    the pending and given-up webhooks through the indexes made for them, never the whole
    table: a query that does not name the partial index's condition as written would."""
    queries = {
        "webhooks_by_destination": f"SELECT count(*) FROM webhooks WHERE {_PENDING} "
        "AND account_sid = ?",
        "webhooks_troubled": f"SELECT count(*) FROM webhooks WHERE {_TROUBLED} "
        "AND state = 'failed'",
    }
    with sqlite3.connect(store.path) as db:
        for index, sql in queries.items():
            plan = " ".join(str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", ("A",)))
            assert f"INDEX {index}" in plan, plan
