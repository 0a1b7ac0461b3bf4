"""Reading the configuration: the TOML file (:func:`load`, with the command line's overrides),
each section's keys checked into the model (:func:`parse`), then the whole
(:mod:`gateway.config.checks`). Relative paths in the file are relative to the file's folder.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from drivers import PERSONALITIES, check_ussd_request, parse_tcp_url
from gateway.config.checks import cross_check
from gateway.config.defaults import (
    BALANCE_INTERVALS,
    DAY,
    DEFAULT_BALANCE_INTERVAL,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_HEALTH_INTERVAL,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_LISTEN,
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_REASSEMBLY_TIMEOUT,
    DEFAULT_REPORT_TIMEOUT,
    DEFAULT_SHUTDOWN_GRACE,
    DEFAULT_SWEEP_INTERVAL,
    DEFAULT_WEBHOOK_ATTEMPTS,
    DEFAULT_WEBHOOK_TIMEOUT,
    DRIVERS,
    LOG_FORMATS,
    LOG_LEVELS,
    MAX_HTTP_TIMEOUT,
    MAX_WEBHOOK_TIMEOUT,
    METHODS,
    WEEK,
)
from gateway.config.model import (
    Account,
    ApiKey,
    Config,
    ConsoleConfig,
    ModemConfig,
    NumberConfig,
    ServiceConfig,
)
from gateway.config.store import read_store
from gateway.config.tables import Table
from gateway.domain.delivery import REPORT_WINDOW_DAYS
from gateway.domain.errors import ConfigError
from gateway.domain.models import is_sid
from gateway.domain.numbering import NumberError
from gateway.domain.numbering import parse as parse_number
from gateway.domain.numbering import region as known_region
from gateway.domain.pricing import PriceTable
from gateway.domain.quota import Quota
from gateway.domain.urls import url_problem
from gateway.domain.ussd import code_problem as ussd_code_problem

MAX_RETENTION_DAYS: Final = 36500  # a hundred years: past that, 0 (for ever) says it


def _listen(value: str, key: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(key, f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def _number(value: Any, key: str, region: str | None) -> str:
    """One of the gateway's own numbers, in E.164 (a national one read in ``region``)."""
    if not isinstance(value, str):
        raise ConfigError(key, f"{value!r} is not a phone number (E.164 such as +15551234567)")
    try:
        number = parse_number(value, region)
    except NumberError as exc:
        problem = f"{value!r} is not a phone number a network could route: {exc}"
        raise ConfigError(key, problem) from None
    if number.short_code:
        raise ConfigError(key, f"{value!r} is a short code; a SIM's number is E.164")
    return number.value


def _default_region(gateway: Table) -> str | None:
    value = gateway.get("default_region", str)
    if value is None:
        return None
    region = known_region(value)
    if region is None:
        raise ConfigError(
            gateway.key("default_region"),
            f"{value!r} is not a region code libphonenumber knows (ISO 3166-1 such as GB, US)",
        )
    return region


def _accounts(table: Table) -> tuple[Account, ...]:
    accounts = []
    for item in table.tables("accounts"):
        sid = item.required("sid", str)
        if not is_sid(sid, "AC"):
            raise ConfigError(item.key("sid"), "an Account SID is AC followed by 32 hex digits")
        keys = []
        for key in item.tables("api_keys"):
            key_sid = key.required("sid", str)
            if not is_sid(key_sid, "SK"):
                raise ConfigError(key.key("sid"), "an API key SID is SK followed by 32 hex digits")
            keys.append(ApiKey(key_sid, key.required("secret", str)))
            key.finish()
        accounts.append(Account(sid, item.required("auth_token", str), tuple(keys)))
        item.finish()
    return tuple(accounts)


