"""The AT channel over hostile links: split, slow, noisy, silent, chatty and vanishing modems.

Each test drives a real :class:`~drivers.at.channel.AtChannel` over an in-memory
:func:`~drivers.at.transport.pipe` (or a real TCP socket) against a small scripted modem, a
:class:`Peer` on the other end that expects the exact bytes the channel must write and answers
with exact recorded bytes. The recordings come from ``../shared/vectors/real_vectors.json``
(``at_transcript`` vectors, cited by id, source and test) or are assembled from the formats of
``../shared/docs/gsm-at-pdu.md`` §3-4 where no recording exists.

Nothing here sleeps to let something happen: tests await events (a peer that has received a
command, a URC that has arrived) and real timeouts are only provoked, 50 ms long, on a peer that
never answers. Every other wait is bounded by :data:`GUARD` so that a hang fails the test.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

from drivers.at.channel import AtChannel, Timeouts
from drivers.at.parse import Response, ResultKind, Unsolicited
from drivers.at.transport import (
    Manipulator,
    PipeEnd,
    open_link,
    parse_tcp_url,
    pipe,
    split_every,
)
from drivers.errors import (
    AtCommandError,
    AtTimeout,
    CmeError,
    CmsError,
    ModemLost,
    TransportError,
)

# A hang must fail the test, not the suite; nothing that works takes more than a few ms.
GUARD: Final = 1.0
# For tests that provoke a timeout: short, so the peer that never answers costs 50 ms.
SHORT: Final = Timeouts(default=0.05, prompt=0.05, submit=0.05)
# For every other test: far longer than GUARD, so that "raises at once" really is at once and
# a channel that waited for its timeout instead fails on the guard.
PATIENT: Final = Timeouts(default=5.0, prompt=5.0, submit=5.0)

CTRL_Z: Final = b"\x1a"
ESC: Final = b"\x1b"

# --- Recorded bytes ---------------------------------------------------------------------------

# Vector 35, babca/python-gsmmodem test_modem.py TestStoredSms.test_listStoredSms_pdu
# (commit 5c816bae): the modem's reply to AT+CMGL=4, line by line, as recorded.
CMGL_REPLY: Final = (
    b"+CMGL: 0,0,,35\r\n",
    b"07917248014000F3240B917247587706F400003110824115248012C8329BFD06C9C373B8B82C97E741F034\r\n",
    b"+CMGL: 1,1,,161\r\n",
    b"07917248010080F020109172480010359099990000312070101344809FCEF21D14769341E8B2BC0CA2BF41737A"
    b"381F0211DFEE131DA4AECFE92079798C0ECBCF65D0B40A0D0E9141E9B1080ABBC9A073990ECABFEB7290BC3C46"
    b"87E5E73219144ECBE9E976796594168BA06199CD1E82E86FD0B0CC660F41EDB47B0E3281A6CDE97C659497CB20"
    b"72981E06D1DFA0FABC0C0ABBF3F474BBEC02514D4350180E67E75DA06199CD060D01\r\n",
    b"+CMGL: 2,1,,159\r\n",
    b"07917248010080F0240B917248001064F30000312070604220809F537AD84D0ECBC92061D8BDD681B2EFBA1C14"
    b"1E8FDF75377D0E0ACBCB20F71BC47EBBCF6539C8981C0641E3771BCE4E87DD741708CA2E87E76590589E769F41"
    b"4922C80482CBDF6F33E86D06C9CBF334B9EC1E9741F43728ECCE83C4F2B07B8C06D1DF2079393CA6A7ED617A19"
    b"947FD7E5A0F078FCAEBBE97317285A2FCBD3E5F90F04C3D96030D88C2693B900\r\n",
)
CMGL_LINES: Final = tuple(line.decode().strip() for line in CMGL_REPLY)

# Vector 36, python-gsmmodem TestStoredSms.test_readStoredSms_pdu: AT+CMGR=0 and its reply.
DELIVER_PDU: Final = (
    "07917248014000F3240B917247587706F400003110824115248012C8329BFD06C9C373B8B82C97E741F034"
)
CMGR0_REPLY: Final = b"+CMGR: 0,,35\r\n" + DELIVER_PDU.encode() + b"\r\nOK\r\n"
CMGR0_LINES: Final = ("+CMGR: 0,,35", DELIVER_PDU)

# Vector 28, python-gsmmodem TestSmsStatusReports.test_receiveStatusReportPduMode: AT+CMGR=3
# reading a status report.
REPORT_PDU: Final = "07917248014000F506B70AA18092020000317071518590803170715185418000"

# Vector 75, ModemManager test-modem-helpers.c test_parse_cds: a routed status report.
CDS_PDU: Final = "07914356060013F1065A098136395339F6219011700463802190117004638030"
CDS_URC: Final = b"+CDS: 24\r\n" + CDS_PDU.encode() + b"\r\n"
# No +CMT was recorded in the corpus: TS 27.005 §3.4.1 "+CMT: [<alpha>],<length><CR><LF><pdu>"
# (gsm-at-pdu.md §3) carrying the DELIVER of vector 36, whose TPDU is 35 octets.
CMT_URC: Final = b"+CMT: ,35\r\n" + DELIVER_PDU.encode() + b"\r\n"

# Vector 8, python-gsmmodem test_pdu.py: an SMS-SUBMIT with an empty SCA ("00"), so
# TS 27.005 §3.5.1 <length> is the 23 octets that follow it.
SUBMIT_PDU: Final = "0041010C910661345542F60008A0050003000301306F3044"
CMGS: Final = "AT+CMGS=23"

# Vector 37, python-gsmmodem TestSms.test_sendSmsResponseMixedWithUnsolictedMessages: a ZTE
# modem's URCs before the prompt and before +CMGS (the test's TP-MR is 142).
ZDONR_CS_ONLY: Final = b'+ZDONR: "METEOR",272,3,"CS_ONLY","ROAM_OFF"\r\n'
ZDONR_CS_PS: Final = b'+ZDONR: "METEOR",272,3,"CS_PS","ROAM_OFF"\r\n'
ZPASR: Final = b'+ZPASR: "UMTS"\r\n'
ZTE_BEFORE_PROMPT: Final = ZDONR_CS_ONLY + ZPASR + b"> \r\n"
ZTE_AFTER_PDU: Final = ZDONR_CS_ONLY + ZPASR + ZDONR_CS_PS + ZPASR + b"+CMGS: 142\r\nOK\r\n"
ZTE_URCS: Final = tuple(
    Unsolicited(line)
    for line in (
        '+ZDONR: "METEOR",272,3,"CS_ONLY","ROAM_OFF"',
        '+ZPASR: "UMTS"',
        '+ZDONR: "METEOR",272,3,"CS_ONLY","ROAM_OFF"',
        '+ZPASR: "UMTS"',
        '+ZDONR: "METEOR",272,3,"CS_PS","ROAM_OFF"',
        '+ZPASR: "UMTS"',
    )
)

# Vector 38, python-gsmmodem TestSms.test_sendSms_waitForDeliveryReport: prompt, TP-MR 183, OK.
PLAIN_PROMPT: Final = b"> \r\n"
CMGS_183: Final = b"+CMGS: 183\r\nOK\r\n"

CSQ_REPLY: Final = b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"  # TS 27.007 §8.5 in V.250 verbose framing
OK: Final = b"\r\nOK\r\n"
# A modem with echo on (ATE1): the command and the PDU with its Ctrl-Z come back before the
# prompt and the result.
ECHOED_PROMPT: Final = CMGS.encode() + b"\r\r\n> "
ECHOED_CMGS_7: Final = SUBMIT_PDU.encode() + CTRL_Z + b"\r\n+CMGS: 7\r\n\r\nOK\r\n"


# --- The scripted modem -----------------------------------------------------------------------


class Peer:
    """The modem's end of the pipe: a test script expects exact bytes and sends exact bytes."""

    def __init__(self, end: PipeEnd) -> None:
        self.end = end
        self.received = bytearray()  # everything the channel wrote, in order
        self._unread = bytearray()

    async def expect(self, data: bytes) -> None:
        """Wait for the channel to write exactly ``data`` next."""
        while len(self._unread) < len(data):
            chunk = await self.end.read()
            if not chunk:
                raise AssertionError(f"link closed; expected {data!r}, got {bytes(self._unread)!r}")
            self._unread += chunk
            self.received += chunk
        got = bytes(self._unread[: len(data)])
        del self._unread[: len(data)]
        assert got == data

    async def send(self, *writes: bytes) -> None:
        """One link write per argument (the pipe's manipulator may split each further)."""
        for data in writes:
            await self.end.write(data)


