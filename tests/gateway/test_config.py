"""The configuration: the shipped example loads, and every mistake is named by its key."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config import (
    DEFAULT_REASSEMBLY_TIMEOUT,
    DEFAULT_SWEEP_INTERVAL,
    DEFAULT_WEBHOOK_ATTEMPTS,
    DEFAULT_WEBHOOK_TIMEOUT,
    ConsoleConfig,
    ModemConfig,
    NumberConfig,
    StoreConfig,
    load,
    parse,
)
from gateway.domain.errors import ConfigError
from gateway.domain.quota import Quota

REPOSITORY = Path(__file__).resolve().parents[2]
SMSGW = Path(sys.executable).parent / "smsgw"
AC = "AC" + "0" * 32
SK = "SK" + "1" * 32


def test_the_shipped_example_loads() -> None:
    config = load(REPOSITORY / "config" / "gateway.toml")
    assert config.listen == "127.0.0.1:8080"
    assert [modem.driver for modem in config.modems] == ["simulated", "simulated"]
    # Named as the directory it is, not as "config/../data" (what `smsgw accounts` showed).
    assert config.data_dir == (REPOSITORY / "data").resolve()
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


def test_the_console_is_on_unless_turned_off() -> None:
    assert load(None).console == ConsoleConfig(enabled=True)
    assert load(REPOSITORY / "config" / "gateway.toml").console.enabled
    assert parse({"console": {"enabled": False}}).console == ConsoleConfig(enabled=False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"console": {"enabled": "yes"}}, "console.enabled: expected true or false, got 'yes'"),
        ({"console": {"enable": True}}, "console.enable: unknown key (misspelt?)"),
        ({"console": True}, "console: expected a [console] table"),
    ],
)
def test_each_console_mistake_names_its_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    assert str(caught.value).startswith(message)


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
            {"accounts": [{"sid": AC, "auth_token": "t"}, {"sid": AC, "auth_token": "u"}]},
            f"accounts[1].sid: {AC} is configured already (accounts[0].sid)",
        ),
        (
            {
                "accounts": [
                    {"sid": AC, "auth_token": "t", "api_keys": [{"sid": SK, "secret": "s"}]},
                    {
                        "sid": "AC" + "2" * 32,
                        "auth_token": "u",
                        "api_keys": [{"sid": SK, "secret": "v"}],
                    },
                ]
            },
            f"accounts[1].api_keys[0].sid: {SK} is configured already (accounts[0].api_keys[0]",
        ),
        (
            {
                "accounts": [
                    {
                        "sid": AC,
                        "auth_token": "t",
                        "api_keys": [{"sid": SK, "secret": "s"}, {"sid": SK, "secret": "v"}],
                    }
                ]
            },
            f"accounts[0].api_keys[1].sid: {SK} is configured already (accounts[0].api_keys[0]",
        ),
        (
            {"modems": [{"numbers": ["+15550001111"]}]},
            'modems[0].port: required when driver = "serial"',
        ),
        (
            {"modems": [{"driver": "usb", "numbers": ["+15550001111"]}]},
            "modems[0].driver: expected one of",
        ),
        (
            {"modems": [{"driver": "tcp", "port": "host:1", "numbers": ["+15550001111"]}]},
            "modems[0].port: expected tcp://",
        ),
        ({"modems": [{"driver": "simulated"}]}, "modems[0].numbers: at least one phone number"),
        (
            {"modems": [{"driver": "simulated", "numbers": ["call me"]}]},
            "modems[0].numbers[0]: 'call me' is not a phone number",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+15550001111"], "baud": 0}]},
            "modems[0].baud: expected a positive",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+15550001111"], "send_rate": -1}]},
            "modems[0].send_rate: parts per second",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+15550001111"], "rtscts": "yes"}]},
            "modems[0].rtscts: expected true or false",
        ),
        (
            {
                "modems": [
                    {"driver": "simulated", "numbers": ["+15550001111"], "personality": "nokia"}
                ]
            },
            "modems[0].personality: expected one of",
        ),
        (
            {
                "modems": [
                    {"driver": "tcp", "port": "tcp://h:1", "numbers": ["+1555"], "report_delay": 0}
                ]
            },
            'modems[0].report_delay: only for driver = "simulated"',
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+1555"], "report_delay": -1}]},
            "modems[0].report_delay: seconds cannot be negative",
        ),
        (
            {
                "modems": [
                    {"driver": "simulated", "numbers": ["+15550001111"]},
                    {"driver": "simulated", "numbers": ["+15550001111"]},
                ]
            },
            "modems[1].numbers: +15550001111 already belongs to modem1",
        ),
        (
            {
                "modems": [
                    {"id": "a", "driver": "simulated", "numbers": ["+15550001111"]},
                    {"id": "a", "driver": "simulated", "numbers": ["+15550006666"]},
                ]
            },
            "modems[1].id: 'a' is used twice",
        ),
        (
            {
                "accounts": [{"sid": AC, "auth_token": "t"}],
                "modems": [
                    {"driver": "simulated", "numbers": ["+15550001111"], "account": "AC" + "1" * 32}
                ],
            },
            "modems[0].account: no [[accounts]] with sid",
        ),
        (
            {"numbers": [{"number": "+15550001111", "sms_url": "ftp://x"}]},
            "numbers[0].sms_url: 'ftp://x' is not an http:// or https:// URL",
        ),
        (
            {"numbers": [{"number": "+15550001111", "sms_method": "PUT"}]},
            "numbers[0].sms_method: expected GET or POST",
        ),
        ({"modems": "none"}, "modems: expected [[modems]] tables"),
        (
            {"gateway": {"default_region": "XX"}},
            "gateway.default_region: 'XX' is not a region code libphonenumber knows",
        ),
        ({"gateway": {"default_region": 44}}, "gateway.default_region: expected a string"),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+1555"]}]},
            "modems[0].numbers[0]: '+1555' is not a phone number a network could route: "
            "too short for a +1 number",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["07700900123"]}]},
            "modems[0].numbers[0]: '07700900123' is not a phone number a network could route: "
            "a national number, and no [gateway] default_region",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["85075"]}]},
            "modems[0].numbers[0]: '85075' is a short code; a SIM's number is E.164",
        ),
        (
            {
                "modems": [
                    {"driver": "simulated", "numbers": ["+15550001111"], "allow_short_codes": 1}
                ]
            },
            "modems[0].allow_short_codes: expected true or false",
        ),
        (
            {"modems": [{"driver": "simulated", "numbers": ["+15550001111"], "smsc": "+4477"}]},
            "modems[0].smsc: '+4477' is not a phone number a network could route",
        ),
        (
            {
                "modems": [
                    {
                        "driver": "simulated",
                        "numbers": ["+15550001111"],
                        "hold_when_roaming": "yes",
                    }
                ]
            },
            "modems[0].hold_when_roaming: expected true or false",
        ),
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


# --- inbound and webhook timing ([gateway]) ---------------------------------------------------


def test_a_simulated_modems_report_delay() -> None:
    """Seconds before the simulated network reports (simulated modems only); unset, the
    simulator's own default."""
    config = parse(
        {
            "modems": [
                {"driver": "simulated", "numbers": ["+15550001111"], "report_delay": 0},
                {"driver": "simulated", "numbers": ["+15550002222"], "report_delay": 2.5},
                {"driver": "simulated", "numbers": ["+15550003333"]},
            ]
        }
    )
    assert [modem.report_delay for modem in config.modems] == [0.0, 2.5, None]


