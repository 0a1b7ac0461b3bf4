"""Persistence behind a small async interface.

Every SQL statement lives in an implementation of :class:`Store` (SQLite now, in
:mod:`gateway.store.sqlite`); the dispatcher and the API only see this interface, so a second
engine (PostgreSQL, for gateways spread over several machines) can be added without touching
them. A write returns only once it is durable: a ``kill -9`` or a power cut right after it
loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from gateway.config import Account
from gateway.models import Message, Segment, Status


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Filters of ``GET .../Messages.json``; dates compare with ``date_sent`` in UTC."""

    to: str | None = None
    from_: str | None = None
    sent_on: date | None = None  # the whole GMT day
    sent_at_or_before: datetime | None = None
    sent_at_or_after: datetime | None = None
    page_size: int = 50
    after_sid: str | None = None  # older than this message (next page: PageToken PA...)
    before_sid: str | None = None  # newer than this message (previous page: PageToken PB...)


@dataclass(frozen=True, slots=True)
class OutboundWork:
    """An outbound message a modem has to send, with the parts still unsent."""

    message: Message
    segments: tuple[Segment, ...]


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create_message(self, message: Message, segments: Sequence[Segment]) -> None:
        """Commit a new message and its segments."""

    async def get_message(self, account_sid: str, sid: str) -> Message | None: ...

    async def list_messages(
        self, account_sid: str, query: MessageQuery
    ) -> tuple[list[Message], bool]:
        """A page, newest first, and whether there are more beyond it (older ones; newer ones
        with ``before_sid``)."""

    async def outbound_work(self, modem: str, now: datetime, limit: int = 16) -> list[OutboundWork]:
        """Queued or half-sent messages of ``modem`` due by ``now``, oldest first."""

    async def next_attempt_at(self, modem: str) -> datetime | None:
        """When the earliest deferred message of ``modem`` is due again, if any."""

    async def count_attempt(self, sid: str) -> int:
        """One more failed attempt to send ``sid``; returns how many there have been."""

    async def defer(self, sid: str, until: datetime) -> None:
        """Try ``sid`` again no sooner than ``until``."""

    async def update_status(
        self,
        sid: str,
        status: Status,
        at: datetime,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
        date_sent: datetime | None = None,
    ) -> None: ...

    async def record_part_sent(
        self, sid: str, sequence: int, reference: int | None, at: datetime
    ) -> None:
        """The modem accepted part ``sequence`` of ``sid`` with TP-MR ``reference`` (``None``
        when the SMSC answered "duplicate": it had the part already)."""

    async def last_concat_reference(self, modem: str) -> int | None:
        """The concatenation reference of the newest multipart message ``modem`` was given."""

    async def accounts(self) -> list[Account]:
        """Accounts the gateway generated itself (first start without any configured)."""

    async def add_account(self, account: Account) -> None: ...

    async def count_messages(self) -> int: ...
