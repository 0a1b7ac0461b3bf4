"""Fixtures the API tests share: a gateway with the test's own clock, and the twilio client
both ways (sync on ``requests`` in a thread, async on ``AsyncTwilioHttpClient``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.api_rig import Api, SdkFactory, api_gateway


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with api_gateway(tmp_path) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
async def sdks(request: pytest.FixtureRequest, api: Api) -> AsyncIterator[SdkFactory]:
    factory = SdkFactory(api, is_async=request.param == "async")
    yield factory
    await factory.close()
