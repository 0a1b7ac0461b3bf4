"""A modem's message storages: the one selected (``AT+CPMS``), and the commands that rely on it.

TS 27.005 §3.2.2: ``AT+CMGL``, ``AT+CMGR`` and ``AT+CMGD`` act on the storage ``AT+CPMS``
selected last, whoever selected it. :class:`Storages` selects one for the commands inside
:meth:`Storages.selected`, which no other task's selection can come between, and selects it
again only when another was selected since.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Final

from drivers.at import replies
from drivers.at.channel import AtChannel
from drivers.errors import AtCommandError, AtReplyError, CmsError

_CMS_INVALID_INDEX: Final = 321


@dataclass(frozen=True, slots=True)
class StoredMessage:
    storage: str
    index: int
    stat: int | None
    length: int
    pdu: str


class Storages:
    def __init__(self, channel: AtChannel) -> None:
        self.channel = channel
        self._read_storage: str | None = None
        self._lock = asyncio.Lock()  # AT+CPMS and the commands that rely on it

    @contextlib.asynccontextmanager
    async def selecting(self, storage: str) -> AsyncIterator[None]:
        """The caller selects ``storage`` inside (for every use, ``AT+CPMS=<m>,<m>,<m>``):
        under the lock, as in :meth:`selected`, because initialised again on the same link,
        the modem may be in the middle of a read or delete that selected another storage and
        relies on it until its command is answered."""
        async with self._lock:
            self._read_storage = None  # unknown until the modem says OK
            yield
            self._read_storage = storage

    @contextlib.asynccontextmanager
    async def selected(self, storage: str) -> AsyncIterator[None]:
        """``storage`` selected (``AT+CPMS``) for the commands inside, which no other task's
        selection can come between: a health check reading ME while a report in SR is deleted
        would otherwise delete ME's slot of that number."""
        async with self._lock:
            if storage != self._read_storage:
                self._read_storage = None  # unknown until the modem says OK
                await self.channel.command(f'AT+CPMS="{storage}"')
                self._read_storage = storage
            yield

    async def list_messages(self, storage: str, stat: int = 4) -> list[StoredMessage]:
        """``AT+CMGL=<stat>`` on ``storage`` (4: all messages, read or not)."""
        async with self.selected(storage):
            reply = await self.channel.command(f"AT+CMGL={stat}")
        return [
            StoredMessage(storage, entry.index or 0, entry.stat, entry.length, entry.pdu)
            for entry in replies.parse_cmgl(reply.lines)
        ]

    async def read_message(self, storage: str, index: int) -> StoredMessage | None:
        """``AT+CMGR=<index>``; ``None`` for an empty slot."""
        async with self.selected(storage):
            try:
                reply = await self.channel.command(f"AT+CMGR={index}")
            except CmsError as exc:
                if exc.code == _CMS_INVALID_INDEX:
                    return None
                raise
        entry = replies.parse_cmgr(reply.lines)
        if entry is None:
            return None
        return StoredMessage(storage, index, entry.stat, entry.length, entry.pdu)

    async def delete_message(self, storage: str, index: int) -> None:
        async with self.selected(storage):
            await self.channel.command(f"AT+CMGD={index}")

    async def usages(self, storages: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(used, total) of each of ``storages`` (and of any other ``AT+CPMS?`` names on
        the way). ``AT+CPMS?`` tells only the memories selected (TS 27.005 §3.2.2: <mem1> to
        read, <mem2> to write, <mem3> to store what arrives), so each storage not named yet
        is selected as <mem1> and asked: the one new messages go to (<mem3>) comes with the
        first answer, and is asked about last."""
        found: dict[str, tuple[int, int]] = {}
        for storage in storages:
            if storage in found:
                continue
            try:
                async with self.selected(storage):
                    reply = await self.channel.command("AT+CPMS?")
                memories = replies.parse_cpms_read(reply.lines)
            except (AtCommandError, AtReplyError):
                continue  # this one unknown; the others may still be read
            for name, used, total in memories:
                found.setdefault(name, (used, total))
        return found

    async def storage_usage(self, storage: str) -> tuple[int, int]:
        """(used, total) of ``storage``."""
        async with self.selected(storage):
            reply = await self.channel.command("AT+CPMS?")
        return replies.parse_cpms_usage(reply.lines)[0]
