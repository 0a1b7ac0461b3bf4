"""What came of sending a message, committed and announced: ``sending``, ``sent`` with its
charge, ``failed`` with its code, expired (30036), or a failed attempt deferred to a later one.

The dispatcher's worker (:mod:`gateway.outbound.dispatcher`) makes the attempts; what follows
one is decided in :mod:`gateway.outbound.attempts`; :class:`Outcomes` commits it, each status
change with its status callback, and then tells the listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from gateway.domain.models import Status
from gateway.listeners import Listeners
from gateway.logs import fields
from gateway.metrics import Metrics
from gateway.outbound.attempts import MAX_ATTEMPTS, RETRY_DELAYS, Charge, Next, Refusal, retry_delay
from gateway.store import SendQueue

# These are the send path's lines, which operators (and their log filters) know by the
# dispatcher's logger: they keep it.
log = logging.getLogger("gateway.outbound.dispatcher")

StatusListener = Callable[[str, Status], None]


class Outcomes:
    def __init__(
        self,
        store: SendQueue,
        clock: Callable[[], datetime],
        metrics: Metrics,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.max_attempts = max_attempts
        self.retry_delays = retry_delays
        self._status_listeners: Listeners[[str, Status]] = Listeners("a status change")
        self._deferral_listeners: Listeners[[str, int]] = Listeners("a deferral")
        self._held_listeners: Listeners[[str, str]] = Listeners("a message held by a cap")

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        """Call ``listener(sid, status)`` after each status change of an outbound message is
        committed: the dispatcher's own, and those :meth:`announce` is told of (delivery
        reports, Messaging Service routing, cancellations)."""
        return self._status_listeners.subscribe(listener)

    def on_deferred(self, listener: Callable[[str, int], None]) -> Callable[[], None]:
        """Call ``listener(sid, attempts)`` after a failed attempt is committed and the
        message deferred to a later one."""
        return self._deferral_listeners.subscribe(listener)

    def on_held(self, listener: Callable[[str, str], None]) -> Callable[[], None]:
        """Call ``listener(sid, modem_id)`` after ``sid`` is deferred because ``modem_id``'s
        plan caps hold it back (:meth:`held`)."""
        return self._held_listeners.subscribe(listener)

    def announce(self, sid: str, status: Status) -> None:
        self._status_listeners.announce(sid, status)

    async def set_status(self, sid: str, status: Status, *, error_code: int | None = None) -> bool:
        if await self.store.update_status(sid, status, self.clock(), error_code=error_code):
            self.announce(sid, status)
            return True
        return False

    async def sent(
        self, sid: str, charged: Charge, last_part: tuple[int, int | None] | None = None
    ) -> None:
        """Every part went (the last one's TP-MR committed with it): ``sent``, or further."""
        status = await self.store.message_sent(
            sid, self.clock(), charged.price, charged.unit, last_part=last_part
        )
        if status is not None:
            if status is not Status.SENT:
                self.announce(sid, Status.SENT)
            self.announce(sid, status)

    def expired(self, sid: str, modem_id: str) -> None:
        """The store found ``sid``'s validity period over when its part was to go, and failed
        it (30036) in that transaction."""
        log.warning(
            "%s: not sent within its validity period; failed (30036)",
            sid,
            extra=fields(sid=sid, modem=modem_id, status=Status.FAILED, code=30036),
        )
        self.metrics.expired += 1
        self.announce(sid, Status.FAILED)

    async def expire_due(self) -> int:
        """Fail (30036) the messages whose validity period ended before they were sent."""
        expired = await self.store.expire_unsent(self.clock())
        for sid in expired:
            log.warning(
                "%s: not sent within its validity period; failed (30036)",
                sid,
                extra=fields(sid=sid, status=Status.FAILED, code=30036),
            )
            self.announce(sid, Status.FAILED)
        self.metrics.expired += len(expired)
        return len(expired)

    async def refused(self, modem_id: str, sid: str, code: int | None, refusal: Refusal) -> None:
        """``modem_id``'s modem refused a part of ``sid`` with ``+CMS ERROR: <code>``, one that
        fails it now or later (see :func:`~gateway.outbound.attempts.after_refusal`)."""
        log.info("%s: %s refused with +CMS ERROR: %s (%s)", modem_id, sid, code, refusal.kind)
        if refusal.next is Next.FAIL:
            await self.fail(sid, refusal.twilio_code)
        else:
            await self.retry_later(sid, refusal.twilio_code, f"+CMS ERROR: {code}")

    async def fail(self, sid: str, code: int) -> None:
        if await self.set_status(sid, Status.FAILED, error_code=code):
            log.info(
                "%s: failed, error %d",
                sid,
                code,
                extra=fields(sid=sid, status=Status.FAILED, code=code),
            )

    async def retry_later(self, sid: str, code: int, reason: str) -> None:
        """An attempt failed: counted, and the message deferred to the next one, or failed
        with ``code`` if that was its last."""
        now = self.clock()
        attempts = await self.store.count_attempt(sid)
        delay = retry_delay(attempts, self.max_attempts, self.retry_delays)
        if delay is None:
            log.warning(
                "%s: giving up after %d attempts (%s)",
                sid,
                attempts,
                reason,
                extra=fields(sid=sid, attempts=attempts),
            )
            await self.fail(sid, code)
            return
        log.info(
            "%s: %s; attempt %d in %g s",
            sid,
            reason,
            attempts + 1,
            delay,
            extra=fields(sid=sid, attempts=attempts),
        )
        await self.store.defer(sid, now + timedelta(seconds=delay))
        self._deferral_listeners.announce(sid, attempts)

    async def held(self, sid: str, modem_id: str, until: datetime) -> None:
        """``modem_id``'s plan caps hold ``sid`` back: it waits, no attempt counted, for the
        period that lets it go (:mod:`gateway.domain.quota`)."""
        log.info(
            "%s: %s's quota is used up; waiting until %s",
            sid,
            modem_id,
            until.isoformat(),
            extra=fields(sid=sid, modem=modem_id),
        )
        await self.store.defer(sid, until)
        self._held_listeners.announce(sid, modem_id)
