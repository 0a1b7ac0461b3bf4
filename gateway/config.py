"""The configuration: a TOML file validated once into frozen dataclasses.

This is the only module that reads the configuration file or the environment. Every problem
is reported as a :class:`~gateway.domain.errors.ConfigError` naming the key, e.g.
``modems[2].port: required when driver = "serial"``. Relative paths in the file are relative
to the file's folder. See ``config/gateway.toml`` for a commented example.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from drivers import PERSONALITIES, parse_tcp_url
from gateway.domain.errors import ConfigError
from gateway.domain.models import is_sid
from gateway.domain.numbering import NumberError
from gateway.domain.numbering import parse as parse_number
from gateway.domain.numbering import region as known_region
from gateway.domain.pricing import PriceTable
from gateway.domain.urls import url_problem
from gateway.logs import FORMATS

DEFAULT_LISTEN: Final = "127.0.0.1:8080"
# Parts of a long SMS normally come within seconds of each other; a network that holds one
# back does so for minutes. Ten minutes (gammu-smsd's choice too) and then the message goes
# out with what came, marked 30009.
DEFAULT_REASSEMBLY_TIMEOUT: Final = 600.0
# The slow safety sweep lists every storage: +CMTI is acted on at once, so this only catches
# what a modem stored without saying so.
DEFAULT_SWEEP_INTERVAL: Final = 600.0
DEFAULT_WEBHOOK_TIMEOUT: Final = 15.0  # Twilio's own webhook timeout
DEFAULT_WEBHOOK_ATTEMPTS: Final = 10
_WEEK: Final = 7 * 24 * 3600.0  # the longest wait any timing key takes
_MAX_WEBHOOK_TIMEOUT: Final = 600.0
DEFAULT_MAX_CONCURRENT_REQUESTS: Final = 256
# HTTP connections (gateway/api/connections.py), for a Raspberry Pi on a LAN: a client has 10 s
# from a request's first byte to send its head, 30 s for its body once read, and a connection
# with no request under way is closed after 60 s.
DEFAULT_HEAD_TIMEOUT: Final = 10.0
DEFAULT_BODY_TIMEOUT: Final = 30.0
DEFAULT_IDLE_TIMEOUT: Final = 60.0
_MAX_HTTP_TIMEOUT: Final = 3600.0
DEFAULT_HEALTH_INTERVAL: Final = 60.0
# On SIGTERM, how long the part on the air may take to be answered: AT+CMGS usually answers in
# seconds; past this, the part may be sent again after the restart.
DEFAULT_SHUTDOWN_GRACE: Final = 30.0
# The original Messages documentation: more than four hours of a sender's traffic is refused.
BACKLOG_HOURS: Final = 4
ASSUMED_SEND_RATE: Final = 1.0  # parts per second of a modem with no send_rate: a fast one
DRIVERS: Final = ("serial", "tcp", "simulated")
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
LOG_FORMATS: Final = FORMATS
METHODS: Final = ("GET", "POST")


@dataclass(frozen=True, slots=True)
class ApiKey:
    sid: str
    secret: str


@dataclass(frozen=True, slots=True)
class Account:
    sid: str
    auth_token: str
    api_keys: tuple[ApiKey, ...] = ()


@dataclass(frozen=True, slots=True)
class ModemConfig:
    id: str
    driver: str
    numbers: tuple[str, ...]
    port: str = ""
    baud: int = 115200
    rtscts: bool = False
    pin: str | None = None
    send_rate: float = 0.0  # parts per second; 0: as fast as the modem takes them
    status_reports: bool = True
    personality: str = "generic"  # simulated modems only
    account: str | None = None  # the account that owns the numbers; None: the first one
    # Parts that may wait for this modem before new messages from it are refused (HTTP 429):
    # None is four hours at send_rate (at one part a second without one); 0 is no limit.
    max_backlog: int | None = None
    # Whether this SIM may text short codes (a carrier's balance or opt-out service): a 3 to
    # 8 digit To, sent as given. Off: such a To is refused (21211), as Twilio refuses it.
    allow_short_codes: bool = False

    @property
    def backlog_limit(self) -> int:
        """The largest backlog of parts accepted (0: no limit)."""
        if self.max_backlog is not None:
            return self.max_backlog
        return int(BACKLOG_HOURS * 3600 * (self.send_rate or ASSUMED_SEND_RATE))


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """A Messaging Service: a pool of the gateway's numbers that picks the sender itself."""

    sid: str
    name: str
    numbers: tuple[str, ...]
    status_callback: str | None = None
    sms_url: str | None = None  # inbound messages to its numbers, instead of the number's
    sms_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"
    sticky_sender: bool = True  # a recipient keeps getting messages from the same number