def _modem(item: Table, index: int, region: str | None) -> ModemConfig:
    driver = item.get("driver", str, "serial")
    if driver not in DRIVERS:
        raise ConfigError(item.key("driver"), f"expected one of {', '.join(DRIVERS)}")
    port = item.get("port", str, "")
    if driver == "serial" and not port:
        raise ConfigError(item.key("port"), 'required when driver = "serial" (e.g. /dev/ttyUSB2)')
    if driver == "tcp":
        try:
            parse_tcp_url(port)
        except Exception as exc:
            raise ConfigError(item.key("port"), "expected tcp://HOST:PORT") from exc
    numbers = item.get("numbers", list, [])
    if not numbers:
        raise ConfigError(item.key("numbers"), "at least one phone number the SIM owns")
    personality = item.get("personality", str, "generic")
    if personality not in PERSONALITIES:
        raise ConfigError(item.key("personality"), f"expected one of {', '.join(PERSONALITIES)}")
    report_delay = _report_delay(item, driver)
    send_rate = item.get("send_rate", (int, float), 0.0)
    if send_rate < 0:
        raise ConfigError(item.key("send_rate"), "parts per second cannot be negative")
    baud = item.get("baud", int, 115200)
    if baud <= 0:
        raise ConfigError(item.key("baud"), "expected a positive baud rate")
    account = item.get("account", str)
    if account is not None and not is_sid(account, "AC"):
        raise ConfigError(item.key("account"), "an Account SID is AC followed by 32 hex digits")
    max_backlog = item.get("max_backlog", int)
    if max_backlog is not None and max_backlog < 0:
        raise ConfigError(item.key("max_backlog"), "parts, 0 (no limit) or more")
    smsc = item.get("smsc", str)
    modem = ModemConfig(
        id=item.get("id", str, f"modem{index + 1}"),
        driver=driver,
        numbers=tuple(
            _number(n, f"{item.key('numbers')}[{i}]", region) for i, n in enumerate(numbers)
        ),
        port=port,
        baud=baud,
        rtscts=item.get("rtscts", bool, False),
        pin=item.get("pin", str),
        send_rate=float(send_rate),
        status_reports=item.get("status_reports", bool, True),
        personality=personality,
        report_delay=report_delay,
        account=account,
        max_backlog=max_backlog,
        allow_short_codes=item.get("allow_short_codes", bool, False),
        hangup_calls=item.get("hangup_calls", bool, True),
        **_balance(item),
        # The SMSC is a number in E.164 too (TS 27.005 §3.3.1 AT+CSCA, <tosca> 145).
        smsc=_number(smsc, item.key("smsc"), region) if smsc is not None else None,
        hold_when_roaming=item.get("hold_when_roaming", bool, False),
        quota=_quota(item),
    )
    item.finish()
    return modem


def _report_delay(item: Table, driver: str) -> float | None:
    """A simulated modem's ``report_delay``: seconds, 0 or more (``None``: unset)."""
    report_delay = item.get("report_delay", (int, float))
    if report_delay is None:
        return None
    if driver != "simulated":
        raise ConfigError(item.key("report_delay"), 'only for driver = "simulated"')
    if report_delay < 0:
        raise ConfigError(item.key("report_delay"), "seconds cannot be negative")
    if not math.isfinite(report_delay):  # TOML's nan and inf
        problem = f"expected a finite number of seconds, got {report_delay}"
        raise ConfigError(item.key("report_delay"), problem)
    return float(report_delay)


def _balance(item: Table) -> dict[str, Any]:
    """``balance_ussd``, ``balance_pattern`` (a regular expression with one group: the
    number) and ``balance_interval`` (hours): the three, or none of the first two."""
    code = item.get("balance_ussd", str)
    pattern = item.get("balance_pattern", str)
    interval = float(item.get("balance_interval", (int, float), DEFAULT_BALANCE_INTERVAL))
    if code is not None:
        try:
            check_ussd_request(code)
        except ValueError as exc:
            raise ConfigError(item.key("balance_ussd"), str(exc)) from None
        if problem := ussd_code_problem(code):
            raise ConfigError(item.key("balance_ussd"), problem)
        if pattern is None:
            raise ConfigError(
                item.key("balance_pattern"),
                "required with balance_ussd: a regular expression with one group (the number)",
            )
    elif pattern is not None:
        raise ConfigError(item.key("balance_ussd"), "required with balance_pattern")
    if pattern is not None:
        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            message = f"not a regular expression: {exc}"
            raise ConfigError(item.key("balance_pattern"), message) from None
        if groups != 1:
            raise ConfigError(item.key("balance_pattern"), f"expected one group, not {groups}")
    low, high = BALANCE_INTERVALS
    if not low <= interval <= high:
        raise ConfigError(
            item.key("balance_interval"),
            f"expected hours from {low:g} to {high:g}, got {interval:g}",
        )
    return {"balance_ussd": code, "balance_pattern": pattern, "balance_interval": interval}