@pytest.mark.parametrize("value", ["nan", "inf", "+inf"])
def test_a_report_delay_no_clock_can_wait_is_refused(tmp_path: Path, value: str) -> None:
    """TOML has nan and inf; the simulated network would schedule its reports at them."""
    path = tmp_path / "gw.toml"
    path.write_text(
        f'[[modems]]\ndriver = "simulated"\nnumbers = ["+15550001111"]\nreport_delay = {value}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (
        f"modems[0].report_delay: expected a finite number of seconds, got {float(value)}"
    )


def test_inbound_and_webhook_defaults() -> None:
    config = parse({})
    assert config.reassembly_timeout == DEFAULT_REASSEMBLY_TIMEOUT == 600.0
    assert config.sweep_interval == DEFAULT_SWEEP_INTERVAL == 600.0
    assert config.webhook_timeout == DEFAULT_WEBHOOK_TIMEOUT == 15.0
    assert config.webhook_attempts == DEFAULT_WEBHOOK_ATTEMPTS == 10
    assert config.report_timeout == 48.0  # hours
    assert config.retention_days == 0  # every message kept
    assert load(None).reassembly_timeout == DEFAULT_REASSEMBLY_TIMEOUT


def test_inbound_and_webhook_timing_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(
        "[gateway]\n"
        "reassembly_timeout = 90\n"  # an integer is seconds too
        "sweep_interval = 0\n"  # 0: sweep only on (re)connect
        "webhook_timeout = 2.5\n"
        "webhook_attempts = 3\n"
    )
    config = load(path)
    assert (config.reassembly_timeout, config.sweep_interval) == (90.0, 0.0)
    assert (config.webhook_timeout, config.webhook_attempts) == (2.5, 3)
    assert isinstance(config.reassembly_timeout, float) and isinstance(config.sweep_interval, float)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reassembly_timeout", 1),  # the smallest
        ("reassembly_timeout", 86400.5),
        ("sweep_interval", 0.0),
        ("sweep_interval", 30),
        ("webhook_timeout", 0.1),
        ("webhook_timeout", 60),
        ("webhook_attempts", 1),
        ("webhook_attempts", 50),
        ("report_timeout", 0),  # 0: wait for reports for ever
        ("report_timeout", 0.5),
        ("report_timeout", 168),  # the 7 days a report is still matched in
        ("retention_days", 0),  # 0: keep every message for ever
        ("retention_days", 7),  # no sooner than a report may still come
        ("retention_days", 365),
    ],
)
def test_valid_timing_values(key: str, value: float) -> None:
    assert getattr(parse({"gateway": {key: value}}), key) == value


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("reassembly_timeout", 0.5, "expected seconds from 1 to 604800"),
        ("reassembly_timeout", 0, "expected seconds from 1 to 604800"),
        ("reassembly_timeout", -600, "expected seconds from 1 to 604800"),
        ("reassembly_timeout", float("inf"), "expected seconds from 1 to 604800"),
        ("reassembly_timeout", float("nan"), "expected seconds from 1 to 604800"),
        ("reassembly_timeout", "600", "expected an integer or a number, got '600'"),
        ("reassembly_timeout", True, "expected an integer or a number, got True"),
        ("sweep_interval", -1, "expected seconds from 0 to 604800"),
        ("sweep_interval", float("inf"), "expected seconds from 0 to 604800"),
        ("sweep_interval", "10m", "expected an integer or a number"),
        ("webhook_timeout", 0, "expected seconds from 0.1 to 600"),
        ("webhook_timeout", 0.05, "expected seconds from 0.1 to 600"),
        ("webhook_timeout", float("nan"), "expected seconds from 0.1 to 600"),
        ("webhook_timeout", False, "expected an integer or a number, got False"),
        ("webhook_timeout", 601, "expected seconds from 0.1 to 600, got 601"),
        ("sweep_interval", 604801, "expected seconds from 0 to 604800, got 604801"),
        ("webhook_attempts", 0, "at least 1"),
        ("webhook_attempts", -3, "at least 1"),
        ("webhook_attempts", 2.5, "expected an integer, got 2.5"),
        ("webhook_attempts", True, "expected an integer, got True"),
        ("webhook_attempts", "10", "expected an integer, got '10'"),
        ("report_timeout", -1, "expected hours from 0 to 168, got -1"),
        ("report_timeout", 169, "expected hours from 0 to 168, got 169"),
        ("report_timeout", float("nan"), "expected hours from 0 to 168"),
        ("report_timeout", "48h", "expected an integer or a number"),
        ("retention_days", 6, "expected 0 (keep for ever) or days from 7 (a delivery report"),
        ("retention_days", -1, "expected 0 (keep for ever) or days from 7"),
        ("retention_days", 36501, "expected 0 (keep for ever) or days from 7"),
        ("retention_days", 30.5, "expected an integer, got 30.5"),
    ],
)
def test_each_bad_timing_value_names_its_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"gateway": {key: value}})
    assert str(caught.value).startswith(f"gateway.{key}: {message}")


