"""Voice calls to a modem: hung up at once, and reported to the called number's VoiceUrl.

No modem here answers a call. A modem rings for one (:class:`drivers.IncomingCall`, once per
ring, every few seconds); unless its ``[[modems]]`` entry says ``hangup_calls = false`` (as
gammu-smsd's ``HangupCalls`` and SMSTools3's ``hangup_incoming_call`` would), it is hung up at
once with its vendor's command (``ATH`` or ``AT+CHUP``). The hang-up takes its turn on the AT
channel like any command: after the command in flight, never inside a send's ``> `` prompt, so
a call never disturbs a message on its way out.

When the called number has a VoiceUrl (the IncomingPhoneNumber field, or ``voice_url`` in its
``[[numbers]]`` entry), a missed-call webhook goes there: the parameters of Twilio's voice
request that apply (``CallSid``, ``From``, ``To``, ``CallStatus=no-answer``...), committed to
the durable webhook queue, signed and retried like every webhook (:mod:`gateway.webhooks.sender`),
so a restart does not lose it.

The rings of one call are one call: a ring from the same caller within :data:`CALL_GAP` seconds
of the last one continues it (a hang-up the modem ignored is tried again at its next ring).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from drivers import AtTimeout, DriverError, IncomingCall, Modem, ModemLost
from gateway.accounts.numbers import PhoneNumbers
from gateway.domain.callbacks import UNKNOWN_GEOGRAPHY
from gateway.domain.errors import StoreError
from gateway.domain.models import API_VERSION, new_sid
from gateway.domain.records import Webhook
from gateway.logs import fields
from gateway.metrics import Metrics
from gateway.modems.supervisor import ModemHandle
from gateway.store import WebhookQueue
from gateway.waiting import stop_tasks
from gateway.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)

# Seconds with no ring after which a call is over: modems ring about every five seconds
# (V.250 §6.3.1 RING, repeated while the network alerts), so three rings missed is a caller
# who gave up.
CALL_GAP: Final = timedelta(seconds=15)
# A caller whose number the network withheld, or the modem did not give: Twilio's From for a
# caller without caller ID.
ANONYMOUS: Final = "anonymous"


@dataclass(slots=True)
class _Ringing:
    """The call ringing on one modem: its SID, its caller, when it last rang, and whether a
    hang-up is on its way."""

    sid: str
    caller: str | None
    last_ring: datetime
    hanging_up: bool = False


class CallReceiver:
    def __init__(
        self,
        store: WebhookQueue,
        webhooks: WebhookSender,
        numbers: PhoneNumbers,
        *,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.store = store
        self.webhooks = webhooks
        self.numbers = numbers
        self.clock = clock
        self._ringing: dict[str, _Ringing] = {}  # by modem id
        self._work: dict[str, set[asyncio.Task[None]]] = {}  # by modem id: hang-ups, reports
        self._attached: set[str] = set()

    def start(self, handles: Iterable[ModemHandle]) -> None:
        for handle in handles:
            self.attach(handle)

    def attach(self, handle: ModemHandle) -> None:
        """Hear ``handle``'s calls (at start, and for a modem a reload added or changed),
        before it starts: it hears the first connection."""
        self._attached.add(handle.id)
        handle.on_connected(functools.partial(self._connected, handle))

    async def detach(self, modem_id: str) -> None:
        """Stop hearing ``modem_id``'s calls (a reload removed or changed it)."""
        self._attached.discard(modem_id)
        self._ringing.pop(modem_id, None)
        await stop_tasks(self._work.pop(modem_id, set()))

    async def stop(self) -> None:
        for modem_id in list(self._attached | set(self._work)):
            await self.detach(modem_id)

    async def settled(self) -> None:
        """Returns once every hang-up and report started so far has ended."""
        while tasks := [task for tasks in self._work.values() for task in tasks]:
            await asyncio.wait(tasks)

    def _connected(self, handle: ModemHandle, modem: Modem) -> None:
        if handle.id in self._attached:
            modem.subscribe(IncomingCall, functools.partial(self._rang, handle, modem))

    def _rang(self, handle: ModemHandle, modem: Modem, call: IncomingCall) -> None:
        if modem is not handle.modem or handle.id not in self._attached:
            return  # a connection since lost, or a modem being taken away
        now = self.clock()
        ringing = self._ringing.get(handle.id)
        if ringing is None or not _continues(ringing, call, now):
            ringing = _Ringing(new_sid("CA"), call.number, now)
            self._ringing[handle.id] = ringing
            self.metrics.calls[handle.id] += 1
            self._spawn(handle.id, self._report(handle, ringing, call))
        ringing.last_ring = now
        ringing.caller = ringing.caller or call.number
        if handle.config.hangup_calls and not ringing.hanging_up:
            ringing.hanging_up = True
            self._spawn(handle.id, self._hang_up(handle, modem, ringing))

    def _spawn(self, modem_id: str, work: Coroutine[Any, Any, None]) -> None:
        tasks = self._work.setdefault(modem_id, set())
        task = asyncio.get_running_loop().create_task(work, name=f"call {modem_id}")
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _hang_up(self, handle: ModemHandle, modem: Modem, ringing: _Ringing) -> None:
        try:
            await modem.hang_up()
        except ModemLost:
            return  # the call went with the link
        except AtTimeout as exc:
            handle.lost(f"no answer to the hang-up: {exc}")
            return
        except DriverError as exc:
            log.warning("%s: could not hang up the call %s: %s", handle.id, ringing.sid, exc)
            return
        finally:
            ringing.hanging_up = False
        log.info(
            "%s: call %s from %s hung up",
            handle.id,
            ringing.sid,
            ringing.caller or ANONYMOUS,
            extra=fields(sid=ringing.sid, modem=handle.id),
        )

    async def _report(self, handle: ModemHandle, ringing: _Ringing, call: IncomingCall) -> None:
        called = handle.config.numbers[0]
        destination = self.numbers.voice_destination(called)
        caller = call.number or ANONYMOUS
        log.info(
            "%s: call %s from %s to %s",
            handle.id,
            ringing.sid,
            caller,
            called,
            extra=fields(sid=ringing.sid, modem=handle.id),
        )
        if destination is None:
            return
        params = [
            ("CallSid", ringing.sid),
            ("AccountSid", destination.account_sid),
            ("From", caller),
            ("To", called),
            ("Caller", caller),
            ("Called", called),
            ("CallStatus", "no-answer"),
            ("Direction", "inbound"),
            ("ApiVersion", API_VERSION),
            *UNKNOWN_GEOGRAPHY,
        ]
        webhook = Webhook(
            account_sid=destination.account_sid,
            message_sid=ringing.sid,
            kind="call",
            url=destination.url,
            method=destination.method,
            params=tuple(params),
            fallback_url=destination.fallback_url,
            fallback_method=destination.fallback_method,
        )
        try:
            await self.store.enqueue_webhook(webhook, self.clock())
        except StoreError as exc:
            # Nothing holds the call to read again later (a message stays on the SIM): it is
            # told in the log instead.
            log.error(
                "%s: the webhook of call %s from %s is lost: %s",
                handle.id,
                ringing.sid,
                caller,
                exc,
            )
            return
        self.webhooks.wake()


def _continues(ringing: _Ringing, call: IncomingCall, now: datetime) -> bool:
    """Whether ``call``'s ring, at ``now``, is one more of the call ``ringing``."""
    if now - ringing.last_ring > CALL_GAP:
        return False
    return call.number is None or ringing.caller is None or call.number == ringing.caller
