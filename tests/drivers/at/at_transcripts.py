"""The recorded AT transcripts of ``tests/data/at_transcripts.json``, turned into replayable steps.

A transcript in the corpus is a list of strings in the shape its source keeps them, and the sources
differ (see the file's ``about``):

* python-gsmmodem (``test_modem.py``) lists the host's writes (``AT+CMGR=3\\r``, the PDU and
  Ctrl-Z) among the modem's output; its mock serial port never echoes, so a write becomes
  :meth:`AtParser.start` and is not fed;
* gammu dumps are the modem's own bytes, echo included: an ``AT...`` line is both the command
  being started and its echo, fed to the parser;
* ModemManager and smslib give reply lines without their line ends (CRLF is added to every
  element that does not end a line) and mostly without the command (:data:`MISSING_COMMANDS`)
  or the final ``OK`` (:data:`REPLY_ONLY`), which the replay supplies.

:func:`steps` does that once per vector; :func:`replay` feeds the steps to an :class:`AtParser`
with any chunking, so the reply-parser tests and the framing tests use the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from drivers.at.parse import AtParser, Event, Response, Unsolicited
from drivers.codec.pdu import SubmitOptions, SubmitPart, encode_text

Vector = dict[str, Any]

DATA: Final = Path(__file__).resolve().parents[2] / "data" / "at_transcripts.json"
VECTORS: Final[dict[int, Vector]] = {
    vector["id"]: vector for vector in json.loads(DATA.read_text(encoding="utf-8"))["vectors"]
}

GSMMODEM: Final = "babca/python-gsmmodem:"
MODEMMANAGER: Final = "linux-mobile-broadband/ModemManager:"
SMSLIB: Final = "frontlinesms/smslib:"
GAMMU: Final = "gammu/gammu:"

# python-gsmmodem TestSms.test_sendSmsResponseMixedWithUnsolictedMessages sends its first test
# message ('+0123456789', 'Hello world!', TP-MR 142); vector 37 writes it as "<PDU hex>", "<len>"
# and "<ref>", which the replay fills in with our own encoding of that message.
ZTE_SUBMIT: Final[SubmitPart] = encode_text(
    "+0123456789", "Hello world!", SubmitOptions(message_reference=142)
)[0]
ZTE_REFERENCE: Final = 142
# python-gsmmodem TestSms.test_sendSms_waitForDeliveryReport: '0829200000', 'Test message',
# TP-MR 183, a status report requested. Vector 38 starts at the prompt, after the AT+CMGS write.
REPORT_SUBMIT: Final[SubmitPart] = encode_text(
    "0829200000", "Test message", SubmitOptions(message_reference=183, status_report=True)
)[0]

PLACEHOLDERS: Final[dict[int, dict[str, str]]] = {
    37: {"<len>": str(ZTE_SUBMIT.tpdu_length), "<ref>": str(ZTE_REFERENCE)},
}


@dataclass(frozen=True, slots=True)
class Command:
    """The host starts a command (``AtParser.start``); ``data`` follows its ``>`` prompt."""

    text: str
    data: str | None = None


Step = Command | bytes

# Commands the transcript leaves out, by vector and the index of the element they precede.
MISSING_COMMANDS: Final[dict[int, dict[int, Command]]] = {
    38: {
        0: Command(f"AT+CMGS={REPORT_SUBMIT.tpdu_length}", REPORT_SUBMIT.pdu),
        4: Command("AT+CMGR=3"),  # the test answers the +CDSI: "SM",3 with AT+CMGR=3
    },
    **{vid: {0: Command("AT+CMGL=4")} for vid in (69, 70, 71, 72, 202, 203, 204)},
    **{vid: {0: Command("AT+CMGR=1")} for vid in (73, 74)},
    # smslib CServiceTest.testIsError: two separate replies to AT+CMGS, the PDU already sent.
    205: {0: Command("AT+CMGS=23"), 1: Command("AT+CMGS=23")},
}
# Reply bodies whose source stops before the final result code: the replay adds "OK".
REPLY_ONLY: Final = frozenset({69, 70, 71, 72, 73, 74, 204})

_HOST_DATA: Final = "<PDU hex>"


def _is_command(text: str) -> bool:
    return text.lstrip().upper().startswith("AT")


def _line(text: str) -> bytes:
    # ModemManager and smslib strings are lines without their ends (smslib's "+CMGS:123\rOK"
    # also lost its last one); every other source ends each element itself.
    if not text.endswith(("\r", "\n")):
        text += "\r\n"
    return text.encode("latin-1")


def steps(vector: Vector) -> list[Step]:
    """The host actions and modem bytes of ``vector``, in order."""
    vid = vector["id"]
    from_gsmmodem = vector["source"].startswith(GSMMODEM)
    missing = MISSING_COMMANDS.get(vid, {})
    out: list[Step] = []
    for index, element in enumerate(vector["transcript"]):
        if index in missing:
            out.append(missing[index])
        text = str(element)
        for placeholder, value in PLACEHOLDERS.get(vid, {}).items():
            text = text.replace(placeholder, value)
        if from_gsmmodem and text.startswith(_HOST_DATA):
            continue  # the host writes the PDU after the prompt; the mock port does not echo
        if _is_command(text):
            command = text.strip()
            data = ZTE_SUBMIT.pdu if command.startswith("AT+CMGS=") and vid == 37 else None
            out.append(Command(command, data))
            if from_gsmmodem:
                continue  # a host write, not modem output
        out.append(_line(text))
    if vid in REPLY_ONLY:
        out.append(b"OK\r\n")
    return out


def joined(script: Iterable[Step]) -> list[Step]:
    """``script`` with the modem bytes between two commands joined into one step."""
    out: list[Step] = []
    for step in script:
        if isinstance(step, bytes) and out and isinstance(out[-1], bytes):
            out[-1] += step
        else:
            out.append(step)
    return out


Chunker = Callable[[bytes], Iterable[bytes]]


def whole(data: bytes) -> Iterable[bytes]:
    return (data,)


def bytewise(data: bytes) -> Iterable[bytes]:
    return (data[i : i + 1] for i in range(len(data)))


def replay(
    script: Iterable[Step], chunks: Chunker = whole, parser: AtParser | None = None
) -> tuple[list[Event], AtParser]:
    """Feed ``script`` to ``parser`` (a new one by default), each byte step cut by ``chunks``."""
    parser = parser if parser is not None else AtParser()
    events: list[Event] = []
    for step in script:
        if isinstance(step, Command):
            parser.start(step.text, data=step.data)
        else:
            for chunk in chunks(step):
                events.extend(parser.feed(chunk))
    return events, parser


def responses(events: Iterable[Event]) -> list[Response]:
    return [event for event in events if isinstance(event, Response)]


def unsolicited(events: Iterable[Event]) -> list[Unsolicited]:
    return [event for event in events if isinstance(event, Unsolicited)]


def case_id(vector: Vector) -> str:
    """``"71-modemmanager-pantech"``: the vector, its source and its device, for test ids."""
    source = vector["source"]
    short = next(
        name
        for prefix, name in (
            (GSMMODEM, "gsmmodem"),
            (MODEMMANAGER, "modemmanager"),
            (SMSLIB, "smslib"),
            (GAMMU, "gammu"),
        )
        if source.startswith(prefix)
    )
    device = str(vector["device"]).split("(", 1)[0].strip().lower()
    return f"{vector['id']}-{short}-{re.sub(r'[^a-z0-9]+', '-', device).strip('-')}"