def test_a_bad_timing_value_in_a_file_names_its_key(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text("[gateway]\nwebhook_timeout = -inf\n")  # TOML has infinities
    with pytest.raises(ConfigError, match=r"^gateway\.webhook_timeout: expected seconds"):
        load(path)


def test_a_reassembly_timeout_no_clock_can_hold_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^gateway\.reassembly_timeout: "):
        parse({"gateway": {"reassembly_timeout": 1e15}})


# --- number settings ([[numbers]]) -----------------------------------------------------------


def test_number_settings() -> None:
    config = parse(
        {
            "modems": [
                {"driver": "simulated", "numbers": ["+15550001111", "+15550002222", "+15550003333"]}
            ],
            "numbers": [
                {
                    "number": "+1 (555) 000-1111",  # normalised like the modem's numbers
                    "sms_url": "https://example.com/sms?key=1",
                    "sms_method": "get",
                    "sms_fallback_url": "https://backup.example.com/sms",
                    "sms_fallback_method": "post",
                    "status_callback": "https://example.com/status",
                },
                {"number": "+15550002222"},
            ],
        }
    )
    first = config.number_settings("+15550001111")
    assert first == NumberConfig(
        number="+15550001111",
        sms_url="https://example.com/sms?key=1",
        sms_method="GET",
        sms_fallback_url="https://backup.example.com/sms",
        sms_fallback_method="POST",
        status_callback="https://example.com/status",
    )
    assert config.number_settings("+15550002222") == NumberConfig("+15550002222")
    assert config.number_settings("+15550003333") is None  # a modem's number without settings
    assert config.number_settings("+15559999999") is None
    assert config.number_settings("+445550001111") is None  # the same ending is not the number
    assert parse({}).number_settings("+15550001111") is None


def test_an_empty_url_is_no_url() -> None:
    config = parse({"numbers": [{"number": "+15550001111", "sms_url": ""}]})
    settings = config.number_settings("+15550001111")
    assert settings is not None and settings.sms_url is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"sms_url": "example.com/sms"}, "sms_url: 'example.com/sms' is not an http:// or https"),
        ({"sms_url": "https://"}, "sms_url: 'https://' has no host"),
        ({"sms_url": "https://ex.com/a b"}, "sms_url: 'https://ex.com/a b' has ' ', which must be"),
        ({"sms_url": "https://ex.com/ü"}, "sms_url: 'https://ex.com/ü' has 'ü': percent-encode"),
        ({"sms_url": "https://ex.com/s#top"}, "sms_url: 'https://ex.com/s#top' has a #fragment"),
        ({"sms_fallback_url": "mailto:x@y"}, "sms_fallback_url: 'mailto:x@y' is not an http://"),
        ({"sms_url": "http://[::1/x"}, "sms_url: 'http://[::1/x' is not a valid URL (Invalid IPv6"),
        (
            {"sms_url": "https://ex.com:99999/"},
            "sms_url: 'https://ex.com:99999/' is not a valid URL",
        ),
        ({"sms_url": "https://bücher.example/"}, "sms_url: 'https://bücher.example/' has 'ü'"),
        (
            {"sms_url": "https://my_host.example/"},
            "sms_url: 'https://my_host.example/' has the host",
        ),
        ({"status_callback": "/relative"}, "status_callback: '/relative' is not an http://"),
        ({"sms_fallback_method": "PATCH"}, "sms_fallback_method: expected GET or POST"),
        ({"sms_url": 5}, "sms_url: expected a string"),
        ({"voice_url": "mailto:x@y"}, "voice_url: 'mailto:x@y' is not an http://"),
        ({"voice_fallback_method": "PUT"}, "voice_fallback_method: expected GET or POST"),
        ({"voice_application_sid": "AP1"}, "voice_application_sid: unknown key"),
        ({"number": "call me"}, "number: 'call me' is not a phone number"),
    ],
)
def test_each_bad_number_setting_names_its_key(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"numbers": [{"number": "+15550001111", **entry}]})
    assert str(caught.value).startswith("numbers[0]." + message)


