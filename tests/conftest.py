"""Suite-wide test settings."""

from __future__ import annotations

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
