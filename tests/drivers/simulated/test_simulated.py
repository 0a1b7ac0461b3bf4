"""The simulated network's rules, injected inbound traffic, and the simulator on a pty and TCP
— always through the real driver. Its control interface: tests/gateway/test_simulate_control.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest

from drivers.at.channel import AtChannel, Timeouts
from drivers.at.transport import Link, open_link, pipe
from drivers.codec import gsm7
from drivers.codec.pdu import Deliver, Delivery, StatusReport
from drivers.errors import (
    AtCommandError,
    AtTimeout,
    CmeError,
    ModemLost,
    TransportError,
)
from drivers.modem.driver import GsmModem
from drivers.modem.events import LinkLost, MessageStored, ReportRouted, ReportStored
from drivers.simulated import (
    DEFAULT_REPORT_DELAY,
    Fate,
    HandsetRule,
    SimulatedModem,
    SimulatedNetwork,
)
from drivers.simulated.personality import GENERIC
from drivers.simulated.serve import PtyServer, TcpServer
from tests.drivers.simulator_rig import (
    HANDSET,
    ME,
    SETTINGS,
    WAIT,
    Events,
    decoded,
    parts,
    receive_all,
    rig,
)

T = TypeVar("T")


async def next_report(modem: GsmModem, events: Events) -> StatusReport:
    """The next status report, routed (+CDS, the generic modem's) or stored (+CDSI)."""
    if routes(modem):
        routed = await events.next(ReportRouted)
        assert routed.needs_ack  # AT+CSMS=1: the next +CDS waits for it
        await modem.acknowledge()
        report = decoded(routed.pdu, routed.length)
    else:
        stored = await events.next(ReportStored)
        entry = await modem.read_message(stored.storage, stored.index)
        assert entry is not None
        await modem.delete_message(stored.storage, stored.index)
        report = decoded(entry.pdu, entry.length)
    assert isinstance(report, StatusReport)
    return report


def routes(modem: GsmModem) -> bool:
    return modem.info is not None and modem.info.cnmi[3] == 1


@pytest.mark.parametrize(
    ("rule", "statuses"),
    [
        (HandsetRule(Fate.DELIVERED), [(Delivery.DELIVERED, 0x00)]),
        (HandsetRule(Fate.UNDELIVERED, status=0x41), [(Delivery.UNDELIVERED, 0x41)]),
        (HandsetRule(Fate.UNDELIVERED, status=0x62), [(Delivery.UNDELIVERED, 0x62)]),
    ],
)
async def test_handset_fates(rule: HandsetRule, statuses: list[tuple[Delivery, int]]) -> None:
    async with rig() as setup:
        _, modem = await setup.add(ME)
        setup.network.set_rule(HANDSET, rule)
        events = Events(modem, ReportStored, ReportRouted)
        (reference,) = await modem.send_parts(parts("hello"))
        for delivery, status in statuses:
            report = await next_report(modem, events)
            assert report.message_reference == reference
            assert report.recipient.number == HANDSET
            assert (report.delivery, report.status) == (delivery, status)
        delivered = rule.fate is Fate.DELIVERED
        assert len(setup.network.handset_inbox.get(HANDSET[1:], [])) == int(delivered)


async def test_a_report_comes_the_modems_report_delay_after_the_send() -> None:
    """A network reports seconds after +CMGS, never in the same millisecond (python-gsmmodem's
    waitForDeliveryReport lost that race): a realistic default, each modem its own, and a
    handset's rule may still set its own."""
    assert SimulatedModem([ME]).report_delay == DEFAULT_REPORT_DELAY >= 1.0
    async with rig() as setup:
        _, modem = await setup.add(ME, report_delay=0.2)
        events = Events(modem, ReportStored, ReportRouted)
        loop = asyncio.get_running_loop()
        before = loop.time()
        (reference,) = await modem.send_parts(parts("hello"))
        assert events.pending(ReportStored) == events.pending(ReportRouted) == 0
        report = await next_report(modem, events)
        assert report.message_reference == reference
        assert loop.time() - before >= 0.2
        setup.network.set_rule(HANDSET, HandsetRule(Fate.DELIVERED, delay=0.0))
        (reference,) = await modem.send_parts(parts("again"))
        assert (await next_report(modem, events)).message_reference == reference


async def test_phone_off_then_on() -> None:
    async with rig() as setup:
        _, modem = await setup.add(ME)
        setup.network.set_rule(HANDSET, HandsetRule(Fate.PHONE_OFF))
        events = Events(modem, ReportStored, ReportRouted)
        (reference,) = await modem.send_parts(parts("are you there?"))
        trying = await next_report(modem, events)
        assert (trying.message_reference, trying.delivery, trying.status) == (
            reference,
            Delivery.PENDING,
            0x30,
        )
        assert not setup.network.handset_inbox
        setup.network.switch_on(HANDSET)
        delivered = await next_report(modem, events)
        assert (delivered.message_reference, delivered.delivery) == (reference, Delivery.DELIVERED)
        (message,) = setup.network.handset_inbox[HANDSET[1:]]
        assert message.submit.text == "are you there?"


async def test_no_report_and_no_request() -> None:
    async with rig() as setup:
        _, modem = await setup.add(ME)
        setup.network.set_rule("*", HandsetRule(Fate.NO_REPORT))
        events = Events(modem, ReportStored, ReportRouted)
        await modem.send_parts(parts("one"))
        setup.network.set_rule("*", HandsetRule(Fate.DELIVERED))
        await modem.send_parts(parts("two", report=False))
        await modem.send_parts(parts("three"))
        report = await next_report(modem, events)
        assert report.message_reference == 2  # only the third asked for, and got, a report
        assert [s.submit.text for s in setup.network.submissions] == ["one", "two", "three"]


async def test_a_full_report_storage_holds_reports_back_until_there_is_room() -> None:
    async with rig() as setup:
        sim, modem = await setup.add(ME, "stored")
        events = Events(modem, ReportStored, ReportRouted)
        sim.fill_storage("SR")
        (reference,) = await modem.send_parts(parts("report me later"))
        assert events.pending(ReportStored) == 0  # memory capacity exceeded: the SC keeps it
        listed = await modem.list_messages("SR")
        await modem.delete_message("SR", listed[0].index)
        report = await next_report(modem, events)
        assert (report.message_reference, report.delivery) == (reference, Delivery.DELIVERED)


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
        # TS 27.007 §7.2, n=2: <lac>, <ci> and <AcT> (7, E-UTRAN).
        assert (await channel.command("AT+CREG?")).lines == ('+CREG: 2,1,"00C3","0000A1B2",7',)
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
