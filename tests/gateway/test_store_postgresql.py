"""The PostgreSQL engine itself (issue 19), on the session's database (:mod:`tests.postgres`):
its migrations, applied once however many nodes open the store at once; psycopg's errors as
one readable :class:`StoreError`; a connection lost, reported and then replaced; the health
probe. What its roles do is the store contract's (tests/gateway/store_contract)."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest

from gateway.config import Account
from gateway.domain.errors import StoreError
from gateway.domain.models import new_sid
from gateway.store.postgresql import PostgresStore
from gateway.store.postgresql.engine import Db
from gateway.store.postgresql.schema import MIGRATIONS, SCHEMA_LOCK
from tests.postgres import emptied, schema_url

MIGRATED = "migrated the database to schema version"
WAITING = "waiting for another smsgw to finish migrating the database"


class _Heard(logging.Handler):
    """Calls ``then`` for each record of the schema's log whose message starts with ``text``
    (in the event loop's thread: the record is made by the coroutine that logs it)."""

    def __init__(self, text: str, then: Callable[[], None]) -> None:
        super().__init__()
        self.text, self.then = text, then

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.text):
            self.then()


@pytest.fixture
def schema_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="gateway.store.postgresql.schema")
    return caplog


@pytest.fixture
async def store(postgresql_url: str) -> AsyncIterator[PostgresStore]:
    opened = PostgresStore(postgresql_url)
    await opened.open()
    await emptied(postgresql_url)
    try:
        yield opened
    finally:
        await opened.close()


