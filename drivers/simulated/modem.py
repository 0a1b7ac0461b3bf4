"""A simulated GSM modem: an AT command server speaking the bytes a real modem does.

It implements the commands the driver uses (TS 27.007 identity, SIM, registration and signal;
TS 27.005 message service, storages, notifications, sending, listing, reading, deleting), and
those other AT software uses: text mode (:mod:`~drivers.simulated.text_mode`), writing to and
sending from storage (:mod:`~drivers.simulated.stored`), capabilities, phonebooks and SIM files
(:mod:`~drivers.simulated.probes`). Echo on and off, numeric and verbose errors, storages with
capacities, ``AT+CNMI`` modes, ``AT+CNMA``; it checks every PDU it is given (a wrong length is
``+CMS ERROR: 304``, as on real hardware). Faults and vendor personalities are switched on
through its controls. Its link side (echo, the command line and the prompt, result codes, URCs
held back while the host holds the link) is :class:`~drivers.simulated.peer.AtPeer`, its base
class.

What the host has typed, and whether the modem waits for a PDU after its ``> `` prompt, belong
to the modem, not to one link: a host that dies in the prompt and opens the port again (or
reconnects over TCP) finds the modem still waiting for data, as a real one would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from drivers.errors import ModemLost
from drivers.simulated import probes, registration, sim, stored, text_mode  # noqa: F401 (probes: its handlers)
from drivers.simulated.calls import VHU_ATH_IGNORED, Calls
from drivers.simulated.commands import HANDLERS
from drivers.simulated.network import DEFAULT_REPORT_DELAY
from drivers.simulated.peer import AtPeer, Typing, chained
from drivers.simulated.personality import GENERIC, Personality
from drivers.simulated.state import (
    CommandFailed,
    ServingNetwork,
    Slot,
    Storage,
    SubmitRejected,
)
from drivers.simulated.ussd import UssdService

if TYPE_CHECKING:
    from drivers.simulated.network import SimulatedNetwork

log = logging.getLogger(__name__)

DEFAULT_CAPACITY: Final = {"SM": 30, "ME": 100, "SR": 20}
# ZTE lines recorded inside an AT+CMGS exchange (python-gsmmodem test_modem.py).
_ZDONR: Final = '+ZDONR: "METEOR",272,3,"CS_ONLY","ROAM_OFF"'
_ZPASR: Final = '+ZPASR: "UMTS"'
_CMT: Final = "+CMT"
_CDS: Final = "+CDS"


# V.250 basic commands: a letter (or &letter) and an optional number; S-registers take a value.
_BASIC: Final = re.compile(r"(S\d+(?:=\d*|\?)|&[A-Z]|[A-Z])(\d*)")
# V.250 S-registers with their defaults: S0 (auto-answer off, §6.3.8), and the mandatory S3 (CR
# ends a command line), S4 (LF formats a response), S5 (backspace edits) of §6.2.1-6.2.3. This
# modem frames with the defaults only.
_S_REGISTERS: Final = {0: 0, 3: 13, 4: 10, 5: 8}
_FIXED_REGISTERS: Final = (3, 4, 5)


def _with_luhn(digits: str) -> str:
    """``digits`` and the Luhn check digit an IMEI ends with (3GPP TS 23.003 §6.2.1)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