Script = Callable[[Peer], Awaitable[None]]


@dataclass
class Rig:
    channel: AtChannel
    host: PipeEnd
    modem: PipeEnd
    peer: Peer
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    checked: set[asyncio.Task[Any]] = field(default_factory=set)

    def play(self, script: Script) -> asyncio.Task[Any]:
        """Run ``script`` as the modem; the rig cancels it, or reports its failure, at the end."""

        async def run() -> None:
            await script(self.peer)

        return self.spawn(run())

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.append(task)
        return task

    def listen(self) -> UrcLog:
        """A log of every URC the channel hears from now on."""
        urcs = UrcLog()
        self.channel.subscribe(urcs)
        return urcs

    async def finish(self, task: asyncio.Task[Any]) -> Any:
        """The task's result within :data:`GUARD`; its failure is raised here, not again later."""
        self.checked.add(task)
        return await asyncio.wait_for(asyncio.shield(task), GUARD)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    host, modem = pipe()
    channel = AtChannel(host, PATIENT)
    channel.start()
    setup = Rig(channel, host, modem, Peer(modem))
    try:
        yield setup
    finally:
        for task in setup.tasks:
            task.cancel()
        results = await asyncio.gather(*setup.tasks, return_exceptions=True)
        await channel.close()
        for task, result in zip(setup.tasks, results, strict=True):
            # A script that failed unseen (wrong bytes from the channel) fails the test.
            if isinstance(result, Exception) and task not in setup.checked:
                raise result


def one_submit(prompt: bytes, result: bytes) -> Script:
    """The modem's side of one ``AT+CMGS``: the command, then ``prompt`` (the ``> `` and what
    comes with it); the PDU and its Ctrl-Z, then ``result``."""

    async def modem(peer: Peer) -> None:
        await peer.expect(CMGS.encode() + b"\r")
        await peer.send(prompt)
        await peer.expect(SUBMIT_PDU.encode() + CTRL_Z)
        await peer.send(result)

    return modem


async def submitted(rig: Rig, prompt: bytes, result: bytes) -> Response:
    """The channel's ``submit`` of SUBMIT_PDU to a modem answering :func:`one_submit`'s way."""
    script = rig.play(one_submit(prompt, result))
    response = await asyncio.wait_for(rig.channel.submit(CMGS, SUBMIT_PDU), GUARD)
    await rig.finish(script)
    return response


class UrcLog:
    """A subscriber that keeps every URC and lets a test await the n-th one."""

    def __init__(self) -> None:
        self.urcs: list[Unsolicited] = []
        self._arrived = asyncio.Event()

    def __call__(self, urc: Unsolicited) -> None:
        self.urcs.append(urc)
        self._arrived.set()

    async def until(self, count: int) -> list[Unsolicited]:
        """Wait for ``count`` URCs in all."""
        async with asyncio.timeout(GUARD):
            while len(self.urcs) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.urcs

    async def until_seen(self, urc: Unsolicited) -> list[Unsolicited]:
        """Wait for ``urc``: everything the peer sent before it has been read by then."""
        async with asyncio.timeout(GUARD):
            while urc not in self.urcs:
                self._arrived.clear()
                await self._arrived.wait()
        return self.urcs


def recording(log: list[tuple[str, bytes]], who: str) -> Manipulator:
    """A manipulator that passes writes through whole and notes them in a shared wire log."""

    def manipulate(data: bytes) -> Iterable[bytes]:
        log.append((who, data))
        return [data]

    return manipulate


# --- Delivery: whole, byte by byte, at random points, slowly ----------------------------------


