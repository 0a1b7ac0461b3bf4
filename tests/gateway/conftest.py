"""Fixtures the API tests share: a gateway with the test's own clock, and the twilio client
both ways (sync on ``requests`` in a thread, async on ``AsyncTwilioHttpClient``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.api_rig import Api, SdkFactory, api_gateway


@pytest.fixture(autouse=True)
def _no_edge_or_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # An edge or region rewrites the hostname (doc §8): 127.0.0.1 would become nonsense.
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with api_gateway(tmp_path) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
async def sdks(request: pytest.FixtureRequest, api: Api) -> AsyncIterator[SdkFactory]:
    factory = SdkFactory(api, is_async=request.param == "async")
    yield factory
    await factory.close()
