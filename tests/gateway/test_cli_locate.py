"""Where the command line looks for the configuration, and how it reaches the gateway the
configuration describes. The places ``/etc`` would hold cannot be written in a test: the
defaults are given here as real files in a temporary folder (the process-level tests in
test_cli_gateway.py run the real ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.common import UsageError
from gateway.cli.locate import config_path, endpoint
from gateway.config import Config


def test_config_beats_the_environment_which_beats_the_defaults(tmp_path: Path) -> None:
    system, local = tmp_path / "etc.toml", tmp_path / "local.toml"
    system.write_text("")
    local.write_text("")
    named = {"SMSGW_CONFIG": str(tmp_path / "named.toml")}
    given = tmp_path / "given.toml"
    # A path the user named is taken even when missing: reading it then says why.
    assert config_path(given, named, [system, local]) == given
    assert config_path(None, named, [system, local]) == tmp_path / "named.toml"
    assert config_path(None, {"SMSGW_CONFIG": ""}, [system, local]) == system
    assert config_path(None, {}, [tmp_path / "missing.toml", local]) == local


def test_a_default_under_a_file_is_not_there(tmp_path: Path) -> None:
    (tmp_path / "etc").write_text("a file, not a folder")
    found = tmp_path / "gateway.toml"
    found.write_text("")
    assert config_path(None, {}, [tmp_path / "etc" / "gateway.toml", found]) == found


def test_no_configuration_says_each_place_tried(tmp_path: Path) -> None:
    defaults = [tmp_path / "etc" / "gateway.toml", tmp_path / "config" / "gateway.toml"]
    with pytest.raises(UsageError) as caught:
        config_path(None, {}, defaults)
    assert str(caught.value) == (
        "no configuration: tried --config (none), $SMSGW_CONFIG (unset), "
        f"{defaults[0]} (not found), {defaults[1]} (not found)"
    )


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080"),  # every interface: reached on loopback
        ("::", "http://[::1]:8080"),
        ("::1", "http://[::1]:8080"),
        ("[::1]", "http://[::1]:8080"),
        ("smsgw.lan", "http://smsgw.lan:8080"),
    ],
)
def test_the_gateway_is_reached_at_its_listen_address(host: str, url: str) -> None:
    config = Config(host=host, port=8080, path=Path("/etc/smsgw/gateway.toml"))
    found = endpoint(config)
    assert (found.url, found.origin, found.context) == (
        url,
        "listen in /etc/smsgw/gateway.toml",
        None,
    )


def test_url_names_the_gateway_instead() -> None:
    config = Config(path=Path("gateway.toml"))
    found = endpoint(config, "http://192.0.2.7:8080/")
    assert (found.url, found.origin) == ("http://192.0.2.7:8080", "--url")
    behind_a_proxy = endpoint(config, "https://sms.example.lan")
    assert behind_a_proxy.context is not None
    assert behind_a_proxy.trust == "the system's certificate authorities"


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8080", "ftp://host", "http://", "http://host:99999", "http://h/?a=1"]
)
def test_a_malformed_url_is_a_usage_mistake(url: str) -> None:
    with pytest.raises(UsageError, match=r"^--url must be http://HOST:PORT or https://"):
        endpoint(Config(path=Path("gateway.toml")), url)
