"""The Accounts role (:class:`gateway.store.Accounts`): the accounts the gateway generated
itself, also read from outside a running gateway (:func:`read_accounts`)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from gateway.config import Account
from gateway.domain.errors import StoreError
from gateway.store.sqlite.engine import DATABASE_NAME, Engine
from gateway.store.sqlite.rows import to_micros


class SqliteAccounts(Engine):
    """:class:`gateway.store.Accounts`."""

    async def accounts(self) -> list[Account]:
        def job(db: sqlite3.Connection) -> list[Account]:
            rows = db.execute("SELECT sid, auth_token FROM accounts ORDER BY created_at")
            return [Account(sid, token) for sid, token in rows]

        return await self._read(job)

    async def add_account(self, account: Account) -> None:
        now = to_micros(datetime.now(UTC))

        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO accounts (sid, auth_token, created_at) VALUES (?, ?, ?)",
                (account.sid, account.auth_token, now),
            )

        await self._write(job)


def read_accounts(data_dir: Path) -> list[Account]:
    """The generated accounts, read without opening the store for writing (a command-line
    tool may run beside the gateway). Empty when the database does not exist yet."""
    path = data_dir / DATABASE_NAME
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT sid, auth_token FROM accounts ORDER BY created_at")
            return [Account(sid, token) for sid, token in rows]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
