"""Every test of the contract runs on each engine: the SQLite store on a file in ``tmp_path``,
and the in-memory store the unit tier runs on (:mod:`tests.fakes.store`). A module whose roles
the PostgreSQL store has already (issue 19: accounts, phone numbers, applications) says so
with an ``ENGINES`` of its own, ``POSTGRESQL_TOO``; once it has them all, PostgreSQL joins
:data:`ENGINES` and the modules' own go."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest

from gateway.store import Store
from gateway.store.postgresql import PostgresStore
from gateway.store.sqlite import SqliteStore
from tests.fakes.store import MemoryStore
from tests.postgres import emptied

ENGINES: Final = ("sqlite", "memory")
POSTGRESQL_TOO: Final = (*ENGINES, "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames:
        engines = getattr(metafunc.module, "ENGINES", ENGINES)
        metafunc.parametrize("store", engines, indirect=True)


@pytest.fixture
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    """The engine the test is parametrised with, opened; a test module types it with the
    roles it uses (:class:`gateway.store.Store`, or fewer for ``POSTGRESQL_TOO``)."""
    engine = _engine(request, tmp_path)
    await engine.open()
    if request.param == "postgresql":
        await emptied(request.getfixturevalue("postgresql_url"))
    try:
        yield engine
    finally:
        await engine.close()


def _engine(request: pytest.FixtureRequest, tmp_path: Path) -> Store | PostgresStore:
    if request.param == "postgresql":
        return PostgresStore(request.getfixturevalue("postgresql_url"))
    return SqliteStore(tmp_path) if request.param == "sqlite" else MemoryStore()
