"""The retention policy (``retention_days``) on a real SQLite file and the test clock: old
finished messages go in batches, with every row kept of them, on start and then on the clock;
the pages they free are taken by the next messages, so the file stops growing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from gateway.domain.delivery import part_report
from gateway.domain.records import ReceivedReport
from gateway.metrics import Metrics
from gateway.retention import Pruner
from gateway.store import Retention
from gateway.store.sqlite import DATABASE_NAME, SqliteStore
from gateway.tasks import Tasks
from tests.fakes import records
from tests.fakes.clock import T0, Clock
from tests.fakes.records import HANDSET
from tests.gateway.gateway_rig import basic_auth, config, running

DAYS = 7
WAIT = 5.0


class Watched(Retention):
    """The store as the pruner sees it, telling the test what each batch deleted."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.batches: asyncio.Queue[int] = asyncio.Queue()

    async def prune_messages(self, ended_before: datetime, limit: int) -> int:
        deleted = await self.store.prune_messages(ended_before, limit)
        self.batches.put_nowait(deleted)
        return deleted

    async def batch(self) -> int:
        async with asyncio.timeout(WAIT):
            return await self.batches.get()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    engine = SqliteStore(tmp_path)
    await engine.open()
    try:
        yield engine
    finally:
        await engine.close()


async def sent(store: SqliteStore, count: int, at: datetime, *, reported: bool = False) -> None:
    """``count`` one-part messages committed and sent at ``at`` (together: the writer commits
    what waits in one transaction); ``reported``: each delivered, its report kept."""
    messages = [records.message(at=at) for _ in range(count)]
    await asyncio.gather(*(store.create_message(m, records.parts(1)) for m in messages))
    await asyncio.gather(
        *(
            store.message_sent(m.sid, at, last_part=(1, index % 256))
            for index, m in enumerate(messages)
        )
    )
    if reported:
        for index, m in enumerate(messages):
            key = f"r-{m.sid}"
            report = ReceivedReport(
                "alice", key, index % 256, HANDSET, 0, f"06{key}", at, part_report(0)
            )
            await store.add_status_report(report)


def counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(f"file:{path / DATABASE_NAME}?mode=ro", uri=True)
    try:
        tables = ("messages", "segments", "status_reports", "webhooks", "inbound_parts")
        found = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        found["pages"] = db.execute("PRAGMA page_count").fetchone()[0]
        found["free"] = db.execute("PRAGMA freelist_count").fetchone()[0]
        return found
    finally:
        db.close()


async def test_old_messages_go_in_batches_with_every_row_kept_of_them(
    store: SqliteStore, tmp_path: Path
) -> None:
    clock = Clock(T0)
    await sent(store, 120, T0, reported=True)
    await sent(store, 5, T0 + timedelta(days=2))
    metrics = Metrics()
    watched = Watched(store)
    pruner = Pruner(watched, DAYS, clock, metrics, Tasks(), batch=50)
    clock.now = T0 + timedelta(days=DAYS, seconds=1)
    assert await pruner.prune_due() == 120
    # Batches of 50, the last one short: that is the end.
    assert [watched.batches.get_nowait() for _ in range(3)] == [50, 50, 20]
    assert watched.batches.empty()
    left = counts(tmp_path)
    assert (left["messages"], left["segments"], left["status_reports"]) == (5, 5, 0)
    assert metrics.messages_pruned == 120


async def test_the_file_stops_growing_across_prune_and_insert_cycles(
    store: SqliteStore, tmp_path: Path
) -> None:
    clock = Clock(T0)
    pruner = Pruner(store, DAYS, clock, Metrics(), Tasks())
    pages = []
    for _ in range(5):
        await sent(store, 200, clock(), reported=True)
        clock.now += timedelta(days=DAYS + 1)
        assert await pruner.prune_due() == 200
        found = counts(tmp_path)
        assert found["messages"] == 0
        pages.append(found["pages"])
    # The first cycle grows the file to what 200 messages take; later ones reuse its pages
    # (the freelist) instead of adding new ones: a few pages more at most, as the B-trees'
    # shapes differ with the random SIDs (without the deletes, each cycle would add as many
    # pages as the first: pages[-1] would be about 5 * pages[0]).
    assert max(pages) <= pages[0] + 3, pages


async def test_it_prunes_at_start_and_again_when_the_clock_comes_round(store: SqliteStore) -> None:
    clock = Clock(T0)
    await sent(store, 3, T0)
    watched = Watched(store)
    metrics = Metrics()
    pruner = Pruner(watched, DAYS, clock, metrics, Tasks())
    pruner.start()
    try:
        assert await watched.batch() == 0  # at start: nothing is old enough yet
        clock.now = T0 + timedelta(days=DAYS, hours=1)
        await sent(store, 2, clock())
        pruner.wake()  # as its timer would fire, an hour later
        assert await watched.batch() == 3  # the first three; the two new ones stay
        assert metrics.messages_pruned == 3
        assert await store.count_messages() == 2
    finally:
        await pruner.stop()


async def test_a_gateway_with_retention_days_prunes_and_counts_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = SqliteStore(data)
    await before.open()
    await sent(before, 2, T0)
    await before.close()
    clock = Clock(T0 + timedelta(days=DAYS, seconds=1))
    async with running(config(data, retention_days=DAYS), clock=clock) as gateway:
        assert gateway.pruner is not None
        await gateway.pruner.prune_due()  # whatever its first round, at start, left
        assert await gateway.store.count_messages() == 0
        async with (
            aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http,
            http.get("/metrics") as response,
        ):
            lines = (await response.text()).splitlines()
    assert "smsgw_messages_pruned_total 2" in lines


async def test_without_retention_days_nothing_is_pruned(tmp_path: Path) -> None:
    async with running(config(tmp_path / "data")) as gateway:
        assert gateway.pruner is None
