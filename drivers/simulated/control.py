"""The controls of a simulated modem and its network, as plain data: what a control interface
serves.

Each action takes a JSON-like body (a dict) and returns a JSON-like answer (or ``None``), and
raises :class:`BadRequest` (or ``ValueError``, ``KeyError``) for bad input; each view answers
with the modem's state, the SUBMITs the network accepted, the commands the modem received or
what reached each virtual handset, once what it waits for has happened. ``smsgw simulate``
serves them over HTTP (``gateway/cli/simulate_control.py``, which lists the endpoints): this
package imports no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import Callable
from typing import Any, Final

from drivers.codec.pdu.fields import encode_address
from drivers.simulated.calls import RING_INTERVAL, Call
from drivers.simulated.modem import SimulatedModem
from drivers.simulated.network import Fate, HandsetRule, SimulatedNetwork, Submission
from drivers.simulated.pdus import status_report_pdu
from drivers.simulated.serve import PtyServer
from drivers.simulated.ussd import UssdRule

# The modem's states a GET /state?until= can await (see SimulatedModem.state_observers).
AWAITABLE_STATES: Final = ("data_mode", "prompt_held", "submitting")
# An operator's numeric code (TS 27.007 §7.3 <oper> format 2): ASCII digits, as str.isdigit()
# would also take "²".
_MCC_MNC: Final = re.compile(r"[0-9]{5,6}")


class BadRequest(Exception):
    pass


def _hex(body: dict[str, Any], name: str) -> str:
    value: str = _field(body, name, str)
    if not value or any(char not in "0123456789ABCDEFabcdef" for char in value):
        raise BadRequest(f"{name!r} must be hexadecimal")
    return value.upper()


def _optional(body: dict[str, Any], name: str, kind: Any) -> Any:
    """The field's value, or ``None`` when it is left out."""
    return _field(body, name, kind) if name in body else None


def _field(body: dict[str, Any], name: str, kind: Any, default: Any = ...) -> Any:
    value = body.get(name, default)
    if value is ...:
        raise BadRequest(f"{name!r} is required")
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise BadRequest(f"{name!r} must be {getattr(kind, '__name__', 'a number')}")
    if isinstance(value, float) and not math.isfinite(value):
        # Python's JSON reader takes NaN and Infinity, and reads 1e400 as infinite.
        raise BadRequest(f"{name!r} must be a finite number")
    return value


