"""Outbound sending: one worker per modem, woken by new messages, never polling.

A worker takes its modem's due messages oldest first and sends their parts one by one,
committing each part's TP-MR as the modem returns it, so that after a restart a part already
acknowledged is never sent again and the rest are. Statuses go ``queued`` -> ``sending`` ->
``sent``, or ``failed`` with the Twilio code of the ``+CMS ERROR`` (see
:mod:`gateway.domain.send_errors`); each change is committed with its status callback.

A refusal never blocks the queue: a permanent one fails that message at once; a temporary one
defers only that message (backoff, up to an attempt limit) while the worker goes on with the
others; one of the modem's own (SIM busy, no network) keeps the message queued, uncounted,
while the modem is initialised again. A message not sent within its validity period fails
with 30036, and one whose price would exceed its ``MaxPrice`` with 30010, before any part goes.
A message its modem's plan caps would pass (:mod:`gateway.domain.quota`) waits, uncounted, for
the period that lets it go, or fails with 30001 if its validity period ends first; parts are
spaced by the plan's ``min_interval`` plus a random ``jitter``.
Each part is granted at the modem's ``>`` prompt, in the transaction that checks the validity
(:meth:`SendQueue.claim_part`): a message reported failed is never sent. What follows an attempt
is decided in :mod:`gateway.outbound.attempts`, and committed and announced by
:class:`~gateway.outbound.outcomes.Outcomes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from drivers import AtCommandError, AtReplyError, AtTimeout, CmsError, Modem, ModemLost
from drivers.codec import with_validity
from gateway.domain.errors import StoreError
from gateway.domain.models import Message, Segment, Status
from gateway.domain.pricing import PriceTable
from gateway.domain.quota import Quota, too_late
from gateway.logs import fields
from gateway.metrics import Metrics
from gateway.modems.pool import ModemPool
from gateway.modems.supervisor import ModemHandle
from gateway.outbound.attempts import (
    LOCAL_DELAYS,
    MAX_ATTEMPTS,
    PRICE_EXCEEDS_MAX,
    QUOTA_EXCEEDED,
    RETRY_DELAYS,
    Charge,
    Next,
    after_refusal,
    charged,
    local_pause,
    over_max_price,
)
from gateway.outbound.outcomes import Outcomes, StatusListener
from gateway.outbound.quotas import Quotas
from gateway.store import Claim, OutboundWork, SendQueue
from gateway.tasks import Tasks
from gateway.waiting import seconds_until, stop_tasks, woken

log = logging.getLogger(__name__)

# Seconds a stop (or a reload taking a modem away) waits for the commits of parts already
# answered, after the grace for those on the air. Without a bound a store that hangs (a disk
# gone, a writer thread stuck) would hold the stop for ever and systemd would kill the
# gateway at its own timeout, saying nothing; a commit of the store takes milliseconds, so
# 10 s is only ever reached by one that will not land. What did not land is logged by SID:
# its part may go again after the restart.
LAND_TIMEOUT: Final = 10.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Pacer:
    """Keeps a modem under its configured rate (parts per second; 0 for no limit), and spaces
    its parts by its plan's ``min_interval`` plus a random ``jitter`` (carriers flag traffic
    that is perfectly regular), awaited on the gateway's clock."""

    _interval: float  # seconds between two parts at the rate
    _plan: Quota

    def __init__(
        self,
        rate: float,
        plan: Quota,
        clock: Callable[[], datetime],
        draw: Callable[[], float],
        wake: asyncio.Event,
    ) -> None:
        self.replan(rate, plan)
        self._last = float("-inf")
        self._clock = clock
        self._draw = draw
        self._wake = wake  # set when the worker is woken: the clock may have moved
        self._next: datetime | None = None  # the plan's pause: no part before then

    def replan(self, rate: float, plan: Quota) -> None:
        """A reload's rate and plan, from the next part on: the pause under way holds."""
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._plan = plan

    async def wait(self) -> None:
        """Until the next part may go."""
        if self._interval:
            loop = asyncio.get_running_loop()
            delay = self._last + self._interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last = loop.time()
        if self._next is not None:
            while (left := seconds_until(self._next, self._clock)) is not None and left > 0:
                # The worker reads its queue again after this message: a wake may be cleared.
                self._wake.clear()
                await woken(self._wake, left)

    def went(self) -> None:
        """A part's attempt ended: the plan's pause counts from now, when the network has it,
        not from when the part was let go. A part let go may still wait for the modem (a
        USSD session holds it for seconds): counted from then, that wait would be taken off
        the pause, and the carrier would see two parts closer than ``min_interval``."""
        if self._plan.min_interval or self._plan.jitter:
            pause = self._plan.pause(self._draw())
            self._next = self._clock() + timedelta(seconds=pause)