@dataclass(frozen=True, slots=True)
class NumberConfig:
    number: str
    sms_url: str | None = None
    sms_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"
    status_callback: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    log_level: str = "info"
    log_format: str = "text"  # or "json": one JSON object per line
    max_request_bytes: int = 65536
    reassembly_timeout: float = DEFAULT_REASSEMBLY_TIMEOUT  # seconds
    sweep_interval: float = DEFAULT_SWEEP_INTERVAL  # seconds; 0: only on (re)connect
    webhook_timeout: float = DEFAULT_WEBHOOK_TIMEOUT  # seconds
    webhook_attempts: int = DEFAULT_WEBHOOK_ATTEMPTS
    health_interval: float = DEFAULT_HEALTH_INTERVAL  # seconds; 0: no health checks
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE  # seconds a part on the air may finish
    # Where a national number (digits without "+", "07700 900123") is read, to make it E.164
    # (gateway.domain.numbering); None: national numbers are refused.
    default_region: str | None = None
    accounts: tuple[Account, ...] = ()
    modems: tuple[ModemConfig, ...] = ()
    numbers: tuple[NumberConfig, ...] = ()
    prices: PriceTable = field(default_factory=PriceTable)
    services: tuple[ServiceConfig, ...] = ()
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS
    head_timeout: float = DEFAULT_HEAD_TIMEOUT  # seconds from a request's first byte
    body_timeout: float = DEFAULT_BODY_TIMEOUT  # seconds to read a request's body
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT  # seconds a connection may wait for a request
    max_connections: int | None = None  # None: as many as the open-file limit allows
    tls_cert: Path | None = None  # PEM certificate (chain): the API is served over HTTPS
    tls_key: Path | None = None  # its PEM private key
    path: Path | None = field(default=None, compare=False)

    @property
    def listen(self) -> str:
        return f"{self.host}:{self.port}"

    def modem_for_number(self, number: str) -> ModemConfig | None:
        for modem in self.modems:
            if number in modem.numbers:
                return modem
        return None

    def service(self, sid: str) -> ServiceConfig | None:
        for service in self.services:
            if service.sid == sid:
                return service
        return None

    def service_of(self, number: str) -> ServiceConfig | None:
        """The Messaging Service whose pool holds ``number``, if any."""
        for service in self.services:
            if number in service.numbers:
                return service
        return None

    def number_settings(self, number: str) -> NumberConfig | None:
        """The ``[[numbers]]`` entry (webhook URLs) of one of the gateway's numbers."""
        for settings in self.numbers:
            if settings.number == number:
                return settings
        return None


