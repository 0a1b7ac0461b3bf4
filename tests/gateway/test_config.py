"""The configuration: the shipped example loads, and every mistake is named by its key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load, parse
from gateway.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parents[2]
SMSGW = Path(sys.executable).parent / "smsgw"
AC = "AC" + "0" * 32


def test_the_shipped_example_loads() -> None:
    config = load(REPOSITORY / "config" / "gateway.toml")
    assert config.listen == "127.0.0.1:8080"
    assert [modem.driver for modem in config.modems] == ["simulated", "simulated"]
    assert config.data_dir.resolve() == (REPOSITORY / "data").resolve()
    assert config.modem_for_number("+15550002002") is config.modems[1]


def test_defaults_without_a_file() -> None:
    config = load(None)
    assert (config.host, config.port, config.accounts, config.modems) == ("127.0.0.1", 8080, (), ())


def test_command_line_overrides(tmp_path: Path) -> None:
    config = load(None, listen="0.0.0.0:9999", data_dir=tmp_path)
    assert (config.host, config.port, config.data_dir) == ("0.0.0.0", 9999, tmp_path)


def test_relative_data_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "gw.toml"
    path.parent.mkdir()
    path.write_text('[gateway]\ndata_dir = "state"\n')
    assert load(path).data_dir == path.parent.resolve() / "state"


def test_a_full_configuration() -> None:
    config = parse(
        {
            "gateway": {"listen": "0.0.0.0:8080", "log_level": "DEBUG"},
            "accounts": [
                {
                    "sid": AC,
                    "auth_token": "t",
                    "api_keys": [{"sid": "SK" + "1" * 32, "secret": "s"}],
                }
            ],
            "modems": [
                {
                    "id": "quectel",
                    "driver": "serial",
                    "port": "/dev/ttyUSB2",
                    "baud": 460800,
                    "rtscts": True,
                    "pin": "1234",
                    "numbers": ["+1 (555) 000-1111"],
                    "send_rate": 0.5,
                    "status_reports": False,
                },
                {"driver": "tcp", "port": "tcp://192.0.2.1:7000", "numbers": ["+15550002222"]},
            ],
            "numbers": [
                {
                    "number": "+15550001111",
                    "sms_url": "https://example.com/sms",
                    "sms_method": "get",
                }
            ],
        }
    )
    first, second = config.modems
    assert (first.id, first.numbers, first.baud, first.rtscts, first.pin) == (
        "quectel",
        ("+15550001111",),
        460800,
        True,
        "1234",
    )
    assert (first.send_rate, first.status_reports) == (0.5, False)
    assert second.id == "modem2"
    assert config.numbers[0].sms_method == "GET"
    assert config.accounts[0].api_keys[0].secret == "s"
    assert config.log_level == "debug"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"gateway": {"listen": "8080"}}, "gateway.listen: expected HOST:PORT, got '8080'"),
        ({"gateway": {"listen": 8080}}, "gateway.listen: expected a string, got 8080"),
        ({"gateway": {"lissen": "x"}}, "gateway.lissen: unknown key (misspelt?)"),
        ({"gateway": {"log_level": "loud"}}, "gateway.log_level: expected one of"),
        ({"gateway": {"max_request_bytes": 10}}, "gateway.max_request_bytes: at least 4096"),
        ({"accounts": [{"sid": "AC1", "auth_token": "t"}]}, "accounts[0].sid: an Account SID is"),
        ({"accounts": [{"sid": AC}]}, "accounts[0].auth_token: required"),
        ({"accounts": {"sid": AC}}, "accounts: expected [[accounts]] tables"),
        (
            {
                "accounts": [
                    {"sid": AC, "auth_token": "t", "api_keys": [{"sid": "SK", "secret": "s"}]}
                ]
            },
            "accounts[0].api_keys[0].sid: an API key SID is",
        ),
        (
            {"modems": [{"numbers": ["+15550001111"]}]},
            'modems[0].port: required when driver = "serial"',
        ),
        (
            {"modems": [{"driver": "usb", "numbers": ["+1555"]}]},
            "modems[0].driver: expected one of",
        ),
        (
            {"modems": [{"driver": "tcp", "port": "host:1", "numbers": ["+1555"]}]},
            "modems[0].port: expected tcp://",
        ),
        ({"modems": [{"driver": "simulated"}]}, "modems[0].numbers: at least one phone number"),
        (
            {"modems": [{"driver": "simulated", "numbers": ["call me"]}]},
            "modems[0].numbers[0]: 'call me' is not a phone number",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+1555"], "baud": 0}]},
            "modems[0].baud: expected a positive",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+1555"], "send_rate": -1}]},
            "modems[0].send_rate: parts per second",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+1555"], "rtscts": "yes"}]},
            "modems[0].rtscts: expected true or false",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+1555"], "personality": "nokia"}]},
            "modems[0].personality: expected one of",
        ),
        (
            {
                "modems": [
                    {"driver": "simulated", "numbers": ["+1555"]},
                    {"driver": "simulated", "numbers": ["+1555"]},
                ]
            },
            "modems[1].numbers: +1555 already belongs to modem1",
        ),
        (
            {
                "modems": [
                    {"id": "a", "driver": "simulated", "numbers": ["+1555"]},
                    {"id": "a", "driver": "simulated", "numbers": ["+1666"]},
                ]
            },
            "modems[1].id: 'a' is used twice",
        ),
        (
            {
                "accounts": [{"sid": AC, "auth_token": "t"}],
                "modems": [
                    {"driver": "simulated", "numbers": ["+1555"], "account": "AC" + "1" * 32}
                ],
            },
            "modems[0].account: no [[accounts]] with sid",
        ),
        (
            {"numbers": [{"number": "+1555", "sms_url": "ftp://x"}]},
            "numbers[0].sms_url: expected an http:// or https:// URL",
        ),
        (
            {"numbers": [{"number": "+1555", "sms_method": "PUT"}]},
            "numbers[0].sms_method: expected GET or POST",
        ),
        ({"modems": "none"}, "modems: expected [[modems]] tables"),
    ],
)
def test_every_mistake_names_its_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    assert str(caught.value).startswith(message)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[gateway\nlisten = 1")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load(broken)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load(binary)


def test_a_bad_config_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text('[[modems]]\ndriver = "serial"\nnumbers = ["+15550001111"]\n')
    result = subprocess.run(
        [str(SMSGW), "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        'smsgw serve: configuration: modems[0].port: required when driver = "serial" '
        "(e.g. /dev/ttyUSB2)"
    ]
