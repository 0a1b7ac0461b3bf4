"""The control interface of ``smsgw simulate`` (``gateway/cli/simulate_control.py``) over a
simulated modem, driven through the real driver."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer

from drivers.errors import SendError
from drivers.modem.events import MessageStored
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

            assert (await client.post("/report-delay", json={"seconds": 4})).status == 200
            assert sim.report_delay == 4.0
            state = await (await client.get("/state")).json()
            assert state["report_delay"] == 4.0
            assert state["numbers"] == [ME]
            assert state["cnmi"] == [2, 1, 0, 2, 0]
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
                ("/rule", {"number": HANDSET, "fate": "delivered", "delay": -2}, "'delay' must"),
                ("/plug", {}, "only a pty can be plugged back"),
            ]:
                reply = await client.post(path, json=body)
                assert reply.status == 400
                assert error in (await reply.json())["error"]
            reply = await client.post("/hang", data=b"{not json")
            assert reply.status == 400
        finally:
            await client.close()
