"""Reassembly: the parts of a concatenated message, committed one by one, made into its message.

Parts of a concatenated message wait in the store until the set is complete; meanwhile,
from its first part, the message is in the API as ``receiving`` (the text of the parts that
came, ``num_segments`` the total its header announces, no ``date_sent`` yet), and it becomes
``received`` with the same SID. A message complete in one SMS is ``received`` at once. When
parts are still missing ``reassembly_timeout`` seconds after the first arrived, the message is
made of the parts that did arrive, in order, with Twilio error 30009 ("Missing segment"). Its
webhook fires once, when it is received. A missing part arriving after that, within another
``reassembly_timeout``, becomes a message of its own, also with 30009: it is never dropped,
and never changes a message whose webhook has gone. A part that cannot be one of a message
made already (its sequence number is in it, or it comes later) starts a new message: senders
use a concatenation reference again (:mod:`gateway.domain.assembly` says when, and why).

The modem side (:mod:`gateway.inbound.receiver`) hands over each part it reads; a part
committed before a stop (or a crash) made its message is made into it at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from gateway.accounts.numbers import PhoneNumbers
from gateway.config import Config
from gateway.domain.assembly import assemble, generation_of
from gateway.domain.callbacks import UNKNOWN_GEOGRAPHY
from gateway.domain.models import API_VERSION, ERROR_MESSAGES, Direction, Message, Status, new_sid
from gateway.domain.records import InboundPart, Webhook
from gateway.listeners import Listeners
from gateway.logs import fields
from gateway.metrics import Metrics
from gateway.store import InboundLog
from gateway.tasks import Tasks
from gateway.waiting import seconds_until, stop_tasks, woken
from gateway.webhooks.sender import WebhookSender

# The receive path logs under one name, as it did before reassembly had a module of its own:
# a journal filtered on it (README, "Logs") still shows a message received.
log = logging.getLogger("gateway.inbound.receiver")

MISSING_SEGMENT: Final = 30009


class Reassembly:
    """Each committed part made into what it makes: its message, or its group's so far; the
    groups that waited too long given up, on a timer; what a stop interrupted, resumed."""

    def __init__(
        self,
        config: Config,
        store: InboundLog,
        webhooks: WebhookSender,
        numbers: PhoneNumbers,
        *,
        clock: Callable[[], datetime],
        account_of: Callable[[str], str],
        tasks: Tasks,
        metrics: Metrics,
    ) -> None:
        self.config = config
        self.store = store
        self.webhooks = webhooks
        self.clock = clock
        self.account_of = account_of  # the account owning a modem's numbers, by modem id
        self.tasks = tasks
        self.numbers = numbers  # where each number's messages go
        self.metrics = metrics
        self.timeout = timedelta(seconds=config.reassembly_timeout)
        self._tasks: list[asyncio.Task[None]] = []
        self._assembling = asyncio.Lock()  # one group is completed, or expired, once
        self._waiting = asyncio.Event()  # a new group started: the expiry timer looks again
        self._listeners: Listeners[[Message]] = Listeners("an inbound message")

    def on_message(self, listener: Callable[[Message], None]) -> Callable[[], None]:
        """Call ``listener(message)`` after each inbound message is committed."""
        return self._listeners.subscribe(listener)

    def start(self) -> None:
        self._tasks.append(self.tasks.spawn("reassembly expiry", self._expiry))

    def reconfigure(self, config: Config) -> None:
        """Take a reloaded configuration: its services and reassembly timeout."""
        self.config = config
        self.timeout = timedelta(seconds=config.reassembly_timeout)
        self._waiting.set()  # the expiry timer reckons again

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks.clear()

    async def add(self, part: InboundPart) -> bool:
        """Commit ``part`` and make what it makes; ``False``, and nothing done, when the same
        PDU was committed before."""
        # The message a part joins is chosen, and the part committed to it, with nothing
        # made or given up in between.
        async with self._assembling:
            if part.group is not None:
                generations = await self.store.generations(part.group)
                part = replace(part, generation=generation_of(part, generations, self.timeout))
            if not await self.store.add_inbound_part(part):
                return False
            self.metrics.parts_received[part.modem] += 1
            await self._join(part)
            return True

    async def _join(self, part: InboundPart) -> None:
        """Make what ``part``, committed, makes: its message, or its group's so far."""
        if part.group is None:
            await self._make([part], missing=False)
            return
        waiting, closed = await self.store.group_parts(part.group, part.generation)
        if closed:
            # Late: its message was given up and went before this part came.
            await self._make([part], missing=True)
            return
        assembly = assemble(waiting)
        if assembly.complete:
            await self._make(list(assembly.parts), missing=False)
        else:
            await self._show(part.group, part.generation, waiting)
            self._waiting.set()

    async def resume(self) -> None:
        """Finish what a stop (or a crash) interrupted between committing a part and making
        its message: a single part, or the part that completed its group."""
        groups: set[tuple[str, int]] = set()
        for part in await self.store.waiting_parts():
            if part.group is not None:
                if (part.group, part.generation) in groups:
                    continue
                groups.add((part.group, part.generation))
            async with self._assembling:
                await self._join(part)

    async def expire_due(self) -> int:
        """Make messages of the groups that waited too long; returns how many."""
        count = 0
        async with self._assembling:
            for group, generation in await self.store.expired_groups(self.clock() - self.timeout):
                waiting, _ = await self.store.group_parts(group, generation)
                if waiting:
                    assembly = assemble(waiting)
                    await self._make(list(assembly.parts), missing=True)
                    count += 1
                    # A second part with a duplicate sequence number (stored before a part
                    # whose number is taken went to a generation of its own) is still
                    # waiting: it expires (on its own) at the next look.
        return count

    async def _expiry(self) -> None:
        await self.resume()
        while True:
            self._waiting.clear()
            oldest = await self.store.oldest_waiting_part()
            due = None if oldest is None else oldest + self.timeout
            if await woken(self._waiting, seconds_until(due, self.clock)):
                continue
            await self.expire_due()

    def _new_message(self, first: InboundPart, now: datetime) -> Message:
        service = self.config.service_of(first.recipient)
        return Message(
            sid=new_sid("SM"),
            account_sid=self.account_of(first.modem),
            direction=Direction.INBOUND,
            status=Status.RECEIVING,
            to=first.recipient,
            from_=first.sender,
            body="",
            num_segments=first.total,
            num_media=0,
            error_code=None,
            error_message=None,
            price=None,
            price_unit="USD",
            messaging_service_sid=service.sid if service else None,
            date_created=now,
            date_updated=now,
            date_sent=None,  # Twilio: when the webhook request was made, at the end
            modem=first.modem,
        )

    async def _show(self, group: str, generation: int, parts: Sequence[InboundPart]) -> None:
        """The seed's ``receiving``: "The inbound message has been received by Twilio and is
        currently being processed". From its first part a long message is a resource, with
        the text of the parts that came so far, in order (nothing stands for those still
        missing: it is the text it keeps if they never come, with 30009) and ``num_segments``
        the parts its header announces; its SID stays when it is received."""
        now = self.clock()
        assembly = assemble(parts)
        shown = replace(self._new_message(parts[0], now), body=assembly.text)
        message = await self.store.show_receiving(group, shown, generation)
        log.info(
            "%s: receiving from %s to %s, %d of %d part(s) on %s",
            message.sid,
            message.from_,
            message.to,
            len(assembly.parts),
            message.num_segments,
            parts[0].modem,
            extra=fields(sid=message.sid, modem=parts[0].modem, parts=len(assembly.parts)),
        )

    async def _make(self, parts: Sequence[InboundPart], *, missing: bool) -> None:
        assembly = assemble(parts)
        first = parts[0]
        now = self.clock()
        code = MISSING_SEGMENT if missing else None
        # The message shown while its parts arrived, if there was one, is the one received:
        # its SID, account and date_created stay.
        shown = (
            None
            if first.group is None
            else await self.store.receiving_message(first.group, first.generation)
        )
        service = self.config.service_of(first.recipient)
        message = replace(
            shown or self._new_message(first, now),
            status=Status.RECEIVED,
            body=assembly.text,
            num_segments=len(assembly.parts),
            error_code=code,
            error_message=ERROR_MESSAGES[code] if code else None,
            messaging_service_sid=service.sid if service else None,
            date_updated=now,
            date_sent=now,  # Twilio: when the webhook request was made, which is now
        )
        keys = [part.key for part in assembly.parts]
        if not await self.store.receive_message(message, keys, self._webhook(message)):
            return  # made already (a resume and a re-read raced for it)
        log.info(
            "%s: received from %s to %s, %d part(s) on %s",
            message.sid,
            message.from_,
            message.to,
            message.num_segments,
            first.modem,
            extra=fields(sid=message.sid, modem=first.modem, parts=message.num_segments, code=code),
        )
        if missing:
            log.warning(
                "%s from %s: %d of %d parts arrived; delivered with error 30009",
                message.sid,
                first.sender,
                len(assembly.parts),
                first.total,
            )
        self.webhooks.wake()
        self._listeners.announce(message)

    def _webhook(self, message: Message) -> Webhook | None:
        destination = self.numbers.destination(message.to)
        if destination is None:
            return None
        if not destination.sms_url:
            return None
        params = [
            ("MessageSid", message.sid),
            ("SmsSid", message.sid),
            ("SmsMessageSid", message.sid),
            ("AccountSid", message.account_sid),
            ("From", message.from_ or ""),
            ("To", message.to),
            ("Body", message.body),
            ("NumMedia", "0"),
            ("NumSegments", str(message.num_segments)),
            ("SmsStatus", "received"),
            ("ApiVersion", API_VERSION),
        ]
        if message.messaging_service_sid:
            params.append(("MessagingServiceSid", message.messaging_service_sid))
        params += UNKNOWN_GEOGRAPHY
        return Webhook(
            account_sid=message.account_sid,
            message_sid=message.sid,
            kind="inbound",
            url=destination.sms_url,
            method=destination.sms_method,
            params=tuple(params),
            fallback_url=destination.sms_fallback_url,
            fallback_method=destination.sms_fallback_method,
        )
