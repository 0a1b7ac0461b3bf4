"""The simulated network's rules, injected inbound traffic, and the simulator on a pty, TCP
and its control interface — always through the real driver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer

from drivers.at.channel import AtChannel, Timeouts
from drivers.at.transport import Link, open_link, pipe
from drivers.codec import gsm7
from drivers.codec.pdu import Deliver, StatusReport, SubmitOptions, encode_text
from drivers.errors import (
    AtCommandError,
    AtTimeout,
    CmeError,
    ModemLost,
    SendError,
    TransportError,
)
from drivers.modem.driver import GsmModem, LinkLost, MessageStored, ReportStored
from drivers.simulated import Fate, HandsetRule, SimulatedModem, SimulatedNetwork
from drivers.simulated.control import control_app
from drivers.simulated.personality import GENERIC
from drivers.simulated.serve import PtyServer, TcpServer
from tests.drivers.simulator_rig import SETTINGS, WAIT, Events, decoded, receive_all, rig

ME = "+15550001111"
HANDSET = "+447700900123"
T = TypeVar("T")


def parts(text: str, to: str = HANDSET, report: bool = True) -> list[tuple[str, int]]:
    encoded = encode_text(to, text, SubmitOptions(status_report=report), reference=3)
    return [(part.pdu, part.tpdu_length) for part in encoded]


async def next_report(modem: GsmModem, events: Events) -> StatusReport:
    stored = await events.next(ReportStored)
    entry = await modem.read_message(stored.storage, stored.index)
    assert entry is not None
    await modem.delete_message(stored.storage, stored.index)
    report = decoded(entry.pdu, entry.length)
    assert isinstance(report, StatusReport)
    return report


@pytest.mark.parametrize(
    ("rule", "statuses"),
    [
        (HandsetRule(Fate.DELIVERED), [("delivered", None)]),
        (HandsetRule(Fate.UNDELIVERED, status=0x41), [("undelivered", 30006)]),
        (HandsetRule(Fate.UNDELIVERED, status=0x62), [("undelivered", 30003)]),
    ],
)
async def test_handset_fates(rule: HandsetRule, statuses: list[tuple[str, int | None]]) -> None:
    async with rig() as setup:
        _, modem = await setup.add(ME)
        setup.network.set_rule(HANDSET, rule)
        events = Events(modem, ReportStored)
        (reference,) = await modem.send_parts(parts("hello"))
        for twilio_status, code in statuses:
            report = await next_report(modem, events)
            assert report.message_reference == reference
            assert report.recipient.number == HANDSET
            assert (report.twilio_status, report.error_code) == (twilio_status, code)
        delivered = rule.fate is Fate.DELIVERED
        assert len(setup.network.handset_inbox.get(HANDSET[1:], [])) == int(delivered)


async def test_phone_off_then_on() -> None:
    async with rig() as setup:
        _, modem = await setup.add(ME)
        setup.network.set_rule(HANDSET, HandsetRule(Fate.PHONE_OFF))
        events = Events(modem, ReportStored)
        (reference,) = await modem.send_parts(parts("are you there?"))
        trying = await next_report(modem, events)
        assert (trying.message_reference, trying.twilio_status, trying.status) == (
            reference,
            "sent",
            0x30,
        )
        assert not setup.network.handset_inbox
        setup.network.switch_on(HANDSET)
        delivered = await next_report(modem, events)
        assert (delivered.message_reference, delivered.twilio_status) == (reference, "delivered")
        (message,) = setup.network.handset_inbox[HANDSET[1:]]
        assert message.submit.text == "are you there?"


async def test_no_report_and_no_request() -> None:
    async with rig() as setup:
        _, modem = await setup.add(ME)
        setup.network.set_rule("*", HandsetRule(Fate.NO_REPORT))
        events = Events(modem, ReportStored)
        await modem.send_parts(parts("one"))
        setup.network.set_rule("*", HandsetRule(Fate.DELIVERED))
        await modem.send_parts(parts("two", report=False))
        await modem.send_parts(parts("three"))
        report = await next_report(modem, events)
        assert report.message_reference == 2  # only the third asked for, and got, a report
        assert [s.submit.text for s in setup.network.submissions] == ["one", "two", "three"]


async def test_a_full_report_storage_holds_reports_back_until_there_is_room() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        events = Events(modem, ReportStored)
        sim.fill_storage("SR")
        (reference,) = await modem.send_parts(parts("report me later"))
        assert events.pending(ReportStored) == 0  # memory capacity exceeded: the SC keeps it
        listed = await modem.list_messages("SR")
        await modem.delete_message("SR", listed[0].index)
        report = await next_report(modem, events)
        assert (report.message_reference, report.twilio_status) == (reference, "delivered")


async def test_references_wrap_after_255() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME, first_reference=254)
        references = await modem.send_parts(parts("x" * 500, report=False))
        assert references == [254, 255, 0, 1]
        assert sim.reference == 2


@pytest.mark.parametrize(
    ("text", "order", "ucs2"),
    [
        ("plain hello", None, False),
        ("long " * 80, [3, 1, 2], False),
        ("dup " * 50, [1, 1, 2], False),
        ("lost part " * 40, [1, 3], False),
        ("emoji across the boundary " + "😀" * 60, [2, 1], False),
        ("forced ucs2", None, True),
    ],
)
async def test_injected_inbound(text: str, order: list[int] | None, ucs2: bool) -> None:
    async with rig() as setup:
        _, modem = await setup.add(ME)
        events = Events(modem, MessageStored)
        pdus = setup.network.inject(ME, HANDSET, text, order=order, ucs2=ucs2)
        delivered = order or list(range(1, len(pdus) + 1))
        received = await receive_all(modem, events, len(delivered))
        assert all(message.originator.number == HANDSET for message in received)
        sequences = [m.concatenation.sequence if m.concatenation else 1 for m in received]
        assert sequences == delivered
        if ucs2:
            assert received[0].dcs.alphabet.value == "UCS-2"
        if sorted(set(delivered)) == list(range(1, len(pdus) + 1)):
            unique = {m.concatenation.sequence if m.concatenation else 1: m for m in received}
            texts = [unique[n].text or "" for n in sorted(unique)]
            assert gsm7.join_texts(texts) == text


async def test_over_a_real_pty(tmp_path: Path) -> None:
    network = SimulatedNetwork()
    sim = SimulatedModem([ME])
    network.attach(sim, ME)
    server = PtyServer(sim, tmp_path / "ttySIM0")
    await server.start()
    try:
        modem = GsmModem(AtChannel(await open_link(str(tmp_path / "ttySIM0"))), SETTINGS)
        info = await asyncio.wait_for(modem.initialize(), WAIT)
        assert info.identity.numbers == (ME,)
        events = Events(modem, MessageStored, LinkLost)
        await modem.send_parts(parts("over the pty", report=False))
        assert network.handset_inbox[HANDSET[1:]][0].submit.text == "over the pty"
        network.inject(ME, HANDSET, "and back " * 30)
        received = await receive_all(modem, events, 2)
        assert all(isinstance(message, Deliver) for message in received)
        await server.unplug()  # the USB modem is pulled out
        await events.next(LinkLost)
        with pytest.raises(ModemLost):
            await modem.signal()
        await modem.close()
        await server.start()  # ... and plugged back in: same path, new device
        again = GsmModem(AtChannel(await open_link(str(tmp_path / "ttySIM0"))), SETTINGS)
        await asyncio.wait_for(again.initialize(), WAIT)
        await again.close()
    finally:
        await server.close()


async def test_a_modem_at_a_fixed_line_speed_hears_only_a_host_at_that_speed(
    tmp_path: Path,
) -> None:
    sim = SimulatedModem([ME])
    server = PtyServer(sim, tmp_path / "ttyAMA0", baud=9600)
    await server.start()
    quick = Timeouts(default=0.3)  # the modem reads at once: it is silence that is awaited
    try:
        for baud in (115200, 57600):  # what the host sends at another speed is noise to it
            channel = AtChannel(await open_link(str(server.path), baud), quick)
            channel.start()
            with pytest.raises(AtTimeout):
                await channel.command("AT+CGMM")
            await channel.close()
        channel = AtChannel(await open_link(str(server.path), 9600), quick)
        channel.start()
        with pytest.raises(AtCommandError):  # the noise before it spoils the first line
            await channel.command("AT")
        assert (await channel.command("AT+CGMI")).lines == ("smsgw",)
        await channel.close()
        noise = "\xff" * len(b"AT+CGMM\r" * 2)
        assert sim.received_commands == [f"{noise}AT", "AT+CGMI"]
    finally:
        await server.close()
    with pytest.raises(TransportError, match="12345 is not a line speed"):
        PtyServer(sim, tmp_path / "ttyAMA1", baud=12345)


async def test_over_tcp() -> None:
    network = SimulatedNetwork()
    sim = SimulatedModem([ME])
    network.attach(sim, ME)
    server = TcpServer(sim, "127.0.0.1", 0)
    await server.start()
    try:
        modem = GsmModem(AtChannel(await open_link(f"tcp://127.0.0.1:{server.port}")), SETTINGS)
        await asyncio.wait_for(modem.initialize(), WAIT)
        assert await modem.send_parts(parts("via ser2net", report=False)) == [0]
        await modem.close()
    finally:
        await server.close()


async def read_until(link: Link, end: bytes) -> bytes:
    """What the modem says up to and including ``end`` (one request's whole answer)."""
    data = b""
    async with asyncio.timeout(WAIT):
        while not data.endswith(end):
            chunk = await link.read()
            assert chunk, f"the link closed after {data!r}"
            data += chunk
    return data


Opener = Callable[[], Awaitable[Link]]


@asynccontextmanager
async def host_side(sim: SimulatedModem, transport: str) -> AsyncIterator[Opener]:
    """Opens a new link to ``sim`` each time it is called, as a host opening its port."""
    if transport == "pipe":

        async def open_pipe() -> Link:
            host, device = pipe()
            sim.start(device)
            return host

        yield open_pipe
        return
    server = TcpServer(sim, "127.0.0.1", 0)
    await server.start()
    try:
        yield lambda: open_link(f"tcp://127.0.0.1:{server.port}")
    finally:
        await server.close()


@pytest.mark.parametrize("transport", ["pipe", "tcp"])
async def test_a_host_that_left_the_prompt_finds_the_modem_still_in_it(transport: str) -> None:
    """The data mode belongs to the modem: a host that dies after AT+CMGS and opens the port
    again (reconnects, over TCP) is still typing a PDU, as on a real modem, until ESC."""
    sim = SimulatedModem([ME])
    async with host_side(sim, transport) as open_host:
        first = await open_host()
        await first.write(b"ATE0\r")
        await read_until(first, b"OK\r\n")
        await first.write(b"AT+CMGS=20\r")
        await read_until(first, b"> ")
        await first.close()  # the host dies in the prompt

        again = await open_host()
        await again.write(b"ATI\r")  # taken as PDU digits: no answer of its own
        await again.write(b"\x1b")  # TS 27.005 §3.5.1: ESC aborts the send
        assert await read_until(again, b"OK\r\n") == b"\r\nOK\r\n"
        assert not sim.data_mode
        assert "ATI" not in sim.received_commands
        await again.write(b"ATI\r")
        assert (
            await read_until(again, b"OK\r\n")
            == b"\r\nsmsgw\r\n\r\nSimulated GSM modem\r\n\r\nOK\r\n"
        )
        await again.close()


async def test_an_abort_answered_with_cms_error() -> None:
    sim = SimulatedModem([ME], replace(GENERIC, abort_error=350))
    host, device = pipe()
    sim.start(device)
    await host.write(b"ATE0;+CMEE=1\r")
    await read_until(host, b"OK\r\n")
    await host.write(b"AT+CMGS=20\r")
    await read_until(host, b"> ")
    await host.write(b"0011\x1b")
    assert await read_until(host, b"350\r\n") == b"\r\n+CMS ERROR: 350\r\n"
    await host.close()


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

            state = await (await client.get("/state")).json()
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
                ("/plug", {}, "only a pty can be plugged back"),
            ]:
                reply = await client.post(path, json=body)
                assert reply.status == 400
                assert error in (await reply.json())["error"]
            reply = await client.post("/hang", data=b"{not json")
            assert reply.status == 400
        finally:
            await client.close()


