"""The Accounts role (:class:`gateway.store.Accounts`) on PostgreSQL: the accounts the gateway
generated itself, shared by every node on the database."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.config import Account
from gateway.store.postgresql.engine import Db, Engine
from gateway.store.postgresql.rows import to_micros


class PostgresAccounts(Engine):
    """:class:`gateway.store.Accounts`."""

    async def accounts(self) -> list[Account]:
        async def job(db: Db) -> list[Account]:
            # position: the order they were added in, where two share a microsecond.
            got = await db.execute(
                "SELECT sid, auth_token FROM accounts ORDER BY created_at, position"
            )
            return [Account(sid, token) for sid, token in await got.fetchall()]

        return await self._read(job)

    async def add_account(self, account: Account) -> None:
        now = to_micros(datetime.now(UTC))

        async def job(db: Db) -> None:
            await db.execute(
                "INSERT INTO accounts (sid, auth_token, created_at) VALUES (%s, %s, %s)",
                (account.sid, account.auth_token, now),
            )

        await self._write(job)