class Controls:
    """The actions (the control interface's POST endpoints); each takes the JSON body."""

    def __init__(
        self, modem: SimulatedModem, network: SimulatedNetwork, pty: PtyServer | None
    ) -> None:
        self.modem = modem
        self.network = network
        self.pty = pty

    async def inject(self, body: dict[str, Any]) -> Any:
        order = body.get("order")
        if order is not None and (
            not isinstance(order, list) or not all(isinstance(i, int) for i in order)
        ):
            raise BadRequest("'order' must be a list of part numbers")
        numbers = self.modem.numbers
        pdus = self.network.inject(
            _field(body, "to", str, numbers[0] if numbers else ""),
            _field(body, "from", str),
            _field(body, "text", str),
            order=order,
            ucs2=_field(body, "ucs2", bool, False),
            ref16=_field(body, "ref16", bool, False),
            reference=self._reference(body),
        )
        return {"parts": len(pdus)}

    @staticmethod
    def _reference(body: dict[str, Any]) -> int | None:
        # The same reference in two calls: parts of one message that arrive at two times.
        if body.get("reference") is None:
            return None
        reference = _field(body, "reference", int)
        if not 0 <= reference <= 0xFFFF:
            raise BadRequest("'reference' must be from 0 to 65535")
        return int(reference)

    async def fail(self, body: dict[str, Any]) -> Any:
        self.modem.fail_sends(_field(body, "code", int), _field(body, "count", int, 1))

    async def latency(self, body: dict[str, Any]) -> Any:
        seconds = _field(body, "seconds", float | int)
        if seconds < 0:
            raise BadRequest("'seconds' must not be negative")
        self.modem.faults.latency = float(seconds)

    async def report_delay(self, body: dict[str, Any]) -> Any:
        seconds = _field(body, "seconds", float | int)
        if seconds < 0:
            raise BadRequest("'seconds' must not be negative")
        self.modem.report_delay = float(seconds)

    async def ack_timeout(self, body: dict[str, Any]) -> Any:
        seconds = _field(body, "seconds", float | int | None, None)
        if seconds is not None and seconds < 0:
            raise BadRequest("'seconds' must not be negative (null: no timeout)")
        commands = _field(body, "commands", int | None, None)
        if commands is not None and commands < 0:
            raise BadRequest("'commands' must not be negative (null: not counted)")
        self.modem.ack_timeout = None if seconds is None else float(seconds)
        self.modem.ack_commands = commands

    async def miss_ack(self, _: dict[str, Any]) -> Any:
        return {"missed": self.modem.miss_ack()}

    async def hang(self, _: dict[str, Any]) -> Any:
        self.modem.hang()

    async def resume(self, _: dict[str, Any]) -> Any:
        self.modem.resume()

    async def hold_prompt(self, _: dict[str, Any]) -> Any:
        self.modem.faults.hold_prompt = True

    async def release_prompt(self, _: dict[str, Any]) -> Any:
        return {"released": await self.modem.release_prompt()}

    async def garbage(self, _: dict[str, Any]) -> Any:
        await self.modem.emit_garbage()

    async def drop(self, _: dict[str, Any]) -> Any:
        if self.pty is not None:
            await self.pty.unplug()
        else:
            await self.modem.drop_line()

    async def plug(self, _: dict[str, Any]) -> Any:
        if self.pty is None:
            raise BadRequest("only a pty can be plugged back; TCP clients simply reconnect")
        await self.pty.start()

    async def fill(self, body: dict[str, Any]) -> Any:
        self.modem.fill_storage(_field(body, "storage", str, self.modem.mem[2]))

    async def when_full(self, body: dict[str, Any]) -> Any:
        self.modem.drop_when_full = _field(body, "drop", bool)

    async def flood(self, body: dict[str, Any]) -> Any:
        """Status reports for ``count`` parts sent to ``to``, TP-MR ``first_reference`` on,
        arriving as :meth:`SimulatedModem.flood_reports` says."""
        count, first = _field(body, "count", int), _field(body, "first_reference", int, 0)
        status, per_command = _field(body, "status", int, 0), _field(body, "per_command", int, 1)
        at_once = _optional(body, "at_once", int)
        if not 0 <= count <= 256 or not 0 <= first <= 255 or not 0 <= status <= 255:
            raise BadRequest("'count' 0-256, 'first_reference' and 'status' 0-255")
        if per_command < 1 or (at_once is not None and at_once < 0):
            raise BadRequest("'per_command' must be at least 1, 'at_once' not negative")
        recipient = encode_address(_field(body, "to", str), "TP-RA")
        now = self.network.clock()
        reports = [
            status_report_pdu(
                self.network.smsc,
                reference=(first + n) % 256,
                recipient=recipient,
                scts=now,
                discharge=now,
                status=status,
            )
            for n in range(count)
        ]
        self.modem.flood_reports(reports, at_once, per_command)
        return {"arriving": count}

    async def registration(self, body: dict[str, Any]) -> Any:
        stat = _field(body, "stat", int)
        if not 0 <= stat <= 10:
            raise BadRequest("'stat' must be a TS 27.007 <stat>, 0 to 10 (1 home, 5 roaming)")
        self.modem.set_registration(stat)

    async def operator(self, body: dict[str, Any]) -> Any:
        act = _optional(body, "technology", int)
        if act is not None and not 0 <= act <= 13:
            raise BadRequest("'technology' must be a TS 27.007 <AcT>, 0 to 13 (7 LTE)")
        code = _optional(body, "code", str)
        if code is not None and not _MCC_MNC.fullmatch(code):
            raise BadRequest("'code' must be the MCC and MNC, 5 or 6 digits")
        self.modem.set_operator(
            _optional(body, "name", str), _optional(body, "short_name", str), code, act
        )

    async def cell(self, body: dict[str, Any]) -> Any:
        self.modem.set_cell(_hex(body, "lac"), _hex(body, "ci"))

    async def sim(self, body: dict[str, Any]) -> Any:
        pin, puk = _optional(body, "pin_attempts", int), _optional(body, "puk_attempts", int)
        if min(pin or 0, puk or 0) < 0:
            raise BadRequest("the tries left must not be negative")
        inserted = _optional(body, "inserted", bool)
        self.modem.set_sim(inserted=inserted, pin_attempts=pin, puk_attempts=puk)

    async def rule(self, body: dict[str, Any]) -> Any:
        rule = HandsetRule(
            Fate(_field(body, "fate", str)),
            status=_field(body, "status", int, 0x41),
            cms_error=_field(body, "cms_error", int, 21),
            delay=self._delay(body),
        )
        self.network.set_rule(_field(body, "number", str), rule)

    @staticmethod
    def _delay(body: dict[str, Any]) -> float | None:
        # No delay given: the modem's report delay (POST /report-delay).
        if body.get("delay") is None:
            return None
        seconds = _field(body, "delay", float | int)
        if seconds < 0:
            raise BadRequest("'delay' must not be negative")
        return float(seconds)

    async def switch_on(self, body: dict[str, Any]) -> Any:
        self.network.switch_on(_field(body, "number", str))

    async def call(self, body: dict[str, Any]) -> Any:
        withheld = _field(body, "withheld", bool, False)
        number = _field(body, "from", str, "" if withheld else ...)
        interval = float(_field(body, "interval", float | int, RING_INTERVAL))
        if interval < 0:
            raise BadRequest("'interval' must not be negative")
        try:
            self.modem.calls.incoming(number, withheld=withheld, interval=interval or None)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    async def ring(self, _: dict[str, Any]) -> Any:
        return {"rang": self.modem.calls.ring()}

    async def give_up(self, body: dict[str, Any]) -> Any:
        no_carrier = _field(body, "no_carrier", bool, False)
        return {"ended": self.modem.calls.give_up(no_carrier=no_carrier)}

    async def ussd(self, body: dict[str, Any]) -> Any:
        """How the network answers a USSD code (:class:`UssdRule`, from the body)."""
        self.modem.ussd.set_rule(_field(body, "code", str), UssdRule.from_json(body))


