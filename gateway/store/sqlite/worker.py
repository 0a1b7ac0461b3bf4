"""The threads that own the SQLite connections: one writer that commits in groups, one reader.

Whatever writes are waiting when the writer starts a transaction go into that transaction, each
in its own savepoint, and all of them are answered after the one commit (fsync) that makes them
durable: concurrent requests share commits, and durability does not cost throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from gateway.domain.errors import StoreError

# A new database's page size. Every commit writes each page it changed whole into the WAL
# (and again at checkpoint): a status change touches a row and a few index entries, a few
# dozen bytes each, on pages of their own. 1 KiB pages cut what an SD card is written per
# message to about a third of SQLite's default 4 KiB (bench/sd_writes.py). A database made
# before keeps its page size: only a VACUUM changes it, which rewrites the whole file, and the
# gateway never runs one on its own.
PAGE_SIZE: Final = 1024
# Checkpoint when the WAL holds this many pages (SQLite's default is 1000): a page changed by
# many commits between two checkpoints is written to the database file once, so fewer
# checkpoints write fewer pages. 4 MiB of 1 KiB pages, as SQLite's default is with 4 KiB ones.
WAL_CHECKPOINT_PAGES: Final = 4096
# The WAL is truncated back to this after a checkpoint: it never keeps more of the card than
# that (SQLite's default keeps whatever size it once grew to).
WAL_SIZE_LIMIT: Final = 8 * 1024 * 1024

Job = Callable[[sqlite3.Connection], Any]
_Item = tuple[Job, asyncio.Future[Any], asyncio.AbstractEventLoop]


def _resolve(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in results:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


class Worker:
    """A thread that owns one connection and runs jobs for the event loop.

    With ``batch``, the jobs waiting when a transaction starts share it and its commit. Jobs
    submitted in one turn of the event loop are handed over together: the thread, woken by
    the first one alone, would otherwise commit it on its own.
    """

    def __init__(self, path: Path, name: str, *, batch: bool) -> None:
        self._path = path
        self._batch = batch
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file opened
        self._queue: queue.SimpleQueue[list[_Item] | None] = queue.SimpleQueue()
        self._pending: list[_Item] = []  # submitted this turn of the loop, not yet handed over
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise StoreError(f"cannot open {self._path}: {self._failure}") from self._failure

    def submit(self, job: Job) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._batch:
            self._queue.put([(job, future, loop)])
            return future
        if not self._pending:
            loop.call_soon(self._hand_over)
        self._pending.append((job, future, loop))
        return future

    def _hand_over(self) -> None:
        if self._pending:
            items, self._pending = self._pending, []
            self._queue.put(items)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._hand_over()
            self._queue.put(None)
            self._thread.join()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        status = os.stat(self._path)
        self._identity = (status.st_dev, status.st_ino)
        # Before the first table exists, or it does nothing: see PAGE_SIZE.
        connection.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        connection.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is synced at every commit, so a committed write survives a power cut.
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        connection.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 5000")
        # A small page cache (512 KiB, not SQLite's 2 MB) per connection: the gateway's reads
        # are recent rows, and the kernel's page cache holds the file anyway. It keeps the
        # process's memory from growing with the database.
        connection.execute("PRAGMA cache_size = -512")
        return connection

    def _run(self) -> None:
        try:
            connection = self._connect()
        except (sqlite3.Error, OSError) as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while (handed := self._queue.get()) is not None:
                items = list(handed)
                stop = False
                while self._batch and not stop:
                    try:
                        extra = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if extra is None:
                        stop = True
                    else:
                        items.extend(extra)
                self._execute(connection, items)
                if stop:
                    break
        finally:
            connection.close()

    def _execute(self, connection: sqlite3.Connection, items: list[_Item]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        if not self._batch:
            for job, future, _ in items:
                try:
                    outcomes.append((future, job(connection), None))
                except Exception as exc:
                    outcomes.append((future, None, _translated(exc)))
        else:
            outcomes = self._transaction(connection, items)
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for (_, _, loop), outcome in zip(items, outcomes, strict=True):
            by_loop.setdefault(loop, []).append(outcome)
        for loop, results in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
                loop.call_soon_threadsafe(_resolve, results)

    def _transaction(
        self, connection: sqlite3.Connection, items: list[_Item]
    ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            self._check_file()
            connection.execute("BEGIN IMMEDIATE")
            for job, future, _ in items:
                connection.execute("SAVEPOINT job")
                try:
                    outcomes.append((future, job(connection), None))
                    connection.execute("RELEASE job")
                except Exception as exc:  # this job only: the others still commit
                    connection.execute("ROLLBACK TO job")
                    connection.execute("RELEASE job")
                    outcomes.append((future, None, _translated(exc)))
            connection.execute("COMMIT")
        except (sqlite3.Error, StoreError) as exc:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            # One exception each: an instance raised in several coroutines would gather all
            # their frames (and what they hold) in its traceback.
            return [(future, None, _failure(exc)) for _, future, _ in items]
        return outcomes

    def _check_file(self) -> None:
        """Refuse to commit into a database file that was deleted or replaced under the running
        gateway: what it accepted would be gone at the next start."""
        try:
            status = os.stat(self._path)
        except FileNotFoundError:
            raise StoreError(f"{self._path} was deleted under the running gateway") from None
        except OSError as exc:
            raise StoreError(f"cannot look at {self._path}: {exc.strerror}") from exc
        if (status.st_dev, status.st_ino) != self._identity:
            raise StoreError(f"{self._path} was replaced under the running gateway")


def _failure(exc: sqlite3.Error | StoreError) -> StoreError:
    if isinstance(exc, StoreError):
        return StoreError(str(exc))
    error = StoreError(f"the database could not commit: {exc}")
    error.__cause__ = exc
    return error


def _translated(exc: Exception) -> Exception:
    """The store speaks :class:`StoreError` (the error tree of :mod:`gateway.domain.errors`); the
    SQLite error it comes from stays its cause."""
    if not isinstance(exc, sqlite3.Error):
        return exc
    error = StoreError(f"the database could not do it: {exc}")
    error.__cause__ = exc
    return error
