"""The PostgreSQL engine's own part: a pool of connections to one database, the migrations
(:mod:`~gateway.store.postgresql.schema`, applied at open), the health probe, and the one place
where psycopg's errors become :class:`~gateway.domain.errors.StoreError`. Each role of the store
(:mod:`gateway.store.roles`) is a class over it, in a module of its own, as in SQLite's.

A role's write is one job run in one transaction (:meth:`Engine._write`): everything it
changes commits together or not at all, and the commit has returned before the caller hears
"done" (PostgreSQL's default ``synchronous_commit``: durable on the server's disk). A read
(:meth:`Engine._read`) runs each statement on its own (autocommit); a read that needs one
snapshot over several statements opens ``db.transaction()`` in its job.

Connections are in autocommit mode, so that nothing but a job's own transaction is ever open
on them, and each is checked as it is taken from the pool (one round trip): after a restart of
the server, or a connection cut, a stale connection is replaced instead of failing the next
write. psycopg prepares a statement on the server once a connection has run it five times, so
the roles' few statements are parsed and planned once per connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from time import monotonic
from typing import Any, Final, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gateway.config.store import redacted
from gateway.domain.errors import StoreError
from gateway.store.postgresql.rows import to_micros
from gateway.store.postgresql.schema import migrate

T = TypeVar("T")
Db = AsyncConnection[Any]
Job = Callable[[Db], Awaitable[T]]

POOL_SIZE: Final = 4  # connections at most: a node's flows rarely have more writes under way
WAIT: Final = 5.0  # seconds to wait for a connection (made or free) before saying why not
_PROBE_EVERY: Final = 1.0  # seconds between two health probes of the database
# What libpq is told unless the URL says otherwise: who is connected (pg_stat_activity), and
# how long a connection attempt may hang on a host that does not answer.
_DEFAULTS: Final = {"application_name": "smsgw", "connect_timeout": str(int(WAIT))}
# A connection lost or refused, besides libpq's own errors (no SQLSTATE) and class 08
# ("connection exception"): the server ending it (57P01 admin_shutdown, 57P02 crash_shutdown)
# or not taking connections yet (57P03 cannot_connect_now). PostgreSQL's manual, appendix A.
_LOST: Final = frozenset({"57P01", "57P02", "57P03"})


class Engine:
    """One database and the pool of connections every role's queries run on (``_write`` in a
    transaction, ``_read`` without)."""

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE, wait: float = WAIT) -> None:
        self.url = url
        self._pool_size = pool_size
        self._wait = wait
        self._conninfo = ""
        self._pool: AsyncConnectionPool[Db] | None = None
        self._probed_at = float("-inf")
        self._probe_result: str | None = None

    async def open(self) -> None:
        """Connect, migrate (under the schema's advisory lock) and fill the pool."""
        self._conninfo = _conninfo(self.url)
        try:
            async with await AsyncConnection.connect(self._conninfo, autocommit=True) as db:
                await migrate(db)
        except psycopg.Error as exc:
            raise translated(exc) from exc
        pool: AsyncConnectionPool[Db] = AsyncConnectionPool(
            self._conninfo,
            kwargs={"autocommit": True},
            min_size=1,
            max_size=self._pool_size,
            open=False,
            check=AsyncConnectionPool.check_connection,
            timeout=self._wait,
            name="smsgw-store",
        )
        try:
            await pool.open(wait=True, timeout=self._wait)
        except PoolTimeout:
            await pool.close()
            raise await self._unreachable() from None
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def health(self) -> str | None:
        """Why the database cannot take a commit now, or ``None``: a probe is committed (at
        most once a second), so that a server gone, a full disk or a read-only standby is seen
        whether or not anything else is being written."""
        now = monotonic()
        if now - self._probed_at < _PROBE_EVERY:
            return self._probe_result

        async def job(db: Db) -> None:
            await db.execute(
                "INSERT INTO health (id, checked_at) VALUES (1, %s) "
                "ON CONFLICT (id) DO UPDATE SET checked_at = EXCLUDED.checked_at",
                (to_micros(datetime.now(UTC)),),
            )

        try:
            await self._write(job)
            result = None
        except StoreError as exc:
            result = str(exc)
        self._probed_at, self._probe_result = monotonic(), result
        return result

    async def _write(self, job: Job[T]) -> T:
        async with self._connection() as db, db.transaction():
            return await job(db)

    async def _read(self, job: Job[T]) -> T:
        async with self._connection() as db:
            return await job(db)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Db]:
        if self._pool is None:
            raise StoreError("the store is not open")
        try:
            async with self._pool.connection() as db:
                yield db
        except PoolTimeout:
            raise await self._unreachable() from None
        except psycopg.Error as exc:
            raise translated(exc) from exc

    async def _unreachable(self) -> StoreError:
        """Why no connection came in time: the reason a new one fails, if it does (the pool's
        own attempts log theirs, but do not say); else every one was busy."""
        try:
            db = await AsyncConnection.connect(self._conninfo)
        except psycopg.Error as exc:
            return translated(exc)
        await db.close()
        return StoreError(
            f"no connection to the database was free in {self._wait:g} s "
            f"(all {self._pool_size} busy)"
        )


def _conninfo(url: str) -> str:
    """``url`` with :data:`_DEFAULTS` for what it leaves out, as libpq reads it."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error as exc:
        reason = _first_line(str(exc))
        raise StoreError(f"libpq cannot read [store] url {redacted(url)!r}: {reason}") from None
    return make_conninfo("", **{**_DEFAULTS, **given})


def translated(exc: psycopg.Error) -> StoreError:
    """``exc`` as the store says it: in one line, the database unreachable (a connection
    refused, cut or ended by the server) or what it could not do. ``exc`` stays the cause."""
    if isinstance(exc, psycopg.OperationalError) and (
        exc.sqlstate is None or exc.sqlstate.startswith("08") or exc.sqlstate in _LOST
    ):
        error = StoreError(f"the database is unreachable: {_first_line(str(exc))}")
    else:
        reason = exc.diag.message_primary or _first_line(str(exc))
        error = StoreError(f"the database could not do it: {reason}")
    error.__cause__ = exc
    return error


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no reason given"
