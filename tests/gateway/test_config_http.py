"""The HTTP server's keys of ``[gateway]``: timeouts and the connection cap (the TLS files are
tested with the HTTPS they give, in ``test_tls.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    load,
    parse,
)
from gateway.domain.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_defaults_suit_a_pi_on_a_lan() -> None:
    config = parse({})
    assert (config.head_timeout, config.body_timeout, config.idle_timeout) == (10.0, 30.0, 60.0)
    assert (DEFAULT_HEAD_TIMEOUT, DEFAULT_BODY_TIMEOUT, DEFAULT_IDLE_TIMEOUT) == (10, 30, 60)
    assert config.max_connections is None  # as many as the open-file limit allows
    assert (config.tls_cert, config.tls_key) == (None, None)


def test_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(
        "[gateway]\nhead_timeout = 5\nbody_timeout = 12.5\nidle_timeout = 120\n"
        "max_connections = 500\n"
    )
    config = load(path)
    assert (config.head_timeout, config.body_timeout, config.idle_timeout) == (5.0, 12.5, 120.0)
    assert config.max_connections == 500


def test_the_shipped_example_keeps_the_defaults() -> None:
    config = load(REPOSITORY / "config" / "gateway.toml")
    assert (config.head_timeout, config.body_timeout, config.idle_timeout) == (10.0, 30.0, 60.0)
    assert config.max_connections is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("head_timeout", 0, "expected seconds from 0.1 to 3600, got 0"),
        ("body_timeout", -1, "expected seconds from 0.1 to 3600, got -1"),
        ("idle_timeout", 3601, "expected seconds from 0.1 to 3600, got 3601"),
        ("idle_timeout", float("inf"), "expected seconds from 0.1 to 3600"),
        ("head_timeout", "10s", "expected an integer or a number, got '10s'"),
        ("max_connections", 0, "at least 1"),
        ("max_connections", 100.5, "expected an integer, got 100.5"),
        ("max_connections", True, "expected an integer, got True"),
        ("tls_cert", 1, "expected a string, got 1"),
    ],
)
def test_each_bad_value_names_its_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"gateway": {key: value}})
    assert str(caught.value).startswith(f"gateway.{key}: {message}")
