"""The control interface of ``smsgw simulate`` (``gateway/cli/simulate_control.py``) over a
simulated modem, driven through the real driver."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer

from drivers.errors import SendError
from drivers.modem.events import IncomingCall, MessageStored
from drivers.simulated import SimulatedModem
from gateway.cli.simulate_control import control_app
from tests.drivers.simulator_rig import HANDSET, ME, WAIT, Events, parts, receive_all, rig

T = TypeVar("T")


async def awaiting(sim: SimulatedModem, request: Awaitable[T]) -> asyncio.Future[T]:
    """Start a ``GET /state?until=...`` and return once its handler waits for the change."""
    observers = len(sim.state_observers)
    answer = asyncio.ensure_future(request)
    async with asyncio.timeout(WAIT):
        while len(sim.state_observers) == observers and not answer.done():
            await asyncio.sleep(0)
    return answer


async def test_a_held_prompt_and_waiting_for_commands_and_states() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        client = TestClient(TestServer(control_app(sim, setup.network)))
        await client.start_server()
        try:
            held = await awaiting(sim, client.get("/state", params={"until": "prompt_held"}))
            commands = asyncio.ensure_future(
                client.get("/commands", params={"wait": "at+cmgs", "count": "1"})
            )
            assert (await (await client.post("/hold-prompt")).json()) == {"ok": True}
            assert (await (await client.get("/state")).json())["faults"]["hold_prompt"]
            ((pdu, length),) = parts("held", report=False)
            sending = asyncio.ensure_future(modem.send_parts([(pdu, length)]))
            state = await (await held).json()
            assert (state["data_mode"], state["prompt_held"]) == (True, True)
            assert not state["faults"]["hold_prompt"]  # the next AT+CMGS only
            received = await (await commands).json()
            assert [c for c in received if c.startswith("AT+CMGS")] == [f"AT+CMGS={length}"]
            assert not sending.done()  # no prompt, no PDU

            submitting = await awaiting(sim, client.get("/state", params={"until": "submitting"}))
            assert (await (await client.post("/release-prompt")).json()) == {"released": True}
            state = await (await submitting).json()
            # The state when the PDU was taken, before its answer.
            assert (state["data_mode"], state["prompt_held"], state["submitting"]) == (
                False,
                False,
                True,
            )
            assert await asyncio.wait_for(sending, WAIT) == [0]
            assert (await (await client.post("/release-prompt")).json()) == {"released": False}

            for path, params, error in [
                ("/state", {"until": "hung"}, "'until' must be one of data_mode, prompt_held"),
                ("/state", {"until": "data_mode", "timeout": "soon"}, "'timeout' must be"),
                ("/commands", {"wait": "AT", "count": "two"}, "'count' must be a number"),
                ("/submissions", {"wait": "x"}, "'wait' must be a number"),
            ]:
                reply = await client.get(path, params=params)
                assert reply.status == 400
                assert error in (await reply.json())["error"]
            # Answered after the timeout whether or not it came: the caller checks.
            reply = await client.get("/state", params={"until": "data_mode", "timeout": "0"})
            assert not (await reply.json())["data_mode"]
        finally:
            await client.close()


async def test_control_interface() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        events = Events(modem, MessageStored)
        client = TestClient(TestServer(control_app(sim, setup.network)))
        await client.start_server()
        try:
            reply = await client.post("/inject", json={"from": HANDSET, "text": "hi via HTTP"})
            assert (reply.status, await reply.json()) == (200, {"parts": 1})
            (message,) = await receive_all(modem, events, 1)
            assert message.text == "hi via HTTP"

            # One message's parts in two calls: the same reference makes them one message.
            long_text = "part of one message sent in two goes " * 6
            for order in ([2], [1]):
                reply = await client.post(
                    "/inject",
                    json={"from": HANDSET, "text": long_text, "order": order, "reference": 77},
                )
                assert (reply.status, await reply.json()) == (200, {"parts": 2})
            halves = await receive_all(modem, events, 2)
            assert {part.concatenation.reference for part in halves if part.concatenation} == {77}
            assert sorted(part.concatenation.sequence for part in halves if part.concatenation) == [
                1,
                2,
            ]

            assert (await client.post("/fail", json={"code": 42})).status == 200
            with pytest.raises(SendError) as caught:
                await modem.send_parts(parts("x"))
            assert caught.value.cms_code == 42

            await client.post("/rule", json={"number": HANDSET, "fate": "rejected", "cms_error": 8})
            with pytest.raises(SendError) as caught:
                await modem.send_parts(parts("x"))
            assert caught.value.cms_code == 8

            # Roaming on another operator, in another cell: what the driver reads.
            assert (await client.post("/registration", json={"stat": 5})).status == 200
            operator = {"name": "Vodafone.de", "code": "26202", "technology": 2}
            assert (await client.post("/operator", json=operator)).status == 200
            assert (
                await client.post("/cell", json={"lac": "0502", "ci": "0404736d"})
            ).status == 200
            network = await modem.network()
            assert (network.operator, network.code, network.technology) == (
                "Vodafone.de",
                "26202",
                "UTRAN",
            )
            assert (network.roaming, network.lac, network.ci) == (True, "0502", "0404736D")
            assert (await client.post("/sim", json={"pin_attempts": 2})).status == 200
            assert (await modem.channel.command("AT+CPINR")).lines[0] == "+CPINR: SIM PIN,2,3"

            state = await (await client.get("/state")).json()
            assert state["operator"] == {
                "name": "Vodafone.de",
                "short_name": "smsgw",
                "code": "26202",
                "technology": 2,
                "lac": "0502",
                "ci": "0404736D",
            }
            assert state["sim"] == {
                "inserted": True,
                "unlocked": True,
                "pin_attempts": 2,
                "puk_attempts": 10,
            }
            assert (await client.post("/report-delay", json={"seconds": 4})).status == 200
            assert sim.report_delay == 4.0
            state = await (await client.get("/state")).json()
            assert state["report_delay"] == 4.0
            assert state["numbers"] == [ME]
            assert state["cnmi"] == [2, 1, 0, 1, 0]  # reports routed (+CDS)
            assert (state["ack_timeout"], state["awaiting_ack"]) == (None, False)
            assert (await client.post("/ack-timeout", json={"seconds": 20})).status == 200
            assert sim.ack_timeout == 20.0
            assert (await client.post("/ack-timeout", json={"seconds": None})).status == 200
            assert sim.ack_timeout is None
            assert (await client.post("/ack-timeout", json={"commands": 2})).status == 200
            assert (sim.ack_timeout, sim.ack_commands) == (None, 2)
            reply = await client.post("/ack-timeout", json={"commands": -1})
            assert reply.status == 400 and "commands" in await reply.text()
            state = await (await client.get("/state")).json()
            assert (state["ack_commands"], state["acks_missed"]) == (2, 0)
            reply = await client.post("/miss-ack")
            assert (reply.status, await reply.json()) == (200, {"missed": False})
            submissions = await (await client.get("/submissions")).json()
            assert submissions == []  # both attempts were refused before the network took them

            for path, body, error in [
                ("/inject", {"text": "no sender"}, "'from' is required"),
                ("/inject", {"from": HANDSET, "text": "x", "reference": "7"}, "must be int"),
                ("/inject", {"from": HANDSET, "text": "x", "reference": 70000}, "0 to 65535"),
                ("/fail", {"code": "38"}, "'code' must be int"),
                ("/rule", {"number": HANDSET, "fate": "lost"}, "'lost' is not a valid Fate"),
                ("/latency", {"seconds": -1}, "'seconds' must not be negative"),
                ("/report-delay", {"seconds": -1}, "'seconds' must not be negative"),
                ("/report-delay", {}, "'seconds' is required"),
                ("/ack-timeout", {"seconds": -1}, "'seconds' must not be negative"),
                ("/ack-timeout", {"seconds": "1"}, "'seconds' must be"),
                ("/rule", {"number": HANDSET, "fate": "delivered", "delay": -2}, "'delay' must"),
                ("/plug", {}, "only a pty can be plugged back"),
                ("/registration", {"stat": 11}, "0 to 10"),
                ("/operator", {"code": "2620"}, "5 or 6 digits"),
                ("/operator", {"technology": 14}, "0 to 13"),
                ("/cell", {"lac": "XYZ", "ci": "1"}, "'lac' must be hexadecimal"),
                ("/sim", {"pin_attempts": -1}, "must not be negative"),
                ("/sim", {"inserted": "no"}, "'inserted' must be bool"),
            ]:
                reply = await client.post(path, json=body)
                assert reply.status == 400
                assert error in (await reply.json())["error"]
            reply = await client.post("/hang", data=b"{not json")
            assert reply.status == 400
        finally:
            await client.close()


async def test_a_call_rings_until_hung_up_and_bad_calls_are_refused() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        calls = Events(modem, IncomingCall)
        client = TestClient(TestServer(control_app(sim, setup.network)))
        await client.start_server()
        try:
            reply = await client.post("/call", json={"from": HANDSET, "interval": 0})
            assert await reply.json() == {"ok": True}
            assert await calls.next(IncomingCall) == IncomingCall(HANDSET, False, "VOICE")
            assert await (await client.post("/ring")).json() == {"rang": True}
            await calls.next(IncomingCall)
            state = await (await client.get("/state")).json()
            assert state["call"] == {
                "from": HANDSET,
                "withheld": False,
                "rings": 2,
                "ended_by": None,
            }
            for body, error in [
                ({"from": HANDSET}, "a call is ringing already"),
                ({}, "'from' is required"),
                ({"from": HANDSET, "interval": -1}, "'interval' must not be negative"),
            ]:
                reply = await client.post("/call", json=body)
                assert reply.status == 400
                assert error in (await reply.json())["error"]
            await modem.hang_up()
            state = await (await client.get("/state")).json()
            assert state["call"] is None
            assert [call["ended_by"] for call in state["calls_ended"]] == ["ATH"]
            assert await (await client.post("/give-up")).json() == {"ended": False}

            await client.post("/call", json={"withheld": True, "interval": 0})
            assert await calls.next(IncomingCall) == IncomingCall(None, True, "VOICE")
            reply = await client.post("/give-up", json={"no_carrier": True})
            assert await reply.json() == {"ended": True}
            state = await (await client.get("/state")).json()
            assert state["calls_ended"][-1] == {
                "from": "",
                "withheld": True,
                "rings": 1,
                "ended_by": "caller",
            }
        finally:
            await client.close()


async def test_ussd_rules_over_http() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        client = TestClient(TestServer(control_app(sim, setup.network)))
        await client.start_server()
        try:
            rule = {
                "code": "*5#",
                "answer": "1. Yes\n2. No",
                "m": 1,
                "menu": {"1": {"answer": "Done."}, "2": {"answer": "Bye.", "m": 2}},
            }
            assert (await client.post("/ussd", json=rule)).status == 200
            assert (await modem.ussd("*5#")).text == "1. Yes\n2. No"
            state = await (await client.get("/state")).json()
            assert state["ussd"] == {"requests": ["*5#"], "menu_open": True}
            assert (await modem.ussd("2")).text == "Bye."
            for body, error in [
                ({"answer": "x"}, "'code' is required"),
                ({"code": "*5#", "m": 3}, "'m' must be 0"),
                ({"code": "*5#", "menu": {"1": "x"}}, "'menu' must map"),
                ({"code": "*5#", "answer": 'a "quote"'}, "no quote"),
                ({"code": "*5#", "delay": 1}, "unknown USSD rule field(s): delay"),
            ]:
                reply = await client.post("/ussd", json=body)
                assert reply.status == 400
                assert error in (await reply.json())["error"]
        finally:
            await client.close()


def _nested_menus(depth: int) -> str:
    """A USSD rule whose menu holds a menu, ``depth`` deep: JSON that parses, a rule that
    cannot be read without running out of stack."""
    rule = '{"answer": "x"}'
    for _ in range(depth):
        rule = '{"answer": "x", "m": 1, "menu": {"1": ' + rule + "}}"
    return rule[:-1] + ', "code": "*1#"}'


async def test_json_no_control_can_take_is_a_400_that_changes_nothing() -> None:
    """Python's JSON reader takes NaN, Infinity and 1e400 (infinite), which no delay can be,
    and fails with RecursionError, not ValueError, on a body nested deeper than its stack."""
    async with rig() as setup:
        sim, _ = await setup.add(ME)
        delay, latency = sim.report_delay, sim.faults.latency
        client = TestClient(TestServer(control_app(sim, setup.network)))
        await client.start_server()
        try:
            for path, body, error in [
                ("/report-delay", '{"seconds": NaN}', "'seconds' must be a finite number"),
                ("/report-delay", '{"seconds": Infinity}', "'seconds' must be a finite number"),
                ("/report-delay", '{"seconds": 1e400}', "'seconds' must be a finite number"),
                ("/latency", '{"seconds": NaN}', "'seconds' must be a finite number"),
                ("/call", f'{{"from": "{HANDSET}", "interval": NaN}}', "'interval' must be a"),
                (
                    "/rule",
                    f'{{"number": "{HANDSET}", "fate": "delivered", "delay": -Infinity}}',
                    "'delay' must be a",
                ),
                ("/ussd", "[" * 100_000, "the body is nested too deeply"),
                ("/ussd", _nested_menus(600), "the body is nested too deeply"),
                ("/operator", '{"code": "²²²²²"}', "5 or 6 digits"),
            ]:
                reply = await client.post(
                    path, data=body.encode(), headers={"Content-Type": "application/json"}
                )
                assert reply.status == 400, (path, body[:40])
                assert error in (await reply.json())["error"], (path, body[:40])
            # float() reads "nan" and "inf" from a query too: a wait that never ended.
            for path, query in [
                ("/state", {"until": "data_mode", "timeout": "nan"}),
                ("/submissions", {"wait": "1", "timeout": "inf"}),
                ("/commands", {"wait": "AT+X", "timeout": "nan"}),
            ]:
                reply = await client.get(path, params=query)
                assert reply.status == 400, (path, query)
                assert (await reply.json())["error"] == "'timeout' must be a finite number"
            state = await (await client.get("/state")).json()
            assert (state["call"], state["ussd"]["requests"]) == (None, [])
            assert (sim.report_delay, sim.faults.latency) == (delay, latency)
            assert state["operator"]["code"] != "²²²²²"
        finally:
            await client.close()