class Dispatcher:
    def __init__(
        self,
        store: SendQueue,
        modems: ModemPool,
        clock: Callable[[], datetime] = utcnow,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        *,
        prices: PriceTable | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        local_delays: tuple[float, ...] = LOCAL_DELAYS,
        tasks: Tasks | None = None,
        metrics: Metrics | None = None,
        draw: Callable[[], float] = random.random,
        land_timeout: float = LAND_TIMEOUT,
    ) -> None:
        self.store = store
        self.land_timeout = land_timeout  # see LAND_TIMEOUT
        self.metrics = metrics or Metrics()
        self.modems = modems
        self.clock = clock
        self.draw = draw  # the pacing's jitter, in [0, 1)
        self.quotas = Quotas(store, clock)  # what each modem's plan caps have used
        self.prices = prices or PriceTable()
        # What came of each attempt: committed, and announced to who listens.
        self.outcomes = Outcomes(
            store, clock, self.metrics, max_attempts=max_attempts, retry_delays=retry_delays
        )
        self.local_delays = local_delays
        self.tasks = tasks or Tasks()
        self._wake: dict[str, asyncio.Event] = {}  # per modem: a message for it was committed
        self._expiry_wake = asyncio.Event()
        self._stopping = False
        self._leaving: set[str] = set()  # modems a reload takes away: no new part starts
        # Per modem: set while no part is between AT+CMGS and the commit of its TP-MR.
        self._idle: dict[str, asyncio.Event] = {}
        # Per modem, the commit of its last part answered (its TP-MR, or the message's
        # ``sent``), still under way: see :meth:`_landed`.
        self._committing: dict[str, tuple[str, asyncio.Task[None]]] = {}  # (sid, commit)
        self._next_expiry: datetime | None = None  # what the expiry timer waits for
        self._workers: dict[str, asyncio.Task[None]] = {}  # by modem
        # By modem, kept when its worker starts again (a reload, a restart after a store
        # error): the part after the last one waits its whole pause all the same.
        self._pacers: dict[str, _Pacer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._moved: dict[str, str] = {}  # sid -> the modem it was taken from

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        """See :meth:`Outcomes.on_status`."""
        return self.outcomes.on_status(listener)

    def on_deferred(self, listener: Callable[[str, int], None]) -> Callable[[], None]:
        """See :meth:`Outcomes.on_deferred`."""
        return self.outcomes.on_deferred(listener)

    def on_held(self, listener: Callable[[str, str], None]) -> Callable[[], None]:
        """See :meth:`Outcomes.on_held`."""
        return self.outcomes.on_held(listener)

    def announce(self, sid: str, status: Status) -> None:
        """A status change committed elsewhere (see :meth:`Outcomes.on_status`)."""
        self.outcomes.announce(sid, status)

    def moved(self, sid: str, modem_id: str) -> None:
        """``sid`` is being given to another modem: ``modem_id``'s worker, which may hold it
        while it waits for its modem, must drop it."""
        self._moved[sid] = modem_id

    def kept(self, sid: str) -> None:
        """``sid`` could not be moved after all."""
        self._moved.pop(sid, None)

    def wake(self, modem_id: str, expires_at: datetime | None = None) -> None:
        """A message for ``modem_id`` was committed: its worker looks at once (and the expiry
        timer, if the message expires before what it waits for)."""
        event = self._wake.get(modem_id)
        if event is not None:
            event.set()
        if expires_at is not None:
            self.expiry_changed(expires_at)

    def expiry_changed(self, expires_at: datetime) -> None:
        """A message that expires at ``expires_at`` was committed."""
        if self._next_expiry is None or expires_at < self._next_expiry:
            self._expiry_wake.set()

    def reconfigure(self, prices: PriceTable) -> None:
        """Price what is sent from now on with ``prices`` (a reload)."""
        self.prices = prices

    def start(self) -> None:
        for handle in self.modems.handles.values():
            self.attach(handle)
        self._tasks.append(self.tasks.spawn("validity expiry", self._expiry))

    def attach(self, handle: ModemHandle) -> None:
        """Send ``handle``'s queue through its modem (at start, and for a modem a reload added
        or opened again)."""
        wake = self._wake.setdefault(handle.id, asyncio.Event())
        self._idle.setdefault(handle.id, asyncio.Event()).set()
        rate, plan = handle.config.send_rate, handle.config.quota
        if (pacer := self._pacers.get(handle.id)) is not None:
            pacer.replan(rate, plan)
        else:
            self._pacers[handle.id] = _Pacer(rate, plan, self.clock, self.draw, wake)
        worker = functools.partial(self._worker, handle)
        self._workers[handle.id] = self.tasks.spawn(f"send {handle.id}", worker)

    async def detach(self, modem_id: str, grace: float) -> None:
        """Stop sending through ``modem_id``'s modem as :meth:`stop` does for all (a reload
        removed or changed it): its queue stays in the database."""
        self._leaving.add(modem_id)
        try:
            await self._land([modem_id], grace)
            worker = self._workers.pop(modem_id, None)
            await stop_tasks([worker] if worker is not None else [])
        finally:
            self._leaving.discard(modem_id)

    async def stop(self, grace: float = 0.0) -> None:
        """Stop sending: no new part is started, a part on the air is given up to ``grace``
        seconds to be answered and committed (so that it is not sent again after the
        restart), then the workers end. What is left stays queued for the next start."""
        self._stopping = True
        await self._land(list(self._idle), grace)
        await stop_tasks([*self._workers.values(), *self._tasks])
        self._workers.clear()
        self._tasks.clear()

    async def _landed(self, modem_id: str) -> None:
        """Returns once the commit of ``modem_id``'s last part answered is durable; raises
        what it raised (a :class:`StoreError` ends the worker's turn, as it did inline)."""
        entry = self._committing.get(modem_id)
        if entry is None:
            return
        sid, commit = entry
        try:
            await asyncio.shield(commit)
        except StoreError:
            raise
        except Exception:
            # What the worker's own handler did when the commit was awaited in line: the
            # message (not the one being granted now) is tried again later.
            await self.outcomes.retry_later(sid, 30008, "internal error")
        finally:
            if commit.done() and self._committing.get(modem_id) is entry:
                del self._committing[modem_id]

    def _committed(self, sid: str, commit: asyncio.Task[None]) -> None:
        """A part's commit ended: a failure is said now, naming its message (the worker meets
        it at :meth:`_landed`, at its next grant or before it reads its queue again)."""
        if not commit.cancelled() and commit.exception() is not None:
            log.warning("%s: committing its part failed: %s", sid, commit.exception())

    async def _land(self, modem_ids: list[str], grace: float) -> None:
        """Wait up to ``grace`` seconds for the parts on the air of ``modem_ids``' modems,
        then up to :attr:`land_timeout` for the commits of those answered (an answered part
        whose commit is lost would go again after the restart); a commit still under way
        then is logged naming its message, and the stop goes on."""
        # The events, not their wait() coroutines: with no grace those would never be awaited
        # (a RuntimeWarning at every stop with shutdown_grace = 0 and a part on the air).
        on_air = [self._idle[m] for m in modem_ids if not self._idle[m].is_set()]
        if on_air and grace > 0:
            log.info("stopping: waiting up to %g s for %d part(s) on the air", grace, len(on_air))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.gather(*(idle.wait() for idle in on_air))
        try:
            async with asyncio.timeout(self.land_timeout):
                for modem_id in modem_ids:
                    try:
                        await self._landed(modem_id)
                    except StoreError as exc:
                        log.warning("%s: the last part's commit failed: %s", modem_id, exc)
        except TimeoutError:
            self._not_landed(modem_ids)

    def _not_landed(self, modem_ids: list[str]) -> None:
        """Logs, naming its message, each commit of ``modem_ids``' last parts still under way
        when the stop gives up on it. The commit is left to finish (the store, which closes
        last, may still land it; if it fails, :meth:`_committed` says so)."""
        for modem_id in modem_ids:
            entry = self._committing.get(modem_id)
            if entry is None or entry[1].done():
                continue
            sid = entry[0]
            log.warning(
                "%s: stopping without the commit of its part sent by %s (not landed in %g s); "
                "the part may go again after the restart",
                sid,
                modem_id,
                self.land_timeout,
                extra=fields(sid=sid, modem=modem_id),
            )

    # --- validity period ---------------------------------------------------------------------

    async def expire_due(self) -> int:
        """Fail (30036) the messages whose validity period ended before they were sent."""
        return await self.outcomes.expire_due()

    async def _expiry(self) -> None:
        while True:
            self._expiry_wake.clear()
            due = self._next_expiry = await self.store.next_expiry()
            if await woken(self._expiry_wake, seconds_until(due, self.clock)):
                continue
            try:
                await self.expire_due()
            except StoreError as exc:
                log.warning("expiring unsent messages failed: %s", exc)

    # --- sending -----------------------------------------------------------------------------

    async def _worker(self, handle: ModemHandle) -> None:
        wake, pacer = self._wake[handle.id], self._pacers[handle.id]
        await self.quotas.load(handle.config)
        # What caps held back is weighed again under the caps this worker starts with: a
        # reload (or a restart) that raised or removed them lets it go now, not at the period's
        # start; what the caps still hold is held again.
        await self.store.release_held(handle.id, self.clock())
        local_failures = 0
        while True:
            wake.clear()  # before looking, so a message committed meanwhile is not missed
            await self._landed(handle.id)  # what is read next includes the last part sent
            work = await self.store.outbound_work(handle.id, self.clock())
            for sid in [sid for sid, modem in self._moved.items() if modem == handle.id]:
                if all(item.message.sid != sid for item in work):
                    del self._moved[sid]  # gone from this modem's queue: nothing to drop
            if not work:
                await self._sleep_until_due(handle.id, wake)
                continue
            for item in work:
                try:
                    await self._send(handle, item, pacer)
                except ModemLost as exc:
                    handle.lost(str(exc))
                    break  # the rest wait for the modem to come back
                except _LocalTrouble as trouble:
                    # The modem or its SIM, not the message: it stays queued, uncounted,
                    # while the modem is initialised again; then, after a pause growing
                    # with each such failure in a row, the queue goes on.
                    handle.trouble(trouble.reason)
                    delay = local_pause(local_failures, self.local_delays)
                    local_failures += 1
                    await asyncio.sleep(delay)
                    break
                except StoreError:
                    # Nothing can be committed (a full disk): no attempt is held against the
                    # message; the task is restarted with backoff and takes the queue again.
                    raise
                except Exception:  # a bug must not stop this modem's queue for good
                    log.exception("%s: sending %s failed unexpectedly", handle.id, item.message.sid)
                    await self.outcomes.retry_later(item.message.sid, 30008, "internal error")
                else:
                    local_failures = 0
                    handle.last_trouble = None

    async def _sleep_until_due(self, modem_id: str, wake: asyncio.Event) -> None:
        due = await self.store.next_attempt_at(modem_id)
        await woken(wake, seconds_until(due, self.clock))

    async def _send(self, handle: ModemHandle, work: OutboundWork, pacer: _Pacer) -> None:
        message = work.message
        if self._ending(handle):
            return
        first = all(segment.sent_at is None for segment in work.segments)
        price = self.prices.price(message.to, message.num_segments)
        if first and over_max_price(price, message.max_price):
            log.info("%s: price %s over MaxPrice %s", message.sid, price, message.max_price)
            await self.outcomes.fail(message.sid, PRICE_EXCEEDS_MAX)
            return
        unsent = [segment for segment in work.segments if segment.sent_at is None]
        until = self.quotas.held_until(handle.config, len(unsent), message.to)
        if until is not None:
            await self._hold(handle, message, until)
            return
        modem = await handle.ready()
        if self._moved.pop(message.sid, None) is not None:
            return  # moved to another modem while this one was away
        charge = charged(price, self.prices.unit)
        # A part acknowledged before a restart never goes again.
        for segment in unsent:
            await pacer.wait()
            if self._ending(handle):
                return  # shutting down (or the modem leaving): the rest goes later
            idle = self._idle[handle.id]
            idle.clear()
            try:
                last = segment is unsent[-1]
                await self._send_part(handle, modem, message, segment, charge if last else None)
            except _PartDone:
                return
            finally:
                idle.set()
                pacer.went()
        if not unsent:
            await self.outcomes.sent(message.sid, charge)

    async def _hold(self, handle: ModemHandle, message: Message, until: datetime) -> None:
        """``handle``'s plan caps hold ``message`` back until ``until``: it waits for then, or
        fails now if its validity period ends first (or no period would let it go). A message
        of a Messaging Service that may move waits all the same, at most until its validity
        ends: routing moves it to a modem with quota left, or fails it."""
        expires = message.expires_at
        if too_late(until, expires):
            if message.messaging_service_sid is None or message.sender_pinned:
                log.warning(
                    "%s: %s's quota cannot take it before its validity period ends; failed (%d)",
                    message.sid,
                    handle.id,
                    QUOTA_EXCEEDED,
                )
                await self.outcomes.fail(message.sid, QUOTA_EXCEEDED)
                return
            until = min(until, expires) if expires is not None else until
        await self.outcomes.held(message.sid, handle.id, until)

    def _ending(self, handle: ModemHandle) -> bool:
        return self._stopping or handle.id in self._leaving

    async def _claim(self, handle: ModemHandle, message: Message, segment: Segment) -> str:
        """The part's PDU, once the store has granted it to ``handle``'s modem; asked at the
        ``>`` prompt, the last moment before it can go. The validity check and the grant are
        one transaction, so a message reported failed never goes. :class:`_PartDone` (the
        modem is then told ESC) when it must not go."""
        now = self.clock()
        claim = await self.store.claim_part(message.sid, segment.sequence, handle.id, now)
        if claim is Claim.EXPIRED:
            self.outcomes.expired(message.sid, handle.id)
            raise _PartDone
        if claim is Claim.GONE:
            raise _PartDone  # failed, canceled or given to another modem meanwhile
        if claim is Claim.STARTED:
            self.outcomes.announce(message.sid, Status.SENDING)
        if message.validity_period is None or message.expires_at is None:
            return segment.pdu
        # TS 23.040 §9.2.3.12: the network keeps the part no longer than the validity it has
        # left (at least 5 minutes, the shortest relative period).
        left = math.ceil((message.expires_at - now).total_seconds())
        return with_validity(segment.pdu, max(left, 1))

    async def _send_part(
        self,
        handle: ModemHandle,
        modem: Modem,
        message: Message,
        segment: Segment,
        last: Charge | None = None,
    ) -> None:
        """One part: AT+CMGS, granted at the prompt, and its TP-MR committed (with the
        message's ``sent`` when it is the ``last``, priced so); :class:`_PartDone` ends the
        message's turn (failed, deferred, expired)."""

        async def granted() -> str:
            # The part before this one is committed before this one is granted: a crash
            # never leaves a later part granted and an earlier one's answer unknown.
            await self._landed(handle.id)
            return await self._claim(handle, message, segment)

        try:
            async with handle.exclusive.part():  # never in the middle of a USSD session
                reference: int | None = await modem.send_pdu(granted, segment.tpdu_length)
        except CmsError as exc:
            self.metrics.refusals[handle.id, exc.code] += 1
            refusal = after_refusal(exc.code)
            if refusal.releases_part:
                await self.store.release_part(message.sid, segment.sequence)
            if refusal.next is Next.RECOVER:
                raise _LocalTrouble(f"+CMS ERROR: {exc.code} sending {message.sid}") from exc
            if refusal.next is not Next.SENT:
                await self.outcomes.refused(handle.id, message.sid, exc.code, refusal)
                raise _PartDone from exc
            reference = None  # TS 23.040 §9.2.3.22: the SC already has this part
        except (AtTimeout, AtCommandError, AtReplyError) as exc:
            # No +CMS ERROR: the modem itself misbehaves. Whether the part left is unknown;
            # the modem is reset and the part tried again later.
            handle.lost(f"{type(exc).__name__}: {exc}")
            await self.outcomes.retry_later(message.sid, 30008, str(exc))
            raise _PartDone from exc
        if last is None:
            commit = self.store.record_part_sent(
                message.sid, segment.sequence, reference, self.clock()
            )
        else:
            commit = self.outcomes.sent(message.sid, last, (segment.sequence, reference))
        # Not awaited here: the next message's ``sending`` shares its transaction (the store
        # commits what waits together), and the next AT+CMGS goes while it is written. The
        # next grant, the next read of the queue and a stop wait for it (:meth:`_landed`):
        # the time between two parts is what keeps a modem under the network's pace (issue
        # 17, bench.pool).
        task = asyncio.ensure_future(commit)
        task.add_done_callback(functools.partial(self._committed, message.sid))
        self._committing[handle.id] = (message.sid, task)
        self.metrics.parts_sent[handle.id] += 1
        self.quotas.sent(handle.config, message.to)
        log.info(
            "%s: part %d/%d sent by %s, TP-MR %s",
            message.sid,
            segment.sequence,
            message.num_segments,
            handle.id,
            "unknown (the SC had it already)" if reference is None else reference,
            extra=fields(
                sid=message.sid,
                modem=handle.id,
                part=segment.sequence,
                parts=message.num_segments,
                tp_mr=reference,
            ),
        )


class _PartDone(Exception):
    """The message's turn ends with this part (it failed, or waits for a retry)."""


class _LocalTrouble(Exception):
    """The modem or SIM refused a part for a reason of its own (``Next.RECOVER``, from
    ``send_errors.Kind.LOCAL``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
