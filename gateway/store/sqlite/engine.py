"""The SQLite engine's own part: the database file (private to the service user), its two
connections (:mod:`~gateway.store.sqlite.worker`: one writer thread that commits in groups, one
reader; in WAL mode readers never block the writer), the migrations
(:mod:`~gateway.store.sqlite.schema`) and the health probe. Each role of the store
(:mod:`gateway.store.roles`) is a class over it, in a module of its own."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Final, TypeVar

from gateway.domain.attempt_log import logged
from gateway.domain.destinations import destination
from gateway.domain.errors import StoreError
from gateway.domain.quota import recipient_key
from gateway.domain.records import new_webhook_token
from gateway.store.sqlite.rows import to_micros
from gateway.store.sqlite.schema import MIGRATIONS
from gateway.store.sqlite.worker import Worker

T = TypeVar("T")
log = logging.getLogger(__name__)

DATABASE_NAME: Final = "smsgw.sqlite3"
_PROBE_EVERY: Final = 1.0  # seconds between two health probes of the database
MIN_FREE: Final = 1024 * 1024  # bytes: less left on the disk and the database is not healthy


class Engine:
    """The database and the two threads that own its connections: what every role's
    queries run on (``_write`` on the writer, ``_read`` on the reader)."""

    def __init__(self, data_dir: Path, *, probe_every: float = _PROBE_EVERY) -> None:
        self.path = data_dir / DATABASE_NAME
        self._probe_every = probe_every  # shorter in tests that wait for a fault's end
        self._writer = Worker(self.path, "store-writer", batch=True)
        self._reader = Worker(self.path, "store-reader", batch=False)
        self._open = False
        self._probed_at = float("-inf")
        self._probe_result: str | None = None

    async def open(self) -> None:
        _private_files(self.path)
        self._writer.start()
        self._open = True
        await self._write(register_functions)
        await self._write(_migrate)
        self._reader.start()

    async def health(self) -> str | None:
        """Why the database cannot take a commit now, or ``None``: a probe is committed (at
        most once a second), so that a full disk, a deleted file, or the end of either, is
        seen whether or not anything else is being written."""
        now = monotonic()
        if now - self._probed_at < self._probe_every:
            return self._probe_result

        def job(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO health (id, checked_at) VALUES (1, ?)",
                (to_micros(datetime.now(UTC)),),
            )

        try:
            await self._write(job)
            result = _low_space(self.path.parent)
        except StoreError as exc:
            result = str(exc)
        self._probed_at, self._probe_result = monotonic(), result
        return result

    async def close(self) -> None:
        if self._open:
            self._open = False
            self._writer.stop()
            self._reader.stop()

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._writer.submit(job)
        return result

    async def _read(self, job: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._reader.submit(job)
        return result


def _low_space(folder: Path) -> str | None:
    """A disk too full to be trusted with the next commit. SQLite reuses its WAL file, so a
    small probe may still commit on a full disk while a new message, which needs new pages,
    cannot: the space left says so before the writes do."""
    try:
        status = os.statvfs(folder)
    except OSError as exc:
        return f"cannot look at {folder}: {exc.strerror}"
    free = status.f_bavail * status.f_frsize  # what an unprivileged user may still write
    if free < MIN_FREE:
        return f"the disk holding {folder} is full ({free // 1024} KiB left)"
    return None


def _private_files(path: Path) -> None:
    """The data directory (0700) and the database (0600) are the service user's alone, whatever
    the umask: they hold every account's auth token and every message's text. SQLite gives its
    -wal and -shm files the database file's permissions (its unix VFS, robust_open)."""
    folder = path.parent
    try:
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)  # mkdir's mode passes through the umask
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        for file in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))):
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)  # a database made by an older smsgw, under a lax umask
    except OSError as exc:
        raise StoreError(f"cannot create {exc.filename or path}: {exc.strerror}") from exc
    if folder.stat().st_mode & 0o077:
        log.warning(
            "%s can be read by other users of this machine; it holds auth tokens and message "
            "texts: chmod 700 %s",
            folder,
            folder,
        )


def register_functions(db: sqlite3.Connection) -> None:
    """What the writer's SQL may call besides SQLite's own: a webhook's destination, a new
    idempotency token and a recipient's keyed hash, as Python makes them (the migrations fill
    existing rows with them)."""
    db.create_function("smsgw_destination", 1, destination, deterministic=True)
    db.create_function("smsgw_token", 0, new_webhook_token)
    db.create_function("smsgw_recipient_key", 2, recipient_key, deterministic=True)
    db.create_function("smsgw_attempt_logged", 5, _attempt_logged, deterministic=True)


def _attempt_logged(log: str | None, at: str, outcome: str, fallback: int, urls: str) -> str:
    """:func:`gateway.domain.attempt_log.logged`, as SQL calls it: the time in ISO 8601, the
    webhook's URLs as a JSON array."""
    named: list[str | None] = json.loads(urls)
    return logged(log, datetime.fromisoformat(at), outcome, bool(fallback), named)


def _migrate(db: sqlite3.Connection) -> None:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the database is at schema version {version}, newer than this smsgw knows "
            f"({len(MIGRATIONS)}); upgrade smsgw"
        )
    for number, script in enumerate(MIGRATIONS[version:], version + 1):
        for statement in _statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript() would commit outside the transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    if current.strip():
        statements.append(current)
    return statements
