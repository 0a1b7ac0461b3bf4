"""The configuration as the gateway reads it: frozen dataclasses, validated once
(:mod:`gateway.config.reading`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gateway.config.defaults import (
    ASSUMED_SEND_RATE,
    BACKLOG_HOURS,
    DEFAULT_BALANCE_INTERVAL,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_HEALTH_INTERVAL,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_REASSEMBLY_TIMEOUT,
    DEFAULT_REPORT_TIMEOUT,
    DEFAULT_SHUTDOWN_GRACE,
    DEFAULT_SWEEP_INTERVAL,
    DEFAULT_WEBHOOK_ATTEMPTS,
    DEFAULT_WEBHOOK_TIMEOUT,
)
from gateway.config.store import StoreConfig
from gateway.domain.pricing import PriceTable
from gateway.domain.quota import Quota


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
    # Simulated modems only: seconds before the simulated network reports on a part sent
    # (None: the simulator's default, a few seconds as on a real network; 0 for tests).
    report_delay: float | None = None
    account: str | None = None  # the account that owns the numbers; None: the first one
    # Parts that may wait for this modem before new messages from it are refused (HTTP 429):
    # None is four hours at send_rate (at one part a second without one), or at the plan's
    # pacing where that is slower; 0 is no limit.
    max_backlog: int | None = None
    # Whether this SIM may text short codes (a carrier's balance or opt-out service): a 3 to
    # 8 digit To, sent as given. Off: such a To is refused (21211), as Twilio refuses it.
    allow_short_codes: bool = False
    # Whether a call to the modem is hung up at once (gammu-smsd's HangupCalls, SMSTools3's
    # hangup_incoming_call): a ringing modem is left alone otherwise, until the caller gives up.
    hangup_calls: bool = True
    # The SIM's balance: a USSD code asked every balance_interval hours, and a regular
    # expression whose one group reads the number out of the answer (gateway/modems/balance.py).
    balance_ussd: str | None = None
    balance_pattern: str | None = None
    balance_interval: float = DEFAULT_BALANCE_INTERVAL
    # The SMSC to send through (AT+CSCA), set where the SIM's differs; None: the SIM's own.
    smsc: str | None = None
    # Roaming (+CREG <stat> 5), this modem sends nothing: its messages wait until it is home.
    hold_when_roaming: bool = False
    # The SIM plan's caps and pacing (daily_limit, monthly_limit, monthly_recipients,
    # min_interval, jitter, in quota_time_zone): gateway.domain.quota.
    quota: Quota = field(default_factory=Quota)

    @property
    def backlog_limit(self) -> int:
        """The largest backlog of parts accepted (0: no limit)."""
        if self.max_backlog is not None:
            return self.max_backlog
        rate = self.send_rate or ASSUMED_SEND_RATE
        # The plan's pacing is the slower pace where it is set: a part each min_interval plus
        # half the jitter, on average. Never 0, which would mean no limit.
        if pause := self.quota.min_interval + self.quota.jitter / 2:
            rate = min(rate, 1 / pause)
        return max(1, int(BACKLOG_HOURS * 3600 * rate))


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
    """A ``[[numbers]]`` entry: the settings configured for one of the gateway's numbers. Its
    :class:`~gateway.domain.records.PhoneNumber` record starts with them, and takes them again
    at each start or reload until the API changes the record (:mod:`gateway.accounts.numbers`
    makes the one from the other)."""

    number: str
    sms_url: str | None = None
    sms_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"
    status_callback: str | None = None
    voice_url: str | None = None  # a missed call's webhook (gateway.inbound.calls)
    voice_method: str = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: str = "POST"


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """``[console]``: the operator's web console at ``/console/`` (gateway.console)."""

    enabled: bool = True

    def __str__(self) -> str:  # as a reload's log line names a change: "console on -> off"
        return "on" if self.enabled else "off"


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
    report_timeout: float = DEFAULT_REPORT_TIMEOUT  # hours; 0: wait for reports for ever
    retention_days: int = 0  # finished messages older than this are deleted; 0: kept for ever
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
    console: ConsoleConfig = field(default_factory=ConsoleConfig)  # read at start only
    store: StoreConfig = field(default_factory=StoreConfig)  # read at start only
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
