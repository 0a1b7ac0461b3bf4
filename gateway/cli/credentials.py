"""The credentials the command line talks to the gateway with: the configuration's
``[[accounts]]`` when it has some, otherwise the account the gateway generated in its data
directory (``--data-dir``, else the configuration's ``data_dir``), read-only.

On a Raspberry Pi the data directory is the service user's alone (0700, README "On a
Raspberry Pi"): another user is told whom to run as rather than shown a traceback.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from gateway.cli.common import Failure
from gateway.config import Account, Config
from gateway.domain.errors import StoreError
from gateway.store.sqlite import DATABASE_NAME, read_accounts


@dataclass(frozen=True, slots=True)
class Credentials:
    accounts: tuple[Account, ...]  # never empty; the first is the one the commands use
    source: str  # where they come from, for messages: "[[accounts]] in /etc/smsgw/gateway.toml"

    @property
    def account(self) -> Account:
        return self.accounts[0]


def find(config: Config, data_dir_origin: str, prog: str) -> Credentials:
    """The accounts of ``config`` or of its data directory (``data_dir_origin`` says where
    that was given: ``--data-dir`` or the configuration). ``prog`` is the command, for the
    advice on whom to run it as.

    Raises :class:`~gateway.cli.common.Failure` when there is no account, or when the data
    directory cannot be read.
    """
    if config.accounts:
        return Credentials(config.accounts, f"[[accounts]] in {config.path}")
    stored = _stored(config, prog)
    if not stored:
        raise Failure(
            f"no account: no [[accounts]] in {config.path} and none in {config.data_dir} "
            f"({data_dir_origin}); the gateway makes one there at its first start (if it runs "
            "with another --data-dir, give the same one)"
        )
    return Credentials(tuple(stored), f"the database in {config.data_dir}")


def _stored(config: Config, prog: str) -> list[Account]:
    database = config.data_dir / DATABASE_NAME
    try:
        readable = not database.exists() or os.access(database, os.R_OK)
    except PermissionError:  # the directory cannot be searched
        readable = False
    if not readable:
        raise Failure(
            f"cannot read the accounts in {config.data_dir} (permission denied): "
            f"{_run_as(database, prog)}put [[accounts]] in {config.path}"
        )
    try:
        return read_accounts(config.data_dir)
    except StoreError as exc:
        raise Failure(str(exc)) from None


def _run_as(database: Path, prog: str) -> str:
    """Advice to run as the owner of the data (the service's user), when that is someone else."""
    for path in (database, database.parent):
        try:
            owner = path.stat().st_uid
        except OSError:
            continue
        if owner == os.getuid():
            return ""
        try:
            name = pwd.getpwuid(owner).pw_name
        except KeyError:
            return ""
        return f"run as {name} (sudo -u {name} {prog} ...) or "
    return ""
