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
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class UssdBusy(Exception):
    """A USSD session runs on this modem already."""


class Exclusive:
    """The guard of one modem (:class:`~gateway.modems.supervisor.ModemHandle.exclusive`)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._ussd = False  # a session was asked for and has not ended

    @property
    def ussd_running(self) -> bool:
        return self._ussd

    @contextlib.asynccontextmanager
    async def part(self) -> AsyncIterator[None]:
        """Held while one part is on the air."""
        async with self._lock:
            yield

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
