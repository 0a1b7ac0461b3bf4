"""The PostgreSQL store (issue 19: several gateways on one database), so far its foundation:
the engine (a pool of connections, a transaction per write, the health probe, psycopg's errors
as :class:`~gateway.domain.errors.StoreError`), its migrations, and the small roles
(:class:`~gateway.store.Accounts`, :class:`~gateway.store.Numbers`,
:class:`~gateway.store.roles.Health`). :class:`PostgresStore` is not a
:class:`gateway.store.Store` yet (no queue, no inbound log, no webhooks), and no
configuration selects it (:func:`gateway.runtime.configured_store` refuses it).

- :mod:`~gateway.store.postgresql.engine`: the pool, transactions, errors, the health probe;
- :mod:`~gateway.store.postgresql.schema`: the migrations, applied at open under an advisory
  lock (the SQLite schema translated);
- :mod:`~gateway.store.postgresql.accounts` and :mod:`~gateway.store.postgresql.numbers`;
- :mod:`~gateway.store.postgresql.rows`: columns and values, the same as SQLite's.

The adapter is psycopg 3 (``pip install 'smsgw[postgresql]'``; imported only with this
package, which only a ``postgresql://`` store URL loads): it is PostgreSQL's reference adapter
over libpq, so a store URL means what it means to ``psql`` (its query parameters, several
hosts, ``.pgpass``, TLS); it has ``LISTEN``/``NOTIFY`` on an async connection, which the nodes
will wake each other with; it prepares the roles' statements on the server; and its binary
wheels, libpq inside, install on a Raspberry Pi (aarch64) with no compiler. Not asyncpg: it
speaks the protocol itself rather than through libpq, so it reads only part of what a libpq
URL or environment may say, and it needs separate stubs for ``mypy --strict``.
"""

from __future__ import annotations

from gateway.store.postgresql.accounts import PostgresAccounts
from gateway.store.postgresql.engine import Engine
from gateway.store.postgresql.numbers import PostgresNumbers
from gateway.store.roles import Accounts, Health, Numbers

__all__ = ["Engine", "PostgresStore"]


class PostgresStore(PostgresAccounts, PostgresNumbers):
    """The roles the PostgreSQL store has so far, over one database:
    ``PostgresStore("postgresql://smsgw@db/smsgw")`` opens (and migrates) it."""


def _conforms(store: PostgresStore) -> tuple[Accounts, Numbers, Health]:
    return store, store, store  # mypy: each role, every method with its signature
