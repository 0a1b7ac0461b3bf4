"""The gateway's long-lived tasks (a modem's sender and receiver, the webhook sender, the
timers...), none of which may die silently.

A task that ends with an exception nobody expected (a bug, or the database refusing every write
when the disk is full) is logged with its name, counted (``smsgw_task_restarts_total``), shown
as down in ``/healthz`` while it waits, and started again after a backoff that grows with each
failure in a row. Its work is in the database, so a restarted task picks up where the failed one
stopped. Left alone for a month, the gateway mends what can be mended by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Final

from gateway.waiting import stop_tasks

log = logging.getLogger(__name__)

BACKOFF: Final = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # seconds before a restart, by failures in a row
HEALTHY_AFTER: Final = 60.0  # seconds of running after which a task's failures count afresh


class Tasks:
    def __init__(
        self,
        backoff: tuple[float, ...] = BACKOFF,
        healthy_after: float = HEALTHY_AFTER,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.backoff = backoff
        self.healthy_after = healthy_after
        self._sleep = sleep  # the tests' own, to hold a failed task down as long as they like
        self.restarts: Counter[str] = Counter()  # by task name
        self.down: dict[str, str] = {}  # task name -> why, while it waits to start again

    def spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run ``run()`` as the task ``name``, started again whenever it fails; cancelling
        the returned task stops it for good."""
        return asyncio.get_running_loop().create_task(self._keep(name, run), name=name)

    async def _keep(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        previous = ""
        while True:
            started = loop.time()
            try:
                await run()
                return  # it finished its work: nothing to restart
            except Exception as exc:  # anything else (CancelledError) stops it
                error = f"{type(exc).__name__}: {exc}"
                if loop.time() - started >= self.healthy_after:
                    failures = 0
                delay = self.backoff[min(failures, len(self.backoff) - 1)]
                failures += 1
                self.restarts[name] += 1
                self.down[name] = error
                # The traceback once per kind of failure: a disk that stays full must not
                # write one every minute for a month.
                log.error(
                    "task %s failed (%s); restarting it in %g s",
                    name,
                    error,
                    delay,
                    exc_info=exc if error != previous else None,
                )
                previous = error
            try:
                await self._sleep(delay)
            finally:
                self.down.pop(name, None)


class Loop:
    """One of the gateway's loops (a timer, a sweeper), run by ``tasks`` as the task ``name``
    from :meth:`start` to :meth:`stop`, and woken to look again (:meth:`wake`: the clock
    moved, or work came). A subclass writes :meth:`_run`, which clears and awaits
    ``self._wake``."""

    def __init__(self, tasks: Tasks, name: str) -> None:
        self.tasks = tasks
        self._name = name
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = self.tasks.spawn(self._name, self._run)

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None

    def wake(self) -> None:
        """Look again: the clock moved."""
        self._wake.set()

    async def _run(self) -> None:
        raise NotImplementedError
