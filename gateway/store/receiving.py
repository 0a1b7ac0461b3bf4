"""Inbound messages as the store commits them: the message a concatenated SMS is while its
parts still arrive (``receiving``), and the message its parts make in the end (``received``).

What the text is and when a group is complete or given up are decided outside the store
(:mod:`gateway.domain.assembly`, :mod:`gateway.inbound.receiver`); here it is only committed. A
group's generation being received (a sender uses a reference again for a later message) is named in
``receiving_groups`` with its message, so that every part after the first, and a restart, finds
the same message (and its SID) again, and a later generation gets a message of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace

from gateway.domain.models import Message, Status
from gateway.domain.records import Generation, Webhook
from gateway.store.rows import (
    MESSAGE_COLUMNS,
    from_micros,
    insert_message,
    insert_webhook,
    message_row,
    to_micros,
)


def generations(db: sqlite3.Connection, group: str) -> list[Generation]:
    """The generations of ``group`` that have parts waiting, and its newest, oldest first."""
    rows = db.execute(
        "SELECT p.generation, p.sequence, p.message_sid IS NOT NULL, m.date_sent "
        "FROM inbound_parts p LEFT JOIN messages m ON m.sid = p.message_sid "
        "WHERE p.group_key = ?1 AND p.generation IN ("
        "SELECT generation FROM inbound_parts WHERE group_key = ?1 AND message_sid IS NULL "
        "UNION SELECT max(generation) FROM inbound_parts WHERE group_key = ?1)",
        (group,),
    )
    waiting: dict[int, set[int]] = {}
    made: dict[int, set[int]] = {}
    made_at: dict[int, int] = {}
    for number, sequence, in_message, sent in rows:
        waiting.setdefault(number, set())
        made.setdefault(number, set())
        if in_message:
            made[number].add(sequence)
            if sent is not None:
                made_at[number] = max(made_at.get(number, sent), sent)
        else:
            waiting[number].add(sequence)
    return [
        Generation(
            number,
            frozenset(waiting[number]),
            frozenset(made[number]),
            from_micros(made_at.get(number)),
        )
        for number in sorted(waiting)
    ]


def shown(db: sqlite3.Connection, group: str, generation: int) -> Message | None:
    """The message ``group``'s ``generation`` is shown as while its parts arrive, if any yet."""
    row = db.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sid = (SELECT message_sid "
        "FROM receiving_groups WHERE group_key = ? AND generation = ?)",
        (group, generation),
    ).fetchone()
    return None if row is None else message_row(row)


def show(db: sqlite3.Connection, group: str, generation: int, message: Message) -> Message:
    """Commit ``message`` (``receiving``) as what ``group``'s ``generation`` makes so far:
    inserted, and named for it, the first time; after that the message already shown takes its
    ``body``, ``num_segments`` and ``date_updated`` and keeps the rest (its SID above all).
    Returns the message as it now stands."""
    current = shown(db, group, generation)
    if current is None:
        insert_message(db, message)
        db.execute(
            "INSERT INTO receiving_groups (group_key, generation, message_sid) VALUES (?, ?, ?)",
            (group, generation, message.sid),
        )
        return message
    db.execute(
        "UPDATE messages SET body = ?, num_segments = ?, date_updated = ? WHERE sid = ?",
        (message.body, message.num_segments, to_micros(message.date_updated), current.sid),
    )
    return replace(
        current,
        body=message.body,
        num_segments=message.num_segments,
        date_updated=message.date_updated,
    )


def receive(
    db: sqlite3.Connection, message: Message, part_keys: Sequence[str], webhook: Webhook | None
) -> bool:
    """Commit ``message`` made of the parts ``part_keys``, and its webhook, only if every part
    is still waiting (the same parts never make two messages). A message shown ``receiving``
    with its SID becomes this one (the same row: its place in the list stays); otherwise it is
    new."""
    keys = list(part_keys)
    marks = ", ".join("?" * len(keys))
    (waiting,) = db.execute(
        f"SELECT count(*) FROM inbound_parts WHERE key IN ({marks}) AND message_sid IS NULL",
        keys,
    ).fetchone()
    if waiting != len(set(keys)):
        return False  # a part is in a message already: nothing is written
    finished = db.execute(
        "UPDATE messages SET status = ?, body = ?, num_segments = ?, error_code = ?, "
        "error_message = ?, messaging_service_sid = ?, date_updated = ?, date_sent = ? "
        "WHERE sid = ? AND status = ?",
        (
            message.status.value,
            message.body,
            message.num_segments,
            message.error_code,
            message.error_message,
            message.messaging_service_sid,
            to_micros(message.date_updated),
            None if message.date_sent is None else to_micros(message.date_sent),
            message.sid,
            Status.RECEIVING.value,
        ),
    )
    if finished.rowcount == 1:
        db.execute("DELETE FROM receiving_groups WHERE message_sid = ?", (message.sid,))
    else:
        insert_message(db, message)
    db.executemany(
        "UPDATE inbound_parts SET message_sid = ? WHERE key = ?",
        [(message.sid, key) for key in keys],
    )
    if webhook is not None:
        insert_webhook(db, webhook, message.date_updated)
    return True