ACTIONS: Final = (
    "inject",
    "fail",
    "latency",
    "report_delay",
    "ack_timeout",
    "miss_ack",
    "hang",
    "resume",
    "hold_prompt",
    "release_prompt",
    "garbage",
    "drop",
    "plug",
    "fill",
    "when_full",
    "flood",
    "registration",
    "operator",
    "cell",
    "sim",
    "rule",
    "switch_on",
    "call",
    "ring",
    "give_up",
    "ussd",
)


Observe = Callable[[Callable[[], None]], Callable[[], None]]
"""Registers a callback for a change; returns the unregister."""


async def _until(condition: Callable[[], bool], observe: Observe, timeout: float) -> None:
    """Return once ``condition()`` holds, checked at each change ``observe`` reports, or after
    ``timeout`` seconds."""
    if condition():
        return
    arrived = asyncio.Event()
    stop = observe(lambda: arrived.set() if condition() else None)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await arrived.wait()
    finally:
        stop()


def _observer(callbacks: list[Callable[[], None]]) -> Observe:
    def observe(callback: Callable[[], None]) -> Callable[[], None]:
        callbacks.append(callback)
        return lambda: callbacks.remove(callback)

    return observe


def _commands_observer(modem: SimulatedModem) -> Observe:
    def observe(callback: Callable[[], None]) -> Callable[[], None]:
        def observer(_: str) -> None:
            callback()

        modem.command_observers.append(observer)
        return lambda: modem.command_observers.remove(observer)

    return observe


