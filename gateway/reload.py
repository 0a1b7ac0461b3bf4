"""What a new configuration changes in the running one (``SIGHUP``, ``systemctl reload smsgw``).

:func:`diff` compares two validated configurations and says, in words for the log, what
changed: ``numbers: +15550002002 sms_url set; modems: added bob, removed carol, changed alice
(port); prices changed; accounts: added AC…``. :meth:`gateway.runtime.Gateway.reload` applies
it. Secrets (auth tokens, PINs, URLs, which may carry credentials) are named, never shown.

Most of the configuration takes effect at once: ``[[numbers]]``, ``[[services]]``, ``[prices]``,
``[[accounts]]``, ``[[modems]]`` (only the modems added, removed or changed are opened or
closed) and the ``[gateway]`` keys in :data:`LIVE_KEYS`. The keys in :data:`RESTART_KEYS` are
fixed while the gateway runs (the listening socket, the database, the TLS files, aiohttp's
request size): a reload keeps them as they were and says that they take effect at the next
start (:func:`running`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from gateway.config import Account, Config, ModemConfig, NumberConfig, ServiceConfig

# [gateway] keys applied by a reload: to the next request, connection, webhook attempt, health
# check or sweep, and the log from the next line (default_region: to the next number read; the
# configuration's own national numbers were read with the new one already).
LIVE_KEYS: Final = (
    "log_level",
    "log_format",
    "reassembly_timeout",
    "sweep_interval",
    "webhook_timeout",
    "webhook_attempts",
    "health_interval",
    "shutdown_grace",
    "max_concurrent_requests",
    "head_timeout",
    "body_timeout",
    "idle_timeout",
    "max_connections",
    "default_region",
)
# [gateway] keys read once, when the gateway starts (Config field names: listen is host and
# port).
RESTART_KEYS: Final = (
    "host",
    "port",
    "data_dir",
    "tls_cert",
    "tls_key",
    "max_request_bytes",
    "report_timeout",
    "retention_days",
    "console",  # [console]: its routes are made with the application
    "store",  # [store] url: the database is opened once (shown without its password)
)
# Values never written to the log: a change is named only.
_SECRET: Final = (
    "pin",
    "auth_token",
    "api_keys",
    "sms_url",
    "sms_fallback_url",
    "status_callback",
    "voice_url",
    "voice_fallback_url",
)


@dataclass(frozen=True, slots=True)
class ModemChange:
    id: str
    fields: tuple[str, ...]  # the ModemConfig fields that differ


@dataclass(frozen=True, slots=True)
class Changes:
    """What a new configuration changes; each item is a phrase for the log."""

    numbers: tuple[str, ...] = ()  # "+15550002002 sms_url set"
    services: tuple[str, ...] = ()  # "added MG… (Alerts)", "changed MG… (numbers)"
    accounts: tuple[str, ...] = ()  # "added AC…", "changed AC… (auth_token)"
    prices: bool = False
    modems_added: tuple[str, ...] = ()  # ids
    modems_removed: tuple[str, ...] = ()
    modems_changed: tuple[ModemChange, ...] = ()
    settings: tuple[str, ...] = ()  # live [gateway] keys: "webhook_timeout 15 -> 5"
    restart: tuple[str, ...] = ()  # keys kept until the next start: "listen ... -> ..."

    @property
    def empty(self) -> bool:
        return self == Changes()

    @property
    def applied(self) -> bool:
        """Whether anything takes effect now (not only at the next start)."""
        return dataclasses.replace(self, restart=()) != Changes()

    def describe(self) -> str:
        """One line: what changed, by part of the configuration."""
        parts = []
        if self.numbers:
            parts.append("numbers: " + ", ".join(self.numbers))
        if self.services:
            parts.append("services: " + ", ".join(self.services))
        modems = [f"added {id_}" for id_ in self.modems_added]
        modems += [f"removed {id_}" for id_ in self.modems_removed]
        modems += [f"changed {c.id} ({', '.join(c.fields)})" for c in self.modems_changed]
        if modems:
            parts.append("modems: " + ", ".join(modems))
        if self.prices:
            parts.append("prices changed")
        if self.accounts:
            parts.append("accounts: " + ", ".join(self.accounts))
        if self.settings:
            parts.append("gateway: " + ", ".join(self.settings))
        return "; ".join(parts) if parts else "nothing changed"


def diff(old: Config, new: Config) -> Changes:
    """What changes from ``old`` to ``new`` (both validated; ``new`` as read from the file)."""
    added, removed, changed = _modems(old.modems, new.modems)
    return Changes(
        numbers=_numbers(old, new),
        services=_keyed(old.services, new.services, _service_name),
        accounts=_keyed(old.accounts, new.accounts, lambda account: account.sid),
        prices=old.prices != new.prices,
        modems_added=added,
        modems_removed=removed,
        modems_changed=changed,
        settings=tuple(
            f"{key} {_shown(getattr(old, key))} -> {_shown(getattr(new, key))}"
            for key in LIVE_KEYS
            if getattr(old, key) != getattr(new, key)
        ),
        restart=_restart(old, new),
    )


def running(old: Config, new: Config) -> Config:
    """The configuration the gateway runs with once ``new`` is applied: ``new``, but for the
    keys read only at start, which keep ``old``'s values until the next start."""
    kept = {key: getattr(old, key) for key in RESTART_KEYS}
    return dataclasses.replace(new, **kept)