async def test_what_other_at_software_asks() -> None:
    """Commands gammu-smsd and SMSTools3 send at start-up, answered as real modems do
    (TS 27.007 §5.5, §7.3, §10.1.9; TS 27.005 §3.5.6; V.250 §5.2.1 chaining)."""
    async with rig() as setup:
        _, modem = await setup.add(ME)
        channel = modem.channel
        assert (await channel.command("AT+CSCS=?")).lines == (
            '+CSCS: ("IRA","GSM","UCS2","8859-1")',
        )
        await channel.command('AT+CSCS="UCS2"')
        assert (await channel.command("AT+CSCS?")).lines == ('+CSCS: "UCS2"',)
        assert (await channel.command("AT+CMEE=1;+CREG=2")).lines == ()
        assert (await channel.command("AT+CREG?")).lines == ('+CREG: 2,1,"00C3","0000A1B2"',)
        assert (await channel.command("AT+CGATT?")).lines == ("+CGATT: 1",)
        await channel.command("AT+CMMS=2")
        assert (await channel.command("AT+CMMS?")).lines == ("+CMMS: 2",)
        assert (await channel.command("AT+COPS?")).lines == ('+COPS: 0,0,"smsgw sim network",7',)
        assert (await channel.command("ATE0V1Q0")).lines == ()
        assert (await channel.command("ATI")).lines == ("smsgw", "Simulated GSM modem")
        # V.250 §6.2: S-registers read as three digits; the line endings are fixed.
        assert (await channel.command("ATS3?")).lines == ("013",)
        assert (await channel.command("ATS0=1S0?")).lines == ("001",)
        with pytest.raises(AtCommandError):
            await channel.command("ATS3=10")
        with pytest.raises(AtCommandError):
            await channel.command("ATS99?")  # never set
        assert (await channel.command("ATS7=60S7?")).lines == ("060",)
        with pytest.raises(CmeError):
            await channel.command('AT+CSCS="KLINGON"')
        with pytest.raises(AtCommandError):
            await channel.command("AT+CMEE=1;+NOSUCH")


async def test_a_network_with_a_history_bound_forgets_the_oldest() -> None:
    """The gateway's in-process network runs for weeks under ``make run``: it remembers the
    latest messages only, and still counts them all."""
    async with rig() as setup:
        setup.network.history = 3
        _, modem = await setup.add(ME)
        for number in range(10):
            await modem.send_parts(parts(f"message {number}", to=f"+4477009001{number:02d}"))
        assert setup.network.submitted == 10
        assert 3 <= len(setup.network.submissions) <= 6
        assert setup.network.submissions[-1].submit.text == "message 9"
        assert list(setup.network.handset_inbox) == ["447700900107", "447700900108", "447700900109"]


async def test_a_modem_with_a_history_bound_forgets_the_oldest_commands() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME)
        sim.history = 4
        for _ in range(20):
            await modem.channel.command("AT")
        assert 4 <= len(sim.received_commands) <= 8
        assert sim.received_commands[-4:] == ["AT"] * 4