def test_a_number_entry_needs_its_number() -> None:
    with pytest.raises(ConfigError, match=r"^numbers\[0\]\.number: required"):
        parse({"numbers": [{"sms_url": "https://example.com/sms"}]})


def test_settings_given_twice_for_one_number_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^numbers\[1\]\.number: "):
        parse(
            {
                "numbers": [
                    {"number": "+15550001111", "sms_url": "https://old.example.com/sms"},
                    {"number": "+1 555 000 1111", "sms_url": "https://new.example.com/sms"},
                ]
            }
        )


# --- prices ([prices]) ------------------------------------------------------------------------


def priced(table: tuple[tuple[str, object], ...]) -> list[tuple[str, str]]:
    """The (prefix, price) pairs with each price as its exact decimal text."""
    return [(prefix, str(price)) for prefix, price in table]


def test_no_prices_by_default() -> None:
    prices = parse({}).prices
    assert (prices.unit, prices.per_part) == ("USD", ())
    assert prices.price("+15551234567", 1) is None
    assert load(None).prices == prices


def test_prices_longest_prefix_first() -> None:
    prices = parse(
        {
            "prices": {
                "unit": "eur",
                "per_part": {"+49": 0.07, "0": "0.02", "+4915": "0.09", "+1": 1, "+44": 0},
            }
        }
    ).prices
    assert prices.unit == "EUR"
    # Sorted by length, longest first; prefixes of one length keep the file's order.
    assert priced(prices.per_part) == [
        ("+4915", "0.09"),
        ("+49", "0.07"),  # a TOML float is read as the decimal written, not the binary double
        ("+44", "0"),
        ("+1", "1"),
        ("0", "0.02"),
    ]
    assert str(prices.price("+4915123456789", 2)) == "0.18"  # not +49's 0.14
    assert str(prices.price("+493012345678", 2)) == "0.14"
    assert str(prices.price("015123456789", 1)) == "0.02"
    assert str(prices.price("+447700900123", 3)) == "0"
    assert prices.price("+33612345678", 1) is None


