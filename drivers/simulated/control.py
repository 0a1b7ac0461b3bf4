"""The control interface of a standalone simulated modem: a small JSON-over-HTTP API.

Every endpoint takes and returns JSON; bad input gets ``400`` with ``{"error": "..."}``.

=========================  ==============================================================
``GET  /state``            numbers, personality, settings, storage use, faults, and whether
                           the modem waits for a PDU (``data_mode``), holds its prompt back
                           (``prompt_held``) or is sending one it took (``submitting``);
                           ``?until=prompt_held`` (or another of these three) answers once
                           that is true, with the state at that moment
``GET  /submissions``      every SUBMIT the network accepted (destination, text, TP-MR...);
                           ``?wait=N`` answers once there are at least N
``GET  /commands``         every command line the modem received, in order;
                           ``?wait=AT+CMGS&count=N`` answers once N of them start so
``GET  /handsets``         what reached each virtual handset
``POST /inject``           ``{"from": "+1...", "text": "...", "order": [2, 1], "ucs2": false,
                           "ref16": false, "reference": 7}``: a handset texts this modem
                           (``reference`` is optional: give it to send more parts later)
``POST /fail``             ``{"code": 38, "count": 1}``: the next sends get +CMS ERROR
``POST /latency``          ``{"seconds": 0.5}``: how long each AT+CMGS takes
``POST /hang``             stop answering; ``POST /resume`` answer again
``POST /hold-prompt``      the next AT+CMGS enters data mode but its ``> `` is held back
                           (a host killed then leaves the modem waiting for a PDU);
                           ``POST /release-prompt`` shows it (``{"released": false}`` if
                           the host had aborted with ESC)
``POST /garbage``          send a burst of non-text bytes
``POST /drop``             close the line, as if unplugged (a pty comes back on ``/plug``)
``POST /plug``             a dropped pty comes back at the same path
``POST /fill``             ``{"storage": "SM"}``: fill a message storage
``POST /registration``     ``{"stat": 0}``: lose (0) or regain (1) the network
``POST /rule``             ``{"number": "+1555...", "fate": "undelivered", "status": 65,
                           "cms_error": 21, "delay": 2.0}``; ``"number": "*"`` sets the default
``POST /switch-on``        ``{"number": "+1555..."}``: a switched-off handset comes back
=========================  ==============================================================

A ``wait`` or ``until`` answers after ``?timeout=`` seconds (default 10) whether or not it
came: the caller checks the answer. They let a test in another process act at an exact moment
without polling.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from drivers.simulated.modem import SimulatedModem
from drivers.simulated.network import Fate, HandsetRule, SimulatedNetwork, Submission
from drivers.simulated.serve import PtyServer

Handler = Callable[[web.Request], Awaitable[web.Response]]
# The modem's states a GET /state?until= can await (see SimulatedModem.state_observers).
AWAITABLE_STATES = ("data_mode", "prompt_held", "submitting")


class _BadRequest(Exception):
    pass


def _field(body: dict[str, Any], name: str, kind: Any, default: Any = ...) -> Any:
    value = body.get(name, default)
    if value is ...:
        raise _BadRequest(f"{name!r} is required")
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _BadRequest(f"{name!r} must be {getattr(kind, '__name__', 'a number')}")
    return value


class _Controls:
    """The actions behind the POST endpoints; each takes the JSON body."""

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
            raise _BadRequest("'order' must be a list of part numbers")
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
            raise _BadRequest("'reference' must be from 0 to 65535")
        return int(reference)

    async def fail(self, body: dict[str, Any]) -> Any:
        self.modem.fail_sends(_field(body, "code", int), _field(body, "count", int, 1))

    async def latency(self, body: dict[str, Any]) -> Any:
        seconds = _field(body, "seconds", float | int)
        if seconds < 0:
            raise _BadRequest("'seconds' must not be negative")
        self.modem.faults.latency = float(seconds)

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
            raise _BadRequest("only a pty can be plugged back; TCP clients simply reconnect")
        await self.pty.start()

    async def fill(self, body: dict[str, Any]) -> Any:
        self.modem.fill_storage(_field(body, "storage", str, self.modem.mem[2]))

    async def registration(self, body: dict[str, Any]) -> Any:
        self.modem.set_registration(_field(body, "stat", int))

    async def rule(self, body: dict[str, Any]) -> Any:
        rule = HandsetRule(
            Fate(_field(body, "fate", str)),
            status=_field(body, "status", int, 0x41),
            cms_error=_field(body, "cms_error", int, 21),
            delay=float(_field(body, "delay", float | int, 0.0)),
        )
        self.network.set_rule(_field(body, "number", str), rule)

    async def switch_on(self, body: dict[str, Any]) -> Any:
        self.network.switch_on(_field(body, "number", str))


_ACTIONS = (
    "inject",
    "fail",
    "latency",
    "hang",
    "resume",
    "hold_prompt",
    "release_prompt",
    "garbage",
    "drop",
    "plug",
    "fill",
    "registration",
    "rule",
    "switch_on",
)


def _post(action: Callable[[dict[str, Any]], Awaitable[Any]]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        body: Any = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "send a JSON object"}, status=400)
        try:
            result = await action(body)
        except KeyError as exc:  # str() of a KeyError is the repr of its argument
            return web.json_response({"error": str(exc.args[0])}, status=400)
        except (_BadRequest, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(result if result is not None else {"ok": True})

    return handler


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


def _query(request: web.Request, name: str, kind: type[int] | type[float], default: str) -> Any:
    try:
        return kind(request.query.get(name, default))
    except ValueError:
        raise _BadRequest(f"{name!r} must be a number") from None


def control_app(
    modem: SimulatedModem, network: SimulatedNetwork, pty: PtyServer | None = None
) -> web.Application:
    controls = _Controls(modem, network, pty)

    async def state(request: web.Request) -> web.Response:
        until = request.query.get("until")
        if until is None:
            return web.json_response(describe(modem, pty))
        if until not in AWAITABLE_STATES:
            raise _BadRequest(f"'until' must be one of {', '.join(AWAITABLE_STATES)}")
        timeout = _query(request, "timeout", float, "10")
        # The state as it was when it came true: it may have changed by the time we answer.
        moment: dict[str, Any] = {}

        def reached() -> bool:
            if getattr(modem, until) is not True:
                return False
            moment.update(describe(modem, pty))
            return True

        await _until(reached, _observer(modem.state_observers), timeout)
        return web.json_response(moment or describe(modem, pty))

    async def submissions(request: web.Request) -> web.Response:
        wanted: int = _query(request, "wait", int, "0")
        timeout = _query(request, "timeout", float, "10")

        def observe(callback: Callable[[], None]) -> Callable[[], None]:
            return network.on_submission(lambda _: callback())

        await _until(lambda: network.submitted >= wanted, observe, timeout)
        return web.json_response([_submission(item) for item in network.submissions])

    async def commands(request: web.Request) -> web.Response:
        prefix = request.query.get("wait", "").upper()
        wanted: int = _query(request, "count", int, "1" if prefix else "0")
        timeout = _query(request, "timeout", float, "10")

        def condition() -> bool:
            received = modem.received_commands
            return sum(1 for line in received if line.upper().startswith(prefix)) >= wanted

        await _until(condition, _commands_observer(modem), timeout)
        return web.json_response(modem.received_commands)

    async def handsets(_: web.Request) -> web.Response:
        inbox = network.handset_inbox
        return web.json_response(
            {n: [{"from": m.sender, "text": m.submit.text} for m in ms] for n, ms in inbox.items()}
        )

    app = web.Application()
    app.router.add_get("/state", _get(state))
    app.router.add_get("/submissions", _get(submissions))
    app.router.add_get("/commands", _get(commands))
    app.router.add_get("/handsets", handsets)
    for name in _ACTIONS:
        app.router.add_post("/" + name.replace("_", "-"), _post(getattr(controls, name)))
    return app


def _get(answer: Handler) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        try:
            return await answer(request)
        except _BadRequest as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return handler


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
        "storages": {
            name: {"used": len(storage.slots), "capacity": storage.capacity}
            for name, storage in modem.storages.items()
        },
        "data_mode": modem.data_mode,
        "prompt_held": modem.prompt_held,
        "submitting": modem.submitting,
        "faults": {
            "fail_next": modem.faults.fail_next,
            "latency": modem.faults.latency,
            "hung": modem.faults.hung,
            "hold_prompt": modem.faults.hold_prompt,
        },
    }
