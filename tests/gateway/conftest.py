"""Fixtures the gateway's tests share: a gateway with the test's own clock, and the twilio client
both ways (sync on ``requests`` in a thread, async on ``AsyncTwilioHttpClient``); the SQLite
store on a file, for the tests of the store itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store.sqlite import SqliteStore
from tests.gateway.api_rig import Api, SdkFactory, api_gateway
from tests.gateway.store_rig import opened
from tests.postgres import postgresql_url

__all__ = ["postgresql_url"]  # the PostgreSQL database of the session, for the store's tests


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with api_gateway(tmp_path) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
async def sdks(request: pytest.FixtureRequest, api: Api) -> AsyncIterator[SdkFactory]:
    factory = SdkFactory(api, is_async=request.param == "async")
    yield factory
    await factory.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """The SQLite store on a new file in ``tmp_path``, closed after the test."""
    async with opened(tmp_path) as store:
        yield store
