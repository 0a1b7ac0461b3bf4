"""The control interface of ``smsgw simulate``: a small JSON-over-HTTP API.

Every endpoint takes and returns JSON; bad input gets ``400`` with ``{"error": "..."}``.

=========================  ==============================================================
``GET  /state``            numbers, personality, settings, operator and SIM, storage use,
                           faults, and whether the modem waits for a PDU (``data_mode``),
                           holds its prompt back (``prompt_held``) or is sending one it
                           took (``submitting``), the USSD strings it was sent and whether a
                           USSD menu is open;
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
``POST /report-delay``     ``{"seconds": 0}``: how long the network takes to report on a
                           part sent (default 3; also ``smsgw simulate --report-delay``)
``POST /ack-timeout``      ``{"seconds": 30}``: how long a routed +CMT/+CDS waits for
                           AT+CNMA (with AT+CSMS=1) before the modem turns routing off
                           (AT+CNMI <mt> and <ds> 0, TS 27.005 §3.4.1); ``null``: for ever;
                           ``{"commands": 2}``: or once the host sent 2 other command
                           lines (a test's deadline, the same on any machine)
``POST /miss-ack``         that wait ends now (``{"missed": false}``: none was waiting);
                           AT+CNMI set again brings what the network kept
``POST /hang``             stop answering; ``POST /resume`` answer again
``POST /hold-prompt``      the next AT+CMGS enters data mode but its ``> `` is held back
                           (a host killed then leaves the modem waiting for a PDU);
                           ``POST /release-prompt`` shows it (``{"released": false}`` if
                           the host had aborted with ESC)
``POST /garbage``          send a burst of non-text bytes
``POST /drop``             close the line, as if unplugged (a pty comes back on ``/plug``)
``POST /plug``             a dropped pty comes back at the same path
``POST /fill``             ``{"storage": "SM"}``: fill a message storage
``POST /when-full``        ``{"drop": true}``: what arrives at a full storage is lost (as on
                           an emulator issue 17 measured), not held by the network
``POST /flood``            ``{"to": "+1555...", "first_reference": 0, "count": 200,
                           "status": 0, "at_once": 20, "per_command": 1}``: status reports
                           for TP-MRs from ``first_reference``, ``at_once`` now and
                           ``per_command`` with each later command line
``POST /registration``     ``{"stat": 0}``: lose (0) or regain the network, at home (1) or
                           roaming (5) (TS 27.007 §7.2 <stat>)
``POST /operator``         ``{"name": "Vodafone.de", "short_name": "voda DE", "code": "26202",
                           "technology": 2}``: what AT+COPS? names (each key optional;
                           ``technology`` the <AcT>: 0 GSM, 2 UTRAN, 7 LTE)
``POST /cell``             ``{"lac": "0502", "ci": "0404736D"}``: another location area and cell
``POST /sim``              ``{"inserted": false}``, ``{"pin_attempts": 2, "puk_attempts": 10}``:
                           take the SIM out (or put it back), set the tries left (0 PIN tries:
                           it wants its PUK)
``POST /rule``             ``{"number": "+1555...", "fate": "undelivered", "status": 65,
                           "cms_error": 21, "delay": 2.0}``; ``"number": "*"`` sets the default
                           (no ``delay``: the modem's report delay)
``POST /switch-on``        ``{"number": "+1555..."}``: a switched-off handset comes back
``POST /call``             ``{"from": "+1555...", "withheld": false, "interval": 5}``: a
                           voice call rings the modem (RING or +CRING, +CLIP) now and
                           every ``interval`` seconds (0: only on ``/ring``) until ATH or
                           AT+CHUP; ``GET /state`` shows it (``call``, ``calls_ended``)
``POST /ring``             the ringing call rings once more now (``{"rang": false}``: none)
``POST /give-up``          ``{"no_carrier": true}``: the caller hangs up first (the rings
                           stop; with ``no_carrier`` the modem prints NO CARRIER)
``POST /ussd``             ``{"code": "*100#", "answer": "Balance 5", "m": 0, "menu":
                           {"1": {"answer": "..."}}, "ucs2": false, "silent": false}``: how
                           the network answers a USSD code (``m`` 1 a menu, each reply its
                           own rule; 2 the network ends it; ``silent``: no answer ever)
=========================  ==============================================================

A fleet (``smsgw simulate --pty-dir DIR --count N``) serves the same endpoints once per modem,
under ``/modems/{i}`` for the modem on ``DIR/ttySIM{i}`` (``GET /modems/2/state``, ``POST
/modems/0/inject``...; ``/inject`` texts that modem); ``/submissions`` and ``/handsets`` are
the one network's, the same under every modem:

=========================  ==============================================================
``GET  /modems``           each modem's ``index``, ``numbers``, ``path`` and ``device``
``…    /modems/{i}/…``     every endpoint above, for modem ``i`` (0 to N-1)
=========================  ==============================================================

A ``wait`` or ``until`` answers after ``?timeout=`` seconds (default 10) whether or not it
came: the caller checks the answer. They let a test in another process act at an exact moment
without polling. The actions and views themselves are the simulator's
(:mod:`drivers.simulated.control`); this module serves them.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from aiohttp import web

from drivers.simulated import SimulatedModem, SimulatedNetwork
from drivers.simulated.control import ACTIONS, AWAITABLE_STATES, BadRequest, Controls, Views
from drivers.simulated.serve import PtyServer

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _post(action: Callable[[dict[str, Any]], Awaitable[Any]]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        try:
            result = await action(await _body(request))
        except KeyError as exc:  # str() of a KeyError is the repr of its argument
            return web.json_response({"error": str(exc.args[0])}, status=400)
        except (BadRequest, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except RecursionError:  # a USSD rule's menus in menus, read one level at a time
            return web.json_response({"error": _TOO_DEEP}, status=400)
        return web.json_response(result if result is not None else {"ok": True})

    return handler


_TOO_DEEP: Final = "the body is nested too deeply"


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    except RecursionError:  # the JSON reader's, for arrays in arrays thousands deep
        raise BadRequest(_TOO_DEEP) from None
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object")
    return body


def _query(request: web.Request, name: str, kind: type[int] | type[float], default: str) -> Any:
    try:
        value = kind(request.query.get(name, default))
    except ValueError:
        raise BadRequest(f"{name!r} must be a number") from None
    if not math.isfinite(value):  # float() takes "nan" and "inf": a wait that never ends
        raise BadRequest(f"{name!r} must be a finite number")
    return value


def control_app(
    modem: SimulatedModem, network: SimulatedNetwork, pty: PtyServer | None = None
) -> web.Application:
    controls = Controls(modem, network, pty)
    views = Views(modem, network, pty)

    async def state(request: web.Request) -> web.Response:
        until = request.query.get("until")
        # An unknown state is refused before a bad timeout, as a wait is only for a known one.
        timeout = _query(request, "timeout", float, "10") if until in AWAITABLE_STATES else 0.0
        return web.json_response(await views.state(until, timeout))

    async def submissions(request: web.Request) -> web.Response:
        wanted: int = _query(request, "wait", int, "0")
        timeout = _query(request, "timeout", float, "10")
        return web.json_response(await views.submissions(wanted, timeout))

    async def commands(request: web.Request) -> web.Response:
        prefix = request.query.get("wait", "").upper()
        wanted: int = _query(request, "count", int, "1" if prefix else "0")
        timeout = _query(request, "timeout", float, "10")
        return web.json_response(await views.commands(prefix, wanted, timeout))

    async def handsets(_: web.Request) -> web.Response:
        return web.json_response(views.handsets())

    app = web.Application()
    app.router.add_get("/state", _get(state))
    app.router.add_get("/submissions", _get(submissions))
    app.router.add_get("/commands", _get(commands))
    app.router.add_get("/handsets", handsets)
    for name in ACTIONS:
        app.router.add_post("/" + name.replace("_", "-"), _post(getattr(controls, name)))
    return app


def fleet_control_app(network: SimulatedNetwork, ptys: Sequence[PtyServer]) -> web.Application:
    """The control of a fleet: :func:`control_app` for modem ``i`` under ``/modems/{i}``."""

    async def modems(_: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "index": i,
                    "numbers": list(pty.modem.numbers),
                    "path": str(pty.path),
                    "device": pty.device,  # a new one after each /plug
                }
                for i, pty in enumerate(ptys)
            ]
        )

    app = web.Application()
    app.router.add_get("/modems", modems)
    for i, pty in enumerate(ptys):
        app.add_subapp(f"/modems/{i}", control_app(pty.modem, network, pty))
    return app


def _get(answer: Handler) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        try:
            return await answer(request)
        except BadRequest as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return handler
