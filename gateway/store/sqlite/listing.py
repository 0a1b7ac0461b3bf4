"""The message list's pages, read as the list stood at a moment (a page's snapshot).

The order (:class:`gateway.store.ListPosition`): the messages still waiting to be sent first,
highest id first, then the others by ``listed_at`` (DateSent, or when they ended unsent) and id,
most recent first. schema migration 14 keeps ``listed_at`` and the list clock, which counts in
commit order: a message's id is the clock's next value at its insert, its ``listed_seq`` the
next value when it took its place among the sent (``NULL`` if it had it from its insert).

A page token keeps the clock's value when its first page was read, the *snapshot* S, and every
later page reads the list as it stood at S, from the rows as they are now:

* a row with ``id > S`` came after: it is left out;
* a row with ``listed_seq > S`` was still waiting at S: it stands among the waiting, by its id;
* a deleted row is simply gone.

So a message sent between two pages keeps the place it had when the walk began, and a walk
from a first page lists every message that existed then exactly once (less those deleted on
the way), in the order of that moment: a plain cursor on (date_sent, id) would skip a message
that moved from behind it to before it, or show twice one that moved the other way. The
statements of one page run in one read transaction, so its parts agree with each other.

Every query walks an index in list order and stops at the page's end: the waiting part by
``messages_listed*`` (``listed_at IS NULL``, then id), those that moved since S by
``messages_moved`` (few: the sends since the first page), the rest by ``messages_listed*``
(``listed_at``, id). A DateSent filter is a range of ``listed_at`` (it equals date_sent
wherever a message has one); nothing waiting at S has a DateSent, so it reads that part alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Any, Final

from gateway.domain.models import Direction
from gateway.store.queries import ListPosition, MessagePage, MessageQuery, PageCursor
from gateway.store.sqlite.rows import LIST_CLOCK, MESSAGE_COLUMNS, message_row, to_micros

_DAY_MICROS: Final = 86_400_000_000
_COLUMNS: Final = f"{MESSAGE_COLUMNS}, id, listed_at, listed_seq"
# Where the extra columns stand in a row: after the message's own.
_ID, _LISTED_AT, _LISTED_SEQ = (len(MESSAGE_COLUMNS.split(",")) + offset for offset in range(3))


def read_page(db: sqlite3.Connection, account_sid: str, query: MessageQuery) -> MessagePage | None:
    """The page ``query`` asks for (see :meth:`gateway.store.Messages.list_messages`)."""
    db.execute("BEGIN")  # one read transaction: the page's statements see the same rows
    try:
        return _read(db, account_sid, query)
    finally:
        db.execute("COMMIT")


def list_clock(db: sqlite3.Connection) -> int:
    value: int = db.execute(LIST_CLOCK).fetchone()[0]
    return value


def _read(db: sqlite3.Connection, account_sid: str, query: MessageQuery) -> MessagePage | None:
    cursor = query.cursor
    if cursor is None:
        snapshot = list_clock(db)
        sid = query.after_sid or query.before_sid
        if sid is not None:
            position = _position_now(db, account_sid, sid)
            if position is None:
                return None
            cursor = PageCursor(snapshot, position, forward=query.before_sid is None)
    else:
        snapshot = cursor.snapshot
    reader = _Reader(db, account_sid, query, snapshot)
    limit = query.page_size + 1
    if cursor is None or cursor.forward:
        rows = reader.after(cursor.position if cursor is not None else None, limit)
    else:
        rows = reader.before(cursor.position, limit)
    more = len(rows) > query.page_size
    rows = rows[: query.page_size]
    if cursor is not None and not cursor.forward:
        rows.reverse()  # read from the position up; shown in list order
    positions = [reader.position(row) for row in rows]
    return MessagePage(
        messages=[message_row(row) for row in rows],
        more=more,
        snapshot=snapshot,
        first=positions[0] if positions else None,
        last=positions[-1] if positions else None,
    )


def _position_now(db: sqlite3.Connection, account_sid: str, sid: str) -> ListPosition | None:
    row = db.execute(
        "SELECT id, listed_at FROM messages WHERE sid = ? AND account_sid = ?", (sid, account_sid)
    ).fetchone()
    if row is None:
        return None
    identity, listed_at = row
    return ListPosition(waiting=listed_at is None, listed_at=listed_at or 0, id=identity)


class _Reader:
    """The queries of one page: the filters, and the list as it stood at ``snapshot``."""

    def __init__(
        self, db: sqlite3.Connection, account_sid: str, query: MessageQuery, snapshot: int
    ) -> None:
        self.db = db
        self.snapshot = snapshot
        # With To, its index is the one to use (a recipient has few messages, a modem's number
        # many): "+" keeps SQLite, which has no statistics to tell them apart, off from_number's.
        where = ["account_sid = ?"]
        values: list[Any] = [account_sid]
        if query.to is not None:
            where.append("to_number = ?")
            values.append(query.to)
        if query.from_ is not None:
            column = "+from_number" if query.to is not None else "from_number"
            if query.from_given is not None and query.from_given != query.from_:
                # From= as the filter read it (E.164), or an inbound sender as the network gave
                # it, as it was typed ("07700900123" with a default_region): two values, which
                # SQLite then sorts (rare; a national From with a default_region).
                where.append(f"{column} IN (?, ?)")
                values += [query.from_, query.from_given]
            else:
                where.append(f"{column} = ?")
                values.append(query.from_)
        if query.status is not None:
            where.append("status = ?")
            values.append(query.status.value)
        if query.inbound is not None:
            where.append("direction = ?" if query.inbound else "direction != ?")
            values.append(Direction.INBOUND.value)
        self.match, self.match_values = " AND ".join(where), values
        # Named, as the order needs it: SQLite, without statistics, may take messages_by_to
        # and sort what it finds.
        self.index = (
            "messages_listed_to"
            if query.to is not None
            else "messages_listed_from"
            if query.from_ is not None
            else "messages_listed"
        )
        self.dated, self.dated_values = _date_sent_range(query)

    def position(self, row: Sequence[Any]) -> ListPosition:
        """Where ``row`` stood at the snapshot."""
        listed_at, moved = row[_LISTED_AT], row[_LISTED_SEQ]
        if listed_at is None or (moved is not None and moved > self.snapshot):
            return ListPosition(waiting=True, listed_at=0, id=row[_ID])
        return ListPosition(waiting=False, listed_at=listed_at, id=row[_ID])

    def after(self, position: ListPosition | None, limit: int) -> list[Sequence[Any]]:
        """Up to ``limit`` rows after ``position`` (from the top for ``None``), in list order."""
        rows: list[Sequence[Any]] = []
        if self.dated is None and (position is None or position.waiting):
            rows = self._waiting(position.id if position is not None else None, True, limit)
        if len(rows) < limit:
            listed = position if position is not None and not position.waiting else None
            rows += self._listed(listed, True, limit - len(rows))
        return rows

    def before(self, position: ListPosition, limit: int) -> list[Sequence[Any]]:
        """Up to ``limit`` rows before ``position``, nearest first (list order reversed)."""
        rows: list[Sequence[Any]] = []
        if not position.waiting:
            rows = self._listed(position, False, limit)
        if len(rows) < limit and self.dated is None:
            beyond = position.id if position.waiting else None
            rows += self._waiting(beyond, False, limit - len(rows))
        return rows

    def _waiting(self, beyond: int | None, down: bool, limit: int) -> list[Sequence[Any]]:
        """The rows waiting at the snapshot, by id, down from (or up from) ``beyond``: those
        waiting now, and those that took their place since."""
        # One range of ids: given "id <= S AND id < beyond", SQLite would take the first as
        # the index's bound and filter the ids between them one by one.
        if down:
            order, bounds = "DESC", "id <= ?"
            values = [self.snapshot if beyond is None else min(self.snapshot, beyond - 1)]
        else:
            order, bounds = "ASC", "id > ? AND id <= ?"
            values = [0 if beyond is None else beyond, self.snapshot]
        still = self.db.execute(
            f"SELECT {_COLUMNS} FROM messages INDEXED BY {self.index} "
            f"WHERE {self.match} AND listed_at IS NULL AND {bounds} ORDER BY id {order} LIMIT ?",
            (*self.match_values, *values, limit),
        ).fetchall()
        moved = self.db.execute(
            f"SELECT {_COLUMNS} FROM messages INDEXED BY messages_moved WHERE listed_seq > ? "
            f"AND {self.match} AND {bounds} ORDER BY id {order} LIMIT ?",
            (self.snapshot, *self.match_values, *values, limit),
        ).fetchall()
        rows = sorted(still + moved, key=lambda row: int(row[_ID]), reverse=down)
        return rows[:limit]

    def _listed(self, beyond: ListPosition | None, down: bool, limit: int) -> list[Sequence[Any]]:
        """The rows listed at the snapshot, by (listed_at, id), down from (up from) ``beyond``."""
        order = "DESC" if down else "ASC"
        where = [self.match, "listed_at IS NOT NULL"]
        values: list[Any] = list(self.match_values)
        if self.dated is not None:
            where.append(self.dated)
            values += self.dated_values
        if beyond is not None:
            where.append(f"(listed_at, id) {'<' if down else '>'} (?, ?)")
            values += [beyond.listed_at, beyond.id]
        # Those that came after the snapshot, or took their place after it, were not here.
        where.append("id <= ? AND (listed_seq IS NULL OR listed_seq <= ?)")
        values += [self.snapshot, self.snapshot]
        return self.db.execute(
            f"SELECT {_COLUMNS} FROM messages INDEXED BY {self.index} WHERE {' AND '.join(where)} "
            f"ORDER BY listed_at {order}, id {order} LIMIT ?",
            (*values, limit),
        ).fetchall()


def _date_sent_range(query: MessageQuery) -> tuple[str | None, list[Any]]:
    """The DateSent filters as a range of ``listed_at`` (which is date_sent where there is one;
    a message that ended without being sent has a listed_at but no DateSent)."""
    where: list[str] = []
    values: list[Any] = []
    if query.sent_on is not None:
        start = to_micros(datetime.combine(query.sent_on, time(), UTC))
        where.append("listed_at >= ? AND listed_at < ?")
        values += [start, start + _DAY_MICROS]
    if query.sent_at_or_before is not None:
        where.append("listed_at <= ?")
        values.append(to_micros(query.sent_at_or_before))
    if query.sent_at_or_after is not None:
        where.append("listed_at >= ?")
        values.append(to_micros(query.sent_at_or_after))
    if not where:
        return None, []
    return " AND ".join([*where, "date_sent IS NOT NULL"]), values