def random_splits(seed: int) -> Manipulator:
    """Cut every write at seeded random points (inside CRLF pairs, the prompt, a PDU...)."""
    rng = random.Random(seed)

    def manipulate(data: bytes) -> Iterable[bytes]:
        if len(data) < 2:
            return [data]
        count = rng.randint(1, max(1, len(data) // 4))
        cuts = sorted(rng.sample(range(1, len(data)), count))
        bounds = [0, *cuts, len(data)]
        return [data[start:end] for start, end in itertools.pairwise(bounds)]

    return manipulate


@dataclass(frozen=True)
class Delivery:
    """How the peer's writes reach the channel; a fresh manipulator per test."""

    manipulator: Callable[[], Manipulator | None]
    delay_chunks: int = 0

    def apply(self, end: PipeEnd) -> None:
        end.manipulator = self.manipulator()
        end.delay_chunks = self.delay_chunks


DELIVERIES: Final = [
    pytest.param(Delivery(lambda: None), id="whole"),
    pytest.param(Delivery(lambda: split_every(1)), id="byte-by-byte"),
    pytest.param(Delivery(lambda: split_every(1), delay_chunks=1), id="byte-by-byte-delayed"),
    pytest.param(Delivery(lambda: split_every(2), delay_chunks=3), id="pairs-delayed"),
    *(
        pytest.param(
            Delivery(functools.partial(random_splits, seed), seed % 2), id=f"random-{seed}"
        )
        for seed in range(12)
    ),
]


# URCs of every shape, one before each line of the AT+CMGL=4 reply: Huawei's ^RSSI
# (gsm-at-pdu.md §4), +CMTI, the two-line +CMT and +CDS, RING, +CREG and +CGREG.
INTERLEAVED_URCS: Final = (
    b'+CMTI: "SM",3\r\n',
    b"^RSSI:17\r\n",
    CMT_URC,
    b"RING\r\n",
    CDS_URC,
    b"+CREG: 1\r\n",
    b"+CGREG: 5\r\n",
)
INTERLEAVED_EXPECTED: Final = (
    Unsolicited('+CMTI: "SM",3'),
    Unsolicited("^RSSI:17"),
    Unsolicited("+CMT: ,35", DELIVER_PDU),
    Unsolicited("RING"),
    Unsolicited("+CDS: 24", CDS_PDU),
    Unsolicited("+CREG: 1"),
    Unsolicited("+CGREG: 5"),
)


@pytest.mark.parametrize("delivery", DELIVERIES)
async def test_multiline_reply_with_a_urc_before_every_line(rig: Rig, delivery: Delivery) -> None:
    """Whatever the chunking, the reply is intact and each URC reaches each subscriber once."""
    delivery.apply(rig.modem)
    first, second = UrcLog(), UrcLog()
    rig.channel.subscribe(first)
    rig.channel.subscribe(second)
    stream = b"".join(
        urc + line for urc, line in zip(INTERLEAVED_URCS, (*CMGL_REPLY, b"OK\r\n"), strict=True)
    )

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+CMGL=4\r")
        await peer.send(stream)  # one write: the manipulator decides where it breaks

    rig.play(modem)
    response = await asyncio.wait_for(rig.channel.command("AT+CMGL=4"), GUARD)

    assert response.command == "AT+CMGL=4"
    assert response.lines == CMGL_LINES
    assert response.result.kind is ResultKind.OK
    assert tuple(first.urcs) == INTERLEAVED_EXPECTED
    assert tuple(second.urcs) == INTERLEAVED_EXPECTED


@pytest.mark.parametrize("delivery", DELIVERIES)
async def test_submit_with_zte_urcs_around_the_prompt(rig: Rig, delivery: Delivery) -> None:
    """Vector 37: ZTE URCs before the prompt and before +CMGS, in any chunking."""
    delivery.apply(rig.modem)
    urcs = rig.listen()

    response = await submitted(rig, ZTE_BEFORE_PROMPT, ZTE_AFTER_PDU)

    assert response.lines == ("+CMGS: 142",)
    assert response.result.kind is ResultKind.OK
    assert tuple(urcs.urcs) == ZTE_URCS
    assert bytes(rig.peer.received) == CMGS.encode() + b"\r" + SUBMIT_PDU.encode() + CTRL_Z


async def test_host_writes_trickling_out_byte_by_byte(rig: Rig) -> None:
    """A slow UART on the host's side: the modem still receives the exact command bytes."""
    rig.host.manipulator = split_every(1)
    rig.host.delay_chunks = 1

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+CSQ\r")
        await peer.send(CSQ_REPLY)
        await peer.expect(CMGS.encode() + b"\r")
        await peer.send(b"\r\n" + PLAIN_PROMPT)
        await peer.expect(SUBMIT_PDU.encode() + CTRL_Z)
        await peer.send(CMGS_183)

    script = rig.play(modem)
    csq = await asyncio.wait_for(rig.channel.command("AT+CSQ"), GUARD)
    cmgs = await asyncio.wait_for(rig.channel.submit(CMGS, SUBMIT_PDU), GUARD)
    await rig.finish(script)

    assert csq.lines == ("+CSQ: 20,99",)
    assert cmgs.lines == ("+CMGS: 183",)


# --- URCs in the middle of commands -----------------------------------------------------------


async def test_cmti_in_the_middle_of_a_command(rig: Rig) -> None:
    """Vector 28's AT+CMGR=3 reply with a new message's +CMTI between header and PDU."""
    urcs = rig.listen()

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+CMGR=3\r")
        await peer.send(b"+CMGR: 0,,24\r\n")
        await peer.send(b'+CMTI: "SM",4\r\n')  # python-gsmmodem's +CMTI shape, vector 28
        await peer.send(REPORT_PDU.encode() + b"\r\n", b"OK\r\n")

    rig.play(modem)
    response = await asyncio.wait_for(rig.channel.command("AT+CMGR=3"), GUARD)

    assert response.lines == ("+CMGR: 0,,24", REPORT_PDU)
    assert urcs.urcs == [Unsolicited('+CMTI: "SM",4')]


async def test_two_line_urcs_in_the_middle_of_a_reply(rig: Rig) -> None:
    """+CMT and +CDS carry their PDU line with them; neither PDU becomes a reply line."""
    urcs = rig.listen()

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+CMGR=0\r")
        await peer.send(b"+CMGR: 0,,35\r\n" + CMT_URC + CDS_URC + DELIVER_PDU.encode() + OK)

    rig.play(modem)
    response = await asyncio.wait_for(rig.channel.command("AT+CMGR=0"), GUARD)

    assert response.lines == CMGR0_LINES
    assert urcs.urcs == [Unsolicited("+CMT: ,35", DELIVER_PDU), Unsolicited("+CDS: 24", CDS_PDU)]


async def test_urcs_while_idle_reach_subscribers_in_order(rig: Rig) -> None:
    """Vector 28 begins with an unsolicited +CDSI, then vector 75's +CDS: no command in flight."""
    urcs = rig.listen()

    rig.play(lambda peer: peer.send(b'+CDSI: "SM",3\r\n', b"\r\n" + CDS_URC))

    assert await urcs.until(2) == [
        Unsolicited('+CDSI: "SM",3'),
        Unsolicited("+CDS: 24", CDS_PDU),
    ]


# --- Final result codes -----------------------------------------------------------------------


@dataclass(frozen=True)
class FinalCase:
    """A command, the modem's final result, and what command() must raise for it."""

    command: str
    reply: bytes
    kind: ResultKind
    error: type[AtCommandError]
    code: int | None = None
    text: str | None = None


FINALS: Final = [
    # gsm-at-pdu.md §3: AT+CMGL with a text-mode <stat> in PDU mode gives ERROR.
    pytest.param(
        FinalCase('AT+CMGL="ALL"', b"\r\nERROR\r\n", ResultKind.ERROR, AtCommandError),
        id="ERROR",
    ),
    # §3: "+CME ERROR: 14 — SIM busy right after boot: retry".
    pytest.param(
        FinalCase("AT+CPIN?", b"\r\n+CME ERROR: 14\r\n", ResultKind.CME_ERROR, CmeError, 14),
        id="CME-numeric",
    ),
    # The same with AT+CMEE=2 (verbose): the code is recovered from the text.
    pytest.param(
        FinalCase(
            "AT+CPIN?",
            b"\r\n+CME ERROR: SIM busy\r\n",
            ResultKind.CME_ERROR,
            CmeError,
            14,
            "SIM busy",
        ),
        id="CME-verbose",
    ),
    # §4: 304 = PDU length/hex/SCA mismatch.
    pytest.param(
        FinalCase("AT+CMSS=3", b"\r\n+CMS ERROR: 304\r\n", ResultKind.CMS_ERROR, CmsError, 304),
        id="CMS-304",
    ),
    # Vector 39, python-gsmmodem TestGsmModemGeneralApi.test_smsc: recorded as sent.
    pytest.param(
        FinalCase("AT+CSCA?", b"+CMS ERROR: 330\r\n", ResultKind.CMS_ERROR, CmsError, 330),
        id="CMS-330-recorded",
    ),
    pytest.param(
        FinalCase("ATD+27748577604;", b"\r\nNO CARRIER\r\n", ResultKind.NO_CARRIER, AtCommandError),
        id="NO-CARRIER",
    ),
    # §4: Huawei E1752's non-standard final result.
    pytest.param(
        FinalCase(
            "AT+CNMI=2,1,0,2,0",
            b"\r\nCOMMAND NOT SUPPORT\r\n",
            ResultKind.NOT_SUPPORTED,
            AtCommandError,
        ),
        id="COMMAND-NOT-SUPPORT",
    ),
]


def answer(command: str, reply: bytes) -> Script:
    async def modem(peer: Peer) -> None:
        await peer.expect(command.encode() + b"\r")
        await peer.send(reply)

    return modem


@pytest.mark.parametrize("final", FINALS)
async def test_command_raises_the_typed_error(rig: Rig, final: FinalCase) -> None:
    rig.play(answer(final.command, final.reply))

    with pytest.raises(AtCommandError) as raised:
        await asyncio.wait_for(rig.channel.command(final.command), GUARD)

    error = raised.value
    assert type(error) is final.error
    assert error.command == final.command
    assert error.result == final.reply.decode().strip()
    if isinstance(error, CmeError | CmsError):
        assert (error.code, error.text) == (final.code, final.text)


@pytest.mark.parametrize("final", FINALS)
async def test_exchange_returns_whatever_the_result(rig: Rig, final: FinalCase) -> None:
    rig.play(answer(final.command, final.reply))

    response = await asyncio.wait_for(rig.channel.exchange(final.command), GUARD)

    assert response.command == final.command
    assert response.lines == ()
    assert response.result.kind is final.kind
    assert response.result.line == final.reply.decode().strip()
    assert (response.result.code, response.result.text) == (final.code, final.text)


async def test_error_keeps_the_reply_lines_before_it(rig: Rig) -> None:
    rig.play(answer("AT+CMGL=4", CMGL_REPLY[0] + CMGL_REPLY[1] + b"ERROR\r\n"))

    with pytest.raises(AtCommandError) as raised:
        await asyncio.wait_for(rig.channel.command("AT+CMGL=4"), GUARD)

    assert raised.value.lines == CMGL_LINES[:2]


async def test_echo_of_the_command_is_not_a_reply_line(rig: Rig) -> None:
    """ATE0 is not persistent on most modems (gsm-at-pdu.md §4): the echo must be dropped."""
    rig.play(answer("AT+CSQ", b"AT+CSQ\r" + CSQ_REPLY))

    response = await asyncio.wait_for(rig.channel.command("AT+CSQ"), GUARD)

    assert response.lines == ("+CSQ: 20,99",)


# --- Timeouts ---------------------------------------------------------------------------------


async def test_silent_modem_times_out_with_the_lines_it_sent(rig: Rig) -> None:
    """Old Wavecom answers AT+CPIN? with +CPIN: READY and no OK (gsm-at-pdu.md §4)."""
    rig.channel.timeouts = SHORT

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+CPIN?\r")
        await peer.send(b"\r\n+CPIN: READY\r\n")
        # After a timeout the channel first sends a throw-away AT, so that a late final
        # result of the timed-out command completes that probe rather than the next command.
        await peer.expect(b"AT\r")
        await peer.send(OK)
        await peer.expect(b"AT\r")
        await peer.send(OK)

    script = rig.play(modem)
    with pytest.raises(AtTimeout) as raised:
        await rig.channel.command("AT+CPIN?")

    assert isinstance(raised.value, TimeoutError)
    assert raised.value.command == "AT+CPIN?"
    assert raised.value.timeout == SHORT.default
    assert raised.value.lines == ("+CPIN: READY",)
    # The channel is usable again at once and the partial reply does not leak into the next.
    response = await asyncio.wait_for(rig.channel.command("AT"), GUARD)
    assert response.lines == ()
    assert response.result.kind is ResultKind.OK
    await rig.finish(script)


async def test_timeout_per_call_overrides_the_default(rig: Rig) -> None:
    rig.play(lambda peer: peer.expect(b"AT+COPS=?\r"))

    with pytest.raises(AtTimeout) as raised:
        await asyncio.wait_for(rig.channel.command("AT+COPS=?", timeout=0.05), GUARD)

    assert raised.value.timeout == 0.05


async def test_late_reply_after_a_timeout_is_not_the_next_reply(rig: Rig) -> None:
    """The timed-out command's OK arrives while idle: a stray, not the next command's answer."""
    rig.channel.timeouts = SHORT
    urcs = rig.listen()
    timed_out = asyncio.Event()

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+CSQ\r")
        await timed_out.wait()
        # Then a new message's +CMTI, which tells the test the late bytes have been read.
        await peer.send(CSQ_REPLY, b'\r\n+CMTI: "SM",1\r\n')
        await peer.expect(b"AT\r")  # the channel's resynchronising probe after a timeout
        await peer.send(OK)
        await peer.expect(b"AT+CMGR=0\r")
        await peer.send(CMGR0_REPLY)

    script = rig.play(modem)
    with pytest.raises(AtTimeout) as raised:
        await rig.channel.command("AT+CSQ")
    assert raised.value.lines == ()
    timed_out.set()
    await urcs.until_seen(Unsolicited('+CMTI: "SM",1'))

    rig.channel.timeouts = PATIENT
    response = await asyncio.wait_for(rig.channel.command("AT+CMGR=0"), GUARD)

    assert response.lines == CMGR0_LINES
    assert response.result.kind is ResultKind.OK
    await rig.finish(script)


async def test_late_reply_lines_after_a_timeout_are_not_urcs(rig: Rig) -> None:
    """A late ``+CREG: 0,1`` (the AT+CREG? form, ``<n>,<stat>``) is no registration URC.

    The modem layer reads ``+CREG:`` URCs as ``<stat>[,<lac>,<ci>]``; handed this line it
    would report stat 0, "not registered", for a modem that is registered at home.
    """
    rig.channel.timeouts = SHORT
    urcs = rig.listen()
    timed_out = asyncio.Event()

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+CREG?\r")
        await timed_out.wait()
        await peer.send(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n", b'\r\n+CMTI: "SM",1\r\n')

    rig.play(modem)
    with pytest.raises(AtTimeout):
        await rig.channel.command("AT+CREG?")
    timed_out.set()
    await urcs.until_seen(Unsolicited('+CMTI: "SM",1'))

    assert urcs.urcs == [Unsolicited('+CMTI: "SM",1')]


# --- The prompt flow of submit() --------------------------------------------------------------


async def test_submit_writes_exact_bytes_and_returns_the_reference(rig: Rig) -> None:
    """Vector 38: ``> ``, PDU + Ctrl-Z, ``+CMGS: 183``, OK."""
    response = await submitted(rig, PLAIN_PROMPT, CMGS_183)

    assert response.command == CMGS
    assert response.lines == ("+CMGS: 183",)
    assert bytes(rig.peer.received) == b"AT+CMGS=23\r" + SUBMIT_PDU.encode() + b"\x1a"


async def test_submit_with_echo_on(rig: Rig) -> None:
    """The modem echoes the command and the PDU (with its Ctrl-Z): neither is a reply line."""
    response = await submitted(rig, ECHOED_PROMPT, ECHOED_CMGS_7)

    assert response.lines == ("+CMGS: 7",)


async def test_submit_final_result_instead_of_the_prompt_raises_at_once(rig: Rig) -> None:
    """``+CMS ERROR: 304`` before ``>``: raised without waiting, and no PDU is written."""

    async def modem(peer: Peer) -> None:
        await peer.expect(CMGS.encode() + b"\r")
        await peer.send(b"\r\n+CMS ERROR: 304\r\n")
        await peer.expect(b"AT\r")  # the next bytes: no PDU, no Ctrl-Z, no ESC in between
        await peer.send(OK)

    script = rig.play(modem)
    with pytest.raises(CmsError) as raised:
        await asyncio.wait_for(rig.channel.submit(CMGS, SUBMIT_PDU), GUARD)
    assert raised.value.code == 304

    await asyncio.wait_for(rig.channel.command("AT"), GUARD)
    await rig.finish(script)


async def test_submit_error_after_the_pdu(rig: Rig) -> None:
    """SIM800's catch-all ``+CMS ERROR: 500`` (gsm-at-pdu.md §4) after the PDU."""
    with pytest.raises(CmsError) as raised:
        await submitted(rig, b"\r\n> ", b"\r\n+CMS ERROR: 500\r\n")

    assert raised.value.code == 500


async def test_submit_prompt_never_comes_aborts_with_esc(rig: Rig) -> None:
    rig.channel.timeouts = SHORT
    escaped = asyncio.Event()

    async def modem(peer: Peer) -> None:
        await peer.expect(CMGS.encode() + b"\r")
        await peer.expect(ESC)
        escaped.set()
        # No OK acknowledges the abort: the channel probes with AT before the next command.
        await peer.expect(b"AT\r")
        await peer.send(OK)
        await peer.expect(b"AT\r")
        await peer.send(OK)

    script = rig.play(modem)
    with pytest.raises(AtTimeout) as raised:
        await rig.channel.submit(CMGS, SUBMIT_PDU)
    assert "prompt" in str(raised.value)
    assert raised.value.timeout == SHORT.prompt

    rig.channel.timeouts = PATIENT
    response = await asyncio.wait_for(rig.channel.command("AT"), GUARD)
    assert response.result.kind is ResultKind.OK
    await rig.finish(script)
    assert escaped.is_set()
    assert bytes(rig.peer.received) == b"AT+CMGS=23\r\x1bAT\rAT\r"


async def test_submit_abort_acknowledgement_is_not_the_next_reply(rig: Rig) -> None:
    """Cinterion (ENS22 AT manual, AT+CMGS): "Abortion is acknowledged with OK".

    That OK belongs to the aborted AT+CMGS. Taken as the reply to the next command, it makes
    ``AT+CMGR=0`` look like an empty slot, and the real reply then arrives as "URCs"; before
    another AT+CMGS it would be worse: the OK ends the command before the prompt, and the
    modem is left waiting for a PDU that never comes.
    """
    rig.channel.timeouts = SHORT

    async def modem(peer: Peer) -> None:
        await peer.expect(CMGS.encode() + b"\r")
        await peer.expect(ESC)
        await peer.send(OK)
        await peer.expect(b"AT+CMGR=0\r")
        await peer.send(CMGR0_REPLY)

    script = rig.play(modem)
    with pytest.raises(AtTimeout):
        await rig.channel.submit(CMGS, SUBMIT_PDU)

    rig.channel.timeouts = PATIENT
    response = await asyncio.wait_for(rig.channel.command("AT+CMGR=0"), GUARD)

    assert response.lines == CMGR0_LINES
    await rig.finish(script)


async def test_submit_cancelled_before_the_prompt_leaves_the_modem_in_command_mode(
    rig: Rig,
) -> None:
    """A caller that gives up (shutdown, an outer timeout) must not leave the modem at ``>``.

    The modem answers AT+CMGS with the prompt whether or not anybody still waits for it; unless
    the channel sends ESC, it takes the next command's bytes as the PDU.
    """
    sent = asyncio.Event()

    async def modem(peer: Peer) -> None:
        await peer.expect(CMGS.encode() + b"\r")
        sent.set()
        await peer.expect(ESC)  # ... and not "AT\r"
        await peer.expect(b"AT\r")
        await peer.send(OK)

    script = rig.play(modem)
    submit = rig.spawn(rig.channel.submit(CMGS, SUBMIT_PDU))
    await asyncio.wait_for(sent.wait(), GUARD)
    # This modem does not acknowledge the ESC: the channel waits for that OK no longer than
    # its prompt timeout, short from here on (the wait for the prompt under way keeps its own).
    rig.channel.timeouts = SHORT
    submit.cancel()
    with pytest.raises(asyncio.CancelledError):
        await submit

    rig.channel.timeouts = PATIENT
    rig.spawn(rig.channel.command("AT"))
    await rig.finish(script)


async def test_submit_decides_the_data_at_the_prompt(rig: Rig) -> None:
    """The caller's last word comes once the modem waits for the PDU: what it returns is
    written (its echo is no reply line); nothing is decided before the prompt came."""
    asked: list[bytes] = []

    async def decide() -> str:
        asked.append(bytes(rig.peer.received))
        return SUBMIT_PDU

    script = rig.play(one_submit(ECHOED_PROMPT, ECHOED_CMGS_7))
    response = await asyncio.wait_for(rig.channel.submit(CMGS, decide), GUARD)
    await rig.finish(script)
    assert response.lines == ("+CMGS: 7",)
    assert asked == [CMGS.encode() + b"\r"]  # after the command, before any data


async def test_submit_refused_at_the_prompt_leaves_with_esc(rig: Rig) -> None:
    """A caller that decides at the prompt not to send (the message expired meanwhile): ESC,
    its OK is not the next reply, and the caller's reason is raised."""

    async def modem(peer: Peer) -> None:
        await peer.expect(CMGS.encode() + b"\r")
        await peer.send(b"\r\n> ")
        await peer.expect(ESC)
        await peer.send(OK)
        await peer.expect(b"AT+CMGR=0\r")
        await peer.send(CMGR0_REPLY)

    class Expired(Exception):
        pass

    async def refuse() -> str:
        raise Expired

    script = rig.play(modem)
    with pytest.raises(Expired):
        await asyncio.wait_for(rig.channel.submit(CMGS, refuse), GUARD)
    response = await asyncio.wait_for(rig.channel.command("AT+CMGR=0"), GUARD)
    assert response.lines == CMGR0_LINES
    await rig.finish(script)
    assert bytes(rig.peer.received) == CMGS.encode() + b"\r" + ESC + b"AT+CMGR=0\r"


@pytest.mark.parametrize("delivery", [DELIVERIES[0], DELIVERIES[2], DELIVERIES[4], DELIVERIES[5]])
async def test_escape_drops_what_the_modem_says_from_before(rig: Rig, delivery: Delivery) -> None:
    """A modem the host before left in the prompt: after the ESC it echoes what was typed
    there, acknowledges the abort, and a send still on its way ends with a late +CMGS and OK.
    None of it is a reply to anything asked now; a +CMTI among it is still a URC."""
    delivery.apply(rig.modem)
    urcs = rig.listen()
    cmti = b'\r\n+CMTI: "SM",3\r\n'

    async def modem(peer: Peer) -> None:
        await peer.expect(ESC)
        await peer.send(b"AT\rAT\r", b"\r\n+CMS ERROR: 500\r\n", b"\r\n" + CMGS_183, cmti)
        await peer.send(b"\r\n> ")  # no line end: it must not start the next reply
        await peer.expect(b"AT+CSQ\r")
        await peer.send(CSQ_REPLY)

    script = rig.play(modem)
    dropped = await asyncio.wait_for(rig.channel.escape(0.2), GUARD)
    assert dropped == ("AT", "AT", "+CMS ERROR: 500", "+CMGS: 183", "OK")
    assert urcs.urcs == [Unsolicited('+CMTI: "SM",3')]
    response = await asyncio.wait_for(rig.channel.command("AT+CSQ"), GUARD)
    assert response.lines == ("+CSQ: 20,99",)
    await rig.finish(script)


async def test_escape_on_a_lost_link(rig: Rig) -> None:
    await rig.modem.close()
    with pytest.raises(ModemLost):
        await asyncio.wait_for(rig.channel.escape(0.0), GUARD)


async def test_submit_times_out_after_the_pdu(rig: Rig) -> None:
    rig.channel.timeouts = SHORT

    async def modem(peer: Peer) -> None:
        await peer.expect(CMGS.encode() + b"\r")
        await peer.send(b"\r\n> ")
        await peer.expect(SUBMIT_PDU.encode() + CTRL_Z)

    rig.play(modem)
    with pytest.raises(AtTimeout) as raised:
        await rig.channel.submit(CMGS, SUBMIT_PDU)

    assert raised.value.command == CMGS
    assert raised.value.timeout == SHORT.submit


# --- Ordering: waiter before write, one command in flight -------------------------------------


class AnswersInsideWrite:
    """A :class:`~drivers.at.transport.Link` whose modem answers before ``write()`` returns.

    ``write()`` queues the reply and returns only once the channel's reader has read and
    dispatched it (the reader is back in ``read()``): the fastest modem there can be. A channel
    that registered its waiter after writing would see the reply as a stray and time out.
    """

    def __init__(self, replies: dict[bytes, bytes]) -> None:
        self.name = "answers-inside-write"
        self.written = bytearray()
        self._replies = replies
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._reads = 0
        self._reading = asyncio.Event()

    async def read(self) -> bytes:
        self._reads += 1
        self._reading.set()
        return await self._inbox.get()

    async def write(self, data: bytes) -> None:
        self.written += data
        reads = self._reads
        self._inbox.put_nowait(self._replies[data])
        while self._reads == reads:
            self._reading.clear()
            await self._reading.wait()

    async def close(self) -> None:
        self._inbox.put_nowait(b"")

    async def reader_waiting(self) -> None:
        await self._reading.wait()


async def test_reply_inside_the_write_completes_the_command() -> None:
    link = AnswersInsideWrite({b"AT+CSCA?\r": b'\r\n+CSCA: "+59899998932",145\r\n\r\nOK\r\n'})
    channel = AtChannel(link, PATIENT)
    channel.start()
    try:
        await asyncio.wait_for(link.reader_waiting(), GUARD)
        response = await asyncio.wait_for(channel.command("AT+CSCA?"), GUARD)
    finally:
        await channel.close()

    # The reply of the real gammu log quoted in gsm-at-pdu.md §3.
    assert response.lines == ('+CSCA: "+59899998932",145',)
    assert bytes(link.written) == b"AT+CSCA?\r"


async def test_concurrent_commands_are_serialised(rig: Rig) -> None:
    """The modem sees the second command only after it has sent the first one's final result."""
    wire: list[tuple[str, bytes]] = []
    rig.host.manipulator = recording(wire, "host")
    rig.modem.manipulator = recording(wire, "modem")
    release = asyncio.Event()

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+CSQ\r")
        await release.wait()
        await peer.send(CSQ_REPLY)
        await peer.expect(b"AT+CREG?\r")
        await peer.send(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n")

    second_started = asyncio.Event()

    async def second() -> tuple[str, ...]:
        second_started.set()
        return (await rig.channel.command("AT+CREG?")).lines

    script = rig.play(modem)
    first = rig.spawn(rig.channel.command("AT+CSQ"))
    other = rig.spawn(second())
    # When this returns, the second call has run as far as it can: written, or blocked.
    await asyncio.wait_for(second_started.wait(), GUARD)
    assert wire == [("host", b"AT+CSQ\r")]
    release.set()

    assert (await rig.finish(first)).lines == ("+CSQ: 20,99",)
    assert await rig.finish(other) == ("+CREG: 0,1",)
    await rig.finish(script)
    assert wire == [
        ("host", b"AT+CSQ\r"),
        ("modem", CSQ_REPLY),
        ("host", b"AT+CREG?\r"),
        ("modem", b"\r\n+CREG: 0,1\r\n\r\nOK\r\n"),
    ]


# --- Link lost --------------------------------------------------------------------------------


def lose(rig: Rig, how: str) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        await rig.modem.close()  # the cable pulled: both directions end

    async def fail() -> None:
        rig.host.fail("USB device unplugged")  # the host's next read is an I/O error

    return {"close": close, "fail": fail}[how]


@pytest.mark.parametrize("how", ["close", "fail"])
@pytest.mark.parametrize("during", ["command", "submit-before-prompt", "submit-after-prompt"])
async def test_link_lost_in_the_middle(rig: Rig, how: str, during: str) -> None:
    lost: list[ModemLost] = []
    rig.channel.on_lost(lost.append)
    wire: list[tuple[str, bytes]] = []
    rig.host.manipulator = recording(wire, "host")
    cut = lose(rig, how)

    async def modem(peer: Peer) -> None:
        if during == "command":
            await peer.expect(b"AT+CMGL=4\r")
            await peer.send(CMGL_REPLY[0])  # half a reply, then nothing
        else:
            await peer.expect(CMGS.encode() + b"\r")
            if during == "submit-after-prompt":
                await peer.send(b"\r\n> ")
                await peer.expect(SUBMIT_PDU.encode() + CTRL_Z)
        await cut()

    rig.play(modem)
    call = (
        rig.channel.command("AT+CMGL=4")
        if during == "command"
        else rig.channel.submit(CMGS, SUBMIT_PDU)
    )
    with pytest.raises(ModemLost) as raised:
        await asyncio.wait_for(call, GUARD)  # PATIENT timeouts: this is not a timeout

    if how == "fail":
        assert "USB device unplugged" in str(raised.value)
    assert rig.channel.lost is not None
    written = len(wire)
    with pytest.raises(ModemLost):
        await asyncio.wait_for(rig.channel.command("AT"), GUARD)
    with pytest.raises(ModemLost):
        await asyncio.wait_for(rig.channel.submit(CMGS, SUBMIT_PDU), GUARD)
    assert len(wire) == written  # refused up front: nothing is even written
    await rig.channel.close()
    assert lost == [rig.channel.lost]


@pytest.mark.parametrize("how", ["close", "fail"])
async def test_link_lost_while_idle(rig: Rig, how: str) -> None:
    lost_once = asyncio.Event()
    lost: list[ModemLost] = []

    def on_lost(reason: ModemLost) -> None:
        lost.append(reason)
        lost_once.set()

    rig.channel.on_lost(on_lost)
    await lose(rig, how)()
    await asyncio.wait_for(lost_once.wait(), GUARD)

    assert rig.channel.lost is lost[0]
    with pytest.raises(ModemLost):
        await asyncio.wait_for(rig.channel.command("AT"), GUARD)
    await rig.channel.close()
    assert len(lost) == 1


async def test_close_fails_the_command_in_flight(rig: Rig) -> None:
    received = asyncio.Event()

    async def modem(peer: Peer) -> None:
        await peer.expect(b"AT+COPS=?\r")
        received.set()

    rig.play(modem)
    pending = rig.spawn(rig.channel.command("AT+COPS=?"))
    await asyncio.wait_for(received.wait(), GUARD)
    await rig.channel.close()

    with pytest.raises(ModemLost):
        await rig.finish(pending)
    assert rig.channel.lost is not None


async def test_failing_lost_callback_does_not_stop_the_others(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    lost: list[ModemLost] = []

    def broken(reason: ModemLost) -> None:
        raise RuntimeError("bug in a lost-link callback")

    rig.channel.on_lost(broken)
    rig.channel.on_lost(lost.append)
    unsubscribed: list[ModemLost] = []
    rig.channel.on_lost(unsubscribed.append)()

    with caplog.at_level(logging.ERROR, logger="drivers.at.channel"):
        await rig.channel.close()

    assert len(lost) == 1
    assert unsubscribed == []
    assert any(
        record.exc_info is not None and "bug in a lost-link callback" in str(record.exc_info[1])
        for record in caplog.records
    )


# --- Subscribers ------------------------------------------------------------------------------


async def test_failing_subscriber_does_not_stop_the_reader_or_the_others(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(urc: Unsolicited) -> None:
        raise ValueError(f"cannot handle {urc.line}")

    rig.channel.subscribe(broken)
    urcs = rig.listen()

    async def modem(peer: Peer) -> None:
        await peer.send(b'\r\n+CMTI: "SM",1\r\n', b'\r\n+CMTI: "SM",2\r\n')
        await peer.expect(b"AT+CSQ\r")
        await peer.send(CSQ_REPLY)

    with caplog.at_level(logging.ERROR, logger="drivers.at.channel"):
        script = rig.play(modem)
        assert await urcs.until(2) == [Unsolicited('+CMTI: "SM",1'), Unsolicited('+CMTI: "SM",2')]
        response = await asyncio.wait_for(rig.channel.command("AT+CSQ"), GUARD)
        await rig.finish(script)

    assert response.lines == ("+CSQ: 20,99",)
    failures = [r for r in caplog.records if r.name == "drivers.at.channel" and r.exc_info]
    assert [str(r.exc_info[1]) for r in failures if r.exc_info] == [
        'cannot handle +CMTI: "SM",1',
        'cannot handle +CMTI: "SM",2',
    ]


async def test_unsubscribe(rig: Rig) -> None:
    gone, staying = UrcLog(), UrcLog()
    unsubscribe = rig.channel.subscribe(gone)
    rig.channel.subscribe(staying)

    first_seen = asyncio.Event()

    async def modem(peer: Peer) -> None:
        await peer.send(b"\r\nRING\r\n")
        await first_seen.wait()
        await peer.send(b'\r\n+CMTI: "SM",5\r\n')

    rig.play(modem)
    await staying.until(1)
    unsubscribe()
    unsubscribe()  # twice is harmless
    first_seen.set()
    await staying.until(2)

    assert gone.urcs == [Unsolicited("RING")]
    assert staying.urcs == [Unsolicited("RING"), Unsolicited('+CMTI: "SM",5')]


# --- Garbage ----------------------------------------------------------------------------------


async def test_garbage_is_counted_and_does_not_break_the_next_reply(rig: Rig) -> None:
    urcs = rig.listen()

    async def modem(peer: Peer) -> None:
        # A rebooting modem's noise while idle, then the boot URC "RDY" (gsm-at-pdu.md §4).
        await peer.send(b"\x00\xff\xfe\x80\r\n", b"RDY\r\n")
        await peer.expect(b"AT+CSQ\r")
        # More noise before and glued to the reply lines.
        await peer.send(b"\xff\xff\r\n\x00+CSQ: 20,99\r\n\r\nOK\r\n")

    script = rig.play(modem)
    assert await urcs.until(1) == [Unsolicited("RDY")]
    assert rig.channel.garbage_bytes == 4

    response = await asyncio.wait_for(rig.channel.command("AT+CSQ"), GUARD)
    await rig.finish(script)

    assert response.lines == ("+CSQ: 20,99",)
    assert rig.channel.garbage_bytes == 7


# --- Real transports --------------------------------------------------------------------------


@dataclass
class TcpModem:
    """An ``asyncio.start_server`` modem on 127.0.0.1: answers one command, then waits."""

    reply: bytes
    hang_up: bool = False
    received: list[bytes] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.received.append(await reader.readuntil(b"\r"))
            if not self.hang_up:
                writer.write(self.reply)
                await writer.drain()
                await reader.read()  # until the channel hangs up
        finally:
            writer.close()
            await writer.wait_closed()
            self.done.set()


@pytest.fixture
async def tcp_modem() -> AsyncIterator[tuple[TcpModem, int]]:
    modem = TcpModem(CSQ_REPLY)
    server = await asyncio.start_server(modem.handle, "127.0.0.1", 0)
    try:
        yield modem, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_tcp_round_trip(tcp_modem: tuple[TcpModem, int]) -> None:
    modem, port = tcp_modem
    link = await open_link(f"tcp://127.0.0.1:{port}")
    assert link.name == f"tcp://127.0.0.1:{port}"
    async with AtChannel(link, PATIENT) as channel:
        response = await asyncio.wait_for(channel.command("AT+CSQ"), GUARD)
    await asyncio.wait_for(modem.done.wait(), GUARD)

    assert response.lines == ("+CSQ: 20,99",)
    assert modem.received == [b"AT+CSQ\r"]


async def test_tcp_peer_hanging_up_mid_command(tcp_modem: tuple[TcpModem, int]) -> None:
    modem, port = tcp_modem
    modem.hang_up = True
    async with AtChannel(await open_link(f"tcp://127.0.0.1:{port}"), PATIENT) as channel:
        with pytest.raises(ModemLost):
            await asyncio.wait_for(channel.command("AT+CSQ"), GUARD)
        assert channel.lost is not None
    await asyncio.wait_for(modem.done.wait(), GUARD)


async def test_tcp_connection_refused() -> None:
    # A port that was just free: bind one, note it, close it.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()

    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        await open_link(f"tcp://127.0.0.1:{port}")


async def test_open_link_on_a_missing_device(tmp_path: Path) -> None:
    path = str(tmp_path / "ttyUSB2")

    with pytest.raises(TransportError) as raised:
        await open_link(path)

    assert path in str(raised.value)
    assert not isinstance(raised.value, ModemLost)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tcp://127.0.0.1:7000", ("127.0.0.1", 7000)),
        ("tcp://ser2net.lan:3001", ("ser2net.lan", 3001)),
        ("tcp://[::1]:2000", ("::1", 2000)),
    ],
)
def test_parse_tcp_url(url: str, expected: tuple[str, int]) -> None:
    assert parse_tcp_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "tcp://ser2net.lan",  # no port
        "tcp://:3001",  # no host
        "tcp://ser2net.lan:port",  # not a number
        "tcp://ser2net.lan:70000",  # out of range
        "udp://ser2net.lan:3001",  # not TCP
        "tcp://",
    ],
)
def test_parse_tcp_url_errors(url: str) -> None:
    with pytest.raises(TransportError) as raised:
        parse_tcp_url(url)

    assert str(raised.value).startswith(url)
