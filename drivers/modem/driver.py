"""The GSM modem: initialisation, sending, message storage, and typed events.

A :class:`GsmModem` drives one modem through an :class:`~drivers.at.channel.AtChannel` in PDU
mode. It knows nothing about the gateway: it sends the PDUs it is given, reads and deletes what
it is asked to, and reports what the modem announces as events (:data:`ModemEvent`). Before
anything else it brings the modem back to command state (:meth:`GsmModem.command_state`),
wherever the host before it left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, TypeVar

from drivers.at import replies
from drivers.at.channel import AtChannel, Data
from drivers.at.parse import Response, Unsolicited
from drivers.at.replies import Registration
from drivers.errors import (
    AtCommandError,
    AtReplyError,
    AtTimeout,
    CmeError,
    CmsError,
    DriverError,
    ModemLost,
    ModemSetupError,
    SendError,
)
from drivers.modem.quirks import GENERIC, VendorProfile, profile_for

log = logging.getLogger(__name__)

# TS 27.007 §9.2.1 / TS 27.005 §3.2.5: the SIM is busy (right after boot): ask again.
_CME_SIM_BUSY: Final = 14
_CME_SIM_NOT_INSERTED: Final = 10
_CMS_SIM_BUSY: Final = 314
_CMS_INVALID_INDEX: Final = 321
# Asked until the modem answers it as itself: S3, the command line terminator, is mandatory
# and CR (V.250 §6.2.1) and is read as three digits, "013" (§5.3.2). No reply to anything asked
# before (OK, +CMGS: <mr>, +CMS ERROR) carries that line.
_PROBE: Final = "ATS3?"
_CR: Final = 13
# Preferred storage for new messages: the modem's own memory is larger and survives SIM swaps.
_STORAGE_PREFERENCE: Final = ("ME", "MT", "SM")
# (mode, mt, bm, ds, bfr) in order of preference, TS 27.005 §3.4.1. Store and notify (+CMTI,
# +CDSI) survives a host restart; routed reports (+CDS) next; routed messages (+CMT) last,
# because they are lost if the host is not listening. ModemManager's order for modems that
# refuse ds=1 although AT+CNMI=? lists it is the same minus the ds=1 entries.
CNMI_CANDIDATES: Final[tuple[tuple[int, int, int, int, int], ...]] = (
    (2, 1, 0, 2, 0),
    (2, 1, 0, 1, 0),
    (2, 1, 0, 0, 0),
    (1, 1, 0, 2, 0),
    (1, 1, 0, 1, 0),
    (1, 1, 0, 0, 0),
    (2, 2, 0, 2, 0),
    (2, 2, 0, 1, 0),
    (2, 2, 0, 0, 0),
)


@dataclass(frozen=True, slots=True)
class ModemSettings:
    pin: str | None = None
    storage: str | None = None  # override the storage chosen from AT+CPMS=?
    sim_busy_retries: int = 20
    sim_busy_delay: float = 1.0
    # Bringing the modem to command state (GsmModem.command_state): rounds of ESC, a pause in
    # which what the modem says is dropped (none in the first round, escape_pause seconds after
    # a stale answer or none), and the probe with wake_timeout for its answer, until
    # wake_attempts probes went unanswered or were answered from before (an autobauding SIM800
    # ignores the first). Modems answer at once (Quectel UGxx, Telit manuals: the ESC is
    # "acknowledged with OK"): the pause covers a slow line; a reply later still is recognised.
    wake_attempts: int = 3
    wake_timeout: float = 2.0
    escape_pause: float = 0.2
    # How long to wait for the OK that old Wavecom firmware never sends after +CPIN: READY.
    cpin_quirk_timeout: float = 2.0


@dataclass(frozen=True, slots=True)
class Identity:
    manufacturer: str
    model: str
    revision: str
    imei: str
    imsi: str | None
    numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModemInfo:
    identity: Identity
    profile: str
    storage: str
    report_storage: str | None
    storages: tuple[str, ...]  # every storage AT+CMGL can list (SM, ME, SR...)
    cnmi: tuple[int, int, int, int, int]
    smsc: str | None
    registration: Registration | None
    rssi: int | None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    storage: str
    index: int
    stat: int | None
    length: int
    pdu: str


def _reads_cr(lines: Sequence[str]) -> bool:
    """Whether ``lines`` hold the value of S3, 13 (some firmware leaves out the zeros)."""
    return any(line.strip().isdigit() and int(line) == _CR for line in lines)


# --- Events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageStored:
    """``+CMTI``: a message arrived and was stored at ``storage``/``index``."""

    storage: str
    index: int


@dataclass(frozen=True, slots=True)
class MessageRouted:
    """``+CMT``: a message arrived and was handed over directly, not stored.

    When ``needs_ack``, the subscriber calls :meth:`GsmModem.acknowledge` once the message is
    safe (committed): until then the modem sends no other routed code, and without it the
    network delivers the message again.
    """

    pdu: str
    length: int
    needs_ack: bool = False


@dataclass(frozen=True, slots=True)
class ReportStored:
    """``+CDSI``: a status report was stored at ``storage``/``index`` (often ``SR``)."""

    storage: str
    index: int


@dataclass(frozen=True, slots=True)
class ReportRouted:
    """``+CDS``: a status report handed over directly (``needs_ack`` as for
    :class:`MessageRouted`)."""

    pdu: str
    length: int
    needs_ack: bool = False


@dataclass(frozen=True, slots=True)
class LinkLost:
    reason: str


@dataclass(frozen=True, slots=True)
class SignalChanged:
    rssi: int


@dataclass(frozen=True, slots=True)
class RegistrationChanged:
    source: str  # "+CREG", "+CGREG" or "+CEREG"
    registration: Registration


@dataclass(frozen=True, slots=True)
class OtherUnsolicited:
    line: str


ModemEvent = (
    MessageStored
    | MessageRouted
    | ReportStored
    | ReportRouted
    | LinkLost
    | SignalChanged
    | RegistrationChanged
    | OtherUnsolicited
)
E = TypeVar("E", bound=ModemEvent)


class GsmModem:
    def __init__(self, channel: AtChannel, settings: ModemSettings | None = None) -> None:
        self.channel = channel
        self.settings = settings or ModemSettings()
        self.profile: VendorProfile = GENERIC
        self.info: ModemInfo | None = None
        self._read_storage: str | None = None
        self._storage_lock = asyncio.Lock()  # AT+CPMS and the commands that rely on it
        self._acknowledge = False  # +CMT/+CDS need AT+CNMA (AT+CSMS=1 in effect)
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        channel.subscribe(self._on_urc)
        channel.on_lost(lambda reason: self._emit(LinkLost(str(reason))))

    @property
    def name(self) -> str:
        return self.channel.name

    # --- events ------------------------------------------------------------------------------

    def subscribe(self, kind: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call ``callback`` for each event of type ``kind``; returns the unsubscribe."""
        callbacks = self._handlers.setdefault(kind, [])
        callbacks.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                callbacks.remove(callback)

        return unsubscribe

    def _emit(self, event: ModemEvent) -> None:
        for callback in list(self._handlers.get(type(event), ())):
            try:
                callback(event)
            except Exception:
                log.exception("%s: handler of %s failed", self.name, type(event).__name__)

    def _on_urc(self, urc: Unsolicited) -> None:
        try:
            event = self._event_for(urc)
        except AtReplyError as exc:
            log.warning("%s: cannot read %r: %s", self.name, urc.line, exc)
            event = OtherUnsolicited(urc.line)
        if isinstance(event, MessageRouted | ReportRouted) and self._acknowledge:
            if self._handlers.get(type(event)):
                # Acknowledged by the subscriber once committed: a crash before that leaves
                # the message with the network, which delivers it again (TS 27.005 §3.4.4).
                event = replace(event, needs_ack=True)
            else:
                self._spawn(self.acknowledge())
        self._emit(event)

    def _event_for(self, urc: Unsolicited) -> ModemEvent:
        name = urc.name.upper()
        if name in ("+CMTI", "+CDSI"):
            storage, index = replies.parse_storage_urc(urc.value)
            return (
                MessageStored(storage, index) if name == "+CMTI" else ReportStored(storage, index)
            )
        if name in ("+CMT", "+CDS") and urc.pdu is not None:
            length = replies.parse_pdu_urc_length(urc.value)
            return (
                MessageRouted(urc.pdu, length) if name == "+CMT" else ReportRouted(urc.pdu, length)
            )
        if name in ("+CREG", "+CGREG", "+CEREG"):
            return RegistrationChanged(name, replies.parse_registration_urc(urc.value))
        if name == "^RSSI" and urc.value.isdigit():
            return SignalChanged(int(urc.value))
        return OtherUnsolicited(urc.line)

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
        except DriverError as exc:
            log.warning("%s: AT+CNMA failed: %s", self.name, exc)

    # --- initialisation ----------------------------------------------------------------------

    async def _try(self, command: str, timeout: float | None = None) -> Response | None:
        """Run a command whose failure only means the feature is missing."""
        try:
            return await self.channel.command(command, timeout)
        except (AtCommandError, AtTimeout) as exc:
            log.info("%s: %s not available: %s", self.name, command, exc)
            return None

    async def initialize(self) -> ModemInfo:
        """Bring the modem to a known state: command state, PDU mode, storage, notifications,
        identity."""
        await self.command_state()
        await self._try("ATE0")
        await self._try("AT+CMEE=1")
        manufacturer = await self._text("AT+CGMI", "+CGMI:")
        model = await self._text("AT+CGMM", "+CGMM:")
        self.profile = profile_for(manufacturer, model)
        self.channel.parser.add_urc_prefixes(self.profile.urc_prefixes)
        for command in self.profile.init_commands:
            await self._try(command)
        revision = await self._text("AT+CGMR", "+CGMR:")
        imei = await self._text("AT+CGSN", "+CGSN:")
        await self._unlock_sim()
        imsi = await self._text("AT+CIMI", "+CIMI:") or None
        numbers_reply = await self._try("AT+CNUM")
        numbers = tuple(replies.parse_cnum(numbers_reply.lines)) if numbers_reply else ()
        try:
            await self.channel.command("AT+CMGF=0")
        except (AtCommandError, AtTimeout) as exc:
            raise ModemSetupError(f"{self.name}: the modem refuses PDU mode: {exc}") from exc
        await self._message_service()
        storage, report_storage, storages = await self._choose_storage()
        cnmi = await self._choose_notifications()
        smsc_reply = await self._try("AT+CSCA?")
        smsc = replies.parse_csca(smsc_reply.lines) if smsc_reply else None
        self.info = ModemInfo(
            identity=Identity(manufacturer, model, revision, imei, imsi, numbers),
            profile=self.profile.name,
            storage=storage,
            report_storage=report_storage,
            storages=storages,
            cnmi=cnmi,
            smsc=smsc[0] if smsc else None,
            registration=await self._enable_registration_reports(),
            rssi=await self._rssi_or_none(),
        )
        return self.info

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

    async def _text(self, command: str, prefix: str) -> str:
        reply = await self._try(command)
        return replies.parse_text(reply.lines, prefix) if reply else ""

    async def _cpin(self) -> str:
        timeout = self.settings.cpin_quirk_timeout if self.profile.cpin_without_ok else None
        try:
            return replies.parse_cpin((await self.channel.command("AT+CPIN?", timeout)).lines)
        except AtTimeout as exc:
            # Old Wavecom firmware sends +CPIN: READY and never OK (python-gsmmodem).
            if any(line.upper().startswith("+CPIN:") for line in exc.lines):
                return replies.parse_cpin(exc.lines)
            raise

    async def _unlock_sim(self) -> None:
        pin_sent = False
        for _ in range(self.settings.sim_busy_retries):
            try:
                state = await self._cpin()
            except (CmeError, CmsError) as exc:
                if exc.code in (_CME_SIM_BUSY, _CMS_SIM_BUSY):
                    await asyncio.sleep(self.settings.sim_busy_delay)
                    continue
                if exc.code == _CME_SIM_NOT_INSERTED:
                    raise ModemSetupError(f"{self.name}: no SIM card inserted") from exc
                raise ModemSetupError(f"{self.name}: the SIM is not usable: {exc}") from exc
            if state == "READY":
                return
            if state == "SIM PIN" and not pin_sent:
                if not self.settings.pin:
                    raise ModemSetupError(
                        f"{self.name}: the SIM needs a PIN (set pin in the config)"
                    )
                pin_sent = True  # never again: three wrong PINs lock the SIM
                try:
                    await self.channel.command(f'AT+CPIN="{self.settings.pin}"')
                except (CmeError, CmsError) as exc:
                    raise ModemSetupError(
                        f"{self.name}: the SIM did not accept the configured PIN ({exc})"
                    ) from exc
                continue
            if state == "SIM PIN":
                raise ModemSetupError(f"{self.name}: the SIM did not accept the configured PIN")
            raise ModemSetupError(f"{self.name}: the SIM wants {state}; unlock it in a phone")
        raise ModemSetupError(f"{self.name}: the SIM stayed busy")

    async def _message_service(self) -> None:
        # Phase 2 (AT+CSMS=0): the modem acknowledges +CMT/+CDS itself (TS 27.005 §3.2.1).
        if await self._try("AT+CSMS=0") is not None:
            return
        reply = await self._try("AT+CSMS?")
        if reply is not None:
            with contextlib.suppress(AtReplyError):
                service = replies.fields(replies.parse_text(reply.lines, "+CSMS:"))[0]
                self._acknowledge = service == "1"

    async def _choose_storage(self) -> tuple[str, str | None, tuple[str, ...]]:
        reply = await self._try("AT+CPMS=?")
        empty: frozenset[str] = frozenset()
        mem1, _, mem3 = replies.parse_cpms_test(reply.lines) if reply else (empty,) * 3
        offered = set(mem3) or set(mem1)
        wanted = self.settings.storage
        storage = wanted if wanted and (not offered or wanted in offered) else None
        if storage is None:
            storage = next((s for s in _STORAGE_PREFERENCE if s in offered), "SM")
        quoted = f'"{storage}"'
        # Under the storage lock, as in _storage(): initialised again on the same link, the
        # modem may be in the middle of a read or delete that selected another storage and
        # relies on it until its command is answered.
        async with self._storage_lock:
            self._read_storage = None  # unknown until the modem says OK
            if await self._try(f"AT+CPMS={quoted},{quoted},{quoted}") is None:
                await self.channel.command(f"AT+CPMS={quoted}")
            self._read_storage = storage
        # MT is ME and SM together: listing it as well would only read them twice. BM holds
        # cell broadcasts, not SMS.
        readable = {m for m in mem1 if m != "BM" and not (m == "MT" and {"ME", "SM"} <= mem1)}
        listed = tuple(sorted(readable | {storage}))
        return storage, "SR" if "SR" in mem1 else None, listed

    async def _choose_notifications(self) -> tuple[int, int, int, int, int]:
        reply = await self._try("AT+CNMI=?")
        allowed: tuple[frozenset[int], ...] = ()
        if reply is not None:
            with contextlib.suppress(AtReplyError):
                allowed = replies.parse_cnmi_test(reply.lines)
        for candidate in CNMI_CANDIDATES:
            if self.profile.refuses_ds1 and candidate[3] == 1:
                continue
            if allowed and not all(
                value in values for value, values in zip(candidate, allowed, strict=False)
            ):
                continue
            if await self._try("AT+CNMI=" + ",".join(map(str, candidate))) is not None:
                return candidate
        raise ModemSetupError(f"{self.name}: the modem accepts no new-message notification")

    async def _enable_registration_reports(self) -> Registration | None:
        found: Registration | None = None
        for command in ("+CREG", "+CEREG"):
            await self._try(f"AT{command}=1")
            reply = await self._try(f"AT{command}?")
            if reply is None:
                continue
            with contextlib.suppress(AtReplyError):
                registration = replies.parse_registration(reply.lines, f"{command}:")
                if found is None or (registration.registered and not found.registered):
                    found = registration
        return found

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

    async def send_pdu(self, pdu: Data, tpdu_length: int) -> int:
        """Send one SMS-SUBMIT; returns its TP-MR from ``+CMGS: <mr>``. ``pdu`` may be a
        coroutine function deciding the PDU at the prompt (see :meth:`AtChannel.submit`)."""
        reply = await self.channel.submit(f"AT+CMGS={tpdu_length}", pdu)
        return replies.parse_cmgs(reply.lines)

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

    @contextlib.asynccontextmanager
    async def _storage(self, storage: str) -> AsyncIterator[None]:
        """``storage`` selected (``AT+CPMS``) for the commands inside, which no other task's
        selection can come between: a health check reading ME while a report in SR is deleted
        would otherwise delete ME's slot of that number."""
        async with self._storage_lock:
            if storage != self._read_storage:
                self._read_storage = None  # unknown until the modem says OK
                await self.channel.command(f'AT+CPMS="{storage}"')
                self._read_storage = storage
            yield

    async def list_messages(self, storage: str, stat: int = 4) -> list[StoredMessage]:
        """``AT+CMGL=<stat>`` on ``storage`` (4: all messages, read or not)."""
        async with self._storage(storage):
            reply = await self.channel.command(f"AT+CMGL={stat}")
        return [
            StoredMessage(storage, entry.index or 0, entry.stat, entry.length, entry.pdu)
            for entry in replies.parse_cmgl(reply.lines)
        ]

    async def read_message(self, storage: str, index: int) -> StoredMessage | None:
        """``AT+CMGR=<index>``; ``None`` for an empty slot."""
        async with self._storage(storage):
            try:
                reply = await self.channel.command(f"AT+CMGR={index}")
            except CmsError as exc:
                if exc.code == _CMS_INVALID_INDEX:
                    return None
                raise
        entry = replies.parse_cmgr(reply.lines)
        if entry is None:
            return None
        return StoredMessage(storage, index, entry.stat, entry.length, entry.pdu)

    async def delete_message(self, storage: str, index: int) -> None:
        async with self._storage(storage):
            await self.channel.command(f"AT+CMGD={index}")

    async def storage_usage(self, storage: str) -> tuple[int, int]:
        """(used, total) of ``storage``."""
        async with self._storage(storage):
            reply = await self.channel.command("AT+CPMS?")
        return replies.parse_cpms_usage(reply.lines)[0]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.channel.close()

    @property
    def lost(self) -> ModemLost | None:
        return self.channel.lost
