"""The SQLite store (standard library ``sqlite3``, WAL, ``synchronous=FULL``): every role of
:class:`gateway.store.Store`, each in a module of its own over one :class:`Engine`.

- :mod:`~gateway.store.sqlite.engine`: the file, its writer and reader threads
  (:mod:`~gateway.store.sqlite.worker`), the migrations (:mod:`~gateway.store.sqlite.schema`),
  the health probe;
- :mod:`~gateway.store.sqlite.outbound` and :mod:`~gateway.store.sqlite.routing`: the queue of
  messages out (the dispatcher's side, and messages waiting for a sender);
- :mod:`~gateway.store.sqlite.inbound`: received parts and messages, status reports;
- :mod:`~gateway.store.sqlite.webhooks`: the webhook queue;
- :mod:`~gateway.store.sqlite.messages`: the API's reads and changes
  (:mod:`~gateway.store.sqlite.listing`: the list's pages);
- :mod:`~gateway.store.sqlite.numbers` and :mod:`~gateway.store.sqlite.accounts`;
- :mod:`~gateway.store.sqlite.retention`: old finished messages deleted (``retention_days``);
- :mod:`~gateway.store.sqlite.trail`: what the store keeps of one message, for an audit;
- :mod:`~gateway.store.sqlite.rows` (tables to dataclasses) and
  :mod:`~gateway.store.sqlite.transitions` (the rules of :mod:`gateway.domain.lifecycle`
  applied: each status change committed with its callback and retention, reports applied to
  their parts).
"""

from __future__ import annotations

from gateway.store.queries import MessageTrail
from gateway.store.sqlite.accounts import SqliteAccounts, read_accounts
from gateway.store.sqlite.engine import DATABASE_NAME, Engine
from gateway.store.sqlite.inbound import SqliteInboundLog
from gateway.store.sqlite.messages import SqliteMessages
from gateway.store.sqlite.numbers import SqliteNumbers
from gateway.store.sqlite.outbound import SqliteSendQueue
from gateway.store.sqlite.retention import SqliteRetention
from gateway.store.sqlite.routing import SqliteRoutingQueue
from gateway.store.sqlite.trail import read_trail
from gateway.store.sqlite.webhooks import SqliteWebhookQueue

__all__ = ["DATABASE_NAME", "Engine", "SqliteStore", "read_accounts"]


class SqliteStore(
    SqliteSendQueue,
    SqliteRoutingQueue,
    SqliteInboundLog,
    SqliteWebhookQueue,
    SqliteMessages,
    SqliteNumbers,
    SqliteAccounts,
    SqliteRetention,
):
    """Every role over one database: ``SqliteStore(data_dir)`` opens (and migrates)
    ``data_dir/smsgw.sqlite3``."""

    # --- what the store keeps of one message (read only; issue 15, step 5) ---------------------

    async def message_trail(self, sid: str) -> MessageTrail | None:
        return await self._read(lambda db: read_trail(db, sid))
