"""One use of a modem at a time: a part on the air, or a USSD session.

A modem does one thing at a time on the network side: a part between ``AT+CMGS`` and its
``+CMGS``, or a USSD dialogue from ``AT+CUSD=1`` to its last answer. The AT channel already
keeps commands apart, but not the steps of a dialogue: a send squeezed between a USSD request
and its answer (they are seconds apart) would go in the middle of the session, and some
modems refuse it (+CMS ERROR: 302) or lose the answer. So the dispatcher holds this guard for
each part, and a USSD session for the whole of its dialogue: a send waits while a session
runs, a session waits for the part on the air. A second USSD session on the same modem is not
queued behind the first but refused (:class:`UssdBusy`): its caller is told, not kept waiting
for someone else's menu.

Inbound first: a modem in ``AT+CNMI`` mode 2 holds its ``+CMTI``/``+CDS`` while a part is on
the air (TS 27.005 §3.4.1) and gives them at its ``+CMGS``; if the next part took the line
straight away, what they announce would wait for the network's seconds again (1.3 s median for
an inbound webhook at 8-64 modems sending, bench.pool). So a part first lets the modem's
receiver deal with what it was told (:attr:`Exclusive.inbound`), for at most
:data:`INBOUND_FIRST_S`: a receiver stuck on a modem that does not answer does not stop
sending.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

INBOUND_FIRST_S: Final = 2.0


class UssdBusy(Exception):
    """A USSD session runs on this modem already."""


class Exclusive:
    """The guard of one modem (:class:`~gateway.modems.supervisor.ModemHandle.exclusive`)."""

    def __init__(self, inbound_first: float = INBOUND_FIRST_S) -> None:
        self._inbound_first = inbound_first  # seconds a part waits for the receiver at most
        self._lock = asyncio.Lock()
        self._ussd = False  # a session was asked for and has not ended
        # Returns once the receiver has dealt with what the modem announced so far (set by
        # gateway.inbound.receiver for the modem it receives from).
        self.inbound: Callable[[], Awaitable[object]] | None = None
        self._parts_waiting = 0  # parts waiting for the guard (held by a session or a part)
        self._part_waits = asyncio.Event()  # set whenever a part starts to wait for it

    @property
    def ussd_running(self) -> bool:
        return self._ussd

    @contextlib.asynccontextmanager
    async def part(self) -> AsyncIterator[None]:
        """Held while one part is on the air; taken once what the modem announced is read
        (inbound first, above)."""
        if self.inbound is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._inbound_first):
                    await self.inbound()
        self._parts_waiting += 1
        self._part_waits.set()
        try:
            await self._lock.acquire()
        finally:
            self._parts_waiting -= 1
        try:
            yield
        finally:
            self._lock.release()

    async def part_waiting(self) -> None:
        """Return once a part waits for the guard: a send held behind a USSD session (what the
        session's caller, or a test, may want to know before it ends the session)."""
        while not self._parts_waiting:
            self._part_waits.clear()
            await self._part_waits.wait()

    @contextlib.asynccontextmanager
    async def ussd(self) -> AsyncIterator[None]:
        """Held for a whole USSD session; :class:`UssdBusy` at once if one runs already."""
        if self._ussd:
            raise UssdBusy
        self._ussd = True
        try:
            async with self._lock:
                yield
        finally:
            self._ussd = False