def test_prices_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(
        '[prices]\nunit = "GBP"\n\n[prices.per_part]\n"+44" = 0.045\n"+447" = 0.0395\n"44" = 1.10\n'
    )
    prices = load(path).prices
    assert prices.unit == "GBP"
    assert priced(prices.per_part) == [("+447", "0.0395"), ("+44", "0.045"), ("44", "1.1")]


def test_prices_without_per_part_prices() -> None:
    prices = parse({"prices": {"unit": "ZAR"}}).prices
    assert (prices.unit, prices.per_part) == ("ZAR", ())


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"unit": "US"}, "prices.unit: expected an ISO 4217 currency code, got 'US'"),
        ({"unit": "EURO"}, "prices.unit: expected an ISO 4217 currency code"),
        ({"unit": "€"}, "prices.unit: expected an ISO 4217 currency code"),
        ({"unit": ""}, "prices.unit: expected an ISO 4217 currency code"),
        ({"unit": 840}, "prices.unit: expected a string, got 840"),
        ({"currency": "USD"}, "prices.currency: unknown key (misspelt?)"),
        ({"per_part": 0.05}, "prices.per_part: expected a [per_part] table"),
        ({"per_part": {"+49a": 0.05}}, 'prices.per_part."+49a": a destination prefix is digits'),
        ({"per_part": {"": 0.05}}, 'prices.per_part."": a destination prefix is digits'),
        ({"per_part": {"+": 0.05}}, 'prices.per_part."+": a destination prefix is digits'),
        ({"per_part": {"+ 49": 0.05}}, 'prices.per_part."+ 49": a destination prefix is digits'),
        ({"per_part": {"1" * 16: 0.05}}, f'prices.per_part."{"1" * 16}": a destination prefix'),
        ({"per_part": {"+49": True}}, 'prices.per_part."+49": expected a price such as 0.05'),
        ({"per_part": {"+49": [0.05]}}, 'prices.per_part."+49": expected a price such as 0.05'),
        ({"per_part": {"+49": {"x": 1}}}, 'prices.per_part."+49": expected a price such as'),
        ({"per_part": {"+49": "cheap"}}, 'prices.per_part."+49": expected a price such as'),
        ({"per_part": {"+49": ""}}, 'prices.per_part."+49": expected a price such as 0.05'),
        ({"per_part": {"+49": -0.01}}, 'prices.per_part."+49": expected a price of 0 or more'),
        ({"per_part": {"+49": "-1"}}, 'prices.per_part."+49": expected a price of 0 or more'),
        ({"per_part": {"+49": float("inf")}}, 'prices.per_part."+49": expected a price of 0'),
        ({"per_part": {"+49": float("nan")}}, 'prices.per_part."+49": expected a price of 0'),
        ({"per_part": {"+49": "NaN"}}, 'prices.per_part."+49": expected a price of 0 or more'),
    ],
)
def test_each_bad_price_setting_names_its_key(prices: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"prices": prices})
    assert str(caught.value).startswith(message)


