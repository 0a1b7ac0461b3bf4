"""Suite-wide test settings."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.properties import examples

# Deterministic property tests: the same examples on every run and in CI, no wall-clock deadline
# (a loaded CI machine must not turn into a flaky failure); all of them in CI, a tenth locally
# (tests/properties.py).
settings.register_profile(
    "smsgw",
    derandomize=True,
    deadline=None,
    max_examples=examples(300),
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
settings.load_profile("smsgw")


@pytest.fixture(autouse=True)
def _no_edge_or_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # The twilio client: an edge or region (TWILIO_EDGE, TWILIO_REGION) rewrites the hostname,
    # and 127.0.0.1 would become nonsense (doc §8).
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