class Views:
    """What the control interface's GET endpoints answer. A wait ends after ``timeout``
    seconds whether or not what it waits for came: the caller checks the answer."""

    def __init__(
        self, modem: SimulatedModem, network: SimulatedNetwork, pty: PtyServer | None
    ) -> None:
        self.modem = modem
        self.network = network
        self.pty = pty

    async def state(self, until: str | None, timeout: float) -> dict[str, Any]:
        """:func:`describe`; with ``until`` (one of :data:`AWAITABLE_STATES`), as it was
        once that came true."""
        modem, pty = self.modem, self.pty
        if until is None:
            return describe(modem, pty)
        if until not in AWAITABLE_STATES:
            raise BadRequest(f"'until' must be one of {', '.join(AWAITABLE_STATES)}")
        # The state as it was when it came true: it may have changed by the time we answer.
        moment: dict[str, Any] = {}

        def reached() -> bool:
            if getattr(modem, until) is not True:
                return False
            moment.update(describe(modem, pty))
            return True

        await _until(reached, _observer(modem.state_observers), timeout)
        return moment or describe(modem, pty)

    async def submissions(self, wanted: int, timeout: float) -> list[dict[str, Any]]:
        """Every SUBMIT the network accepted, once there are at least ``wanted``."""
        network = self.network

        def observe(callback: Callable[[], None]) -> Callable[[], None]:
            return network.on_submission(lambda _: callback())

        await _until(lambda: network.submitted >= wanted, observe, timeout)
        return [_submission(item) for item in network.submissions]

    async def commands(self, prefix: str, wanted: int, timeout: float) -> list[str]:
        """Every command line the modem received, once ``wanted`` of them start with
        ``prefix``."""
        modem = self.modem

        def condition() -> bool:
            received = modem.received_commands
            return sum(1 for line in received if line.upper().startswith(prefix)) >= wanted

        await _until(condition, _commands_observer(modem), timeout)
        return modem.received_commands

    def handsets(self) -> dict[str, list[dict[str, Any]]]:
        inbox = self.network.handset_inbox
        return {
            n: [{"from": m.sender, "text": m.submit.text} for m in ms] for n, ms in inbox.items()
        }


def _submission(item: Submission) -> dict[str, Any]:
    concatenation = item.submit.concatenation
    return {
        "from": item.sender,
        "to": item.destination,
        "reference": item.reference,
        "text": item.submit.text,
        "concatenation": [concatenation.sequence, concatenation.total] if concatenation else None,
        "status_report": item.submit.status_report_request,
        "at": item.at.isoformat(),
    }


def describe(modem: SimulatedModem, pty: PtyServer | None = None) -> dict[str, Any]:
    return {
        "numbers": modem.numbers,
        "personality": modem.personality.name,
        "device": pty.device if pty is not None else None,
        "echo": modem.echo,
        "cnmi": list(modem.cnmi),
        "registration": modem.registration,
        "operator": {
            "name": modem.serving.long_name,
            "short_name": modem.serving.short_name,
            "code": modem.serving.code,
            "technology": modem.serving.act,
            "lac": modem.serving.lac,
            "ci": modem.serving.ci,
        },
        "sim": {
            "inserted": modem.sim_inserted,
            "unlocked": modem.pin_entered,
            "pin_attempts": modem.pin_attempts,
            "puk_attempts": modem.puk_attempts,
        },
        "report_delay": modem.report_delay,
        # A routed +CMT/+CDS waits for AT+CNMA; routing turned off for want of one.
        "ack_timeout": modem.ack_timeout,
        "ack_commands": modem.ack_commands,
        "acks_missed": modem.acks_missed,
        "awaiting_ack": modem.routed_unacked,
        "routing_disabled": modem.routing_disabled,
        "storages": {
            name: {"used": len(storage.slots), "capacity": storage.capacity}
            for name, storage in modem.storages.items()
        },
        "when_full": "drop" if modem.drop_when_full else "hold",
        "dropped": modem.dropped,
        "data_mode": modem.data_mode,
        "prompt_held": modem.prompt_held,
        "submitting": modem.submitting,
        "call": _call(modem.calls.current),
        "calls_ended": [_call(call) for call in modem.calls.ended],
        "ussd": {"requests": modem.ussd.requests, "menu_open": modem.ussd.open is not None},
        "faults": {
            "fail_next": modem.faults.fail_next,
            "latency": modem.faults.latency,
            "hung": modem.faults.hung,
            "hold_prompt": modem.faults.hold_prompt,
        },
    }


def _call(call: Call | None) -> dict[str, Any] | None:
    if call is None:
        return None
    return {
        "from": call.number,
        "withheld": call.withheld,
        "rings": call.rings,
        "ended_by": call.ended_by,
    }