def _quota(item: Table) -> Quota:
    """A modem's plan caps (positive integers) and pacing (seconds), in its time zone."""
    quota = Quota(
        daily_limit=_cap(item, "daily_limit"),
        monthly_limit=_cap(item, "monthly_limit"),
        monthly_recipients=_cap(item, "monthly_recipients"),
        min_interval=_seconds(item, "min_interval", 0.0, 0.0, DAY),
        jitter=_seconds(item, "jitter", 0.0, 0.0, DAY),
    )
    name = item.get("quota_time_zone", str)
    if name is None or name == "UTC":
        return quota  # UTC needs no time zone database
    # Imported only for a zone to read: zoneinfo loads sysconfig's data to find the database,
    # about 1 MiB that `smsgw serve` would keep resident for months on a Pi with no plan zone.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones  # noqa: PLC0415

    try:
        return replace(quota, zone=ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # unknown, malformed, unreadable
        problem = f"{name!r} is not a time zone zoneinfo knows (IANA such as Europe/Berlin)"
        if isinstance(exc, ZoneInfoNotFoundError) and not available_timezones():
            # A minimal system (a Pi's lite image, a slim container) may have no database.
            problem = (
                f"{name!r} cannot be read: this system has no time zone database "
                "(install its tzdata package, or tzdata from PyPI)"
            )
        raise ConfigError(item.key("quota_time_zone"), problem) from None


def _cap(item: Table, name: str) -> int | None:
    value: int | None = item.get(name, int)
    if value is not None and value < 1:
        raise ConfigError(item.key(name), f"expected a positive integer, got {value}")
    return value


def _seconds(table: Table, name: str, default: float, minimum: float, maximum: float) -> float:
    value = float(table.get(name, (int, float), default))
    if not minimum <= value <= maximum:
        raise ConfigError(
            table.key(name), f"expected seconds from {minimum:g} to {maximum:g}, got {value:g}"
        )
    return value


def _report_timeout(gateway: Table) -> float:
    """Hours, from 0 (wait for ever) to the days a report is still matched in: a part sent
    longer ago than that can no longer be reported on anyway."""
    hours = float(gateway.get("report_timeout", (int, float), DEFAULT_REPORT_TIMEOUT))
    most = REPORT_WINDOW_DAYS * 24.0
    if not 0 <= hours <= most:
        raise ConfigError(
            gateway.key("report_timeout"), f"expected hours from 0 to {most:g}, got {hours:g}"
        )
    return hours


def _retention_days(gateway: Table) -> int:
    """0 (keep every message) or at least the days a delivery report may still come in: a
    message deleted sooner would miss its report."""
    days: int = gateway.get("retention_days", int, 0)
    if days != 0 and not REPORT_WINDOW_DAYS <= days <= MAX_RETENTION_DAYS:
        raise ConfigError(
            gateway.key("retention_days"),
            f"expected 0 (keep for ever) or days from {REPORT_WINDOW_DAYS} (a delivery report "
            f"may come until then) to {MAX_RETENTION_DAYS}, got {days}",
        )
    return days


def _url(item: Table, name: str) -> str | None:
    url: str | None = item.get(name, str)
    if not url:
        return None
    problem = url_problem(url)
    if problem is not None:
        raise ConfigError(item.key(name), f"{url!r} {problem}")
    return url


def _method(item: Table, name: str) -> str:
    method = item.get(name, str, "POST").upper()
    if method not in METHODS:
        raise ConfigError(item.key(name), "expected GET or POST")
    return str(method)


def _numbers(table: Table, region: str | None) -> tuple[NumberConfig, ...]:
    numbers = []
    for item in table.tables("numbers"):
        numbers.append(
            NumberConfig(
                number=_number(item.required("number", str), item.key("number"), region),
                sms_url=_url(item, "sms_url"),
                sms_method=_method(item, "sms_method"),
                sms_fallback_url=_url(item, "sms_fallback_url"),
                sms_fallback_method=_method(item, "sms_fallback_method"),
                status_callback=_url(item, "status_callback"),
                voice_url=_url(item, "voice_url"),
                voice_method=_method(item, "voice_method"),
                voice_fallback_url=_url(item, "voice_fallback_url"),
                voice_fallback_method=_method(item, "voice_fallback_method"),
            )
        )
        item.finish()
    return tuple(numbers)


_PREFIX: Final = re.compile(r"\+?\d{1,15}")
_CURRENCY: Final = re.compile(r"[A-Za-z]{3}")


def _prices(table: Table) -> PriceTable:
    section = table.section("prices")
    unit = section.get("unit", str, "USD")
    if not _CURRENCY.fullmatch(unit):
        raise ConfigError(section.key("unit"), f"expected an ISO 4217 currency code, got {unit!r}")
    per_part = section.section("per_part")
    prices = []
    for prefix, value in per_part.data.items():
        key = per_part.key(f'"{prefix}"')
        per_part.used.add(prefix)
        if not _PREFIX.fullmatch(prefix):
            raise ConfigError(key, "a destination prefix is digits, with or without a leading +")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(key, f"expected a price such as 0.05, got {value!r}")
        try:
            price = Decimal(str(value))
        except InvalidOperation:
            raise ConfigError(key, f"expected a price such as 0.05, got {value!r}") from None
        if not price.is_finite() or price < 0:
            raise ConfigError(key, f"expected a price of 0 or more, got {value!r}")
        prices.append((prefix, price))
    section.finish()
    prices.sort(key=lambda item: len(item[0]), reverse=True)
    return PriceTable(unit.upper(), tuple(prices))


def _services(table: Table, region: str | None) -> tuple[ServiceConfig, ...]:
    services = []
    for item in table.tables("services"):
        sid = item.required("sid", str)
        if not is_sid(sid, "MG"):
            raise ConfigError(item.key("sid"), "a Messaging Service SID is MG and 32 hex digits")
        numbers = item.get("numbers", list, [])
        if not numbers:
            raise ConfigError(item.key("numbers"), "at least one of the modems' numbers")
        services.append(
            ServiceConfig(
                sid=sid,
                name=item.get("name", str, sid),
                numbers=tuple(
                    _number(n, f"{item.key('numbers')}[{i}]", region) for i, n in enumerate(numbers)
                ),
                status_callback=_url(item, "status_callback"),
                sms_url=_url(item, "sms_url"),
                sms_method=_method(item, "sms_method"),
                sms_fallback_url=_url(item, "sms_fallback_url"),
                sms_fallback_method=_method(item, "sms_fallback_method"),
                sticky_sender=item.get("sticky_sender", bool, True),
            )
        )
        item.finish()
    return tuple(services)


def _http(gateway: Table, base: Path) -> dict[str, Any]:
    """The HTTP server's timeouts, connection cap and TLS files (only checked to be given
    together here: :mod:`gateway.api.tls` reads them when the gateway starts)."""
    connections = gateway.get("max_connections", int)
    if connections is not None and connections < 1:
        raise ConfigError(gateway.key("max_connections"), "at least 1")
    files = {name: gateway.get(name, str) for name in ("tls_cert", "tls_key")}
    given = [name for name, value in files.items() if value]
    if len(given) == 1:
        missing = "tls_key" if given == ["tls_cert"] else "tls_cert"
        raise ConfigError(gateway.key(missing), f"required with {given[0]} (both or neither)")
    return {
        "head_timeout": _seconds(
            gateway, "head_timeout", DEFAULT_HEAD_TIMEOUT, 0.1, MAX_HTTP_TIMEOUT
        ),
        "body_timeout": _seconds(
            gateway, "body_timeout", DEFAULT_BODY_TIMEOUT, 0.1, MAX_HTTP_TIMEOUT
        ),
        "idle_timeout": _seconds(
            gateway, "idle_timeout", DEFAULT_IDLE_TIMEOUT, 0.1, MAX_HTTP_TIMEOUT
        ),
        "max_connections": connections,
        **{name: base / value if value else None for name, value in files.items()},
    }


def _console(table: Table) -> ConsoleConfig:
    section = table.section("console")
    enabled = section.get("enabled", bool, True)
    section.finish()
    return ConsoleConfig(enabled=enabled)


def parse(data: dict[str, Any], base: Path = Path()) -> Config:
    """Validate a parsed TOML document."""
    root = Table(data, "")
    gateway = root.section("gateway")
    host, port = _listen(gateway.get("listen", str, DEFAULT_LISTEN), gateway.key("listen"))
    log_level = gateway.get("log_level", str, "info").lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError(gateway.key("log_level"), f"expected one of {', '.join(LOG_LEVELS)}")
    log_format = gateway.get("log_format", str, "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(gateway.key("log_format"), f"expected one of {', '.join(LOG_FORMATS)}")
    max_request = gateway.get("max_request_bytes", int, 65536)
    if max_request < 4096:
        raise ConfigError(gateway.key("max_request_bytes"), "at least 4096 bytes")
    data_dir = Path(gateway.get("data_dir", str, "data"))
    reassembly = _seconds(gateway, "reassembly_timeout", DEFAULT_REASSEMBLY_TIMEOUT, 1.0, WEEK)
    sweep = _seconds(gateway, "sweep_interval", DEFAULT_SWEEP_INTERVAL, 0.0, WEEK)
    webhook_timeout = _seconds(
        gateway, "webhook_timeout", DEFAULT_WEBHOOK_TIMEOUT, 0.1, MAX_WEBHOOK_TIMEOUT
    )
    attempts = gateway.get("webhook_attempts", int, DEFAULT_WEBHOOK_ATTEMPTS)
    if attempts < 1:
        raise ConfigError(gateway.key("webhook_attempts"), "at least 1")
    health_interval = _seconds(gateway, "health_interval", DEFAULT_HEALTH_INTERVAL, 0.0, WEEK)
    grace = _seconds(gateway, "shutdown_grace", DEFAULT_SHUTDOWN_GRACE, 0.0, 600.0)
    report_timeout = _report_timeout(gateway)
    retention = _retention_days(gateway)
    concurrent = gateway.get("max_concurrent_requests", int, DEFAULT_MAX_CONCURRENT_REQUESTS)
    if concurrent < 1:
        raise ConfigError(gateway.key("max_concurrent_requests"), "at least 1")
    http = _http(gateway, base)
    region = _default_region(gateway)
    gateway.finish()
    modems = tuple(_modem(item, index, region) for index, item in enumerate(root.tables("modems")))
    config = Config(
        host=host,
        port=port,
        # Resolved, so that logs and the CLI name the directory (".../smsgw/data"), not
        # the path it was reached by (".../smsgw/config/../data").
        data_dir=data_dir if data_dir.is_absolute() else (base / data_dir).resolve(),
        log_level=log_level,
        log_format=log_format,
        max_request_bytes=max_request,
        reassembly_timeout=reassembly,
        sweep_interval=sweep,
        webhook_timeout=webhook_timeout,
        webhook_attempts=attempts,
        health_interval=health_interval,
        shutdown_grace=grace,
        report_timeout=report_timeout,
        retention_days=retention,
        default_region=region,
        accounts=_accounts(root),
        modems=modems,
        numbers=_numbers(root, region),
        prices=_prices(root),
        services=_services(root, region),
        max_concurrent_requests=concurrent,
        console=_console(root),
        store=read_store(root),
        **http,
    )
    root.finish()
    cross_check(config)
    return config


def load(path: Path | None, *, listen: str | None = None, data_dir: Path | None = None) -> Config:
    """Read and validate ``path`` (or the defaults), then apply command-line overrides."""
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("", f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError("", f"{path} is not UTF-8 text") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"{path} is not valid TOML: {exc}") from None
        base = path.resolve().parent
    config = parse(data, base)
    changes: dict[str, Any] = {"path": path}
    if listen is not None:
        changes["host"], changes["port"] = _listen(listen, "--listen")
    if data_dir is not None:
        changes["data_dir"] = data_dir
    return replace(config, **changes)
