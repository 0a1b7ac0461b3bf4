"""Which pending webhooks go next: the queries behind ``due_webhooks`` and ``next_webhook_at``.

A webhook may go when it is due, is not being delivered already, no older webhook of its
message is still pending (a message's webhooks go one at a time, in order), and its destination
(:mod:`gateway.domain.destinations`) has room for another request. The queue is read one destination
at a time, through the index on ``(destination, next_attempt_at, id)``: a destination with no
room costs one index probe however many webhooks it holds, so a receiver that hangs with
hundreds of webhooks waiting never fills a page and never slows the search for the others.
The destinations' webhooks are then merged, oldest first.
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections.abc import Iterator
from typing import Any, Final

from gateway.store import InFlight
from gateway.store.rows import WEBHOOK_COLUMNS

Row = tuple[Any, ...]

NEVER: Final = 2**62  # microseconds: later than any webhook is due
_NEXT_ATTEMPT: Final = WEBHOOK_COLUMNS.split(", ").index("next_attempt_at")
_FIRST_DESTINATION: Final = (
    "SELECT destination FROM webhooks WHERE state = 'pending' ORDER BY destination LIMIT 1"
)
_NEXT_DESTINATION: Final = (
    "SELECT destination FROM webhooks WHERE state = 'pending' AND destination > ? "
    "ORDER BY destination LIMIT 1"
)
# A destination's webhooks that may go by a time, oldest first; in order per message: a
# webhook waits while an older one of its message is still pending (a status callback never
# overtakes the previous one).
_ELIGIBLE: Final = (
    f"SELECT {', '.join('w.' + c for c in WEBHOOK_COLUMNS.split(', '))} FROM webhooks w "
    "WHERE w.state = 'pending' AND w.destination = ? AND w.next_attempt_at <= ? "
    "AND NOT EXISTS (SELECT 1 FROM webhooks o WHERE o.state = 'pending' "
    "AND o.message_sid = w.message_sid AND o.id < w.id) "
    "ORDER BY w.next_attempt_at, w.id"
)


def eligible(db: sqlite3.Connection, until: int, in_flight: InFlight, limit: int) -> list[Row]:
    """Up to ``limit`` rows (:data:`WEBHOOK_COLUMNS`) of webhooks that may go by ``until``
    (microseconds), oldest first, none ``in_flight`` and no more per destination than its
    room."""
    cursors: list[sqlite3.Cursor] = []
    try:
        streams = []
        for destination in _destinations(db):
            room = in_flight.room(destination)
            if room == 0:
                continue
            cursor = db.execute(_ELIGIBLE, (destination, until))
            cursors.append(cursor)
            streams.append(_taken(cursor, in_flight.ids, room))
        merged = heapq.merge(*streams, key=lambda row: (row[_NEXT_ATTEMPT], row[0]))
        return list(itertools.islice(merged, limit))
    finally:
        for cursor in cursors:
            cursor.close()


def next_attempt(row: Row) -> int:
    """When the webhook of ``row`` is due (microseconds)."""
    return int(row[_NEXT_ATTEMPT])


def _destinations(db: sqlite3.Connection) -> Iterator[str]:
    """Every destination with a pending webhook: one index probe each, however many it holds
    (SQLite has no skip-scan without ANALYZE statistics; this is one by hand)."""
    row = db.execute(_FIRST_DESTINATION).fetchone()
    while row is not None:
        yield str(row[0])
        row = db.execute(_NEXT_DESTINATION, (row[0],)).fetchone()


def _taken(cursor: sqlite3.Cursor, in_flight: frozenset[int], room: int | None) -> Iterator[Row]:
    # Read lazily: only as far as the merge asks, and never past the destination's room.
    count = 0
    for row in cursor:
        if row[0] in in_flight:
            continue
        yield tuple(row)
        count += 1
        if room is not None and count >= room:
            return