class SimulatedModem(AtPeer):
    def __init__(
        self,
        numbers: tuple[str, ...] | list[str] = (),
        personality: Personality = GENERIC,
        *,
        imei: str | None = None,
        imsi: str | None = None,
        pin: str | None = None,
        capacity: dict[str, int] | None = None,
        first_reference: int = 0,
        history: int | None = None,
        report_delay: float = DEFAULT_REPORT_DELAY,
        drop_when_full: bool = False,
        ack_timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.numbers = list(numbers)
        self.personality = personality
        # Each simulated modem its own identity (derived from its number, so it is the same
        # at every start), as each real one has: tools group a modem's ports by IMEI.
        tail = "".join(char for char in (numbers[0] if numbers else "") if char.isdigit())
        self.imei = imei or _with_luhn("35693803" + tail[-6:].rjust(6, "0"))
        self.imsi = imsi or "31026" + tail[-10:].rjust(10, "0")
        self.pin = pin
        self.puk = "12345678"
        self.sim_inserted = True
        self.pin_attempts = sim.PIN_TRIES
        self.puk_attempts = sim.PUK_TRIES
        self.network: SimulatedNetwork | None = None
        # Seconds before the network reports on a part this modem sent (see the default's note).
        self.report_delay = report_delay
        sizes = {**DEFAULT_CAPACITY, **(capacity or {})}
        self.storages = {
            name: Storage(name, sizes.get(name, 20), first=personality.first_index)
            for name in personality.storages
        }
        self.reference = first_reference % 256
        self.sim_busy_answers = 0
        self.plugged = True  # see unplug()
        self.registration = 1
        self.serving = ServingNetwork()
        self.rssi = 20
        self.smsc = "+15550000000"
        self.calls = Calls(self)
        self.ussd = UssdService()  # its network's USSD rules (drivers.simulated.ussd)
        self._reset_settings()
        self.prompt_held = False  # in data mode, the "> " not shown yet (Faults.hold_prompt)
        self._submit_released = asyncio.Event()  # set by release_submit (Faults.hold_submit)
        self._awaited = stored.Awaited("+CMGS")  # what the data after the prompt is for
        self.submitting = False  # a PDU was taken; its answer is not written yet
        # Called whenever data_mode, prompt_held or submitting changes (the control interface
        # answers "wait until" requests with it).
        self.state_observers: list[Callable[[], None]] = []
        self._held_incoming: list[tuple[str, int]] = []
        self._held_reports: list[tuple[str, int]] = []
        # What arrives at a full storage: held by the network until there is room (TS 23.040
        # §3.3, memory capacity exceeded), or, when this is set, lost, as an emulator measured
        # for issue 17 lost 4-44 of 200 reports (and some modems lose class 2 messages).
        self.drop_when_full = drop_when_full
        self.dropped = 0  # messages and reports lost so far
        # Reports still to arrive (flood_reports): so many with each command line the host sends.
        self._arriving: list[tuple[str, int]] = []
        self._per_command = 0
        # AT+CSMS=1: a +CMT/+CDS waits for AT+CNMA (_awaiting), what came after it waits in
        # the queue; after a missed acknowledgement the network keeps them (miss_ack).
        self.routed_unacked = False
        self._awaiting: tuple[str, str, int] | None = None
        self.routed_queue: list[tuple[str, str, int]] = []
        self.routing_disabled = False
        self._network_kept: list[tuple[str, str, int]] = []
        # Seconds the network waits for AT+CNMA before routing is turned off (None: for ever;
        # miss_ack() ends the wait at once).
        self.ack_timeout = ack_timeout
        self._ack_timer: asyncio.TimerHandle | None = None
        # The same wait counted in the host's command lines, not in seconds (None: not
        # counted): the wait ends when the host has sent this many others after the code
        # came and the next one is not AT+CNMA. A test's deadline, the same on a fast machine
        # and a slow one (as flood_reports paces by command).
        self.ack_commands: int | None = None
        self._ack_left: int | None = None
        self.acks_missed = 0  # routed codes whose wait for AT+CNMA ended (miss_ack)
        self.received_commands: list[str] = []
        self.history = history  # how many received commands to remember (None: all)
        # Called with each command line as it arrives: lets a test act at an exact moment.
        self.command_observers: list[Callable[[str], None]] = []

    def _reset_settings(self) -> None:
        self.echo = True
        self.cmee = 0
        self.cmgf = 0
        self.csms = 1 if self.personality.phase2_plus_only else 0
        self.cnmi = (1, 1, 0, 0, 0)
        self.creg = 0
        self.cereg = 0
        self.clip = False  # AT+CLIP=1: +CLIP after each RING (TS 27.007 §7.6)
        self.crc = False  # AT+CRC=1: +CRING: <type> instead of RING (§6.11)
        # AT+CVHU <mode> (§6.20): whether ATH hangs up (drivers.simulated.calls).
        self.cvhu = VHU_ATH_IGNORED if self.personality.ath_ignored else 0
        self.cops_format = 0  # TS 27.007 §7.3: long alphanumeric until AT+COPS=3,<format>
        self.charset = "GSM"
        self.cmms = 0
        self.cusd = 0  # AT+CUSD <n>
        self.csmp = text_mode.SubmitParameters()
        self.csdh = 0
        self.phonebook = "SM"
        self.cscb: tuple[int, str, str] = (0, "", "")
        self.caret_reports = self.personality.caret_spam
        # The memory-full code (Personality.memory_full_urc) on: Quectel's is off until
        # AT+QINDCFG="smsfull",1, which is not kept over a restart unless saved.
        self.memory_full_on = not self.personality.memory_full_off
        self.pin_entered = self.pin is None
        first = next(iter(self.storages))
        self.mem = [first, first, first]
        self.s_registers = dict(_S_REGISTERS)

    def _urcs_inband(self) -> bool:
        # TS 27.005 §3.4.1: only mode 3 forwards codes while the link is reserved.
        return self.personality.urcs_inband and self.cnmi[0] == 3

    def _state_changed(self) -> None:
        for observer in list(self.state_observers):
            observer()

    async def _entered(self, kind: str, text: str) -> None:
        if kind == "command":
            await self._execute(text)
            return
        self.prompt_held = False  # the data mode is over: a held prompt is never shown
        if kind == "data":
            await self._submit(text)
        else:
            self._state_changed()
            await self._abort_submit()
            await self._release_urcs()  # held while the prompt waited (AtPeer._urc)

    # --- from the network --------------------------------------------------------------------

    def receive(self, pdu: str, length: int) -> None:
        """An SMS-DELIVER arrives: stored and announced, or routed, as AT+CNMI says."""
        mt = self.cnmi[1]
        if mt == 2:
            self._route(_CMT, pdu, length)
            return
        storage = self.storages[self.mem[2]]
        index = self._store(storage, pdu, length)
        if index is None:
            # Memory capacity exceeded: the network keeps the message and retries later.
            if not self.drop_when_full:
                self._held_incoming.append((pdu, length))
            return
        if mt in (1, 3):
            self._urc(f'+CMTI: "{storage.name}",{index}')

    def receive_report(self, pdu: str, length: int) -> None:
        """An SMS-STATUS-REPORT arrives: routed (+CDS), stored (+CDSI), or dropped (when
        AT+CNMI asks for no reports)."""
        ds = self.cnmi[3]
        if ds == 1:
            self._route(_CDS, pdu, length)
        elif ds == 2:
            storage = self._report_storage()
            index = self._store(storage, pdu, length)
            if index is None:
                # As for a message (TS 23.040 §3.3, memory capacity exceeded): the SC keeps
                # the report and delivers it once the ME has room again.
                if not self.drop_when_full:
                    self._held_reports.append((pdu, length))
                return
            self._urc(f'+CDSI: "{storage.name}",{index}')
        elif self.routing_disabled:
            # Routing was turned off for want of AT+CNMA: the network still holds the report
            # (its delivery failed) and delivers it again once routing is back on.
            self._network_kept.append((_CDS, pdu, length))

    def _route(self, kind: str, pdu: str, length: int) -> None:
        """``+CMT``/``+CDS`` to the host; with AT+CSMS=1 it waits for AT+CNMA."""
        if self.csms == 1 and self.routed_unacked:
            # TS 27.005 §3.4.1: no further +CMT/+CDS until the previous one is acknowledged.
            self.routed_queue.append((kind, pdu, length))
            return
        if self.csms == 1 and (self._link is None or not self.plugged):
            # No host to acknowledge it (unplugged, the modem is off; or no one on the line):
            # the network keeps it, as after a missed AT+CNMA, until AT+CNMI routes again.
            self._network_kept.append((kind, pdu, length))
            return
        if self.csms == 1:
            self.routed_unacked = True
            self._awaiting = (kind, pdu, length)
            self._start_ack_timer()
        if self.cmgf == 1:
            self._urc(*text_mode.message_lines(self, pdu, length, f"{kind}: ", None))
        elif kind == _CMT:
            self._urc(f"+CMT: ,{length}", pdu)
        else:
            self._urc(f"+CDS: {length}", pdu)

    @property
    def routed_waiting(self) -> int:
        """Routed codes not acknowledged yet: the one awaiting AT+CNMA, those queued behind
        it, and those the network keeps."""
        return int(self.routed_unacked) + len(self.routed_queue) + len(self._network_kept)

    def _deliver(self, kind: str, pdu: str, length: int) -> None:
        """Deliver again what waited, as AT+CNMI now says."""
        if kind == _CMT:
            self.receive(pdu, length)
        else:
            self.receive_report(pdu, length)

    def acknowledged(self) -> bool:
        """``AT+CNMA``: the routed code is acknowledged, the next one may come; ``False`` when
        none was expected (+CMS ERROR: 340)."""
        if not self.routed_unacked:
            return False
        self.routed_unacked = False
        self._awaiting = None
        self._stop_ack_timer()
        while self.routed_queue and not self.routed_unacked:
            self._deliver(*self.routed_queue.pop(0))
        return True

    def miss_ack(self) -> bool:
        """The network's wait for AT+CNMA ends (now, or ``ack_timeout`` seconds after the
        code): TS 27.005 §3.4.1, the ME "shall automatically disable routing to TE by setting
        both <mt> and <ds> of +CNMI to zero". The network keeps what was not acknowledged, and
        what waited behind it, and delivers it again once AT+CNMI routes again. ``False``
        when nothing waited for an acknowledgement."""
        if not self.routed_unacked or self._awaiting is None:
            return False
        self._stop_ack_timer()
        self.acks_missed += 1
        mode, _, bm, _, bfr = self.cnmi
        self.cnmi = (mode, 0, bm, 0, bfr)
        self.routed_unacked = False
        self.routing_disabled = True
        self._network_kept += [self._awaiting, *self.routed_queue]
        self._awaiting = None
        self.routed_queue.clear()
        return True

    def notifications_set(self) -> None:
        """AT+CNMI was set: what the network kept after a missed AT+CNMA comes again."""
        self.routing_disabled = False
        kept, self._network_kept = self._network_kept, []
        for entry in kept:
            self._deliver(*entry)

    def _count_ack(self, command: str) -> None:
        """One more command line while a routed code waits for AT+CNMA (ack_commands)."""
        if self._ack_left is None or command.upper().startswith("AT+CNMA"):
            return
        self._ack_left -= 1
        if self._ack_left < 0:
            self.miss_ack()

    def _start_ack_timer(self) -> None:
        self._ack_left = self.ack_commands
        if self.ack_timeout is not None:
            loop = asyncio.get_running_loop()
            self._ack_timer = loop.call_later(self.ack_timeout, self.miss_ack)

    def _stop_ack_timer(self) -> None:
        self._ack_left = None
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None

    def _store(self, storage: Storage, pdu: str, length: int) -> int | None:
        """Where a message or report that arrives goes in ``storage``; ``None`` when it is
        full (it is then counted as dropped if this modem drops). A storage that fills, or is
        found full, is announced with the personality's memory-full code, once until it has
        room again."""
        index = storage.store(Slot(0, pdu, length))
        if index is None and self.drop_when_full:
            self.dropped += 1
        if storage.full:
            self._announce_full(storage)
        return index

    def _announce_full(self, storage: Storage) -> None:
        code = self.personality.memory_full_urc
        if code and self.memory_full_on and not storage.full_announced:
            storage.full_announced = True
            self._urc(code.format(storage=storage.name))

    def _report_storage(self) -> Storage:
        return self.storages.get(self.personality.report_storage) or self.storages[self.mem[2]]

    def release_held(self) -> None:
        for storage in self.storages.values():
            storage.full_announced = storage.full_announced and storage.full
        while self._held_incoming and not self.storages[self.mem[2]].full:
            self.receive(*self._held_incoming.pop(0))
        while self._held_reports and not self._report_storage().full:
            self.receive_report(*self._held_reports.pop(0))

    # --- controls ----------------------------------------------------------------------------

    def fail_sends(self, code: int, count: int = 1) -> None:
        """Answer the next ``count`` AT+CMGS with ``+CMS ERROR: <code>``."""
        self.faults.fail_next.extend([code] * count)

    def hang(self) -> None:
        """Drop whatever the host sends, and answer nothing."""
        self.faults.hung = True

    def stall(self) -> None:
        """Keep what the host sends, unread, until :meth:`resume`: then it is answered, all
        at once (a modem busy with something else)."""
        self.faults.stalled = True
        self._awake.clear()

    def resume(self) -> None:
        self.faults.hung = False
        self.faults.stalled = False
        self._awake.set()

    async def emit_garbage(self, data: bytes | None = None) -> None:
        if data is None:
            data = bytes(random.Random(7).randrange(128, 256) for _ in range(16))
        if self._link is not None:
            with contextlib.suppress(ModemLost):
                await self._link.write(data)

    async def _unplug_now(self) -> None:
        self.faults.unplug_in_submit = None
        await self.unplug()

    async def unplug(self) -> None:
        """As if the USB cable were pulled: the link drops, and an in-process opener finds
        no device until :meth:`plug`."""
        self.plugged = False
        await self.drop_line()

    def plug(self) -> None:
        self.plugged = True

    async def drop_line(self) -> None:
        """As if the modem were unplugged: the link closes under the host."""
        if self._link is not None:
            await self._link.close()

    def fill_storage(self, name: str | None = None) -> None:
        storage = self.storages[name or self.mem[2]]
        filler = "00040B915155555555F500001111111111110000"
        while storage.store(Slot(1, filler, 19)) is not None:
            pass
        self._announce_full(storage)

    def flood_reports(
        self, reports: list[tuple[str, int]], at_once: int | None = None, per_command: int = 1
    ) -> None:
        """Status reports arriving in a flood: ``at_once`` of them now (all when ``None``),
        then ``per_command`` with each command line the host sends, as a network's reports
        keep coming while the host reads and deletes (the pace is the host's own, so that a
        test is the same on a fast machine and a slow one)."""
        first = len(reports) if at_once is None else at_once
        self._arriving += reports[first:]
        self._per_command = per_command
        for report in reports[:first]:
            self.receive_report(*report)

    def _arrive(self) -> None:
        now = self._arriving[: self._per_command]
        del self._arriving[: self._per_command]
        for report in now:
            self.receive_report(*report)

    def answer_ussd(self, line: str) -> None:
        """The network's answer to a USSD request: unsolicited, after the command's OK."""
        self._urc(line)

    def set_registration(self, stat: int) -> None:
        """Registered (1 home, 5 roaming) or not (0, 2 searching, 3 denied): TS 27.007 §7.2."""
        self.registration = stat
        self._report_registration()

    def _report_registration(self) -> None:
        if self.creg:
            self._urc(f"+CREG: {registration.registration_value(self, self.creg)}")
        if self.cereg:
            self._urc(f"+CEREG: {registration.registration_value(self, self.cereg)}")

    def set_operator(
        self,
        long_name: str | None = None,
        short_name: str | None = None,
        code: str | None = None,
        act: int | None = None,
    ) -> None:
        """Another operator (the names and MCC/MNC ``AT+COPS?`` gives) or access technology."""
        serving = self.serving
        self.serving = replace(
            serving,
            long_name=serving.long_name if long_name is None else long_name,
            short_name=serving.short_name if short_name is None else short_name,
            code=serving.code if code is None else code,
            act=serving.act if act is None else act,
        )

    def set_cell(self, lac: str, ci: str) -> None:
        """Another location area and cell: reported where ``AT+CREG=2`` asks (§7.2)."""
        self.serving = replace(self.serving, lac=lac, ci=ci)
        if 2 in (self.creg, self.cereg):
            self._report_registration()

    def set_sim(
        self,
        *,
        inserted: bool | None = None,
        pin_attempts: int | None = None,
        puk_attempts: int | None = None,
    ) -> None:
        """Take the SIM out or put it back, or set the PIN and PUK tries it has left (0 PIN
        tries: it wants its PUK). A SIM put back, as a locked one, wants its PIN again."""
        if inserted is not None:
            self.sim_inserted = inserted
            self.pin_entered = self.pin is None
        if pin_attempts is not None:
            self.pin_attempts = pin_attempts
        if puk_attempts is not None:
            self.puk_attempts = puk_attempts
        if self.pin_attempts == 0:
            self.pin_entered = False

    async def release_prompt(self) -> bool:
        """Show the ``> `` held back by :attr:`Faults.hold_prompt`; ``False`` if none was held
        (never held, or the host aborted or ended the data mode first)."""
        if not self.prompt_held:
            return False
        self.prompt_held = False
        self._state_changed()
        await self._write("\r\n> ")
        return True

    def release_submit(self) -> None:
        """Let the sends held by :attr:`Faults.hold_submit` go on, and the next ones too."""
        self.faults.hold_submit = False
        self._submit_released.set()

    def reboot(self) -> None:
        """Settings back to power-on defaults (echo on, text of CNMI lost...), stored kept;
        whatever was being typed, or a PDU awaited, is forgotten."""
        self._reset_settings()
        self._typed = Typing()
        self.prompt_held = False
        self._urc("RDY", "+CPIN: READY", "SMS Ready")

    # --- commands ----------------------------------------------------------------------------

    async def _execute(self, command: str) -> None:
        """Run one command line (``AT+CMGS`` puts the modem in data mode)."""
        self._count_ack(command)
        self.received_commands.append(command)
        if self.history is not None and len(self.received_commands) > 2 * self.history:
            del self.received_commands[: -self.history]  # now and then, not every time
        for observer in list(self.command_observers):
            observer(command)
        self._arrive()
        upper = command.upper()
        if not upper.startswith("AT"):
            await self._respond([], "ERROR")
            return
        if upper.startswith(("AT+CMGS", "AT+CMGW")):
            await self._begin_data(upper[2:7], command[7:])
            return
        if upper.startswith("AT+CMSS"):
            await self._send_stored(command[7:])
            return
        try:
            lines: list[str] = []
            # V.250 §5.2.1: several commands on one line, extended ones after ';'.
            for part in chained(command[2:]):
                lines += self._run(part.upper(), part)
            await self._respond(lines)
        except CommandFailed as error:
            await self._error(error)

    def _run(self, upper: str, original: str) -> list[str]:
        if not upper:
            return []  # a bare AT
        if upper[0] not in "+^":
            return self._basic(upper)
        name, _, argument = upper.partition("=")
        handler = HANDLERS.get(name.rstrip("?"))
        if handler is None:
            raise CommandFailed()  # V.250: an unknown command is ERROR
        return handler(self, name, argument, original)

    def _basic(self, commands: str) -> list[str]:
        """Basic V.250 commands, which may follow one another with no separator (ATE0V1)."""
        lines: list[str] = []
        for match in _BASIC.finditer(commands):
            letter, value = match.group(1), match.group(2)
            if letter == "E":
                self.echo = value == "1" or self.personality.echo_locked
            elif letter in ("Z", "&F"):
                self._reset_settings()
            elif letter == "H" and value in ("", "0"):
                # V.250 §6.3.6: on hook, which ends a ringing call unless AT+CVHU <mode> 1
                # says to ignore it (OK, and the call rings on: Huawei sticks until AT+CVHU=0).
                self.calls.hang_up("ATH")
            elif letter == "I":
                lines += [self.personality.manufacturer, self.personality.model]
            elif letter.startswith("S") and len(letter) > 1:
                lines += self._s_register(letter)
        if _BASIC.sub("", commands):
            raise CommandFailed()  # something that is no basic command
        return lines

    def _s_register(self, text: str) -> list[str]:
        """``S3?`` reads a register (V.250 §5.3.2: three digits); ``S0=1`` sets one (any
        register can be set, as other AT software expects; only those set can be read)."""
        number, _, value = text[1:].partition("=")
        register = int(number.rstrip("?"))
        if text.endswith("?"):
            if register not in self.s_registers:
                raise CommandFailed()
            return [f"{self.s_registers[register]:03d}"]
        wanted = int(value or "0")
        if register in _FIXED_REGISTERS and wanted != _S_REGISTERS[register]:
            raise CommandFailed()  # other line endings are not simulated
        self.s_registers[register] = wanted
        return []

    async def _begin_data(self, command: str, argument: str) -> None:
        """``AT+CMGS``/``AT+CMGW``: the prompt, after which the modem takes a PDU (PDU mode)
        or a text (text mode) up to Ctrl-Z (TS 27.005 §3.5.1, §3.5.3)."""
        if argument.startswith("=?"):
            await self._respond([])  # the test command: supported
            return
        try:
            self._awaited = stored.awaited(self, command, argument)
        except CommandFailed as error:
            await self._error(error)
            return
        if self.personality.urcs_in_submit and command == "+CMGS":
            await self._write(f"\r\n{_ZDONR}\r\n\r\n{_ZPASR}\r\n")
        self._typed.data_mode = True
        if self.faults.hold_prompt:
            self.faults.hold_prompt = False
            self.prompt_held = True
        else:
            await self._write("\r\n> ")
        self._state_changed()

    async def _abort_submit(self) -> None:
        # TS 27.005 §3.5.1: ESC aborts the send; the modem acknowledges it (see Personality).
        code = self.personality.abort_error
        if code is None:
            await self._respond([])
        else:
            await self._error(CommandFailed("CMS", code))

    async def _submit(self, data: str) -> None:
        """What followed the prompt: sent (``AT+CMGS``) or stored (``AT+CMGW``)."""
        entry = self._awaited
        self.submitting = True
        self._state_changed()
        try:
            if entry.command == "+CMGW":
                await self._respond([f"+CMGW: {stored.write(self, entry, data)}"])
                return
            accepted = await self._on_air(stored.typed_submit(self, entry, data))
            if accepted is None:
                return
            if self.personality.urcs_in_submit:
                await self._write(f"\r\n{_ZPASR}\r\n")
            await self._respond([f"+CMGS: {accepted}"])
        except CommandFailed as error:
            await self._error(error)
        finally:
            self.submitting = False
            self._state_changed()

    async def _send_stored(self, argument: str) -> None:
        """``AT+CMSS``: a stored SUBMIT sent, as ``AT+CMGS`` sends one (TS 27.005 §3.5.2)."""
        try:
            slot, tpdu = stored.stored_submit(self, argument)
            accepted = await self._on_air(tpdu)
            if accepted is None:
                return
            stored.sent(slot)
            await self._respond([f"+CMSS: {accepted}"])
        except CommandFailed as error:
            await self._error(error)

    async def _on_air(self, tpdu: bytes) -> int | None:
        """Send a SUBMIT: its TP-MR, or ``None`` when a fault leaves it unanswered."""
        while self.faults.hold_submit:
            self._submit_released.clear()
            await self._submit_released.wait()
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if self.faults.fail_next:
            raise CommandFailed("CMS", self.faults.fail_next.pop(0))
        if self.faults.hang_in_submit:
            self.faults.hang_in_submit = False
            self.faults.hung = True  # reads and answers nothing from now on
            return None
        if self.faults.unplug_in_submit == "before":
            await self._unplug_now()
            return None
        if self.network is None or self.registration not in (1, 5):
            raise CommandFailed("CMS", 331)
        try:
            self.network.submit(self, tpdu, self.reference)
        except SubmitRejected as rejected:
            raise CommandFailed("CMS", rejected.code) from None
        accepted = self.reference
        self.reference = (self.reference + 1) % 256
        if self.faults.unplug_in_submit == "after":
            await self._unplug_now()  # the part is on the air; its answer never comes
            return None
        return accepted
