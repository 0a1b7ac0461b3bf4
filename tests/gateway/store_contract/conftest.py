"""Every test of the contract runs on each engine: the SQLite store on a file in ``tmp_path``,
and the in-memory store the unit tier runs on (:mod:`tests.fakes.store`). A new engine (issue 19:
PostgreSQL) is one more parameter here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store import Store
from gateway.store.sqlite import SqliteStore
from tests.fakes.store import MemoryStore

ENGINES = ("sqlite", "memory")


@pytest.fixture(params=ENGINES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    engine: Store = SqliteStore(tmp_path) if request.param == "sqlite" else MemoryStore()
    await engine.open()
    try:
        yield engine
    finally:
        await engine.close()
