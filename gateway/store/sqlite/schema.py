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
    # 2: inbound parts (deduplicated, reassembled), the webhook queue, status reports, PDUs
    # that could not be decoded (kept, never dropped).
    """
    CREATE TABLE inbound_parts (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        modem TEXT NOT NULL,
        recipient TEXT NOT NULL,
        sender TEXT NOT NULL,
        group_key TEXT,
        sequence INTEGER NOT NULL,
        total INTEGER NOT NULL,
        text BLOB NOT NULL,  -- UTF-16-BE: a part may end in half a surrogate pair
        pdu TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        message_sid TEXT
    );
    CREATE INDEX inbound_parts_by_group ON inbound_parts (group_key) WHERE group_key IS NOT NULL;
    CREATE INDEX inbound_parts_waiting ON inbound_parts (received_at)
        WHERE message_sid IS NULL AND group_key IS NOT NULL;
    CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY,
        account_sid TEXT NOT NULL,
        message_sid TEXT,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        method TEXT NOT NULL,
        fallback_url TEXT,
        fallback_method TEXT,
        params TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE state = 'pending';
    CREATE INDEX webhooks_by_message ON webhooks (message_sid, id) WHERE state = 'pending';
    CREATE TABLE status_reports (
        id INTEGER PRIMARY KEY,
        modem TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        reference INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        status INTEGER NOT NULL,
        pdu TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        matched_sid TEXT
    );
    CREATE TABLE unreadable_pdus (
        id INTEGER PRIMARY KEY,
        modem TEXT NOT NULL,
        pdu TEXT NOT NULL,
        length INTEGER,
        error TEXT NOT NULL,
        received_at INTEGER NOT NULL
    );
    """,
    # 3: delivery reports matched to the parts they report on, the status each part reached,
    # when an unsent message expires (ValidityPeriod), and MaxPrice.
    """
    ALTER TABLE segments ADD COLUMN delivery TEXT;  -- NULL: no report yet; gateway.domain.delivery
    ALTER TABLE segments ADD COLUMN report_status INTEGER;  -- TP-ST of the latest report
    ALTER TABLE segments ADD COLUMN error_code INTEGER;
    ALTER TABLE segments ADD COLUMN done_date TEXT;  -- TP-DT as YYMMDDhhmm (RawDlrDoneDate)
    ALTER TABLE segments ADD COLUMN reported_at INTEGER;
    -- Parts a report may still be for: sent, and no final report yet.
    CREATE INDEX segments_awaiting_report ON segments (reference, sent_at)
        WHERE reference IS NOT NULL AND (delivery IS NULL OR delivery = 'pending');
    ALTER TABLE status_reports ADD COLUMN matched_sequence INTEGER;
    ALTER TABLE status_reports ADD COLUMN done_date TEXT;
    CREATE INDEX status_reports_unmatched ON status_reports (modem, reference)
        WHERE matched_sid IS NULL;
    ALTER TABLE messages ADD COLUMN expires_at INTEGER;
    ALTER TABLE messages ADD COLUMN max_price TEXT;
    UPDATE messages SET expires_at = date_created + coalesce(validity_period, 14400) * 1000000
        WHERE status IN ('queued', 'sending');
    CREATE INDEX messages_to_expire ON messages (expires_at)
        WHERE status IN ('queued', 'sending');
    """,
    # 4: scheduled messages, Messaging Service messages waiting for a sender, and the phone
    # numbers' settings as the API last set them.
    """
    ALTER TABLE messages ADD COLUMN send_at INTEGER;
    CREATE INDEX messages_scheduled ON messages (send_at) WHERE status = 'scheduled';
    CREATE INDEX messages_accepted ON messages (id) WHERE status = 'accepted';
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
        api_updated INTEGER NOT NULL DEFAULT 0,  -- 1: set over the API, which then wins
        date_created INTEGER NOT NULL,
        date_updated INTEGER NOT NULL
    );
    """,
    # 5: where deleted messages stood, so that a page token naming one still finds its place.
    """
    CREATE TABLE deleted_messages (
        sid TEXT PRIMARY KEY,
        id INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 6: the privacy settings of a message (ContentRetention, AddressRetention).
    """
    ALTER TABLE messages ADD COLUMN content_retention TEXT;  -- 'discard': no text once sent
    ALTER TABLE messages ADD COLUMN address_retention TEXT;  -- 'obfuscate': once final
    """,
    # 7: webhooks delivered side by side, a few at a time per receiver. Each pending webhook's
    # destination (scheme://host:port of the URL its next request goes to: the queue leaves
    # out a destination that has no room, by this index), whether that next request is to the
    # fallback URL, and its I-Twilio-Idempotency-Token. The pending rows are filled in by the
    # functions the store gives its connection (gateway.store.sqlite.engine.register_functions),
    # the same ones new rows get theirs from; webhooks already done keep neither.
    """
    ALTER TABLE webhooks ADD COLUMN destination TEXT NOT NULL DEFAULT '';
    ALTER TABLE webhooks ADD COLUMN use_fallback INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE webhooks ADD COLUMN token TEXT;
    UPDATE webhooks SET destination = smsgw_destination(url), token = smsgw_token()
        WHERE state = 'pending';
    DROP INDEX webhooks_due;
    CREATE INDEX webhooks_by_destination ON webhooks (destination, next_attempt_at, id)
        WHERE state = 'pending';
    """,
    # 8: a part handed to the modem (AT+CMGS) but not yet acknowledged may be on the air: its
    # message is past expiring, and past moving to another modem. One row the health check
    # writes, to know that the database still takes a commit (a full disk does not).
    """
    ALTER TABLE segments ADD COLUMN claimed_at INTEGER;
    CREATE TABLE health (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        checked_at INTEGER NOT NULL
    );
    """,
    # 9: the message a concatenated SMS is while its parts still arrive (status 'receiving'),
    # by the group its parts share; the row goes when the message is received. A group already
    # waiting when this runs gets its message as the same start resumes it (InboundReceiver).
    """
    CREATE TABLE receiving_groups (
        group_key TEXT PRIMARY KEY,
        message_sid TEXT NOT NULL UNIQUE
    ) WITHOUT ROWID;
    """,
    # 10: Applications (AP…), per account: a number's inbound messages go to its application's
    # SMS URLs (sms_application_sid), a message's status callbacks to the application it
    # names (ApplicationSid), looked up when each callback is made.
    """
    CREATE TABLE applications (
        id INTEGER PRIMARY KEY,
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
        voice_caller_id_lookup INTEGER NOT NULL,
        public_application_connect_enabled INTEGER NOT NULL,
        date_created INTEGER NOT NULL,
        date_updated INTEGER NOT NULL
    );
    ALTER TABLE phone_numbers ADD COLUMN sms_application_sid TEXT;
    ALTER TABLE messages ADD COLUMN application_sid TEXT;
    """,
    # 11: Message Feedback. Whether a message was created with ProvideFeedback=true (only then
    # may its Feedback be created), and the outcome reported for it (gateway.domain.feedback), kept
    # until the message is deleted.
    """
    ALTER TABLE messages ADD COLUMN provide_feedback INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE message_feedback (
        message_sid TEXT PRIMARY KEY,
        account_sid TEXT NOT NULL,
        outcome TEXT NOT NULL,  -- 'confirmed' or 'unconfirmed'
        date_created INTEGER NOT NULL,
        date_updated INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 12: a group's reference comes back for a later message (TS 23.040 §9.2.3.24.1: a modulo
    # 256 counter): the parts of each message under it are a generation of the group, counted
    # from 0 (every part and group stored before is in generation 0), and the message shown
    # 'receiving' is that of a group's generation.
    """
    ALTER TABLE inbound_parts ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    DROP INDEX inbound_parts_by_group;
    CREATE INDEX inbound_parts_by_group ON inbound_parts (group_key, generation)
        WHERE group_key IS NOT NULL;
    CREATE TABLE receiving_generations (
        group_key TEXT NOT NULL,
        generation INTEGER NOT NULL,
        message_sid TEXT NOT NULL UNIQUE,
        PRIMARY KEY (group_key, generation)
    ) WITHOUT ROWID;
    INSERT INTO receiving_generations (group_key, generation, message_sid)
        SELECT group_key, 0, message_sid FROM receiving_groups;
    DROP TABLE receiving_groups;
    ALTER TABLE receiving_generations RENAME TO receiving_groups;
    """,
    # 13: a Messaging Service message sent with a From: that number sends it, and a failover
    # never moves it to another number of the pool.
    """
    ALTER TABLE messages ADD COLUMN sender_pinned INTEGER NOT NULL DEFAULT 0;
    """,
    # 14: the list's order, and page tokens that stay exact while messages are sent (the seed:
    # "sorted on the DateSent field with the most recent messages appearing first"; see
    # gateway.store.sqlite.listing). listed_at is where a message stands: its date_sent or, for one
    # that ended (a final status) without being sent, when it ended; NULL while it waits to
    # be sent, above every sent one (a new message gets it from gateway.store.sqlite.rows, a message
    # that changes from these triggers). The list clock counts, in commit order, what changes the
    # list: it stands at the highest of list_clock.value and the messages' ids; a new message
    # takes its next value as its id (gateway.store.sqlite.rows.insert_message), a message given its
    # listed_at after its insert the next as its listed_seq (list_clock.value keeps it, and the
    # id of a deleted newest message, so that no id is used twice). A page token keeps the
    # clock at its first page: the rows with a higher id or listed_seq are read as they stood
    # then. The final statuses are gateway.domain.models.FINAL_STATUSES. deleted_messages is no
    # longer written: a page token carries its position itself.
    """
    CREATE TABLE list_clock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value INTEGER NOT NULL
    );
    INSERT INTO list_clock (id, value) VALUES (1, max(
        coalesce((SELECT max(id) FROM messages), 0),
        coalesce((SELECT max(id) FROM deleted_messages), 0)
    ));
    ALTER TABLE messages ADD COLUMN listed_at INTEGER;
    ALTER TABLE messages ADD COLUMN listed_seq INTEGER;
    UPDATE messages SET listed_at = coalesce(date_sent, date_updated)
        WHERE date_sent IS NOT NULL
        OR status IN ('canceled', 'sent', 'failed', 'delivered', 'undelivered', 'received');
    DROP INDEX messages_by_account;
    DROP INDEX messages_by_from;
    DROP INDEX messages_by_date_sent;
    CREATE INDEX messages_listed ON messages (account_sid, listed_at, id);
    CREATE INDEX messages_listed_to ON messages (account_sid, to_number, listed_at, id);
    CREATE INDEX messages_listed_from ON messages (account_sid, from_number, listed_at, id);
    -- The messages that took their place after their insert: those a page token's snapshot
    -- may have seen waiting.
    CREATE INDEX messages_moved ON messages (listed_seq) WHERE listed_seq IS NOT NULL;
    CREATE TRIGGER messages_clock AFTER DELETE ON messages BEGIN
        UPDATE list_clock SET value = OLD.id WHERE id = 1 AND value < OLD.id;
    END;
    CREATE TRIGGER messages_sent AFTER UPDATE OF date_sent ON messages
        WHEN NEW.date_sent IS NOT NULL AND NEW.date_sent IS NOT OLD.date_sent
    BEGIN
        UPDATE list_clock
            SET value = max(value, coalesce((SELECT max(id) FROM messages), 0)) + 1 WHERE id = 1;
        UPDATE messages SET listed_at = NEW.date_sent,
            listed_seq = (SELECT value FROM list_clock WHERE id = 1)
            WHERE id = NEW.id;
    END;
    CREATE TRIGGER messages_ended AFTER UPDATE OF status ON messages
        WHEN NEW.listed_at IS NULL AND NEW.date_sent IS NULL
            AND NEW.status IN ('canceled', 'sent', 'failed', 'delivered', 'undelivered', 'received')
    BEGIN
        UPDATE list_clock
            SET value = max(value, coalesce((SELECT max(id) FROM messages), 0)) + 1 WHERE id = 1;
        UPDATE messages SET listed_at = NEW.date_updated,
            listed_seq = (SELECT value FROM list_clock WHERE id = 1)
            WHERE id = NEW.id;
    END;
    """,
    # 15: where a number's missed calls are reported (VoiceUrl and its method, fallback URL and
    # its method; gateway.inbound.calls), as the API or the configuration last set them.
    """
    ALTER TABLE phone_numbers ADD COLUMN voice_url TEXT;
    ALTER TABLE phone_numbers ADD COLUMN voice_method TEXT NOT NULL DEFAULT 'POST';
    ALTER TABLE phone_numbers ADD COLUMN voice_fallback_url TEXT;
    ALTER TABLE phone_numbers ADD COLUMN voice_fallback_method TEXT NOT NULL DEFAULT 'POST';
    """,
    # 16: the parts sent since a moment, through their sent_at (gateway.domain.quota: what a
    # modem's plan caps have used this day and month, read once when its worker starts);
    # dropped by 17, once its copy into parts_sent is made.
    """
    CREATE INDEX segments_by_sent_at ON segments (sent_at) WHERE sent_at IS NOT NULL;
    """,
    # 17: what each modem sent, kept apart from the messages, so that a message deleted or its
    # recipient masked (AddressRetention=obfuscate) still counts against its plan's caps
    # (gateway.domain.quota). Parts per modem per quarter hour of UTC (quota.slot: every zone's
    # midnight starts one) and recipient, the recipient as a keyed hash (quota.recipient_key)
    # with this database's own random secret, never the number; a row older than quota.KEPT
    # (a month and a day) is deleted when a newer one is written
    # (gateway.store.sqlite.outbound). Ordered by slot first: a gateway has a few modems, and
    # the old rows of all of them, a removed one's too, are one range to delete. What the
    # messages still show of the last 32 days is carried over (a recipient masked before this
    # migration counts as its mask, a message deleted before it not at all: they are gone).
    """
    CREATE TABLE recipient_secret (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        secret BLOB NOT NULL
    );
    INSERT INTO recipient_secret (id, secret) VALUES (1, randomblob(32));
    CREATE TABLE parts_sent (
        slot INTEGER NOT NULL,
        modem TEXT NOT NULL,
        recipient TEXT NOT NULL,
        parts INTEGER NOT NULL,
        PRIMARY KEY (slot, modem, recipient)
    ) WITHOUT ROWID;
    INSERT INTO parts_sent (slot, modem, recipient, parts)
        SELECT s.sent_at - s.sent_at % 900000000, m.modem,
            smsgw_recipient_key((SELECT secret FROM recipient_secret), m.to_number), count(*)
        FROM segments s JOIN messages m ON m.id = s.message_id
        WHERE s.sent_at >= (CAST(strftime('%s', 'now') AS INTEGER) - 32 * 86400) * 1000000
            AND m.modem IS NOT NULL
        GROUP BY 1, 2, 3;
    -- Migration 16's index served only the copy above: the counts are read from parts_sent
    -- now, and every part recorded would keep updating it for nothing.
    DROP INDEX segments_by_sent_at;
    """,
    # 18: when the gateway stopped waiting for a sent message's delivery reports
    # (report_timeout, gateway.outbound.reports): the message stays `sent`, and a report that
    # comes later is still matched and applied (segments_awaiting_report does not look here).
    # The index holds the messages still waiting, oldest sent first: what the timer sleeps on.
    """
    ALTER TABLE messages ADD COLUMN report_given_up_at INTEGER;
    CREATE INDEX messages_awaiting_report ON messages (date_sent)
        WHERE status = 'sent' AND report_given_up_at IS NULL;
    """,
    # 19: what an SD card is written (issue 17), and the retention policy's deletes
    # (gateway.store.sqlite.retention). messages_by_to went with 14's list indexes in all but
    # name: only the sticky sender's lookup (routing.last_sender) used it, and
    # messages_listed_to finds a recipient's messages as well; every new message wrote it. A
    # webhook's rows by message, done ones too, for the deletes; unconditional, so a webhook
    # that ends no longer rewrites the index (the partial one dropped its entry). A message's
    # inbound parts, for the deletes. (Delivery reports are not indexed by message: that would
    # be one more page written per report; retention walks them in id order.)
    """
    DROP INDEX messages_by_to;
    DROP INDEX webhooks_by_message;
    CREATE INDEX webhooks_by_message ON webhooks (message_sid, id);
    CREATE INDEX inbound_parts_by_message ON inbound_parts (message_sid)
        WHERE message_sid IS NOT NULL;
    """,
    # 20: an account's troubled webhooks (tried at least once and not delivered: retrying, or
    # given up), newest first, for /smsgw/webhooks.json and the console's overview and webhooks
    # page (issue 18: under 100 ms with 100,000 messages; they read the whole table before).
    # Partial: a webhook delivered at its first attempt, nearly all of them, never enters it,
    # so the SD card is written nothing more for it (issue 17).
    """
    CREATE INDEX webhooks_troubled ON webhooks (account_sid, updated_at, id)
        WHERE attempts > 0 AND state != 'delivered';
    """,
    # 21: a webhook's last attempts, each with its time, what came back and which URL it went
    # to (gateway.domain.attempt_log), for its message's console page (issue 18). A column of
    # the row, set by the UPDATE that records each outcome already: no row more per attempt
    # (issue 17). NULL: no attempt yet, or made before this migration.
    """
    ALTER TABLE webhooks ADD COLUMN attempt_log TEXT;
    """,
)
