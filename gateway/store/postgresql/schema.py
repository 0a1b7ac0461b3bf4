"""The PostgreSQL schema, as numbered migrations of its own (the ``schema_version`` table says
which ran), applied when the store opens under an advisory lock.

Migration 1 is the SQLite schema as its 19 migrations leave it
(:mod:`gateway.store.sqlite.schema`), translated table by table and index by index, so that a
role ported from SQLite finds the same columns: times are ``BIGINT`` microseconds since the
Unix epoch, UTC, as there (exact, sortable, cheap to index, and the same numbers ``smsgw store
copy`` will carry over); SQLite's 0/1 integers are ``BOOLEAN``; its ``BLOB`` is ``BYTEA``; an
``INTEGER PRIMARY KEY`` that SQLite numbers itself is an identity column. Two tables get a
column SQLite has implicitly: ``accounts.position`` and ``phone_numbers.position``, the order
rows were written in (SQLite's rowid, which ``INSERT OR REPLACE`` renews). Not translated yet:
the list clock's triggers (SQLite migration 14). In PostgreSQL, ids from a sequence are not
given in commit order once several nodes insert, and the Messages role, which reads them, is
the place to settle how the list's snapshot is kept; it comes with its own migration.

Append a migration to change the schema; never edit one that has shipped. Each runs in one
transaction with the row that records it, so a failed one leaves nothing half done.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from psycopg import AsyncConnection

from gateway.domain.errors import StoreError

log = logging.getLogger(__name__)

# The advisory lock every smsgw takes to migrate (pg_advisory_lock: one key for the whole
# database, held by one session at a time): "smsgw" in ASCII, a key no other program is
# likely to use on the same database.
SCHEMA_LOCK: Final = 0x736D_7367_77

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: the SQLite schema as of its migration 19.
    """
    CREATE TABLE accounts (
        sid TEXT PRIMARY KEY,
        auth_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        position BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
    );
    CREATE TABLE messages (
        id BIGINT PRIMARY KEY,
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
        next_attempt_at BIGINT NOT NULL DEFAULT 0,
        date_created BIGINT NOT NULL,
        date_updated BIGINT NOT NULL,
        date_sent BIGINT,
        expires_at BIGINT,
        max_price TEXT,
        send_at BIGINT,
        content_retention TEXT,
        address_retention TEXT,
        application_sid TEXT,
        provide_feedback BOOLEAN NOT NULL DEFAULT FALSE,
        sender_pinned BOOLEAN NOT NULL DEFAULT FALSE,
        listed_at BIGINT,
        listed_seq BIGINT,
        report_given_up_at BIGINT
    );
    -- What the dispatcher looks for; small, because messages leave it once sent.
    CREATE INDEX messages_to_send ON messages (modem, next_attempt_at, id)
        WHERE status IN ('queued', 'sending');
    CREATE INDEX messages_to_expire ON messages (expires_at)
        WHERE status IN ('queued', 'sending');
    CREATE INDEX messages_scheduled ON messages (send_at) WHERE status = 'scheduled';
    CREATE INDEX messages_accepted ON messages (id) WHERE status = 'accepted';
    CREATE INDEX messages_listed ON messages (account_sid, listed_at, id);
    CREATE INDEX messages_listed_to ON messages (account_sid, to_number, listed_at, id);
    CREATE INDEX messages_listed_from ON messages (account_sid, from_number, listed_at, id);
    CREATE INDEX messages_moved ON messages (listed_seq) WHERE listed_seq IS NOT NULL;
    CREATE INDEX messages_awaiting_report ON messages (date_sent)
        WHERE status = 'sent' AND report_given_up_at IS NULL;
    CREATE TABLE list_clock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value BIGINT NOT NULL
    );
    INSERT INTO list_clock (id, value) VALUES (1, 0);
    CREATE TABLE segments (
        message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        sequence INTEGER NOT NULL,
        pdu TEXT NOT NULL,
        tpdu_length INTEGER NOT NULL,
        concat_reference INTEGER,
        reference INTEGER,
        sent_at BIGINT,
        delivery TEXT,  -- NULL: no report yet; gateway.domain.delivery
        report_status INTEGER,  -- TP-ST of the latest report
        error_code INTEGER,
        done_date TEXT,  -- TP-DT as YYMMDDhhmm (RawDlrDoneDate)
        reported_at BIGINT,
        claimed_at BIGINT,
        PRIMARY KEY (message_id, sequence)
    );
    -- Parts a report may still be for: sent, and no final report yet.
    CREATE INDEX segments_awaiting_report ON segments (reference, sent_at)
        WHERE reference IS NOT NULL AND (delivery IS NULL OR delivery = 'pending');
    CREATE TABLE inbound_parts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        modem TEXT NOT NULL,
        recipient TEXT NOT NULL,
        sender TEXT NOT NULL,
        group_key TEXT,
        sequence INTEGER NOT NULL,
        total INTEGER NOT NULL,
        text BYTEA NOT NULL,  -- UTF-16-BE: a part may end in half a surrogate pair
        pdu TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        message_sid TEXT,
        generation INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX inbound_parts_by_group ON inbound_parts (group_key, generation)
        WHERE group_key IS NOT NULL;
    CREATE INDEX inbound_parts_waiting ON inbound_parts (received_at)
        WHERE message_sid IS NULL AND group_key IS NOT NULL;
    CREATE INDEX inbound_parts_by_message ON inbound_parts (message_sid)
        WHERE message_sid IS NOT NULL;
    CREATE TABLE receiving_groups (
        group_key TEXT NOT NULL,
        generation INTEGER NOT NULL,
        message_sid TEXT NOT NULL UNIQUE,
        PRIMARY KEY (group_key, generation)
    );
    CREATE TABLE webhooks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_sid TEXT NOT NULL,
        message_sid TEXT,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        method TEXT NOT NULL,
        fallback_url TEXT,
        fallback_method TEXT,
        params TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        state TEXT NOT NULL,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        destination TEXT NOT NULL DEFAULT '',
        use_fallback BOOLEAN NOT NULL DEFAULT FALSE,
        token TEXT
    );
    CREATE INDEX webhooks_by_destination ON webhooks (destination, next_attempt_at, id)
        WHERE state = 'pending';
    CREATE INDEX webhooks_by_message ON webhooks (message_sid, id);
    CREATE TABLE status_reports (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        modem TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        reference INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        status INTEGER NOT NULL,
        pdu TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        matched_sid TEXT,
        matched_sequence INTEGER,
        done_date TEXT
    );
    CREATE INDEX status_reports_unmatched ON status_reports (modem, reference)
        WHERE matched_sid IS NULL;
    CREATE TABLE unreadable_pdus (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        modem TEXT NOT NULL,
        pdu TEXT NOT NULL,
        length INTEGER,
        error TEXT NOT NULL,
        received_at BIGINT NOT NULL
    );
    CREATE TABLE phone_numbers (
        number TEXT PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        account_sid TEXT NOT NULL,
        friendly_name TEXT NOT NULL,
        sms_url TEXT,
        sms_method TEXT NOT NULL,
        sms_fallback_url TEXT,
        sms_fallback_method TEXT NOT NULL,
        status_callback TEXT,
        api_updated BOOLEAN NOT NULL DEFAULT FALSE,  -- set over the API, which then wins
        date_created BIGINT NOT NULL,
        date_updated BIGINT NOT NULL,
        sms_application_sid TEXT,
        voice_url TEXT,
        voice_method TEXT NOT NULL DEFAULT 'POST',
        voice_fallback_url TEXT,
        voice_fallback_method TEXT NOT NULL DEFAULT 'POST',
        -- SQLite's rowid: a number saved again is listed last (INSERT OR REPLACE there).
        position BIGINT NOT NULL UNIQUE
    );
    CREATE SEQUENCE phone_numbers_position OWNED BY phone_numbers.position;
    ALTER TABLE phone_numbers ALTER COLUMN position
        SET DEFAULT nextval('phone_numbers_position');
    CREATE TABLE deleted_messages (
        sid TEXT PRIMARY KEY,
        id BIGINT NOT NULL
    );
    CREATE TABLE health (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        checked_at BIGINT NOT NULL
    );
    CREATE TABLE applications (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        account_sid TEXT NOT NULL,
        friendly_name TEXT,
        api_version TEXT NOT NULL,
        sms_url TEXT,
        sms_method TEXT NOT NULL,
        sms_fallback_url TEXT,
        sms_fallback_method TEXT NOT NULL,
        sms_status_callback TEXT,
        message_status_callback TEXT,
        voice_url TEXT,
        voice_method TEXT NOT NULL,
        voice_fallback_url TEXT,
        voice_fallback_method TEXT NOT NULL,
        status_callback TEXT,
        status_callback_method TEXT NOT NULL,
        voice_caller_id_lookup BOOLEAN NOT NULL,
        public_application_connect_enabled BOOLEAN NOT NULL,
        date_created BIGINT NOT NULL,
        date_updated BIGINT NOT NULL
    );
    CREATE TABLE message_feedback (
        message_sid TEXT PRIMARY KEY,
        account_sid TEXT NOT NULL,
        outcome TEXT NOT NULL,  -- 'confirmed' or 'unconfirmed'
        date_created BIGINT NOT NULL,
        date_updated BIGINT NOT NULL
    );
    -- The secret recipients are keyed with (gateway.domain.quota.recipient_key): one per
    -- database, so every node keys them alike. 32 bytes from the server's strong random
    -- source (gen_random_uuid, built in since PostgreSQL 13, draws on pg_strong_random; its
    -- version and variant bits make 244 of the 256 random), without the pgcrypto extension.
    CREATE TABLE recipient_secret (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        secret BYTEA NOT NULL
    );
    INSERT INTO recipient_secret (id, secret) VALUES (1, decode(
        replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''),
        'hex'
    ));
    CREATE TABLE parts_sent (
        slot BIGINT NOT NULL,
        modem TEXT NOT NULL,
        recipient TEXT NOT NULL,
        parts INTEGER NOT NULL,
        PRIMARY KEY (slot, modem, recipient)
    );
    """,
    # 2: the SQLite schema's migration 20 (an account's troubled webhooks).
    """
    CREATE INDEX webhooks_troubled ON webhooks (account_sid, updated_at, id)
        WHERE attempts > 0 AND state <> 'delivered';
    """,
    # 3: the SQLite schema's migration 21 (a webhook's last attempts, gateway.domain.attempt_log).
    """
    ALTER TABLE webhooks ADD COLUMN attempt_log TEXT;
    """,
)


async def migrate(db: AsyncConnection[Any]) -> list[int]:
    """Bring the database to the newest schema; returns the migrations this call applied
    (none when another smsgw, or an earlier start, applied them). ``db`` is in autocommit
    mode: the lock is the session's, each migration a transaction of its own.

    Several nodes may start at once: the first to take the lock migrates, the others wait
    for it (said in the log, since a start then takes as long as the migration) and find the
    work done."""
    got = await db.execute("SELECT pg_try_advisory_lock(%s)", (SCHEMA_LOCK,))
    locked = await got.fetchone()
    if not (locked and locked[0]):
        log.info("waiting for another smsgw to finish migrating the database")
        await db.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
    try:
        return await _apply(db)
    finally:
        await db.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


async def _apply(db: AsyncConnection[Any]) -> list[int]:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, "
        "applied_at BIGINT NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000000))"
    )
    got = await db.execute("SELECT coalesce(max(version), 0) FROM schema_version")
    row = await got.fetchone()
    version = int(row[0]) if row else 0
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the database is at schema version {version}, newer than this smsgw knows "
            f"({len(MIGRATIONS)}); upgrade smsgw"
        )
    applied = []
    for number, script in enumerate(MIGRATIONS[version:], version + 1):
        async with db.transaction():
            await db.execute(script.encode())  # no parameters: several statements in one
            await db.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
        applied.append(number)
    if applied:
        log.info("migrated the database to schema version %d", applied[-1])
    return applied
