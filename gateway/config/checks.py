"""The checks of a configuration as a whole, once each entry is read."""

from __future__ import annotations

from gateway.config.model import Account, Config
from gateway.domain.errors import ConfigError


def cross_check(config: Config) -> None:
    """What no single entry shows: each modem id, modem number, ``[[numbers]]`` entry, Account
    and API key SID and service once; the accounts the modems name configured; each service's
    numbers a modem's, in one service, of one account."""
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
