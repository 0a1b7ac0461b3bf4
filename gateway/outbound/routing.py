"""Messaging Services: the gateway picks the sender, and sends scheduled messages on time.

A message created through a service (``MessagingServiceSid``, or an ``MG…`` SID in ``From``)
is committed ``accepted`` with no sender; a scheduled one ``scheduled`` until ``SendAt``. The
router, woken by each such commit and by a timer for the next ``SendAt``, gives each its sender
and its modem, encodes its parts and queues it (``queued``, with that status callback): the
number the service last sent to that recipient from, when ``sticky_sender`` is on and its modem
is ready; otherwise the number whose ready modem has the fewest parts waiting. A message sent
with a ``From`` of the pool too is pinned to it: it waits for that number's modem, as a message
sent without a service does, and a failover never moves it.

When a modem stops (unplugged, no SIM, no network registration...), its service messages with
no part sent yet (and no pinned sender) move to another ready modem of their service
``FAILOVER_AFTER`` seconds after it left service; a message waits as long as no modem of its
service is ready (its validity period still applies).

A modem's plan caps (:mod:`gateway.domain.quota`) count too: a message goes to a modem of its
service whose caps let it go now, if one is ready (else it waits where it would have gone), and
a message its modem's caps hold back moves to another modem of its service with quota left.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Final

from drivers.codec import plan_text
from gateway.config import Config, ServiceConfig
from gateway.domain.errors import ApiError, StoreError
from gateway.domain.models import Message, Status
from gateway.domain.quota import too_late
from gateway.logs import fields
from gateway.metrics import Metrics
from gateway.modems.pool import ModemPool
from gateway.modems.supervisor import ModemHandle, ModemState
from gateway.outbound.accept import Outbound
from gateway.outbound.attempts import QUOTA_EXCEEDED
from gateway.outbound.dispatcher import Dispatcher
from gateway.store import RoutingQueue
from gateway.tasks import Tasks
from gateway.waiting import seconds_until, stop_tasks, woken

log = logging.getLogger(__name__)

FAILOVER_AFTER: Final = 30.0  # seconds a modem may be away before its messages move


class ServiceRouter:
    def __init__(
        self,
        config: Config,
        store: RoutingQueue,
        modems: ModemPool,
        outbound: Outbound,
        dispatcher: Dispatcher,
        *,
        clock: Callable[[], datetime],
        failover_after: float = FAILOVER_AFTER,
        tasks: Tasks | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self.tasks = tasks or Tasks()
        self.store = store
        self.modems = modems
        self.outbound = outbound
        self.dispatcher = dispatcher
        self.clock = clock
        self.failover_after = failover_after
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._failovers: dict[str, asyncio.TimerHandle] = {}
        self._capped: set[str] = set()  # modems whose caps hold messages back: move them
        self._unsubscribe: Callable[[], None] | None = None

    def wake(self) -> None:
        """A service message was committed, or a modem came back: look now."""
        self._wake.set()

    def start(self) -> None:
        for handle in self.modems.handles.values():
            self.attach(handle)
        self._unsubscribe = self.dispatcher.on_held(self._held)
        self._tasks.append(self.tasks.spawn("services", self._run))

    def reconfigure(self, config: Config) -> None:
        """Route with a reloaded configuration's services from now on."""
        self.config = config
        self.wake()  # a message may have a ready modem in its pool now

    def attach(self, handle: ModemHandle) -> None:
        """Follow ``handle``'s state (at start, and for a modem a reload added or reopened)."""
        handle.on_state(functools.partial(self._modem_state, handle))

    def detach(self, modem_id: str) -> None:
        """Forget ``modem_id``'s old handle (a reload stopped it): no failover pending for it."""
        timer = self._failovers.pop(modem_id, None)
        if timer is not None:
            timer.cancel()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for timer in self._failovers.values():
            timer.cancel()
        self._failovers.clear()
        await stop_tasks(self._tasks)
        self._tasks.clear()

    # --- choosing and queueing ---------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.route_due()
                while self._capped:
                    await self.relieve(self._capped.pop())
                due = await self.store.next_scheduled_at()
            except StoreError as exc:
                log.warning("routing service messages failed: %s", exc)
                due = None
            await woken(self._wake, seconds_until(due, self.clock))

    async def route_due(self) -> int:
        """Give every waiting service message (and every scheduled one now due) its sender;
        returns how many were queued."""
        count = 0
        while True:
            waiting = await self.store.waiting_for_sender(self.clock())
            queued = 0
            for message in waiting:
                if await self._route(message):
                    queued += 1
            count += queued
            if queued == 0 or len(waiting) < 64:
                return count

    async def _route(
        self, message: Message, avoid: str | None = None, *, with_quota: bool = False
    ) -> bool:
        handle = await self._sender(message, avoid, with_quota)
        if handle is None:
            return False  # no modem of its service is ready: it waits for one
        number = message.from_ if message.from_ in handle.config.numbers else None
        number = number or self._pool_number(message, handle)
        try:
            new = self.outbound.encode(replace(message, from_=number), handle)
        except ApiError as exc:
            log.error("%s cannot be sent: %s", message.sid, exc)
            await self.store.update_status(
                message.sid, Status.FAILED, self.clock(), error_code=30008
            )
            return False
        if not await self.store.assign_sender(new, self.clock()):
            return False  # canceled, or sent, meanwhile
        self.metrics.routed += 1
        if message.status is not Status.QUEUED:
            self.dispatcher.announce(message.sid, Status.QUEUED)
        self.outbound.backlog.added(handle.id, new.message.num_segments)
        log.info(
            "%s: sender %s chosen, %d part(s) on %s",
            message.sid,
            number,
            new.message.num_segments,
            handle.id,
            extra=fields(sid=message.sid, modem=handle.id, parts=new.message.num_segments),
        )
        self.outbound.wake_for(replace(new, message=replace(new.message, status=Status.QUEUED)))
        return True

    async def _fail(self, sid: str, code: int) -> None:
        if await self.dispatcher.outcomes.set_status(sid, Status.FAILED, error_code=code):
            log.warning("%s: no modem's quota can take it in time; failed (%d)", sid, code)

    def _service(self, message: Message) -> ServiceConfig | None:
        return self.config.service(message.messaging_service_sid or "")

    def _pool_number(self, message: Message, handle: ModemHandle) -> str:
        service = self._service(message)
        pool = service.numbers if service else handle.config.numbers
        return next(n for n in pool if n in handle.config.numbers)

    async def _sender(
        self, message: Message, avoid: str | None, with_quota: bool = False
    ) -> ModemHandle | None:
        """The modem to send ``message``: its own ``From`` if it has one, else the service's
        sticky number for the recipient, else the least-loaded ready modem of the pool; one
        whose plan caps let it go now if there is one (``with_quota``: only such a one)."""
        if message.from_ is not None and avoid is None:
            fixed = self.modems.for_number(message.from_)
            return fixed if fixed is not None and self._ready(fixed) else None
        service = self._service(message)
        if service is None:
            return None
        candidates = [
            handle for handle in self._pool(service) if self._ready(handle) and handle.id != avoid
        ]
        if any(handle.config.quota.capped for handle in candidates):
            # The body is planned into parts here only for a plan's caps (most modems have
            # none): a service's message is encoded once it has its sender.
            parts = message.num_segments or plan_text(message.body).num_segments
            quotas = self.dispatcher.quotas
            left = [h for h in candidates if quotas.held_until(h.config, parts, message.to) is None]
            # Else it waits on one of the others for its next period (a move away from a
            # modem whose caps hold it would gain nothing).
            candidates = left if with_quota else left or candidates
        if not candidates:
            return None
        if service.sticky_sender:
            last = await self.store.last_sender(message.account_sid, service.sid, message.to)
            for handle in candidates:
                if last is not None and last in handle.config.numbers:
                    return handle
        loads = [
            (await self.outbound.backlog.parts(handle.id), index)
            for index, handle in enumerate(candidates)
        ]
        return candidates[min(loads)[1]]

    def _pool(self, service: ServiceConfig) -> list[ModemHandle]:
        handles: list[ModemHandle] = []
        for number in service.numbers:
            handle = self.modems.for_number(number)
            if handle is not None and handle not in handles:
                handles.append(handle)
        return handles

    @staticmethod
    def _ready(handle: ModemHandle) -> bool:
        return handle.state is ModemState.READY

    # --- failover ----------------------------------------------------------------------------

    def _modem_state(self, handle: ModemHandle, state: ModemState) -> None:
        if state is ModemState.READY:
            timer = self._failovers.pop(handle.id, None)
            if timer is not None:
                timer.cancel()
            self.wake()  # messages that waited for any modem of their service
        elif state is not ModemState.STOPPED and handle.id not in self._failovers:
            # Counted from when it left service, not from each attempt to bring it back.
            loop = asyncio.get_running_loop()
            self._failovers[handle.id] = loop.call_later(
                self.failover_after, lambda: self._start_failover(handle)
            )

    def _start_failover(self, handle: ModemHandle) -> None:
        self._failovers.pop(handle.id, None)
        if not self._ready(handle):
            task = asyncio.get_running_loop().create_task(self._fail_over(handle))
            self._tasks.append(task)
            task.add_done_callback(self._tasks.remove)

    async def _fail_over(self, handle: ModemHandle) -> None:
        try:
            await self.fail_over(handle)
        except StoreError as exc:
            log.warning("moving %s's messages failed: %s", handle.id, exc)

    async def fail_over(self, handle: ModemHandle) -> int:
        """Move ``handle``'s unsent service messages to other ready modems of their services;
        returns how many moved."""
        services = [s.sid for s in self.config.services if handle in self._pool(s)]
        moved = await self._move(handle.id, services)
        if moved:
            log.warning("%s is away: %d of its messages moved to other modems", handle.id, moved)
        return moved

    async def removed(self, modem_id: str) -> int:
        """A reload removed ``modem_id``: its unsent service messages move now to ready
        modems of their services (those still configured); returns how many moved."""
        moved = await self._move(modem_id, [s.sid for s in self.config.services])
        if moved:
            log.info("%s was removed: %d of its messages moved to other modems", modem_id, moved)
        return moved

    def _held(self, sid: str, modem_id: str) -> None:
        """``modem_id``'s caps held ``sid`` back: its service may have a modem with quota."""
        self._capped.add(modem_id)
        self.wake()

    async def relieve(self, modem_id: str) -> int:
        """Move the service messages ``modem_id``'s caps hold back to other ready modems of
        their services whose caps let them go; one that cannot move, and that the caps hold
        past its validity period, fails with 30001. Returns how many moved."""
        handle = self.modems.handles.get(modem_id)
        if handle is None:
            return 0
        services = [s.sid for s in self.config.services if handle in self._pool(s)]
        if not services:
            return 0
        quotas = self.dispatcher.quotas
        held = [
            (message, until)
            for message in await self.store.unsent_of(modem_id, services)
            if (until := quotas.held_until(handle.config, message.num_segments, message.to))
            is not None
        ]
        moved = 0
        for message, until in held:
            if await self._move_these(modem_id, [message], with_quota=True):
                moved += 1
            elif too_late(until, message.expires_at):
                await self._fail(message.sid, QUOTA_EXCEEDED)
        if moved:
            log.info("%s's quota is used up: %d of its messages moved elsewhere", modem_id, moved)
        return moved

    async def _move(self, modem_id: str, services: list[str]) -> int:
        if not services:
            return 0
        return await self._move_these(modem_id, await self.store.unsent_of(modem_id, services))

    async def _move_these(
        self, modem_id: str, messages: list[Message], *, with_quota: bool = False
    ) -> int:
        moved = 0
        for message in messages:
            self.dispatcher.moved(message.sid, modem_id)  # its old worker must drop it
            if await self._route(replace(message, from_=None), modem_id, with_quota=with_quota):
                moved += 1
            else:
                self.dispatcher.kept(message.sid)
        self.metrics.moved += moved
        return moved
