"""What each modem's plan caps have used (:mod:`gateway.domain.quota`), kept in memory.

The counts are read from the store once, when a modem's worker starts (so they survive a
restart), then kept up as each part goes: the send path asks nothing more of the database. The
store counts each part apart from its message (a message deleted, or its recipient masked,
still counts), each recipient keyed with its secret, which the counts kept here key theirs with.
The dispatcher holds back a message its modem's caps would pass, routing picks a modem of the
service with quota left, the queue limit (:mod:`gateway.outbound.backlog`) counts what the caps
hold back, and ``/smsgw/modems.json`` and ``/metrics`` show how each cap stands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from gateway.config import ModemConfig
from gateway.domain import quota
from gateway.domain.quota import Standing, Usage
from gateway.store import SendQueue


class Quotas:
    def __init__(self, store: SendQueue, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._usage: dict[str, Usage] = {}  # by modem, for the modems with caps
        self._secret: bytes | None = None  # the store's, read with the first counts

    async def load(self, modem: ModemConfig) -> None:
        """Read what ``modem`` sent in its current day and month (its worker starts)."""
        plan = modem.quota
        if not plan.capped:
            self._usage.pop(modem.id, None)
            return
        if self._secret is None:
            self._secret = await self.store.recipient_secret()
        now = self.clock()
        usage = Usage.empty(now, plan.zone, self._secret)
        month = await self.store.parts_sent(modem.id, usage.month)
        day = await self.store.parts_sent(modem.id, usage.day)
        usage.month_parts, usage.day_parts = month.parts, day.parts
        usage.recipients = set(month.recipients)
        self._usage[modem.id] = usage

    def sent(self, modem: ModemConfig, recipient: str) -> None:
        """One part went to ``recipient`` through ``modem``."""
        usage = self._usage.get(modem.id)
        if usage is not None:
            usage.record(self.clock(), modem.quota.zone, recipient)

    def held_until(self, modem: ModemConfig, parts: int, recipient: str) -> datetime | None:
        """When ``parts`` parts to ``recipient`` may go through ``modem`` (``None``: now;
        :data:`~gateway.domain.quota.NEVER`)."""
        usage = self._usage.get(modem.id)
        if usage is None:
            return None
        return quota.held_until(modem.quota, usage, self.clock(), parts, recipient)

    def room(self, modem: ModemConfig, horizon: timedelta) -> int | None:
        """Parts ``modem``'s caps let go within ``horizon`` (``None``: no cap)."""
        usage = self._usage.get(modem.id)
        if usage is None:
            return None
        return quota.room(modem.quota, usage, self.clock(), horizon)

    def standing(self, modem: ModemConfig) -> list[Standing]:
        """How each of ``modem``'s caps stands (none before its worker read them)."""
        usage = self._usage.get(modem.id)
        if usage is None:
            return []
        return quota.standing(modem.quota, usage, self.clock())
