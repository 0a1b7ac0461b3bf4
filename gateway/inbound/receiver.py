"""Receiving: every PDU a modem holds or announces becomes an inbound message, exactly once.

A ``+CMTI``/``+CDSI`` has the storage it names listed (``AT+CMGL=4``): one command takes every
message and report there, however many arrived meanwhile, and the announcements queued before
that listing began are then skipped (by when they were queued, not by index: a slot deleted is
reused at once). A routed ``+CMT``/``+CDS`` is taken as it comes, ahead of what is queued and
between two entries of a listing under way: with ``AT+CSMS=1`` its ``AT+CNMA`` must come within
the network's timeout (TS 27.005 §3.4.1; TS 24.011 §10 TR2M, 12 to 20 s), or routing is turned
off and the network delivers it again, while a listing of a full storage (each entry committed,
then deleted) can take longer. A storage found past half full
(:mod:`gateway.inbound.storage_watch`), or that the modem says is full
(:class:`~drivers.StorageFull`), is listed before anything else queued. On every connection
and on a slow safety sweep, every storage is listed so that nothing left on the SIM is missed.
A PDU is committed first and deleted from the modem (``AT+CMGD``, one per index committed)
only then; the same PDU read again (a re-read, a restart, a network resend) is recognised by
its key and adds nothing.

A status report is applied to the part it is for; a part of a message goes to
:mod:`gateway.inbound.reassembly`, which makes its message (at once, or once its group is
complete or has waited too long).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from drivers import (
    AtTimeout,
    DriverError,
    MessageRouted,
    MessageStored,
    Modem,
    ModemLost,
    ReportRouted,
    ReportStored,
    StorageFull,
)
from drivers.codec import Deliver, PduError, StatusReport, decode
from gateway.accounts.numbers import PhoneNumbers
from gateway.config import Config
from gateway.domain.assembly import received_part
from gateway.domain.delivery import REPORT_WINDOW_DAYS, report_of
from gateway.domain.errors import StoreError
from gateway.domain.models import Message
from gateway.domain.records import ReceivedReport, ReportMatch
from gateway.inbound.reassembly import Reassembly
from gateway.inbound.storage_watch import StorageWatch
from gateway.listeners import Listeners
from gateway.logs import fields
from gateway.metrics import Metrics
from gateway.modems.pool import ModemPool
from gateway.modems.supervisor import ModemHandle
from gateway.store import InboundLog
from gateway.tasks import Tasks
from gateway.waiting import stop_tasks, woken
from gateway.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)

RETRY: Final = 30.0  # seconds before the SIM is read again after the database refused a part


@dataclass(frozen=True, slots=True)
class Sweep:
    """List ``storage`` (``None``: every one), unless a listing of it began after this was
    ``queued`` (the modem's count of jobs queued then)."""

    storage: str | None = None
    queued: int = 0


Routed = MessageRouted | ReportRouted
Event = Routed | Sweep
Job = tuple[Modem, Event]  # the modem that said so: a routed code is acknowledged to it


class InboundReceiver:
    def __init__(
        self,
        config: Config,
        store: InboundLog,
        modems: ModemPool,
        webhooks: WebhookSender,
        numbers: PhoneNumbers,
        *,
        clock: Callable[[], datetime],
        account_of: Callable[[str], str],
        tasks: Tasks | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.modems = modems
        self.webhooks = webhooks
        self.clock = clock
        self.tasks = tasks or Tasks()
        self.metrics = metrics or Metrics()
        # What the parts read here make: their messages, the expiry of groups, the resume.
        self.reassembly = Reassembly(
            config,
            store,
            webhooks,
            numbers,
            clock=clock,
            account_of=account_of,
            tasks=self.tasks,
            metrics=self.metrics,
        )
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        # Per modem: routed codes not taken yet, each also queued (its turn there takes it,
        # and any after it, if nothing took it before: a listing between two entries does).
        self._routed: dict[str, collections.deque[tuple[Modem, Routed]]] = {}
        self._workers: dict[str, list[asyncio.Task[None]]] = {}  # per modem: receive, sweep
        self._retries: dict[str, asyncio.TimerHandle] = {}  # a sweep after a failed commit
        self._retimed = asyncio.Event()  # set, and replaced, when sweep_interval changes
        # Per modem: jobs queued so far; for each storage, that count when its last listing
        # began (what was queued by then is in that listing); what its storages hold.
        self._queued: dict[str, int] = {}
        self._listed: dict[str, dict[str, int]] = {}
        self.watches: dict[str, StorageWatch] = {}
        # Per modem: storages to list before the next job, the job count then (None: every
        # one): a storage past half full, or full.
        self._pressing: dict[str, dict[str | None, int]] = {}
        self._sweeping: dict[str, Sweep] = {}  # per modem: the listing under way
        self._report_listeners: Listeners[[ReportMatch]] = Listeners("a status report")

    # --- wiring ------------------------------------------------------------------------------

    def on_message(self, listener: Callable[[Message], None]) -> Callable[[], None]:
        """Call ``listener(message)`` after each inbound message is committed."""
        return self.reassembly.on_message(listener)

    def on_report(self, listener: Callable[[ReportMatch], None]) -> Callable[[], None]:
        """Call ``listener(match)`` after each new status report is committed (and applied
        to the part it matched, if any)."""
        return self._report_listeners.subscribe(listener)

    def start(self) -> None:
        for handle in self.modems.handles.values():
            self.attach(handle)
        self.reassembly.start()

    def attach(self, handle: ModemHandle) -> None:
        """Receive from ``handle``'s modem (at start, and for a modem a reload added or opened
        again), before it starts: it hears the first connection."""
        self._queues[handle.id] = asyncio.Queue()
        self._routed[handle.id] = collections.deque()
        self._queued[handle.id] = 0
        # Inbound first (gateway.modems.exclusive): the next part waits for what is queued.
        handle.exclusive.inbound = functools.partial(self.drain, handle.id)
        handle.on_connected(functools.partial(self._connected, handle))
        # Back in service on the same connection: what came meanwhile is on the SIM.
        handle.on_recovered(functools.partial(self.sweep_now, handle))
        work = functools.partial(self._work, handle)
        sweeps = functools.partial(self._sweeps, handle)
        self._workers[handle.id] = [
            self.tasks.spawn(f"receive {handle.id}", work),
            self.tasks.spawn(f"sweep {handle.id}", sweeps),
        ]

    async def drain(self, modem_id: str) -> None:
        """Returns once what ``modem_id``'s modem announced so far is dealt with."""
        queue = self._queues.get(modem_id)
        if queue is not None:
            await queue.join()

    async def detach(self, modem_id: str) -> None:
        """Stop receiving from ``modem_id``'s modem (a reload removed or changed it): what it
        still holds stays on its SIM, for the next connection's sweep."""
        timer = self._retries.pop(modem_id, None)
        if timer is not None:
            timer.cancel()
        await stop_tasks(self._workers.pop(modem_id, []))
        self._queues.pop(modem_id, None)
        self._routed.pop(modem_id, None)
        self._listed.pop(modem_id, None)
        self.watches.pop(modem_id, None)
        self._pressing.pop(modem_id, None)

    def reconfigure(self, config: Config) -> None:
        """Take a reloaded configuration: its services, reassembly timeout and sweep interval
        (the sweeps count again from now)."""
        old, self.config = self.config, config
        self.reassembly.reconfigure(config)
        if config.sweep_interval != old.sweep_interval:
            self._retimed.set()
            self._retimed = asyncio.Event()

    async def stop(self) -> None:
        for timer in self._retries.values():
            timer.cancel()
        self._retries.clear()
        await stop_tasks([task for tasks in self._workers.values() for task in tasks])
        self._workers.clear()
        await self.reassembly.stop()

    def _connected(self, handle: ModemHandle, modem: Modem) -> None:
        queue = self._queues.get(handle.id)
        if queue is None:
            return  # a modem being taken away by a reload: the next connection sweeps
        self._listed[handle.id] = {}  # a new connection: nothing listed on it yet
        self.watches[handle.id] = watch = StorageWatch()
        pressing: dict[str | None, int] = {}
        self._pressing[handle.id] = pressing

        routed = self._routed[handle.id]

        def take(event: Routed) -> None:
            routed.append((modem, event))
            queue.put_nowait((modem, event))  # wakes the worker, counts in drain()

        def stored(event: MessageStored | ReportStored) -> None:
            self._enqueue(handle, modem, event.storage)
            if watch.stored(event.storage, event.index):
                # Its listing is queued; it goes before whatever else is queued first.
                pressing.setdefault(event.storage, self._queued[handle.id])

        def full(event: StorageFull) -> None:
            self.metrics.storage_full[handle.id] += 1
            under_way = self._sweeping.get(handle.id)
            if under_way is not None and under_way.storage in (None, event.storage):
                # Being emptied: what it did not list is announced and queued. (And a +CMS
                # ERROR: 322 answered to its own commands must not start it again and again.)
                log.warning("%s: storage full (%s) while emptied", handle.id, event.source)
                return
            log.warning("%s: storage full (%s); emptying it now", handle.id, event.source)
            self._enqueue(handle, modem, event.storage)  # wakes the worker if it waits
            pressing.setdefault(event.storage, self._queued[handle.id])

        modem.subscribe(MessageStored, stored)
        modem.subscribe(MessageRouted, take)
        modem.subscribe(ReportStored, stored)
        modem.subscribe(ReportRouted, take)
        modem.subscribe(StorageFull, full)
        # Whatever arrived while nobody was listening is still in the modem's storage; the
        # first sweep also learns how much each storage holds.
        self._enqueue(handle, modem, None)

    def _enqueue(self, handle: ModemHandle, modem: Modem, storage: str | None) -> None:
        queue = self._queues.get(handle.id)
        if queue is None:
            return
        queued = self._queued[handle.id] = self._queued[handle.id] + 1
        queue.put_nowait((modem, Sweep(storage, queued)))

    async def _sweeps(self, handle: ModemHandle) -> None:
        while True:
            retimed = self._retimed  # a new one at each reload
            if not await woken(retimed, self.config.sweep_interval or None):
                self.sweep_now(handle)

    def _sweep_later(self, handle: ModemHandle) -> None:
        if handle.id not in self._retries:
            self._retries[handle.id] = asyncio.get_running_loop().call_later(
                RETRY, self._retry, handle
            )

    def _retry(self, handle: ModemHandle) -> None:
        del self._retries[handle.id]
        self.sweep_now(handle)

    def sweep_now(self, handle: ModemHandle) -> None:
        """List ``handle``'s storages soon (after what is already queued)."""
        if handle.modem is not None:
            self._enqueue(handle, handle.modem, None)

    async def settled(self) -> None:
        """Returns once every notification and sweep queued so far has been dealt with."""
        for queue in self._queues.values():
            await queue.join()

    # --- the modem side ----------------------------------------------------------------------

    async def _work(self, handle: ModemHandle) -> None:
        queue = self._queues[handle.id]
        while True:
            modem, event = await queue.get()
            try:
                await self._take_routed(handle)  # this job's, if routed, and any before it
                pressing = self._pressing.get(handle.id)
                while pressing and handle.modem is not None:
                    # A storage filling (or full) first: it loses what comes next.
                    storage, queued = pressing.popitem()
                    await self._handle(handle, handle.modem, Sweep(storage, queued))
                await self._handle(handle, modem, event)
            finally:
                queue.task_done()

    async def _handle(self, handle: ModemHandle, modem: Modem, event: Event) -> None:
        if isinstance(event, Sweep):
            await self._guarded(handle, modem, functools.partial(self._sweep, handle, modem, event))
        # A routed code was taken as soon as the worker was free (_take_routed).

    async def _take_routed(self, handle: ModemHandle) -> None:
        """Take the routed codes not taken yet, in order: each committed, then acknowledged.
        Called before each job and between two entries of a listing, so that none waits
        for a whole listing (its AT+CNMA must come within the network's timeout)."""
        routed = self._routed.get(handle.id)
        while routed:
            modem, event = routed.popleft()
            code = functools.partial(self._routed_code, handle, modem, event)
            await self._guarded(handle, modem, code)

    async def _routed_code(self, handle: ModemHandle, modem: Modem, event: Routed) -> None:
        await self.accept(handle, event.pdu, event.length)
        if event.needs_ack:
            await modem.acknowledge()  # only once committed

    async def _guarded(
        self, handle: ModemHandle, modem: Modem, work: Callable[[], Awaitable[None]]
    ) -> None:
        """``work()`` for ``handle``'s ``modem``, what it raises logged and dealt with."""
        if modem is not handle.modem:
            return  # from a connection since lost: the new one's sweep reads the SIM
        try:
            await work()
        except ModemLost:
            pass  # the next connection's sweep reads whatever is still stored
        except AtTimeout as exc:
            # The modem stopped answering: it is recovered, and its recovery sweeps.
            handle.lost(f"no answer while receiving: {exc}")
        except StoreError as exc:
            # Nothing was deleted that is not committed: it stays on the SIM, and a sweep
            # soon (not only the slow safety sweep) takes it once the database takes it.
            log.warning("%s: receiving failed: %s; trying again in %g s", handle.id, exc, RETRY)
            self._sweep_later(handle)
        except DriverError as exc:
            # Nothing was deleted that is not committed: a sweep soon tries again (a listing
            # cut short covered the announcements queued before it, which are skipped).
            log.warning("%s: receiving failed: %s; trying again in %g s", handle.id, exc, RETRY)
            self._sweep_later(handle)
        except Exception:
            # A fault of ours must not stop this modem's receiving; what was not committed is
            # still on the SIM for the next sweep.
            log.exception("%s: receiving failed", handle.id)

    async def _sweep(self, handle: ModemHandle, modem: Modem, sweep: Sweep) -> None:
        if not handle.usable:
            # Being recovered (initialised again on the same link, its commands interleaved
            # with ours): its recovery, or the next connection, lists every storage.
            return
        self._sweeping[handle.id] = sweep
        try:
            await self._sweep_storages(handle, modem, sweep)
        finally:
            del self._sweeping[handle.id]

    async def _sweep_storages(self, handle: ModemHandle, modem: Modem, sweep: Sweep) -> None:
        listed = self._listed.setdefault(handle.id, {})
        if sweep.storage is not None:
            if sweep.queued > listed.get(sweep.storage, 0):
                await self._take(handle, modem, sweep.storage)
            return  # else: listed since it was announced, with whatever it announced
        info = modem.info
        for storage in info.storages if info is not None else ():
            if sweep.queued <= listed.get(storage, 0):
                continue
            try:
                await self._take(handle, modem, storage)
            except DriverError as exc:
                if isinstance(exc, ModemLost | AtTimeout):
                    raise
                log.info("%s: cannot list %s: %s", handle.id, storage, exc)
                continue
            watch = self.watches.get(handle.id)
            if watch is not None and storage not in watch.usage:
                await self._learn(watch, handle, modem, storage)

    async def _take(self, handle: ModemHandle, modem: Modem, storage: str) -> None:
        """One ``AT+CMGL=4`` of ``storage``; each message and report in it committed, then
        deleted by its index. Not ``AT+CMGD=<index>,1`` ("all read", TS 27.005 §3.5.4): the
        listing marks what it lists read, so that would also delete what failed to commit,
        and a modem that stores reports as read would lose one that arrived meanwhile."""
        began = self._queued[handle.id]
        entries = await modem.list_messages(storage)
        self._listed.setdefault(handle.id, {})[storage] = began
        left = 0
        for entry in entries:
            await self._take_routed(handle)  # between two entries: its AT+CNMA is due
            if entry.stat in (2, 3):
                left += 1
                continue  # a message stored for sending, not one received
            await self.accept(handle, entry.pdu, entry.length)
            await modem.delete_message(storage, entry.index)  # only once committed
        watch = self.watches.get(handle.id)
        if watch is not None:
            watch.listed(storage, left)

    async def _learn(
        self, watch: StorageWatch, handle: ModemHandle, modem: Modem, storage: str
    ) -> None:
        """(used, total) of ``storage`` for the watch (``AT+CPMS?``: once per connection)."""
        try:
            used, total = await modem.storage_usage(storage)
        except DriverError as exc:
            if isinstance(exc, ModemLost | AtTimeout):
                raise
            log.info("%s: cannot read how full %s is: %s", handle.id, storage, exc)
            used, total = 0, 0  # unknown: not asked again on this connection
        watch.learned(storage, used, total)

    # --- accepting a PDU ---------------------------------------------------------------------

    async def accept(self, handle: ModemHandle, pdu: str, length: int | None) -> None:
        """Commit what ``pdu`` is; returns once it is durable (the modem may then delete it)."""
        now = self.clock()
        try:
            message = decode(pdu, length)
        except PduError as exc:
            log.warning("%s: keeping an undecodable PDU (%s)", handle.id, exc)
            await self.store.add_unreadable(handle.id, pdu, length, str(exc), now)
            return
        tpdu = pdu[len(pdu) - 2 * message.tpdu_length :] if message.tpdu_length else pdu
        if isinstance(message, StatusReport):
            await self._report(handle, message, tpdu, now)
        elif isinstance(message, Deliver):
            recipient = handle.config.numbers[0]
            part = received_part(handle.id, recipient, message, tpdu, now)
            if not await self.reassembly.add(part):
                self.metrics.duplicates += 1
                log.info("%s: a part from %s read again; already committed", handle.id, part.sender)
        else:
            log.info("%s: ignoring a stored SMS-SUBMIT", handle.id)

    async def _report(
        self, handle: ModemHandle, report: StatusReport, tpdu: str, now: datetime
    ) -> None:
        key = hashlib.sha256(f"{handle.id}|{tpdu.upper()}".encode()).hexdigest()
        received = ReceivedReport(
            handle.id,
            key,
            report.message_reference,
            report.recipient.number,
            report.status,
            tpdu.upper(),
            now,
            report_of(report),
        )
        match = await self.store.add_status_report(received)
        if match is None:
            self.metrics.duplicates += 1
            return
        self.metrics.reports[handle.id] += 1
        self._report_listeners.announce(match)
        if match.sid is None:
            self.metrics.unmatched_reports += 1
            log.warning(
                "%s: status report (TP-MR %d, to %s, TP-ST 0x%02X) matches no message sent "
                "in the last %d days; kept",
                handle.id,
                received.reference,
                received.recipient,
                received.status,
                REPORT_WINDOW_DAYS,
            )
            return
        code = received.outcome.error_code
        log.info(
            "%s: part %s %s (TP-ST 0x%02X%s)%s",
            match.sid,
            match.sequence,
            received.outcome.delivery,
            received.status,
            f", error {code}" if code else "",
            f"; message {match.status}" if match.status else "",
            extra=fields(
                sid=match.sid,
                modem=handle.id,
                part=match.sequence,
                delivery=received.outcome.delivery,
                status=match.status,
                code=code,
            ),
        )
        if match.status is not None:
            self.webhooks.wake()

    # --- what the parts make (gateway.inbound.reassembly) -------------------------------------

    async def resume(self) -> None:
        """Make the messages a stop (or a crash) left unmade (:meth:`Reassembly.resume`)."""
        await self.reassembly.resume()

    async def expire_due(self) -> int:
        """Make messages of the groups that waited too long; returns how many."""
        return await self.reassembly.expire_due()