class _Table:
    """A TOML table being read: every lookup names its key path for the error message."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
            raise ConfigError(self.key(name), f"expected {_describe(kind)}, got {value!r}")
        return value

    def required(self, name: str, kind: type | tuple[type, ...]) -> Any:
        value = self.get(name, kind)
        if value is None or value == "":
            raise ConfigError(self.key(name), "required")
        return value

    def tables(self, name: str) -> list[_Table]:
        self.used.add(name)
        items = self.data.get(name, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ConfigError(self.key(name), f"expected [[{name}]] tables")
        return [_Table(item, f"{self.key(name)}[{index}]") for index, item in enumerate(items)]

    def section(self, name: str) -> _Table:
        self.used.add(name)
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(self.key(name), f"expected a [{name}] table")
        return _Table(value, self.key(name))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key (misspelt?)")


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    names |= {list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in _kinds(kind))


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


def _default_region(gateway: _Table) -> str | None:
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


def _accounts(table: _Table) -> tuple[Account, ...]:
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


def _modem(item: _Table, index: int, region: str | None) -> ModemConfig:
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
        account=account,
        max_backlog=max_backlog,
        allow_short_codes=item.get("allow_short_codes", bool, False),
    )
    item.finish()
    return modem


def _seconds(table: _Table, name: str, default: float, minimum: float, maximum: float) -> float:
    value = float(table.get(name, (int, float), default))
    if not minimum <= value <= maximum:
        raise ConfigError(
            table.key(name), f"expected seconds from {minimum:g} to {maximum:g}, got {value:g}"
        )
    return value


def _url(item: _Table, name: str) -> str | None:
    url: str | None = item.get(name, str)
    if not url:
        return None
    problem = url_problem(url)
    if problem is not None:
        raise ConfigError(item.key(name), f"{url!r} {problem}")
    return url


def _method(item: _Table, name: str) -> str:
    method = item.get(name, str, "POST").upper()
    if method not in METHODS:
        raise ConfigError(item.key(name), "expected GET or POST")
    return str(method)


def _numbers(table: _Table, region: str | None) -> tuple[NumberConfig, ...]:
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
            )
        )
        item.finish()
    return tuple(numbers)


_PREFIX: Final = re.compile(r"\+?\d{1,15}")
_CURRENCY: Final = re.compile(r"[A-Za-z]{3}")


def _prices(table: _Table) -> PriceTable:
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


def _services(table: _Table, region: str | None) -> tuple[ServiceConfig, ...]:
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


def _http(gateway: _Table, base: Path) -> dict[str, Any]:
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
            gateway, "head_timeout", DEFAULT_HEAD_TIMEOUT, 0.1, _MAX_HTTP_TIMEOUT
        ),
        "body_timeout": _seconds(
            gateway, "body_timeout", DEFAULT_BODY_TIMEOUT, 0.1, _MAX_HTTP_TIMEOUT
        ),
        "idle_timeout": _seconds(
            gateway, "idle_timeout", DEFAULT_IDLE_TIMEOUT, 0.1, _MAX_HTTP_TIMEOUT
        ),
        "max_connections": connections,
        **{name: base / value if value else None for name, value in files.items()},
    }


def parse(data: dict[str, Any], base: Path = Path()) -> Config:
    """Validate a parsed TOML document."""
    root = _Table(data, "")
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
    reassembly = _seconds(gateway, "reassembly_timeout", DEFAULT_REASSEMBLY_TIMEOUT, 1.0, _WEEK)
    sweep = _seconds(gateway, "sweep_interval", DEFAULT_SWEEP_INTERVAL, 0.0, _WEEK)
    webhook_timeout = _seconds(
        gateway, "webhook_timeout", DEFAULT_WEBHOOK_TIMEOUT, 0.1, _MAX_WEBHOOK_TIMEOUT
    )
    attempts = gateway.get("webhook_attempts", int, DEFAULT_WEBHOOK_ATTEMPTS)
    if attempts < 1:
        raise ConfigError(gateway.key("webhook_attempts"), "at least 1")
    health_interval = _seconds(gateway, "health_interval", DEFAULT_HEALTH_INTERVAL, 0.0, _WEEK)
    grace = _seconds(gateway, "shutdown_grace", DEFAULT_SHUTDOWN_GRACE, 0.0, 600.0)
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
        default_region=region,
        accounts=_accounts(root),
        modems=modems,
        numbers=_numbers(root, region),
        prices=_prices(root),
        services=_services(root, region),
        max_concurrent_requests=concurrent,
        **http,
    )
    root.finish()
    _check_unique(config)
    return config


def _check_unique(config: Config) -> None:
    seen_ids: set[str] = set()
    owners: dict[str, str] = {}
    for index, modem in enumerate(config.modems):
        if modem.id in seen_ids:
            raise ConfigError(f"modems[{index}].id", f"{modem.id!r} is used twice")
        seen_ids.add(modem.id)
        for number in modem.numbers:
            if number in owners:
                raise ConfigError(
                    f"modems[{index}].numbers", f"{number} already belongs to {owners[number]}"
                )
            owners[number] = modem.id
    configured: set[str] = set()
    for index, settings in enumerate(config.numbers):
        if settings.number in configured:
            raise ConfigError(f"numbers[{index}].number", f"{settings.number} is configured twice")
        configured.add(settings.number)
    _check_credentials(config.accounts)
    account_sids = {account.sid for account in config.accounts}
    for index, modem in enumerate(config.modems):
        if modem.account and config.accounts and modem.account not in account_sids:
            problem = f"no [[accounts]] with sid {modem.account}"
            raise ConfigError(f"modems[{index}].account", problem)
    _check_services(config, owners)


def _check_credentials(accounts: tuple[Account, ...]) -> None:
    """Each Account SID and API key SID once: a second entry would silently shadow the first's
    secret (the username of HTTP Basic names one credential)."""
    seen: dict[str, str] = {}
    for index, account in enumerate(accounts):
        where = f"accounts[{index}]"
        for key, sid in [(f"{where}.sid", account.sid)] + [
            (f"{where}.api_keys[{n}].sid", api_key.sid)
            for n, api_key in enumerate(account.api_keys)
        ]:
            if sid in seen:
                raise ConfigError(key, f"{sid} is configured already ({seen[sid]})")
            seen[sid] = key


def _check_services(config: Config, owners: dict[str, str]) -> None:
    sids: set[str] = set()
    pooled: dict[str, str] = {}
    accounts = {modem.id: modem.account for modem in config.modems}
    for index, service in enumerate(config.services):
        if service.sid in sids:
            raise ConfigError(f"services[{index}].sid", f"{service.sid} is configured twice")
        sids.add(service.sid)
        owning = set()
        for number in service.numbers:
            if number not in owners:
                raise ConfigError(f"services[{index}].numbers", f"no modem owns {number}")
            if number in pooled:
                raise ConfigError(
                    f"services[{index}].numbers", f"{number} is in {pooled[number]} already"
                )
            pooled[number] = service.sid
            owning.add(accounts[owners[number]])
        if len(owning) > 1:
            raise ConfigError(
                f"services[{index}].numbers", "every number of a service belongs to one account"
            )


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
