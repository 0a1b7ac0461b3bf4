"""Receiving: every PDU a modem holds or announces becomes an inbound message, exactly once.

``+CMTI`` is read (``AT+CMGR``) at once and ``+CMT`` taken as it comes; on every connection and
on a slow safety sweep, every storage is listed (``AT+CMGL=4``) so that nothing left on the SIM
is missed. A PDU is committed first and deleted from the modem only then; the same PDU read
again (a re-read, a restart, a network resend) is recognised by its key and adds nothing.

A status report is applied to the part it is for; a part of a message goes to
:mod:`gateway.inbound.reassembly`, which makes its message (at once, or once its group is
complete or has waited too long).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable
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
    """List every storage."""


Event = MessageStored | ReportStored | MessageRouted | ReportRouted | Sweep
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
        self._workers: dict[str, list[asyncio.Task[None]]] = {}  # per modem: receive, sweep
        self._retries: dict[str, asyncio.TimerHandle] = {}  # a sweep after a failed commit
        self._retimed = asyncio.Event()  # set, and replaced, when sweep_interval changes
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

        def take(event: Event) -> None:
            queue.put_nowait((modem, event))

        modem.subscribe(MessageStored, take)
        modem.subscribe(MessageRouted, take)
        modem.subscribe(ReportStored, take)
        modem.subscribe(ReportRouted, take)
        # Whatever arrived while nobody was listening is still in the modem's storage.
        take(Sweep())

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
        queue = self._queues.get(handle.id)
        if handle.modem is not None and queue is not None:
            queue.put_nowait((handle.modem, Sweep()))

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
                await self._handle(handle, modem, event)
            finally:
                queue.task_done()

    async def _handle(self, handle: ModemHandle, modem: Modem, event: Event) -> None:
        if modem is not handle.modem:
            return  # from a connection since lost: the new one's sweep reads the SIM
        try:
            if isinstance(event, MessageStored | ReportStored):
                await self._read_stored(handle, modem, event.storage, event.index)
            elif isinstance(event, MessageRouted | ReportRouted):
                await self.accept(handle, event.pdu, event.length)
                if event.needs_ack:
                    await modem.acknowledge()  # only once committed
            else:
                await self.sweep(handle, modem)
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
            # Nothing was deleted that is not committed: the next sweep tries again.
            log.warning("%s: receiving failed: %s", handle.id, exc)
        except Exception:
            # A fault of ours must not stop this modem's receiving; what was not committed is
            # still on the SIM for the next sweep.
            log.exception("%s: receiving failed", handle.id)

    async def _read_stored(
        self, handle: ModemHandle, modem: Modem, storage: str, index: int
    ) -> None:
        entry = await modem.read_message(storage, index)
        if entry is None:
            return  # already read and deleted (a sweep got there first)
        await self.accept(handle, entry.pdu, entry.length)
        await modem.delete_message(storage, index)  # only once committed

    async def sweep(self, handle: ModemHandle, modem: Modem) -> None:
        """List every storage and take what is there (on connect, and now and then)."""
        info = modem.info
        storages = info.storages if info is not None else ()
        for storage in storages:
            try:
                entries = await modem.list_messages(storage)
            except DriverError as exc:
                log.info("%s: cannot list %s: %s", handle.id, storage, exc)
                continue
            for entry in entries:
                if entry.stat in (2, 3):
                    continue  # a message stored for sending, not one received
                await self.accept(handle, entry.pdu, entry.length)
                await modem.delete_message(storage, entry.index)

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