async def versions(url: str) -> list[int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        got = await db.execute("SELECT version FROM schema_version ORDER BY version")
        return [version for (version,) in await got.fetchall()]


def migrated(caplog: pytest.LogCaptureFixture) -> int:
    return sum(record.getMessage().startswith(MIGRATED) for record in caplog.records)


async def test_two_nodes_opening_at_once_migrate_the_database_once(
    postgresql_url: str, schema_log: pytest.LogCaptureFixture
) -> None:
    url = schema_url(postgresql_url)
    both_waiting, waiting = asyncio.Event(), []

    def one_waits() -> None:
        waiting.append(1)
        if len(waiting) == 2:
            both_waiting.set()

    heard = _Heard(WAITING, one_waits)
    logging.getLogger("gateway.store.postgresql.schema").addHandler(heard)
    first, second = PostgresStore(url), PostgresStore(url)
    try:
        # The lock held here, as by a node in the middle of migrating: both wait for it.
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as holder:
            await holder.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            opening = [asyncio.create_task(store.open()) for store in (first, second)]
            await asyncio.wait_for(both_waiting.wait(), 10)
            await holder.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
            await asyncio.gather(*opening)
        # One took the lock and migrated; the other waited for it and found the work done.
        assert migrated(schema_log) == 1
        assert await versions(url) == list(range(1, len(MIGRATIONS) + 1))
        account = Account(new_sid("AC"), "token")
        await first.add_account(account)
        assert await second.accounts() == [account]  # one database, seen from both
    finally:
        logging.getLogger("gateway.store.postgresql.schema").removeHandler(heard)
        await first.close()
        await second.close()


async def test_opening_a_migrated_database_again_changes_nothing(
    postgresql_url: str, schema_log: pytest.LogCaptureFixture
) -> None:
    url = schema_url(postgresql_url)
    store = PostgresStore(url)
    await store.open()
    account = Account(new_sid("AC"), "token")
    await store.add_account(account)
    await store.close()
    assert migrated(schema_log) == 1
    again = PostgresStore(url)
    await again.open()
    try:
        assert migrated(schema_log) == 1
        assert await versions(url) == list(range(1, len(MIGRATIONS) + 1))
        assert await again.accounts() == [account]
    finally:
        await again.close()


async def test_a_database_migrated_by_a_newer_smsgw_is_refused(postgresql_url: str) -> None:
    url = schema_url(postgresql_url)
    store = PostgresStore(url)
    await store.open()
    await store.close()
    newer = len(MIGRATIONS) + 1
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        await db.execute("INSERT INTO schema_version (version) VALUES (%s)", (newer,))
    with pytest.raises(StoreError) as refused:
        await PostgresStore(url).open()
    assert str(refused.value) == (
        f"the database is at schema version {newer}, newer than this smsgw knows "
        f"({len(MIGRATIONS)}); upgrade smsgw"
    )
    # The schema's lock was let go: another node is not kept waiting for it.
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        got = await db.execute("SELECT pg_try_advisory_lock(%s)", (SCHEMA_LOCK,))
        assert await got.fetchone() == (True,)


async def test_a_server_that_refuses_connections_is_unreachable_in_one_line() -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    store = PostgresStore(f"postgresql://postgres@127.0.0.1:{port}/smsgw")
    with pytest.raises(StoreError) as refused:
        await store.open()
    message = str(refused.value)
    assert message.startswith(
        f'the database is unreachable: connection failed: connection to server at "127.0.0.1", '
        f"port {port} failed: Connection refused"
    )
    assert "\n" not in message
    assert isinstance(refused.value.__cause__, psycopg.OperationalError)


async def test_a_url_libpq_cannot_read_is_refused_without_its_password() -> None:
    store = PostgresStore("postgresql://smsgw:hunter2@db.example/smsgw?flavour=strong")
    with pytest.raises(StoreError) as refused:
        await store.open()
    message = str(refused.value)
    assert message == (
        "libpq cannot read [store] url 'postgresql://smsgw:***@db.example/smsgw?flavour=strong': "
        'invalid URI query parameter: "flavour"'
    )


async def test_a_refused_statement_is_a_store_error_that_says_why(store: PostgresStore) -> None:
    account = Account(new_sid("AC"), "token")
    await store.add_account(account)
    with pytest.raises(StoreError) as refused:
        await store.add_account(account)
    assert str(refused.value) == (
        "the database could not do it: "
        'duplicate key value violates unique constraint "accounts_pkey"'
    )
    assert isinstance(refused.value.__cause__, psycopg.errors.UniqueViolation)
    assert await store.accounts() == [account]


async def test_a_connection_stopped_by_the_server_mid_write_commits_nothing(
    store: PostgresStore,
) -> None:
    account = Account(new_sid("AC"), "token")

    async def stopped(db: Db) -> None:
        await db.execute(
            "INSERT INTO accounts (sid, auth_token, created_at) VALUES (%s, 'token', 0)",
            (account.sid,),
        )
        # The server ends this session (as a restart, or an administrator, does).
        await db.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(StoreError) as lost:
        await store._write(stopped)
    assert str(lost.value) == (
        "the database is unreachable: terminating connection due to administrator command"
    )
    # The next write has a connection again, and the one cut off committed nothing.
    assert await store.accounts() == []
    await store.add_account(account)
    assert await store.accounts() == [account]


async def test_a_connection_ended_while_idle_is_replaced(postgresql_url: str) -> None:
    name = f"smsgw-test-{uuid.uuid4().hex[:8]}"
    store = PostgresStore(f"{postgresql_url}?application_name={name}")
    await store.open()
    try:
        await emptied(postgresql_url)
        async with await psycopg.AsyncConnection.connect(postgresql_url, autocommit=True) as db:
            got = await db.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            )
            assert await got.fetchone() == (1,)  # the pool's one idle connection
        account = Account(new_sid("AC"), "token")
        await store.add_account(account)  # on a new connection: nothing to see
        assert await store.accounts() == [account]
        assert await store.health() is None
    finally:
        await store.close()


async def test_health_is_none_while_the_database_takes_commits(store: PostgresStore) -> None:
    assert await store.health() is None


async def test_health_says_why_the_probe_cannot_commit(postgresql_url: str) -> None:
    url = schema_url(postgresql_url)
    store = PostgresStore(url)
    await store.open()
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
            await db.execute("DROP TABLE health")
        assert await store.health() == (
            'the database could not do it: relation "health" does not exist'
        )
    finally:
        await store.close()


async def test_a_closed_store_refuses_work(postgresql_url: str) -> None:
    store = PostgresStore(postgresql_url)

    async def nothing(db: Db) -> Any:
        return None

    with pytest.raises(StoreError, match="the store is not open"):
        await store._read(nothing)
