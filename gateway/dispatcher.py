"""Outbound sending: one worker per modem, woken by new messages, never polling.

A worker takes its modem's due messages oldest first and sends their parts one by one,
committing each part's TP-MR as the modem returns it, so that after a restart a part already
acknowledged is never sent again and the rest are. Statuses go ``queued`` -> ``sending`` ->
``sent``, or ``failed`` with the Twilio code of the ``+CMS ERROR`` (see
:mod:`gateway.send_errors`). A temporary failure defers only that message: the worker goes on
with the others and comes back to it when it is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from drivers.errors import AtCommandError, AtReplyError, AtTimeout, CmsError, ModemLost
from gateway import send_errors
from gateway.models import ERROR_MESSAGES, Status
from gateway.modems import ModemHandle, ModemPool
from gateway.store import OutboundWork, Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS: Final = 5
RETRY_DELAYS: Final = (30.0, 120.0, 600.0, 1800.0)  # seconds, by attempt

StatusListener = Callable[[str, Status], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Pacer:
    """Keeps a modem under its configured rate (parts per second; 0 for no limit)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._last = float("-inf")

    async def wait(self) -> None:
        if not self._interval:
            return
        loop = asyncio.get_running_loop()
        delay = self._last + self._interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self._last = loop.time()


class Dispatcher:
    def __init__(
        self,
        store: Store,
        modems: ModemPool,
        clock: Callable[[], datetime] = utcnow,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.store = store
        self.modems = modems
        self.clock = clock
        self.retry_delays = retry_delays
        self._wake = {modem_id: asyncio.Event() for modem_id in modems.handles}
        self._tasks: list[asyncio.Task[None]] = []
        self._status_listeners: list[StatusListener] = []

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        """Call ``listener(sid, status)`` after each status change is committed."""
        self._status_listeners.append(listener)
        return lambda: self._status_listeners.remove(listener)

    async def _set_status(
        self,
        sid: str,
        status: Status,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
        date_sent: datetime | None = None,
    ) -> None:
        await self.store.update_status(
            sid,
            status,
            self.clock(),
            error_code=error_code,
            error_message=error_message,
            date_sent=date_sent,
        )
        for listener in list(self._status_listeners):
            try:
                listener(sid, status)
            except Exception:
                log.exception("status listener failed on %s %s", sid, status)

    def wake(self, modem_id: str) -> None:
        """A message for ``modem_id`` was committed: its worker looks at once."""
        event = self._wake.get(modem_id)
        if event is not None:
            event.set()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for handle in self.modems.handles.values():
            self._tasks.append(loop.create_task(self._worker(handle), name=f"send {handle.id}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _worker(self, handle: ModemHandle) -> None:
        wake = self._wake[handle.id]
        pacer = _Pacer(handle.config.send_rate)
        while True:
            wake.clear()  # before looking, so a message committed meanwhile is not missed
            work = await self.store.outbound_work(handle.id, self.clock())
            if not work:
                await self._sleep_until_due(handle.id, wake)
                continue
            for item in work:
                try:
                    await self._send(handle, item, pacer)
                except ModemLost as exc:
                    handle.lost(str(exc))
                    break  # the rest wait for the modem to come back
                except Exception:  # a bug must not stop this modem's queue for good
                    log.exception("%s: sending %s failed unexpectedly", handle.id, item.message.sid)
                    await self._retry_later(item.message.sid, 30008, "internal error")

    async def _sleep_until_due(self, modem_id: str, wake: asyncio.Event) -> None:
        due = await self.store.next_attempt_at(modem_id)
        timeout = None
        if due is not None:
            timeout = max(0.0, (due - self.clock()).total_seconds())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await wake.wait()

    async def _send(self, handle: ModemHandle, work: OutboundWork, pacer: _Pacer) -> None:
        message = work.message
        modem = await handle.ready()
        if message.status is Status.QUEUED:
            await self._set_status(message.sid, Status.SENDING)
        for segment in work.segments:
            if segment.sent_at is not None:
                continue  # acknowledged before a restart: never again
            await pacer.wait()
            try:
                reference: int | None = await modem.send_pdu(segment.pdu, segment.tpdu_length)
            except CmsError as exc:
                outcome = send_errors.meaning(exc.code)
                if outcome.kind is not send_errors.Kind.DUPLICATE:
                    await self._failed_part(handle, message.sid, exc.code, outcome)
                    return
                reference = None  # TS 23.040 §9.2.3.22: the SC already has this part
            except (AtTimeout, AtCommandError, AtReplyError) as exc:
                # No +CMS ERROR: the modem itself misbehaves. Whether the part left is unknown;
                # the modem is reset and the part tried again later.
                handle.lost(f"{type(exc).__name__}: {exc}")
                await self._retry_later(message.sid, 30008, str(exc))
                return
            sent_at = self.clock()
            await self.store.record_part_sent(message.sid, segment.sequence, reference, sent_at)
        await self._set_status(message.sid, Status.SENT, date_sent=self.clock())

    async def _failed_part(
        self, handle: ModemHandle, sid: str, code: int | None, outcome: send_errors.Meaning
    ) -> None:
        log.info("%s: %s refused with +CMS ERROR: %s (%s)", handle.id, sid, code, outcome.kind)
        if outcome.kind is send_errors.Kind.PERMANENT:
            await self._fail(sid, outcome.twilio_code)
        else:
            await self._retry_later(sid, outcome.twilio_code, f"+CMS ERROR: {code}")

    async def _fail(self, sid: str, code: int) -> None:
        await self._set_status(
            sid, Status.FAILED, error_code=code, error_message=ERROR_MESSAGES[code]
        )

    async def _retry_later(self, sid: str, code: int, reason: str) -> None:
        now = self.clock()
        attempts = await self.store.count_attempt(sid)
        if attempts >= MAX_ATTEMPTS:
            log.warning("%s: giving up after %d attempts (%s)", sid, attempts, reason)
            await self._fail(sid, code)
            return
        delay = self.retry_delays[min(attempts, len(self.retry_delays)) - 1]
        await self.store.defer(sid, now + timedelta(seconds=delay))
