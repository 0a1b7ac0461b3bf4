"""The configuration: a TOML file validated once into frozen dataclasses.

This is the only package that reads the configuration file or the environment. Every problem
is reported as a :class:`~gateway.domain.errors.ConfigError` naming the key, e.g.
``modems[2].port: required when driver = "serial"``. Relative paths in the file are relative
to the file's folder. See ``config/gateway.toml`` for a commented example.

:mod:`.model` is what the gateway reads (``Config`` and its entries), :mod:`.defaults` the
defaults and limits, :mod:`.reading` how the file becomes a ``Config`` (over the TOML
tables of :mod:`.tables`; ``[store]`` in :mod:`.store`), and :mod:`.checks` what is checked
of it as a whole.
"""

from gateway.config.defaults import (
    ASSUMED_SEND_RATE,
    BACKLOG_HOURS,
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
    METHODS,
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
from gateway.config.reading import load, parse
from gateway.config.store import StoreConfig

__all__ = [
    "ASSUMED_SEND_RATE",
    "BACKLOG_HOURS",
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEAD_TIMEOUT",
    "DEFAULT_HEALTH_INTERVAL",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_LISTEN",
    "DEFAULT_MAX_CONCURRENT_REQUESTS",
    "DEFAULT_REASSEMBLY_TIMEOUT",
    "DEFAULT_REPORT_TIMEOUT",
    "DEFAULT_SHUTDOWN_GRACE",
    "DEFAULT_SWEEP_INTERVAL",
    "DEFAULT_WEBHOOK_ATTEMPTS",
    "DEFAULT_WEBHOOK_TIMEOUT",
    "DRIVERS",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "METHODS",
    "Account",
    "ApiKey",
    "Config",
    "ConsoleConfig",
    "ModemConfig",
    "NumberConfig",
    "ServiceConfig",
    "StoreConfig",
    "load",
    "parse",
]
