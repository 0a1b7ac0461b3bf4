"""PostgreSQL for the tests: a database of the run's own on the server the development and CI
machines run (127.0.0.1:5432, trust authentication, superuser ``postgres``; another with
``$SMSGW_TEST_POSTGRESQL``, a URL to a database the user may create databases from), made once
per session and dropped at its end. The server unreachable fails the tests that need it, with
what to do: it is never a reason to skip them.

A test that opens a store on it starts with every table empty (:func:`emptied`): one database,
and one migration, for the whole run. A test that needs a schema of its own (the migrations',
whose subject is an empty database) takes one with :func:`schema_url`, which the URL's
``search_path`` then selects.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

ADMIN: Final = os.environ.get(
    "SMSGW_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """The URL of a database made for this test session (dropped at its end)."""
    name = f"smsgw_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {ADMIN} ({str(exc).strip().splitlines()[0]}): the "
            "PostgreSQL store's tests need it. Start it (Debian: pg_ctlcluster "
            "--skip-systemctl-redirect $(ls /etc/postgresql) main start), or point "
            "$SMSGW_TEST_POSTGRESQL at a server where this user may create databases."
        )
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield _with_database(ADMIN, name)
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def schema_url(url: str) -> str:
    """A new, empty schema in ``url``'s database, and ``url`` with it as its ``search_path``:
    a store opened on it migrates from nothing. Dropped with the database."""
    name = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    options = quote(f"-csearch_path={name}")
    parts = urlsplit(url)
    query = f"{parts.query}&options={options}" if parts.query else f"options={options}"
    return urlunsplit(parts._replace(query=query))


# The tables whose rows the migrations make (gateway/store/postgresql/schema.py): kept, but
# for the list clock, which starts again from 0.
_SEEDED: Final = ("schema_version", "list_clock", "recipient_secret")


async def emptied(url: str) -> None:
    """Every table of the store in ``url``'s database emptied, as a new database has it."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        got = await db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> ALL(%s)",
            (list(_SEEDED),),
        )
        tables = [sql.Identifier(name) for (name,) in await got.fetchall()]
        async with db.transaction():
            if tables:
                truncate = sql.SQL("TRUNCATE {} RESTART IDENTITY")
                await db.execute(truncate.format(sql.SQL(", ").join(tables)))
            await db.execute("UPDATE list_clock SET value = 0")