def test_prices_must_be_a_table() -> None:
    with pytest.raises(ConfigError, match=r"^prices: expected a \[prices\] table"):
        parse({"prices": "USD"})


def test_a_bad_price_in_a_file_names_its_key(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text('[prices.per_part]\n"+49" = -inf\n')
    with pytest.raises(ConfigError, match=r'^prices\.per_part\."\+49": expected a price of 0'):
        load(path)


def test_default_region_reads_the_configurations_national_numbers() -> None:
    """[gateway] default_region (issue 14): a region code in any case, kept upper-case; the
    modems', services' and numbers' national numbers are read in it, to E.164."""
    assert parse({}).default_region is None
    config = parse(
        {
            "gateway": {"default_region": "gb"},
            "modems": [{"driver": "simulated", "numbers": ["07700 900123", "+15550001111"]}],
            "services": [{"sid": "MG" + "0" * 32, "numbers": ["07700900123"]}],
            "numbers": [{"number": "(0)7700-900123", "sms_url": "http://127.0.0.1:9000/sms"}],
        }
    )
    assert config.default_region == "GB"
    assert config.modems[0].numbers == ("+447700900123", "+15550001111")
    assert config.services[0].numbers == ("+447700900123",)
    assert config.numbers[0].number == "+447700900123"


def test_a_bad_default_region_in_a_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[gateway]\ndefault_region = "UK"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (
        "gateway.default_region: 'UK' is not a region code libphonenumber knows "
        "(ISO 3166-1 such as GB, US)"
    )


def test_allow_short_codes_is_off_unless_set() -> None:
    modems = parse(
        {
            "modems": [
                {"id": "a", "driver": "simulated", "numbers": ["+15550001111"]},
                {
                    "id": "b",
                    "driver": "simulated",
                    "numbers": ["+15550002222"],
                    "allow_short_codes": True,
                },
            ]
        }
    ).modems
    assert [modem.allow_short_codes for modem in modems] == [False, True]


def test_calls_are_hung_up_unless_a_modem_says_not() -> None:
    modems = parse(
        {
            "modems": [
                {"id": "a", "driver": "simulated", "numbers": ["+15550001111"]},
                {
                    "id": "b",
                    "driver": "simulated",
                    "numbers": ["+15550002222"],
                    "hangup_calls": False,
                },
            ]
        }
    ).modems
    assert [modem.hangup_calls for modem in modems] == [True, False]


def test_a_number_entry_takes_its_voice_urls() -> None:
    (entry,) = parse(
        {
            "numbers": [
                {
                    "number": "+15550001111",
                    "voice_url": "https://example.com/missed",
                    "voice_method": "get",
                    "voice_fallback_url": "https://example.com/fallback",
                }
            ]
        }
    ).numbers
    assert (entry.voice_url, entry.voice_method) == ("https://example.com/missed", "GET")
    assert (entry.voice_fallback_url, entry.voice_fallback_method) == (
        "https://example.com/fallback",
        "POST",
    )


def _balance_modem(**keys: object) -> dict[str, object]:
    return {"modems": [{"driver": "simulated", "numbers": ["+15550001111"], **keys}]}


def test_a_balance_read_by_ussd() -> None:
    (modem,) = parse(
        _balance_modem(
            balance_ussd="*100#", balance_pattern=r"balance ([0-9.]+)", balance_interval=6
        )
    ).modems
    assert (modem.balance_ussd, modem.balance_pattern, modem.balance_interval) == (
        "*100#",
        r"balance ([0-9.]+)",
        6.0,
    )
    (plain,) = parse(_balance_modem()).modems
    assert (plain.balance_ussd, plain.balance_pattern, plain.balance_interval) == (None, None, 24.0)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"balance_ussd": "*100#"}, "modems[0].balance_pattern: required with balance_ussd"),
        ({"balance_pattern": "([0-9]+)"}, "modems[0].balance_ussd: required with balance_pattern"),
        (
            {"balance_ussd": "*100#", "balance_pattern": "[0-9]+"},
            "modems[0].balance_pattern: expected one group, not 0",
        ),
        (
            {"balance_ussd": "*100#", "balance_pattern": "(a)(b)"},
            "modems[0].balance_pattern: expected one group, not 2",
        ),
        (
            {"balance_ussd": "*100#", "balance_pattern": "([0-9]+"},
            "modems[0].balance_pattern: not a regular expression: missing ),",
        ),
        (
            {"balance_ussd": 'say "hi"', "balance_pattern": "(1)"},
            "modems[0].balance_ussd: 'say \"hi\"' has characters a USSD string cannot carry",
        ),
        (
            {"balance_ussd": "*100#", "balance_pattern": "(1)", "balance_interval": 0},
            "modems[0].balance_interval: expected hours from 0.0166667 to 672, got 0",
        ),
        ({"balance_ussd": 100}, "modems[0].balance_ussd: expected a string"),
        # What POST /smsgw/modems/{id}/ussd.json refuses (21790) is no balance code either:
        # the watch would ask it every few minutes and log each refusal.
        (
            {"balance_ussd": "*100", "balance_pattern": "(1)"},
            "modems[0].balance_ussd: '*100' is not a USSD code (e.g. *100#)",
        ),
        (
            {"balance_ussd": "balance", "balance_pattern": "(1)"},
            "modems[0].balance_ussd: 'balance' is not a USSD code (e.g. *100#)",
        ),
    ],
)
def test_each_bad_balance_setting_names_its_key(keys: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(_balance_modem(**keys))
    assert str(caught.value).startswith(message)


def test_smsc_and_hold_when_roaming() -> None:
    modems = parse(
        {
            "modems": [
                {"id": "a", "driver": "simulated", "numbers": ["+15550001111"]},
                {
                    "id": "b",
                    "driver": "simulated",
                    "numbers": ["+15550002222"],
                    "smsc": "+44 7785 016005",
                    "hold_when_roaming": True,
                },
            ]
        }
    ).modems
    assert [(modem.smsc, modem.hold_when_roaming) for modem in modems] == [
        (None, False),
        ("+447785016005", True),
    ]


# --- a SIM plan's quotas and pacing ([[modems]]) ----------------------------------------------


def test_a_modem_has_no_caps_and_no_pacing_unless_set() -> None:
    (modem,) = parse({"modems": [{"driver": "simulated", "numbers": ["+15550001111"]}]}).modems
    assert modem.quota == Quota()
    assert not modem.quota.capped and modem.quota.zone is UTC


def test_a_modems_quota_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(
        '[[modems]]\ndriver = "simulated"\nnumbers = ["+15550001111"]\n'
        "daily_limit = 100\nmonthly_limit = 3000\nmonthly_recipients = 250\n"
        'min_interval = 8\njitter = 4.5\nquota_time_zone = "Europe/Berlin"\n'
    )
    (modem,) = load(path).modems
    assert modem.quota == Quota(100, 3000, 250, 8.0, 4.5, ZoneInfo("Europe/Berlin"))


def test_the_queue_limit_is_four_hours_at_the_plans_pace_where_it_is_slower() -> None:
    numbers = ("+15550001111",)
    paced = ModemConfig("a", "simulated", numbers, quota=Quota(min_interval=8.0, jitter=4.0))
    assert paced.backlog_limit == 1440  # a part each 10 s on average, not one a second
    fast = ModemConfig("a", "simulated", numbers, send_rate=0.05, quota=Quota(min_interval=1.0))
    assert fast.backlog_limit == 720  # its send_rate is slower
    daily = ModemConfig("a", "simulated", numbers, quota=Quota(min_interval=86400.0))
    assert daily.backlog_limit == 1  # never 0: that would be no limit
    assert replace(paced, max_backlog=0).backlog_limit == 0


def test_utc_needs_no_time_zone_database() -> None:
    modem = {"driver": "simulated", "numbers": ["+15550001111"], "quota_time_zone": "UTC"}
    assert parse({"modems": [modem]}).modems[0].quota.zone is UTC


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"daily_limit": 0}, "modems[0].daily_limit: expected a positive integer, got 0"),
        ({"monthly_limit": -5}, "modems[0].monthly_limit: expected a positive integer, got -5"),
        ({"monthly_recipients": 9.5}, "modems[0].monthly_recipients: expected an integer"),
        ({"min_interval": -1}, "modems[0].min_interval: expected seconds from 0 to 86400"),
        ({"jitter": "2s"}, "modems[0].jitter: expected an integer or a number, got '2s'"),
        (
            {"quota_time_zone": "Mars/Olympus"},
            "modems[0].quota_time_zone: 'Mars/Olympus' is not a time zone zoneinfo knows "
            "(IANA such as Europe/Berlin)",
        ),
        ({"quota_time_zone": "../etc/passwd"}, "modems[0].quota_time_zone: '../etc/passwd' is"),
    ],
)
def test_each_bad_quota_setting_names_its_key(entry: dict[str, object], message: str) -> None:
    modem = {"driver": "simulated", "numbers": ["+15550001111"], **entry}
    with pytest.raises(ConfigError) as caught:
        parse({"modems": [modem]})
    assert str(caught.value).startswith(message)


