"""The sans-IO framer and classifier :class:`AtParser` on real transcripts and hostile input.

* Every transcript of ``tests/data/at_transcripts.json`` gives the same events fed whole, one byte
  at a time and cut at random points (a seeded :class:`random.Random`, so every run cuts the same).
* Every final result form; URCs between every line of a reply; two-line ``+CMT``/``+CDS``; echo on
  and off; odd line ends; the ``>`` prompt; garbage bytes; stray results; the command's own prefix.
* A Hypothesis property: any bytes in any chunking never raise and give the same events.

The sources of the hostile cases are ../shared/docs/gsm-at-pdu.md §3 and §4 (vendor quirks) and
the python-gsmmodem, smslib and ModemManager tests the vectors come from.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.at.parse import (
    AtParser,
    Event,
    FinalResult,
    Garbage,
    Prompt,
    Response,
    ResultKind,
    Stray,
    Unsolicited,
    parse_final,
    response_prefix,
)
from tests.drivers.at.at_transcripts import (
    VECTORS,
    ZTE_SUBMIT,
    Chunker,
    Command,
    Step,
    Vector,
    bytewise,
    case_id,
    joined,
    replay,
    steps,
    whole,
)

OK: Final = FinalResult(ResultKind.OK, "OK")


def crlf(*lines: str) -> bytes:
    """Lines as a V.250 modem frames them (ATV1): each one after a CRLF and before one."""
    return b"".join(b"\r\n" + line.encode("latin-1") + b"\r\n" for line in lines)


def fed(parser: AtParser, data: bytes, chunks: Chunker = whole) -> list[Event]:
    events: list[Event] = []
    for chunk in chunks(data):
        events.extend(parser.feed(chunk))
    return events


def running(command: str, data: str | None = None) -> AtParser:
    parser = AtParser()
    parser.start(command, data=data)
    return parser


def random_cuts(rng: random.Random) -> Chunker:
    """Cuts each byte step at 1..12 random points drawn from ``rng``."""

    def chunks(data: bytes) -> Iterable[bytes]:
        if len(data) < 2:
            return [data]
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
        return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]

    return chunks


# --- Real transcripts, any chunking ----------------------------------------------------------

SPLITTINGS: Final = 25


@pytest.mark.parametrize("vector", list(VECTORS.values()), ids=case_id)
def test_transcript_any_chunking(vector: Vector) -> None:
    script = joined(steps(vector))
    expected, parser = replay(script)
    # Clean recordings: nothing is noise, no result without a command, every command answered.
    assert not any(isinstance(event, Garbage | Stray) for event in expected)
    commands = sum(isinstance(step, Command) for step in script)
    assert sum(isinstance(event, Response) for event in expected) == commands
    assert not parser.busy
    assert replay(script, bytewise)[0] == expected
    rng = random.Random(vector["id"])
    for _ in range(SPLITTINGS):
        assert replay(script, random_cuts(rng))[0] == expected


def test_transcripts_cover_the_corpus() -> None:
    assert len(VECTORS) == 76


# --- Final result codes ----------------------------------------------------------------------

FINALS: Final = [
    ("OK", ResultKind.OK, None, None),
    ("ERROR", ResultKind.ERROR, None, None),
    ("+CME ERROR: 14", ResultKind.CME_ERROR, 14, None),
    ("+CME ERROR:14", ResultKind.CME_ERROR, 14, None),
    # AT+CMEE=2 (verbose): the known texts map to their codes (TS 27.007 §9.2).
    ("+CME ERROR: SIM busy", ResultKind.CME_ERROR, 14, "SIM busy"),
    ("+CME ERROR: 515", ResultKind.CME_ERROR, 515, None),  # vendor: device busy
    ("+CMS ERROR: 304", ResultKind.CMS_ERROR, 304, None),
    (
        "+CMS ERROR: invalid PDU mode parameter",
        ResultKind.CMS_ERROR,
        304,
        "invalid PDU mode parameter",
    ),
    ("+CMS ERROR: 500", ResultKind.CMS_ERROR, 500, None),  # SIM800's catch-all
    ("+CMS ERROR: vendor says no", ResultKind.CMS_ERROR, None, "vendor says no"),
    ("NO CARRIER", ResultKind.NO_CARRIER, None, None),
    ("COMMAND NOT SUPPORT", ResultKind.NOT_SUPPORTED, None, None),  # Huawei E1752
    ("BUSY", ResultKind.BUSY, None, None),
    ("NO ANSWER", ResultKind.NO_ANSWER, None, None),
    ("NO DIALTONE", ResultKind.NO_DIALTONE, None, None),
]


@pytest.mark.parametrize(("line", "kind", "code", "text"), FINALS, ids=[f[0] for f in FINALS])
def test_final_result(line: str, kind: ResultKind, code: int | None, text: str | None) -> None:
    result = FinalResult(kind, line, code, text)
    assert parse_final(line) == result
    assert result.ok is (kind is ResultKind.OK)
    parser = running("AT+CPIN?")
    assert fed(parser, crlf(line)) == [Response("AT+CPIN?", (), result)]
    assert not parser.busy
    # The same line with no command in flight is a stray result, not an event of any command.
    assert AtParser().feed(crlf(line)) == [Stray(line)]


@pytest.mark.parametrize("line", ["OKAY", "+CMGS: 12", "ERRORS", "+CME ERRORS: 1", "RING", ""])
def test_not_a_final_result(line: str) -> None:
    assert parse_final(line) is None


# --- Unsolicited lines inside a reply --------------------------------------------------------

# smslib CServiceTest's real two-entry listing (vector 202), echoed.
LISTING_COMMAND: Final = "AT+CMGL=4"
LISTING_REPLY: Final = tuple(line for line in VECTORS[202]["transcript"] if line != "OK")
LISTING: Final = (LISTING_COMMAND, *LISTING_REPLY, "OK")
LISTING_RESPONSE: Final = Response(LISTING_COMMAND, LISTING_REPLY, OK)

URCS: Final = [
    '+CMTI: "SM",3',
    "^RSSI:17",  # Huawei, every few seconds (gammu #111/#126/#138 logs)
    "+CREG: 1",
    "RING",
    '+ZDONR: "METEOR",272,3,"CS_ONLY","ROAM_OFF"',  # ZTE (python-gsmmodem issue #11)
    '+ZPASR: "UMTS"',
    "+ZUSIMR:2",  # ZTE floods it until AT+CPMS? (ModemManager zte plugin)
    '+CDSI: "SR",0',  # gammu #408
    "^MODE:5,4",
    "PB DONE",  # SIMCom SIM7600 after boot
    "+QIND: SMS DONE",  # Quectel
]


def _expected_around(position: int, urc: str) -> list[Event]:
    # Inserted before the final OK, the URC is reported before the Response; after it, after.
    if position < len(LISTING):
        return [Unsolicited(urc), LISTING_RESPONSE]
    return [LISTING_RESPONSE, Unsolicited(urc)]


@pytest.mark.parametrize("urc", URCS)
def test_urc_between_every_line_of_a_reply(urc: str) -> None:
    for position in range(len(LISTING) + 1):
        lines = [*LISTING[:position], urc, *LISTING[position:]]
        for chunks in (whole, bytewise):
            parser = running(LISTING_COMMAND)
            assert fed(parser, crlf(*lines), chunks) == _expected_around(position, urc), position


def test_many_urcs_reported_once_each_in_order() -> None:
    lines: list[str] = []
    for n, line in enumerate(LISTING):
        lines += [URCS[n % len(URCS)], line]
    inserted = [URCS[n % len(URCS)] for n in range(len(LISTING))]
    events = fed(running(LISTING_COMMAND), crlf(*lines))
    assert events == [*(Unsolicited(urc) for urc in inserted), LISTING_RESPONSE]


# --- +CMT / +CDS: two lines ------------------------------------------------------------------

# python-gsmmodem's stored DELIVER (vector 36, TPDU length 35) and status report (vector 28, 24).
DELIVER_PDU: Final = VECTORS[36]["transcript"][2].strip()
REPORT_PDU: Final = VECTORS[28]["pdu"]
TWO_LINE: Final = [
    ("+CMT: ,35", DELIVER_PDU),
    ('+CMT: "",35', DELIVER_PDU),
    ('+CMT: "Alice",35', DELIVER_PDU),  # <alpha> from the phonebook
    ("+CDS: 24", REPORT_PDU),
]


@pytest.mark.parametrize(("header", "pdu"), TWO_LINE, ids=[t[0] for t in TWO_LINE])
def test_two_line_urc_idle(header: str, pdu: str) -> None:
    for chunks in (whole, bytewise):
        parser = AtParser()
        assert fed(parser, crlf(header, pdu), chunks) == [Unsolicited(header, pdu)]
        # A blank line between header and PDU (ModemManager test_parse_cds has blank lines around).
        parser = AtParser()
        stream = crlf(header) + b"\r\n" + crlf(pdu) + crlf("OK")
        assert fed(parser, stream, chunks) == [Unsolicited(header, pdu), Stray("OK")]


@pytest.mark.parametrize(("header", "pdu"), TWO_LINE, ids=[t[0] for t in TWO_LINE])
def test_two_line_urc_inside_a_reply(header: str, pdu: str) -> None:
    # Between any two lines of an AT+CMGL reply: the PDU line never becomes a reply line.
    for position in range(len(LISTING)):
        lines = [*LISTING[:position], header, pdu, *LISTING[position:]]
        parser = running(LISTING_COMMAND)
        assert fed(parser, crlf(*lines)) == [Unsolicited(header, pdu), LISTING_RESPONSE]


def test_text_mode_cmt_is_one_line() -> None:
    # Text mode (AT+CMGF=1): "+CMT: <oa>,[<alpha>],<scts>" and the text. It must not swallow the
    # next line as a PDU; the driver runs in PDU mode, so the text line is just another line.
    header = '+CMT: "+15551234567",,"24/01/01,12:00:00+04"'
    assert AtParser().feed(crlf(header, "Hello")) == [Unsolicited(header), Unsolicited("Hello")]
    parser = running("AT+CSQ")
    events = fed(parser, crlf(header, "+CSQ: 15,99", "OK"))
    assert events == [Unsolicited(header), Response("AT+CSQ", ("+CSQ: 15,99",), OK)]
    # Text-mode status report (TS 27.005 §3.4.1): one line too.
    report = '+CDS: 6,46,"+15551234567",145,"24/01/01,12:00:00+04","24/01/01,12:00:05+04",0'
    assert AtParser().feed(crlf(report, "OK")) == [Unsolicited(report), Stray("OK")]


# --- Echo ------------------------------------------------------------------------------------

SUBMIT: Final = ZTE_SUBMIT.pdu
CMGS: Final = f"AT+CMGS={ZTE_SUBMIT.tpdu_length}"
SENT: Final = Response(CMGS, ("+CMGS: 142",), OK)

# (modem bytes up to and including the prompt, modem bytes after the host wrote PDU + Ctrl-Z)
ECHO_CASES: Final = {
    "echo-off": (b"\r\n> ", crlf("+CMGS: 142", "OK")),
    "echo-on": (
        CMGS.encode() + b"\r\r\n> ",
        SUBMIT.encode() + b"\x1a" + crlf("+CMGS: 142", "OK"),
    ),
    "echo-on-without-ctrl-z": (
        CMGS.encode() + b"\r\r\n> ",
        SUBMIT.encode() + crlf("+CMGS: 142", "OK"),
    ),
    "echo-on-prompt-without-space": (
        CMGS.encode() + b"\r\r\n>",
        SUBMIT.encode() + b"\x1a" + crlf("+CMGS: 142", "OK"),
    ),
    "echo-on-bare-cr": (
        CMGS.encode() + b"\r> ",
        SUBMIT.encode() + b"\x1a\r+CMGS: 142\r\rOK\r",
    ),
}


@pytest.mark.parametrize("case", list(ECHO_CASES))
def test_cmgs_echo(case: str) -> None:
    to_prompt, after = ECHO_CASES[case]
    for chunks in (whole, bytewise):
        parser = running(CMGS, SUBMIT)
        assert fed(parser, to_prompt, chunks) == [Prompt()]
        assert parser.busy
        assert fed(parser, after, chunks) == [SENT]


def test_echo_of_plain_commands() -> None:
    # ATE0 is echoed before it takes effect; the echo may come in any case and with bare CR.
    parser = running("ATE0")
    assert parser.feed(b"ATE0\r\r\nOK\r\n") == [Response("ATE0", (), OK)]
    parser = running("AT+CSQ")
    assert parser.feed(b"at+csq\r" + crlf("+CSQ: 15,99", "OK")) == [
        Response("AT+CSQ", ("+CSQ: 15,99",), OK)
    ]
    # smslib CServiceTest: "\nAT+CPIN?\r\r\n+CPIN: SIM PIN\r" (echo, then the reply).
    parser = running("AT+CPIN?")
    assert parser.feed(b"\nAT+CPIN?\r\r\n+CPIN: SIM PIN\r\r\nOK\r\n") == [
        Response("AT+CPIN?", ("+CPIN: SIM PIN",), OK)
    ]


# --- Line ends -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        b"\r\n+CSQ: 15,99\r\n\r\nOK\r\n",
        b"+CSQ: 15,99\r\nOK\r\n",
        b"\r\n\r\n\r\n+CSQ: 15,99\r\n\r\n\r\n\r\nOK\r\n",  # blank lines
        b"+CSQ: 15,99\r\r\nOK\r\r\n",  # Huawei E1752 AT+CLAC style
        b"+CSQ: 15,99\rOK\r",  # bare CR (smslib "+CMGS:123\rOK")
        b"+CSQ: 15,99\nOK\n",  # bare LF
        b"\n\r+CSQ: 15,99\n\rOK\n\r",  # LF CR
        b"  +CSQ: 15,99  \r\n\tOK \r\n",  # blanks around the text
    ],
    ids=["crlf", "no-leading", "blank-lines", "cr-cr-lf", "cr", "lf", "lf-cr", "spaces"],
)
def test_line_ends(stream: bytes) -> None:
    for chunks in (whole, bytewise):
        parser = running("AT+CSQ")
        assert fed(parser, stream, chunks) == [Response("AT+CSQ", ("+CSQ: 15,99",), OK)]


def test_smslib_cmgs_without_space_and_bare_cr() -> None:
    parser = running("AT+CMGS=23")
    assert parser.feed(b"+CMGS:123\rOK\r") == [Response("AT+CMGS=23", ("+CMGS:123",), OK)]


def test_huawei_clac_cr_cr_lf() -> None:
    # python-gsmmodem test_supportedCommands: "some Huawei modems ... add an additional \r at the
    # end of each listed command". The "^DTMF" line is taken for a Huawei URC: §4 of
    # ../shared/docs/gsm-at-pdu.md says to filter every line starting with "^" while waiting for
    # a final result, and the driver never needs AT+CLAC, so that is the trade we make.
    parser = running("AT+CLAC")
    events = parser.feed(b"Q\r\r\nQWERTY\r\r\n^DTMF\r\r\nOK\r\n")
    assert events == [Unsolicited("^DTMF"), Response("AT+CLAC", ("Q", "QWERTY"), OK)]


# --- The > prompt ----------------------------------------------------------------------------


def test_prompt_after_urcs_zte() -> None:
    # python-gsmmodem vector 37: ZTE puts +ZDONR/+ZPASR between AT+CMGS and the prompt.
    parser = running(CMGS, SUBMIT)
    urcs = ['+ZDONR: "METEOR",272,3,"CS_ONLY","ROAM_OFF"', '+ZPASR: "UMTS"']
    events = parser.feed(crlf(*urcs) + b"\r\n> ")
    assert events == [Unsolicited(urcs[0]), Unsolicited(urcs[1]), Prompt()]
    assert parser.feed(crlf(*urcs, "+CMGS: 142", "OK")) == [*map(Unsolicited, urcs), SENT]


def test_no_prompt_when_no_data_is_expected() -> None:
    parser = AtParser()
    assert parser.feed(b"\r\n> ") == []
    parser = running("AT+CSQ")
    events = parser.feed(b"\r\n> ")
    assert events == []
    events = parser.feed(crlf("+CSQ: 15,99", "OK"))
    # The ">" is then just text the modem sent, a line of the reply; it is never a Prompt.
    assert Prompt() not in events
    (response,) = events
    assert isinstance(response, Response) and "+CSQ: 15,99" in response.lines


def test_one_prompt_per_command() -> None:
    parser = running(CMGS, SUBMIT)
    assert parser.feed(b"\r\n> ") == [Prompt()]
    assert Prompt() not in parser.feed(b"\r\n> \r\n")


def test_final_result_before_the_prompt_ends_the_command() -> None:
    # A wrong <length> (or the modem is in text mode) is refused before the prompt.
    parser = running(CMGS, SUBMIT)
    result = FinalResult(ResultKind.CMS_ERROR, "+CMS ERROR: 304", 304)
    assert parser.feed(crlf("+CMS ERROR: 304")) == [Response(CMGS, (), result)]
    assert not parser.busy
    assert Prompt() not in parser.feed(b"\r\n> ")


@pytest.mark.parametrize("noise", [b"\x00", b"\xff", b"\x00\xff\x80"])
def test_garbage_before_the_prompt(noise: bytes) -> None:
    # Noise on the line just before the prompt must not hide it: the modem waits for the PDU and
    # sends nothing more, so a missed prompt is a send that can only time out.
    parser = running(CMGS, SUBMIT)
    assert parser.feed(b"\r\n" + noise + b"> ") == [Garbage(noise.decode("latin-1")), Prompt()]


# --- Garbage ---------------------------------------------------------------------------------

CSQ: Final = Response("AT+CSQ", ("+CSQ: 15,99",), OK)
GARBAGE_CASES: Final = [
    (b"\x00\xff+CSQ: 15,99\r\nOK\r\n", [Garbage("\x00\xff"), CSQ]),  # before a line
    (b"+CSQ: 1\x805,99\r\nOK\r\n", [Garbage("\x80"), CSQ]),  # inside a line
    (b"+CSQ: 15,99\xfe\x7f\r\nOK\r\n", [Garbage("\xfe\x7f"), CSQ]),  # after a line (DEL too)
    (
        b"\xff\xff\xff\r\n+CSQ: 15,99\r\n\x00\r\nOK\r\n",
        [Garbage("\xff\xff\xff"), Garbage("\x00"), CSQ],
    ),
    (b"+CSQ: 15,99\r\nOK\x1b\x07\r\n", [Garbage("\x1b\x07"), CSQ]),  # ESC, BEL
    (b"+CSQ: 15,99\r\nOK\r\n\x9f\x00\r\n", [CSQ, Garbage("\x9f\x00")]),  # after the reply
]


@pytest.mark.parametrize(
    ("stream", "expected"),
    GARBAGE_CASES,
    ids=["before", "inside", "after", "own-lines", "esc-bel", "after-the-reply"],
)
def test_garbage(stream: bytes, expected: list[Event]) -> None:
    for chunks in (whole, bytewise):
        assert fed(running("AT+CSQ"), stream, chunks) == expected


def test_garbage_only_line_yields_nothing_else() -> None:
    parser = AtParser()
    assert parser.feed(b"\x00\x80\xff\r\n") == [Garbage("\x00\x80\xff")]
    parser = running("AT+CSQ")
    assert parser.feed(b"\r\n\x00\x00\r\n") == [Garbage("\x00\x00")]
    assert parser.partial_lines == ()
    # A burst from a rebooting SIM800 (brown-out), then its boot URCs.
    assert AtParser().feed(b"\xff\xfe\x00\x00\r\nRDY\r\n") == [
        Garbage("\xff\xfe\x00\x00"),
        Unsolicited("RDY"),
    ]


# --- Stray results and cancel ----------------------------------------------------------------


def test_stray_final_results() -> None:
    parser = AtParser()
    assert parser.feed(crlf("OK", "ERROR", "+CME ERROR: 10")) == [
        Stray("OK"),
        Stray("ERROR"),
        Stray("+CME ERROR: 10"),
    ]


def test_cancel_then_late_reply() -> None:
    parser = running("AT+CSQ")
    assert parser.feed(crlf("+CSQ: 15,99")) == []
    assert parser.partial_lines == ("+CSQ: 15,99",)
    parser.cancel()  # the command timed out
    assert not parser.busy
    assert not parser.partial_lines  # what arrived for it is dropped with it
    assert parser.feed(crlf("OK")) == [Stray("OK")]
    # The next command gets only its own reply.
    parser.start("AT+CPIN?")
    assert parser.feed(crlf("+CPIN: READY", "OK")) == [Response("AT+CPIN?", ("+CPIN: READY",), OK)]


def test_cancel_waiting_for_the_prompt() -> None:
    parser = running(CMGS, SUBMIT)
    parser.cancel()
    assert parser.feed(b"\r\n> ") == []  # a late prompt is not one any more


# --- The command's own prefix, vendor prefixes -----------------------------------------------


def test_own_prefix_is_a_reply() -> None:
    parser = running("AT+CREG?")
    assert parser.feed(crlf("+CREG: 0,1", "OK")) == [Response("AT+CREG?", ("+CREG: 0,1",), OK)]
    parser = running("AT+CPIN?")
    assert parser.feed(crlf("+CPIN: READY", "OK")) == [Response("AT+CPIN?", ("+CPIN: READY",), OK)]
    parser = running("AT^SYSINFO")  # Huawei: its own "^" reply is not a "^" URC
    assert parser.feed(crlf("^SYSINFO:2,3,0,5,1", "OK")) == [
        Response("AT^SYSINFO", ("^SYSINFO:2,3,0,5,1",), OK)
    ]


def test_foreign_prefix_is_a_urc() -> None:
    assert AtParser().feed(crlf("+CPIN: READY")) == [Unsolicited("+CPIN: READY")]
    parser = running("AT+CSQ")
    assert parser.feed(crlf("+CPIN: READY", "+CREG: 0,1", "+CSQ: 15,99", "OK")) == [
        Unsolicited("+CPIN: READY"),
        Unsolicited("+CREG: 0,1"),
        CSQ,
    ]


def test_simcom_boot_urcs_during_autobaud() -> None:
    # SIM800 after power-up (../shared/docs/gsm-at-pdu.md §4): the host sends AT until it answers.
    boot = ["RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"]
    parser = running("AT")
    assert parser.feed(crlf(*boot[:2]) + b"AT\r" + crlf(*boot[2:], "OK")) == [
        *map(Unsolicited, boot),
        Response("AT", (), OK),
    ]


def test_vendor_urc_prefixes_wavecom() -> None:
    # Wavecom's +WIND: (drivers/modem/quirks.py adds it for that vendor).
    parser = running("AT+CSQ")
    assert parser.feed(crlf("+WIND: 4", "+CSQ: 15,99", "OK")) == [
        Response("AT+CSQ", ("+WIND: 4", "+CSQ: 15,99"), OK)
    ]
    parser.add_urc_prefixes(["+WIND:"])
    parser.add_urc_prefixes(["+WIND:"])  # adding again changes nothing
    parser.start("AT+CSQ")
    assert parser.feed(crlf("+WIND: 4", "+CSQ: 15,99", "OK")) == [Unsolicited("+WIND: 4"), CSQ]
    parser.start("AT+WIND?")
    assert parser.feed(crlf("+WIND: 4", "OK")) == [Response("AT+WIND?", ("+WIND: 4",), OK)]
    assert parser.feed(crlf("+WIND: 4")) == [Unsolicited("+WIND: 4")]


@pytest.mark.parametrize(
    ("command", "prefix"),
    [
        ("AT+CMGL=4", "+CMGL:"),
        ("at+csq", "+CSQ:"),
        ("AT+CPMS=?", "+CPMS:"),
        ('AT+CPMS="SM"', "+CPMS:"),
        ("AT^SYSINFO", "^SYSINFO:"),
        ("AT$QCPDPP?", "$QCPDPP:"),
        ("  AT+CREG?\r", "+CREG:"),
        ("ATE0", None),
        ("AT", None),
    ],
)
def test_response_prefix(command: str, prefix: str | None) -> None:
    assert response_prefix(command) == prefix


def test_urc_properties() -> None:
    urc = Unsolicited('+CMTI: "SM",3')
    assert (urc.name, urc.value) == ("+CMTI", '"SM",3')
    assert (Unsolicited("RING").name, Unsolicited("RING").value) == ("RING", "")


# --- Any bytes, any chunking -----------------------------------------------------------------

TOKENS: Final = [
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
    b">",
    b"> ",
    b"OK",
    b"ERROR",
    b"+CME ERROR: 14",
    b"+CMS ERROR: 304",
    b"+CMT: ,35",
    b"+CDS: 24",
    b'+CMTI: "SM",1',
    b"^RSSI:17",
    b"+CMGS: 5",
    b"+CMGL: 1,1,,26",
    CMGS.encode(),
    SUBMIT.encode(),
    b"\x1a",
    b"\x00",
    b"\xff",
    b"\x80",
]
STREAMS: Final = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(TOKENS) | st.binary(max_size=3), max_size=60).map(b"".join),
)
COMMANDS: Final = st.sampled_from([None, Command("AT+CMGL=4"), Command(CMGS, SUBMIT)])


def _cut(data: bytes, points: Sequence[int]) -> list[bytes]:
    cuts = sorted({point % (len(data) + 1) for point in points})
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def _script(command: Command | None, data: bytes) -> list[Step]:
    return [data] if command is None else [command, data]


@given(data=STREAMS, points=st.lists(st.integers(min_value=0, max_value=400)), command=COMMANDS)
def test_any_bytes_any_chunking(data: bytes, points: list[int], command: Command | None) -> None:
    expected, parser = replay(_script(command, data))
    chunked, other = replay(_script(command, data), lambda step: _cut(step, points))
    assert chunked == expected
    assert (other.busy, other.partial_lines) == (parser.busy, parser.partial_lines)
    assert replay(_script(command, data), bytewise)[0] == expected
    # Whatever came before, the parser resynchronises: end the line in progress, give a pending
    # +CMT/+CDS header its "PDU", and the next command gets exactly its reply.
    parser.feed(b"\r\nX\r\n")
    parser.start("AT+CSQ")
    assert parser.feed(crlf("+CSQ: 15,99", "OK")) == [CSQ]


# --- +CUSD: a quoted text with line breaks --------------------------------------------------

# python-gsmmodem test_modem.py records a balance answer printed with its line breaks as they are.
BALANCES: Final = (
    '+CUSD: 2,"You have the following remaining balances:\n0 free minutes\n'
    '20 MORE Weekend minutes ",15'
)


def test_a_ussd_text_with_line_breaks_is_one_urc() -> None:
    for chunks in (whole, bytewise):
        for breaks in ("\n", "\r\n", "\r"):
            stream = b"\r\n" + BALANCES.replace("\n", breaks).encode() + b"\r\n" + crlf("OK")
            assert fed(AtParser(), stream, chunks) == [Unsolicited(BALANCES), Stray("OK")]


def test_a_ussd_text_with_line_breaks_inside_a_reply() -> None:
    menu = '+CUSD: 1,"1. Balance\n2. Bundles",15'
    parser = running(LISTING_COMMAND)
    events = fed(parser, crlf(LISTING[0], menu, *LISTING[1:]))
    assert events == [Unsolicited(menu), LISTING_RESPONSE]


def test_a_ussd_line_whose_quote_never_closes_is_read_as_it_is() -> None:
    # A broken line must not hold back what follows it for ever.
    for chunks in (whole, bytewise):
        events = fed(AtParser(), crlf('+CUSD: 0,"cut off', '+CMTI: "SM",1', "OK"), chunks)
        assert events == [
            Unsolicited('+CUSD: 0,"cut off'),
            Unsolicited('+CMTI: "SM",1'),
            Stray("OK"),
        ]
        events = fed(AtParser(), crlf('+CUSD: 0,"cut off') + b"x" * 1100 + b"\r\n", chunks)
        assert events == [Unsolicited('+CUSD: 0,"cut off'), Unsolicited("x" * 1100)]
