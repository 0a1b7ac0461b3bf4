"""The SQLite file's page size and WAL policy (issue 17: what an SD card is written): a new
database gets small pages, one made before keeps its own (only a VACUUM would change it, and
the gateway never runs one by itself)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway.store.sqlite import DATABASE_NAME, SqliteStore
from gateway.store.sqlite.worker import PAGE_SIZE, WAL_CHECKPOINT_PAGES, WAL_SIZE_LIMIT


def page_size(path: Path) -> int:
    db = sqlite3.connect(path / DATABASE_NAME)
    try:
        size: int = db.execute("PRAGMA page_size").fetchone()[0]
        return size
    finally:
        db.close()


async def test_a_new_database_gets_small_pages(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    await store.open()
    try:
        assert await store.count_messages() == 0

        def settings(db: sqlite3.Connection) -> tuple[int, int, int]:
            return (
                db.execute("PRAGMA page_size").fetchone()[0],
                db.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
                db.execute("PRAGMA journal_size_limit").fetchone()[0],
            )

        assert await store._write(settings) == (PAGE_SIZE, WAL_CHECKPOINT_PAGES, WAL_SIZE_LIMIT)
    finally:
        await store.close()
    assert page_size(tmp_path) == PAGE_SIZE == 1024


async def test_an_existing_database_keeps_its_page_size(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / DATABASE_NAME)
    db.execute("PRAGMA page_size = 4096")
    db.execute("CREATE TABLE made_before (id INTEGER PRIMARY KEY)")  # the file exists now
    db.close()
    store = SqliteStore(tmp_path)
    await store.open()
    await store.close()
    assert page_size(tmp_path) == 4096
