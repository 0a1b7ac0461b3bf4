"""What every background task of the gateway does between two jobs: wait to be woken, or
until something is due, and, at the end, stop.

Deadlines are the gateway's clock's (injected, so the tests move it), turned into the seconds
the event loop waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any


def seconds_until(due: datetime | None, clock: Callable[[], datetime]) -> float | None:
    """How long until ``due`` by ``clock`` (0 once past; ``None``: nothing is due)."""
    return None if due is None else max(0.0, (due - clock()).total_seconds())


async def woken(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds (``None``: for ever); whether it was
    set (``False``: the time ran out)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
        return True
    return False


async def woken_by(events: Sequence[asyncio.Event], timeout: float | None) -> bool:
    """Wait for any of ``events`` at most ``timeout`` seconds (``None``: for ever); whether
    one was set (``False``: the time ran out)."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await stop_tasks(waiters)
    return bool(done)


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has ended."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
