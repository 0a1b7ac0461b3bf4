"""The SQLite store on a real file, as the store's own tests open it: on a folder, closed when
the test is done with it (even when it fails), as often as a test restarts it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from gateway.store.sqlite import SqliteStore


@asynccontextmanager
async def opened(data_dir: Path) -> AsyncIterator[SqliteStore]:
    """The store kept in ``data_dir``, open until the block ends."""
    store = SqliteStore(data_dir)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
