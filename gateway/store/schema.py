"""The SQLite schema, as numbered migrations (``PRAGMA user_version`` says which ran).

Append a migration to change the schema; never edit one that has shipped. Times are integer
microseconds since the Unix epoch, UTC: exact, sortable and cheap to index.
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: accounts, messages and their segments.
    """
    CREATE TABLE accounts (
        sid TEXT PRIMARY KEY,
        auth_token TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        account_sid TEXT NOT NULL,
        direction TEXT NOT NULL,
        status TEXT NOT NULL,
        to_number TEXT NOT NULL,
        from_number TEXT,
        body TEXT NOT NULL,
        num_segments INTEGER NOT NULL,
        num_media INTEGER NOT NULL DEFAULT 0,
        error_code INTEGER,
        error_message TEXT,
        price TEXT,
        price_unit TEXT NOT NULL DEFAULT 'USD',
        messaging_service_sid TEXT,
        status_callback TEXT,
        modem TEXT,
        validity_period INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        date_created INTEGER NOT NULL,
        date_updated INTEGER NOT NULL,
        date_sent INTEGER
    );
    CREATE INDEX messages_by_account ON messages (account_sid, id);
    CREATE INDEX messages_by_to ON messages (account_sid, to_number, id);
    CREATE INDEX messages_by_from ON messages (account_sid, from_number, id);
    CREATE INDEX messages_by_date_sent ON messages (account_sid, date_sent);
    -- What the dispatcher looks for; small, because messages leave it once sent.
    CREATE INDEX messages_to_send ON messages (modem, next_attempt_at, id)
        WHERE status IN ('queued', 'sending');
    CREATE TABLE segments (
        message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        sequence INTEGER NOT NULL,
        pdu TEXT NOT NULL,
        tpdu_length INTEGER NOT NULL,
        concat_reference INTEGER,
        reference INTEGER,
        sent_at INTEGER,
        PRIMARY KEY (message_id, sequence)
    ) WITHOUT ROWID;
    """,
)
