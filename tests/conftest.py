"""Suite-wide test settings."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, settings

from tests.properties import examples


def _bytecode_cached_outside_the_checkout() -> str | None:
    """Under ``PYTHONDONTWRITEBYTECODE`` (some development shells set it), the bytecode of the
    processes the tests start cached in a temporary folder instead (``PYTHONPYCACHEPREFIX``, as
    bench/startup.py does: the checkout is still not written to); the folder, or ``None``.

    The suite starts a few hundred Python processes (gateways, the CLI, simulators), and each
    would compile every module of the project it imports from source: about 0.3 s of a core per
    start, and nothing a test is about. The first process to import a module compiles it for
    the others. This process is left as it is: it imports each module once anyway, and with a
    prefix it would compile the installed packages again too, and their compile-time warnings
    (python-gsmmodem's invalid escapes) are errors here (``filterwarnings``)."""
    if not sys.dont_write_bytecode:
        return None
    folder = tempfile.mkdtemp(prefix="smsgw-test-pycache-")
    os.environ["PYTHONPYCACHEPREFIX"] = folder
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    return folder


_BYTECODE_CACHE = _bytecode_cached_outside_the_checkout()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _BYTECODE_CACHE is not None:
        shutil.rmtree(_BYTECODE_CACHE, ignore_errors=True)


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
