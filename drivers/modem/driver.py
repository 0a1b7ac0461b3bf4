"""The GSM modem: initialisation, sending, and what it announces.

A :class:`GsmModem` drives one modem through an :class:`~drivers.at.channel.AtChannel` in PDU
mode. It knows nothing about the gateway: it sends the PDUs it is given, reads and deletes what
it is asked to (its storages, :mod:`drivers.modem.storage`), and reports what the modem
announces as events (:mod:`drivers.modem.events`). Before anything else it brings the modem
back to command state (:meth:`GsmModem.command_state`), wherever the host before it left off;
then it chooses among what the modem offers (:mod:`drivers.modem.setup`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Final

from drivers.at import replies
from drivers.at.channel import AtChannel, Data, raise_for_result
from drivers.at.parse import Response, ResultKind, Unsolicited
from drivers.at.replies import Registration
from drivers.errors import (
    AtCommandError,
    AtReplyError,
    AtTimeout,
    DriverError,
    ModemLost,
    ModemSetupError,
    SendError,
)
from drivers.modem import setup
from drivers.modem.events import (
    E,
    LinkLost,
    Listeners,
    MessageRouted,
    ModemEvent,
    OtherUnsolicited,
    ReportRouted,
    Rings,
    StorageFull,
    event_for,
)
from drivers.modem.info import Identity, ModemInfo, ModemSettings
from drivers.modem.network import Network, SimState, read_network
from drivers.modem.quirks import GENERIC, VendorProfile, profile_for
from drivers.modem.setup import attempt, read_text
from drivers.modem.storage import Storages, StoredMessage
from drivers.modem.ussd import DEFAULT_TIMEOUT, UssdAnswer, UssdSessions

log = logging.getLogger(__name__)

# Asked until the modem answers it as itself: S3, the command line terminator, is mandatory
# and CR (V.250 §6.2.1) and is read as three digits, "013" (§5.3.2). No reply to anything asked
# before (OK, +CMGS: <mr>, +CMS ERROR) carries that line.
_PROBE: Final = "ATS3?"
_CR: Final = 13
# TS 27.005 §3.2.5: "memory full", whatever command it answers (a write, a send on modems that
# keep a copy): the storage must be emptied at once (../shared/docs/gsm-at-pdu.md §2: "322
# delete msgs").
_CMS_MEMORY_FULL: Final = 322


def _reads_cr(lines: Sequence[str]) -> bool:
    """Whether ``lines`` hold the value of S3, 13 (some firmware leaves out the zeros)."""
    return any(line.strip().isdigit() and int(line) == _CR for line in lines)


class GsmModem:
    def __init__(self, channel: AtChannel, settings: ModemSettings | None = None) -> None:
        self.channel = channel
        self.settings = settings or ModemSettings()
        self.profile: VendorProfile = GENERIC
        self.info: ModemInfo | None = None
        self.sim: SimState | None = None  # as last found, locked or missing too
        self.storages = Storages(channel)
        self.ussd_sessions = UssdSessions(channel, lambda: self.profile.ussd_packed)
        self._acknowledge = False  # +CMT/+CDS need AT+CNMA (AT+CSMS=1 in effect)
        # Routed codes that came while initialising (AT+CNMI routing again brings what the
        # network kept): unacknowledged until their subscriber, who subscribes once the modem
        # is initialised, has them (see _release_held).
        self._initializing = False
        self._held: list[MessageRouted | ReportRouted] = []
        self._listeners = Listeners(channel.name)
        self._rings = Rings()
        self._tasks: set[asyncio.Task[None]] = set()
        channel.subscribe(self._on_urc)
        channel.on_lost(lambda reason: self._emit(LinkLost(str(reason))))
        channel.on_response(self._on_response)

    @property
    def name(self) -> str:
        return self.channel.name

    @property
    def soft_reset_safe(self) -> bool:
        """Whether :meth:`soft_reset` brings this modem back on the same port (its vendor
        profile says so; known once it is initialised)."""
        return self.profile.soft_reset_safe

    # --- events ------------------------------------------------------------------------------

    def subscribe(self, kind: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call ``callback`` for each event of type ``kind``; returns the unsubscribe. A routed
        ``+CMT``/``+CDS`` that came while the modem was initialised is given to the first."""
        unsubscribe = self._listeners.subscribe(kind, callback)
        if not self._initializing:
            self._release_held()
        return unsubscribe

    def _emit(self, event: ModemEvent) -> None:
        self._listeners.emit(event)

    def _on_urc(self, urc: Unsolicited) -> None:
        if Rings.claims(urc):
            try:
                calls = self._rings.feed(urc)
            except AtReplyError as exc:
                log.warning("%s: cannot read %r: %s", self.name, urc.line, exc)
                return
            for call in calls:
                self._emit(call)
            return
        try:
            event = event_for(urc)
        except AtReplyError as exc:
            log.warning("%s: cannot read %r: %s", self.name, urc.line, exc)
            event = OtherUnsolicited(urc.line)
        if isinstance(event, MessageRouted | ReportRouted):
            if self._initializing:
                self._held.append(event)  # AT+CSMS may not be known yet, nor its subscriber
            else:
                self._route(event)
            return
        self._emit(event)

    def _route(self, event: MessageRouted | ReportRouted) -> None:
        if self._acknowledge:
            if self._listeners.heard(type(event)):
                # Acknowledged by the subscriber once committed: a crash before that leaves
                # the message with the network, which delivers it again (TS 27.005 §3.4.4).
                event = replace(event, needs_ack=True)
            else:
                self._spawn(self.acknowledge())
        self._emit(event)

    def _on_response(self, response: Response) -> None:
        result = response.result
        if result.kind is ResultKind.CMS_ERROR and result.code == _CMS_MEMORY_FULL:
            self._emit(StorageFull(None, f"{response.command}: {result.line}"))

    def _release_held(self) -> None:
        """Route what came while initialising to its subscriber; what has none yet waits
        (unacknowledged: the modem holds later routed codes back, and without a host the
        network's timeout turns routing off and keeps them, TS 27.005 §3.4.1)."""
        held, self._held = self._held, []
        for event in held:
            if self._listeners.heard(type(event)):
                self._route(event)
            else:
                self._held.append(event)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        async def run() -> None:
            await coroutine

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def acknowledge(self) -> None:
        """``AT+CNMA`` for the last routed ``+CMT``/``+CDS`` that ``needs_ack``."""
        # TS 27.005 §3.4.4: with AT+CSMS=1 every +CMT/+CDS needs AT+CNMA, or the modem stops
        # delivering them and the network resends later.
        try:
            await self.channel.command("AT+CNMA")
        except AtCommandError as exc:
            # +CMS ERROR: 340, no acknowledgement expected: ours came after the network's
            # timeout, and the ME then "shall automatically disable routing to TE by setting
            # both <mt> and <ds> of +CNMI to zero" (§3.4.1). The network keeps what was not
            # acknowledged and delivers it again once routing is back on.
            log.warning("%s: AT+CNMA refused (%s): notifications set again", self.name, exc)
            await self.renotify()
        except DriverError as exc:
            log.warning("%s: AT+CNMA failed: %s", self.name, exc)

    async def renotify(self) -> bool:
        """Set the chosen ``AT+CNMI`` again where the modem turned it off (after a missed
        ``AT+CNMA``, TS 27.005 §3.4.1); whether it had to be. Cheap: one ``AT+CNMI?``, and
        the set only when it differs."""
        if self.info is None:
            return False
        wanted = self.info.cnmi
        with contextlib.suppress(AtCommandError, AtReplyError):
            reply = await self.channel.command("AT+CNMI?")
            if replies.parse_cnmi(reply.lines)[:5] == wanted:
                return False
        try:
            await self.channel.command(setup.cnmi_command(wanted))
        except AtCommandError as exc:
            log.warning("%s: %s refused: %s", self.name, setup.cnmi_command(wanted), exc)
            return False
        log.warning("%s: notifications were off; set again (AT+CNMI %s)", self.name, wanted)
        return True

    # --- initialisation ----------------------------------------------------------------------

    async def initialize(self) -> ModemInfo:
        """Bring the modem to a known state: command state, PDU mode, storage, notifications,
        identity."""
        self._initializing = True
        try:
            info = await self._initialize()
        finally:
            self._initializing = False
        self._release_held()  # to subscribers already there (initialised again on one link)
        return info

    async def _initialize(self) -> ModemInfo:
        channel = self.channel
        await self.command_state()
        await attempt(channel, "ATE0")
        await attempt(channel, "AT+CMEE=1")
        manufacturer = await read_text(channel, "AT+CGMI", "+CGMI:")
        model = await read_text(channel, "AT+CGMM", "+CGMM:")
        self.profile = profile_for(manufacturer, model)
        channel.parser.add_urc_prefixes(self.profile.urc_prefixes)
        for command in self.profile.init_commands:
            await attempt(channel, command)
        revision = await read_text(channel, "AT+CGMR", "+CGMR:")
        imei = await read_text(channel, "AT+CGSN", "+CGSN:")
        sim = await setup.unlock_sim(channel, self.settings, self.profile, self._sim_found)
        imsi = await read_text(channel, "AT+CIMI", "+CIMI:") or None
        numbers_reply = await attempt(channel, "AT+CNUM")
        numbers = tuple(replies.parse_cnum(numbers_reply.lines)) if numbers_reply else ()
        try:
            await channel.command("AT+CMGF=0")
        except (AtCommandError, AtTimeout) as exc:
            raise ModemSetupError(f"{self.name}: the modem refuses PDU mode: {exc}") from exc
        storage, report_storage, storages = await setup.choose_storage(
            channel, self.storages, self.settings.storage
        )
        notifications = await setup.choose_notifications(channel, self.profile)
        if notifications.acknowledge is not None:
            self._acknowledge = notifications.acknowledge
        cnmi = notifications.cnmi
        self._rings.caller_id = await setup.call_reports(channel)
        smsc = await setup.service_centre(channel, self.settings.smsc)
        registration = await setup.enable_registration_reports(channel)
        self.info = ModemInfo(
            identity=Identity(manufacturer, model, revision, imei, imsi, numbers),
            profile=self.profile.name,
            storage=storage,
            report_storage=report_storage,
            storages=storages,
            cnmi=cnmi,
            acknowledged=self._acknowledge,
            smsc=smsc,
            registration=registration,
            rssi=await self._rssi_or_none(),
            sim=sim,
            network=await read_network(channel, registration) if registration else None,
        )
        return self.info

    def _sim_found(self, sim: SimState) -> None:
        self.sim = sim

    async def command_state(self) -> None:
        """Bring the modem back to command state, whatever the host before left it in.

        A host that died, or a link that dropped, after ``AT+CMGS`` leaves the modem waiting
        for the PDU: it takes every command for PDU digits. So each round writes ESC, drops
        what the modem says for a pause (:meth:`~drivers.at.channel.AtChannel.escape`), and
        asks :data:`_PROBE`. The first round does not pause: a modem in command state ignores
        the ESC and says nothing more. An answer without ``013`` is from before (the
        acknowledgement of the ESC, a late ``+CMGS: <mr>``): the next round's pause drops the
        real answer that follows it. A probe left unanswered may be answered later, together
        with the next one (a modem busy sending, an autobauding one): after it, an answer
        counts once the next probe confirms it. A modem that refuses the probe twice in a row
        is taken at its OK to ``AT``. It gives up after ``wake_attempts`` probes unanswered or
        answered from before.
        """
        self.channel.start()
        settings = self.settings
        doubtful = False  # a probe went unanswered: its answer may still come
        failures = refusals = 0
        failure: DriverError = AtReplyError(_PROBE, "no answer of the modem's own")
        while failures < settings.wake_attempts:
            pause = settings.escape_pause if failures or doubtful else 0.0
            dropped = await self.channel.escape(pause)
            if dropped:
                log.info("%s: dropped what the modem said before: %s", self.name, dropped)
            try:
                reply = await self.channel.exchange(_PROBE, settings.wake_timeout)
            except AtTimeout as exc:
                failures, doubtful, refusals, failure = failures + 1, True, 0, exc
                continue
            if reply.result.ok and _reads_cr(reply.lines):
                if not doubtful:
                    return
                doubtful = False  # the next probe, after a pause, confirms it
                continue
            failures += 1
            stale = [*reply.lines, reply.result.line]
            log.info("%s: %s came from before, not in answer to %s", self.name, stale, _PROBE)
            refusals = 0 if reply.result.ok else refusals + 1
            if refusals == 2:  # no S3? on this modem (V.250 makes it mandatory)
                await self.channel.command("AT", settings.wake_timeout)
                return
            failure = AtReplyError(_PROBE, f"answered {reply.result.line}", reply.lines)
        raise failure

    async def soft_reset(self, timeout: float) -> None:
        """``AT+CFUN=1,1``: full functionality after a reset (TS 27.007 §8.2), asked in
        command state (a modem in the prompt would take it for PDU digits)."""
        await self.command_state()
        await self.channel.command("AT+CFUN=1,1", timeout)

    async def _rssi_or_none(self) -> int | None:
        with contextlib.suppress(AtCommandError, AtTimeout, AtReplyError):
            return (await self.signal())[0]
        return None

    # --- operations --------------------------------------------------------------------------

    async def signal(self) -> tuple[int, int]:
        """``AT+CSQ``: (rssi, ber); see :func:`~drivers.at.replies.rssi_dbm`."""
        return replies.parse_csq((await self.channel.command("AT+CSQ")).lines)

    async def registration(self) -> Registration:
        """``AT+CREG?``, falling back to ``AT+CEREG?`` for LTE-only modems."""
        try:
            reply = await self.channel.command("AT+CREG?")
            registration = replies.parse_registration(reply.lines, "+CREG:")
            if registration.registered:
                return registration
        except (AtCommandError, AtReplyError):
            registration = None
        reply = await self.channel.command("AT+CEREG?")
        lte = replies.parse_registration(reply.lines, "+CEREG:")
        return lte if registration is None or lte.registered else registration

    async def network(self, registration: Registration | None = None) -> Network:
        """The operator (``AT+COPS``) on top of ``registration``, or of :meth:`registration`
        when it is not given."""
        return await read_network(self.channel, registration or await self.registration())

    async def send_pdu(self, pdu: Data, tpdu_length: int) -> int:
        """Send one SMS-SUBMIT; returns its TP-MR from ``+CMGS: <mr>``. ``pdu`` may be a
        coroutine function deciding the PDU at the prompt (see :meth:`AtChannel.submit`)."""
        reply = await self.channel.submit(f"AT+CMGS={tpdu_length}", pdu)
        return replies.parse_cmgs(reply.lines)

    async def hang_up(self) -> None:
        """End the call ringing now with the vendor's command: ``ATH`` (V.250 §6.3.6) or
        ``AT+CHUP`` (TS 27.007 §6.5). ``NO CARRIER`` in answer is the caller gone first."""
        reply = await self.channel.exchange(self.profile.hang_up)
        if reply.result.kind is not ResultKind.NO_CARRIER:
            raise_for_result(reply)

    async def send_parts(
        self,
        parts: Sequence[tuple[str, int]],
        accepted: Callable[[int, int], Awaitable[None]] | None = None,
    ) -> list[int]:
        """Send (pdu, tpdu_length) parts one by one; ``accepted(index, mr)`` after each.

        A part the modem refuses raises :class:`SendError` carrying its index and the cause
        (e.g. a :class:`CmsError` with its code); :class:`ModemLost` passes through as is.
        """
        references: list[int] = []
        for index, (pdu, length) in enumerate(parts):
            try:
                reference = await self.send_pdu(pdu, length)
            except (AtCommandError, AtTimeout, AtReplyError) as exc:
                raise SendError(index, exc, tuple(references)) from exc
            references.append(reference)
            if accepted is not None:
                await accepted(index, reference)
        return references

    # --- USSD (drivers.modem.ussd) --------------------------------------------------------------

    async def ussd(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> UssdAnswer:
        """Send a USSD string (``*100#``, or the reply to a menu) and return the network's
        answer (:meth:`~drivers.modem.ussd.UssdSessions.request`)."""
        return await self.ussd_sessions.request(text, timeout)

    async def ussd_cancel(self) -> None:
        """End the USSD session (``AT+CUSD=2``)."""
        await self.ussd_sessions.cancel()

    # --- the storages (drivers.modem.storage) --------------------------------------------------

    async def list_messages(self, storage: str, stat: int = 4) -> list[StoredMessage]:
        """``AT+CMGL=<stat>`` on ``storage`` (4: all messages, read or not)."""
        return await self.storages.list_messages(storage, stat)

    async def read_message(self, storage: str, index: int) -> StoredMessage | None:
        """``AT+CMGR=<index>``; ``None`` for an empty slot."""
        return await self.storages.read_message(storage, index)

    async def delete_message(self, storage: str, index: int) -> None:
        await self.storages.delete_message(storage, index)

    async def storage_usage(self, storage: str) -> tuple[int, int]:
        """(used, total) of ``storage``."""
        return await self.storages.storage_usage(storage)

    async def storage_usages(self) -> dict[str, tuple[int, int]]:
        """(used, total) of every storage the modem lists (:attr:`ModemInfo.storages`), by
        name: the one new messages go to asked last, as its answer comes with the others'."""
        if self.info is None:
            return {}
        main = self.info.storage
        ordered = [s for s in self.info.storages if s != main] + [main]
        return await self.storages.usages(ordered)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.channel.close()

    @property
    def lost(self) -> ModemLost | None:
        return self.channel.lost