def _restart(old: Config, new: Config) -> tuple[str, ...]:
    changed = []
    if old.listen != new.listen:
        changed.append(f"listen {old.listen} -> {new.listen}")
    for key in RESTART_KEYS[2:]:
        if getattr(old, key) != getattr(new, key):
            changed.append(f"{key} {_shown(getattr(old, key))} -> {_shown(getattr(new, key))}")
    return tuple(changed)


def _shown(value: object) -> str:
    if value is None:
        return "unset"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _numbers(old: Config, new: Config) -> tuple[str, ...]:
    before = {settings.number: settings for settings in old.numbers}
    after = {settings.number: settings for settings in new.numbers}
    phrases = []
    for number in [*after, *(n for n in before if n not in after)]:
        fields = _fields(
            before.get(number, NumberConfig(number)), after.get(number, NumberConfig(number))
        )
        if fields:
            phrases.append(f"{number} {', '.join(fields)}")
    return tuple(phrases)


def _fields(old: Any, new: Any) -> list[str]:
    """Each field of two dataclasses of a kind that differs, as "name set/cleared/changed" for a
    value that may be unset, "name VALUE" for another that is no secret, else the name."""
    phrases = []
    for item in dataclasses.fields(old):
        before, after = getattr(old, item.name), getattr(new, item.name)
        if before == after:
            continue
        if before is None:
            phrases.append(f"{item.name} set")
        elif after is None:
            phrases.append(f"{item.name} cleared")
        elif item.name in _SECRET:
            phrases.append(f"{item.name} changed")
        else:
            phrases.append(f"{item.name} {_shown(after)}")
    return phrases


def _service_name(service: ServiceConfig) -> str:
    return f"{service.sid} ({service.name})" if service.name != service.sid else service.sid


_Keyed = TypeVar("_Keyed", Account, ServiceConfig)


def _keyed(
    old: tuple[_Keyed, ...], new: tuple[_Keyed, ...], name: Callable[[_Keyed], str]
) -> tuple[str, ...]:
    """Accounts or services, by SID: added, removed, and changed (the fields that differ)."""
    before = {item.sid: item for item in old}
    after = {item.sid: item for item in new}
    phrases = [f"added {name(item)}" for sid, item in after.items() if sid not in before]
    phrases += [f"removed {name(item)}" for sid, item in before.items() if sid not in after]
    for sid, item in after.items():
        if sid in before and before[sid] != item:
            phrases.append(f"changed {name(item)} ({', '.join(_differing(before[sid], item))})")
    return tuple(phrases)


def _differing(old: Any, new: Any) -> tuple[str, ...]:
    """The names of the fields in which two dataclasses of a kind differ."""
    return tuple(
        item.name
        for item in dataclasses.fields(old)
        if getattr(old, item.name) != getattr(new, item.name)
    )


def _modems(
    old: tuple[ModemConfig, ...], new: tuple[ModemConfig, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[ModemChange, ...]]:
    before = {modem.id: modem for modem in old}
    after = {modem.id: modem for modem in new}
    added = tuple(id_ for id_ in after if id_ not in before)
    removed = tuple(id_ for id_ in before if id_ not in after)
    changed = tuple(
        ModemChange(id_, _differing(before[id_], modem))
        for id_, modem in after.items()
        if id_ in before and before[id_] != modem
    )
    return added, removed, changed
