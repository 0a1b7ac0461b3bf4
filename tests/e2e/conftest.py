"""Fixtures the e2e tests share."""

from __future__ import annotations

import pytest

from tests.e2e.console_browser import browser, console_rig

__all__ = ["browser", "console_rig"]  # the console's browser tests' fixtures


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """How a test drives the twilio client: ``Client`` in a thread, or its ``*_async``."""
    return str(request.param)