def test_the_store_is_the_sqlite_file_in_data_dir_unless_a_url_names_postgresql() -> None:
    assert parse({}).store == StoreConfig(url=None)
    assert parse({}).store.engine == "sqlite"
    assert parse({"store": {"url": ""}}).store.url is None  # an empty URL is no URL
    url = "postgresql://smsgw:s3cret@db.example:5433/smsgw?sslmode=verify-full"
    store = parse({"store": {"url": url}}).store
    assert (store.url, store.engine) == (url, "postgresql")
    # As a log line or an error shows it: never its password.
    assert str(store) == "postgresql://smsgw:***@db.example:5433/smsgw?sslmode=verify-full"
    # libpq's other scheme, and several hosts (a primary and its standby) for libpq to try.
    assert parse({"store": {"url": "postgres://h1,h2/smsgw"}}).store.engine == "postgresql"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://smsgw@db/smsgw",
            "store.url: 'mysql://smsgw@db/smsgw': expected postgresql://USER@HOST/DATABASE "
            "(leave [store] url out to keep the SQLite file in data_dir)",
        ),
        (
            "/var/lib/smsgw/smsgw.sqlite3",
            "store.url: '/var/lib/smsgw/smsgw.sqlite3': expected postgresql://USER@HOST/DATABASE",
        ),
        (
            "postgresql://smsgw:s3cret@db.example",
            "store.url: 'postgresql://smsgw:***@db.example' names no database: expected "
            "postgresql://USER@HOST/DATABASE",
        ),
        ("postgresql://[::1/smsgw", "store.url: 'postgresql://[::1/smsgw' is not a URL"),
    ],
)
def test_a_store_url_that_names_no_postgresql_database_is_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"store": {"url": url}})
    assert str(caught.value).startswith(message)


def test_a_misspelt_store_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^store\.uri: unknown key \(misspelt\?\)$"):
        parse({"store": {"uri": "postgresql://db/smsgw"}})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://smsgw:s3cret@db/smsgw", "postgresql://smsgw:***@db/smsgw"),
        (
            "postgresql://smsgw@db/smsgw?password=s3cret&sslmode=require",
            "postgresql://smsgw@db/smsgw?password=***&sslmode=require",
        ),
        ("postgresql://u:s3cret@h1:5432,h2/smsgw", "postgresql://u:***@h1:5432,h2/smsgw"),
        # An @ after the host is no user information: nothing there to hide.
        ("postgresql://db/smsgw?options=-csearch_path%3Da@b", None),
        ("postgresql:///smsgw", None),
    ],
)
def test_a_store_url_is_shown_without_its_password(url: str, shown: str | None) -> None:
    assert str(parse({"store": {"url": url}}).store) == (shown or url)
