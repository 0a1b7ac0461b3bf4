"""Sans-IO framing and classification of what a modem says (V.250, TS 27.007, TS 27.005).

:class:`AtParser` is a restartable buffer: feed it bytes in chunks of any size (one byte at a
time works) and it returns events. Every line is classified exactly once:

* the echo of the command (or of the PDU sent after the prompt) is dropped;
* a final result code (``OK``, ``ERROR``, ``+CME ERROR: ...``, ``+CMS ERROR: ...``,
  ``NO CARRIER``, Huawei's ``COMMAND NOT SUPPORT`` ...) ends the command: :class:`Response`;
* the ``>`` prompt of ``AT+CMGS`` is :class:`Prompt` (it has no line terminator);
* an unsolicited result code is :class:`Unsolicited`, even in the middle of a reply, and never
  becomes part of one; ``+CMT`` and ``+CDS`` carry their PDU line with them;
* anything else while a command is in flight is a line of its reply.

Bytes that are not printable ASCII are removed from lines and reported as :class:`Garbage`, so a
burst of noise from a rebooting modem cannot wedge the parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Final


class ResultKind(Enum):
    OK = "OK"
    ERROR = "ERROR"
    CME_ERROR = "+CME ERROR"
    CMS_ERROR = "+CMS ERROR"
    NO_CARRIER = "NO CARRIER"
    NO_DIALTONE = "NO DIALTONE"
    BUSY = "BUSY"
    NO_ANSWER = "NO ANSWER"
    NOT_SUPPORTED = "COMMAND NOT SUPPORT"  # Huawei E1752's non-standard final result


@dataclass(frozen=True, slots=True)
class FinalResult:
    kind: ResultKind
    line: str
    code: int | None = None
    text: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind is ResultKind.OK


@dataclass(frozen=True, slots=True)
class Response:
    """A completed command: its reply lines (echo and URCs removed) and final result."""

    command: str
    lines: tuple[str, ...]
    result: FinalResult


@dataclass(frozen=True, slots=True)
class Prompt:
    """The ``> `` after ``AT+CMGS=<n>``: the modem waits for the PDU and Ctrl-Z."""


@dataclass(frozen=True, slots=True)
class Unsolicited:
    """An unsolicited result code; ``pdu`` is the second line of ``+CMT:`` / ``+CDS:``."""

    line: str
    pdu: str | None = None

    @property
    def name(self) -> str:
        """The part before the first ``:`` (``+CMTI``, ``^RSSI``, ``RING``...)."""
        return self.line.split(":", 1)[0].strip()

    @property
    def value(self) -> str:
        """The part after the first ``:``, stripped ("" when there is none)."""
        _, _, rest = self.line.partition(":")
        return rest.strip()


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that were not printable text, removed from the stream."""

    data: str


@dataclass(frozen=True, slots=True)
class Stray:
    """A final result code that arrived with no command in flight (e.g. after a timeout)."""

    line: str


Event = Response | Prompt | Unsolicited | Garbage | Stray

_SIMPLE_RESULTS: Final = {
    "OK": ResultKind.OK,
    "ERROR": ResultKind.ERROR,
    "NO CARRIER": ResultKind.NO_CARRIER,
    "NO DIALTONE": ResultKind.NO_DIALTONE,
    "BUSY": ResultKind.BUSY,
    "NO ANSWER": ResultKind.NO_ANSWER,
    "COMMAND NOT SUPPORT": ResultKind.NOT_SUPPORTED,
}

# TS 27.007 §9.2 / TS 27.005 §3.2.5 verbose texts (AT+CMEE=2) that the driver acts upon.
_CME_TEXTS: Final = {
    "phone failure": 0,
    "operation not allowed": 3,
    "operation not supported": 4,
    "sim not inserted": 10,
    "sim pin required": 11,
    "sim puk required": 12,
    "sim failure": 13,
    "sim busy": 14,
    "sim wrong": 15,
    "incorrect password": 16,
    "memory full": 20,
    "invalid index": 21,
    "not found": 22,
    "no network service": 30,
    "network timeout": 31,
    "unknown": 100,
}
_CMS_TEXTS: Final = {
    "me failure": 300,
    "operation not allowed": 302,
    "operation not supported": 303,
    "invalid pdu mode parameter": 304,
    "invalid text mode parameter": 305,
    "sim not inserted": 310,
    "sim pin required": 311,
    "sim failure": 313,
    "sim busy": 314,
    "sim wrong": 315,
    "memory failure": 320,
    "invalid memory index": 321,
    "memory full": 322,
    "smsc address unknown": 330,
    "no network service": 331,
    "network timeout": 332,
    "no +cnma acknowledgement expected": 340,
    "unknown error": 500,
}

# Lines that are unsolicited wherever they appear, unless the command in flight asked for them
# (``AT+CREG?`` is answered by ``+CREG: ...``). Sources: TS 27.005 §3.4.1, TS 27.007, and the
# vendor quirks of ../shared/docs/gsm-at-pdu.md §4 (ZTE +Z..., Quectel +Q..., SIMCom boot).
DEFAULT_URC_PREFIXES: Final = (
    "+CMTI:",
    "+CDSI:",
    "+CMT:",
    "+CDS:",
    "+CBM:",
    "+CBMI:",
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+C5GREG:",
    "+CRING:",
    "+CLIP:",
    "+CUSD:",
    "+CIEV:",
    "+CFUN:",
    "+CPIN:",
    "+QIND:",
    "+QUSIM:",
    "+ZDONR:",
    "+ZPASR:",
    "+ZUSIMR:",
    "+ZEND",
    "^",
    "RING",
    "RDY",
    "Call Ready",
    "SMS Ready",
    "SMS DONE",
    "PB DONE",
)

_PDU_MODE_HEADERS: Final = re.compile(r"^\+(CMT: *(\"[^\"]*\"|[^,]*), *\d+|CDS: *\d+)\s*$")
_COMMAND_NAME: Final = re.compile(r"^AT([+^$%*#!][A-Z0-9]+)", re.IGNORECASE)


def parse_final(line: str) -> FinalResult | None:
    """The final result code ``line`` is, if it is one."""
    kind = _SIMPLE_RESULTS.get(line)
    if kind is not None:
        return FinalResult(kind, line)
    for prefix, kind, texts in (
        ("+CME ERROR:", ResultKind.CME_ERROR, _CME_TEXTS),
        ("+CMS ERROR:", ResultKind.CMS_ERROR, _CMS_TEXTS),
    ):
        if line.startswith(prefix):
            value = line[len(prefix) :].strip()
            if value.isdigit():
                return FinalResult(kind, line, int(value), None)
            return FinalResult(kind, line, texts.get(value.lower()), value)
    return None


def response_prefix(command: str) -> str | None:
    """The prefix of a command's own reply lines: ``AT+CMGL=4`` -> ``+CMGL:``."""
    match = _COMMAND_NAME.match(command.strip())
    return match.group(1).upper() + ":" if match else None


_CTRL_Z: Final = "\x1a"
MAX_LINE: Final = 16384  # longer than any reply line (a PDU is at most 2 x 176 hex digits)


def _printable(char: str) -> bool:
    return " " <= char <= "~" or char == "\t"


# Lines whose quoted text may hold line breaks: a USSD answer is free text, and modems print
# its breaks as they are (python-gsmmodem's recorded "+CUSD: 2,"You have the following
# remaining balances:\n0 free minutes...",15"), so such a line ends after its closing quote.
_TEXT_LINES: Final = ("+CUSD:",)
# A USSD string is at most 160 octets (TS 23.038 §6.1.2.3), 320 hex digits: a quote still open
# after this many characters is a broken line, read as one without waiting for more.
_TEXT_MAX: Final = 1024
_BREAKS: Final = re.compile(r"\r\n|\r|\n")


def _open_quote(line: str) -> bool:
    """Whether ``line`` is one of :data:`_TEXT_LINES` with its text not closed yet."""
    return line.lstrip().upper().startswith(_TEXT_LINES) and line.count('"') % 2 == 1


class AtParser:
    """Turns the bytes a modem sends into :data:`Event` objects; never raises on input."""

    def __init__(self, urc_prefixes: Iterable[str] = DEFAULT_URC_PREFIXES) -> None:
        self._urc_prefixes = tuple(urc_prefixes)
        self._buffer = ""
        self._command: str | None = None
        self._echo: str | None = None
        self._prefix: str | None = None
        self._data: str | None = None
        self._expect_prompt = False
        self._lines: list[str] = []
        self._urc_header: str | None = None
        self._abandoned: str | None = None

    @property
    def busy(self) -> bool:
        """Whether a command is in flight."""
        return self._command is not None

    @property
    def partial_lines(self) -> tuple[str, ...]:
        """Reply lines received so far for the command in flight."""
        return tuple(self._lines)

    def add_urc_prefixes(self, prefixes: Iterable[str]) -> None:
        self._urc_prefixes += tuple(p for p in prefixes if p not in self._urc_prefixes)

    def known_urc(self, line: str) -> bool:
        """Whether ``line`` starts like an unsolicited result code this parser knows."""
        return line.startswith(self._urc_prefixes)

    def discard(self) -> None:
        """Forget everything: the command in flight, a late reply expected, a ``+CMT`` header
        waiting for its PDU, and a partial line. The next byte starts afresh."""
        self.cancel()
        self._abandoned = None
        self._urc_header = None
        self._buffer = ""

    def start(self, command: str, *, data: str | None = None) -> None:
        """A command is about to be written. ``data`` is what follows its ``>`` prompt."""
        self._abandoned = None
        self._command = command
        self._echo = command.strip().upper()
        self._prefix = response_prefix(command)
        self._data = data
        self._expect_prompt = data is not None
        self._lines = []

    def sending(self, data: str) -> None:
        """The data written after the prompt is ``data`` (when :meth:`start` could not know it
        yet): its echo is not a reply line."""
        self._data = data

    def cancel(self, *, abandon: bool = False) -> None:
        """Forget the command in flight.

        With ``abandon`` (it timed out), its late reply lines and final result, should they
        still come before the next command starts, are reported as :class:`Stray`, not as
        unsolicited codes: a late ``+CREG: 0,1`` is not the URC ``+CREG: 0``.
        """
        self._abandoned = self._prefix if abandon and self._command else None
        self._command = self._echo = self._prefix = self._data = None
        self._expect_prompt = False
        self._lines = []

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data.decode("latin-1")
        events: list[Event] = []
        while True:
            buffer = self._buffer.lstrip("\r\n")
            if self._expect_prompt and self._take_prompt(buffer, events):
                continue
            ends = [index for index in (buffer.find("\r"), buffer.find("\n")) if index >= 0]
            if not ends:
                if len(buffer) > MAX_LINE:
                    # No modem sends such a line: it is noise, and must not grow forever.
                    events.append(Garbage(buffer))
                    buffer = ""
                self._buffer = buffer
                return events
            end = min(ends)
            if _open_quote(buffer[:end]):
                end = self._quoted_end(buffer, end)
                if end < 0:
                    self._buffer = buffer  # the rest of the text is still to come
                    return events
                self._buffer = buffer[end:]
                self._line(buffer[:end], events, keep_breaks=True)
                continue
            self._buffer = buffer[end:]
            self._line(buffer[:end], events)

    def _take_prompt(self, buffer: str, events: list[Event]) -> bool:
        """Consume ``> `` (TS 27.005 §3.5.1: "<CR><LF><greater_than><space>", no line end),
        also after line ends or noise bytes, which are reported as garbage."""
        start = 0
        while start < len(buffer) and (buffer[start] in "\r\n" or not _printable(buffer[start])):
            start += 1
        if not buffer.startswith(">", start):
            return False
        noise = "".join(char for char in buffer[:start] if char not in "\r\n")
        if noise:
            events.append(Garbage(noise))
        self._expect_prompt = False
        start += 2 if buffer.startswith("> ", start) else 1
        self._buffer = buffer[start:]
        events.append(Prompt())
        return True

    def _quoted_end(self, buffer: str, start: int) -> int:
        """Where the line whose quoted text goes on at ``start`` ends: the first line end
        after the closing quote; -1 while that has not come. A line is broken (it ends at
        ``start``, as it is) when what follows it is a final result code or a known URC, or
        no quote closes it within :data:`_TEXT_MAX` characters: what comes after it must not
        be held back."""
        closing = buffer.find('"', start, start + _TEXT_MAX)
        pieces = _BREAKS.split(buffer[start : len(buffer) if closing < 0 else closing])[1:]
        if closing < 0:
            pieces = pieces[:-1]  # the last may be incomplete
        if any(parse_final(piece.strip()) or self.known_urc(piece.strip()) for piece in pieces):
            return start
        if closing < 0:
            return -1 if len(buffer) - start <= _TEXT_MAX else start
        found = [i for i in (buffer.find("\r", closing), buffer.find("\n", closing)) if i >= 0]
        return min(found) if found else -1

    def _line(self, raw: str, events: list[Event], *, keep_breaks: bool = False) -> None:
        raw = raw.replace(_CTRL_Z, "")  # the echo of the PDU ends with the Ctrl-Z we sent
        if keep_breaks:  # a line break inside a quoted text is the text's: one LF each
            raw = raw.replace("\r\n", "\n").replace("\r", "\n")
        kept = (lambda char: _printable(char) or char == "\n") if keep_breaks else _printable
        if all(kept(char) for char in raw):
            line = raw.strip()
        else:
            events.append(Garbage("".join(c for c in raw if not kept(c))))
            line = "".join(c for c in raw if kept(c)).strip()
        if not line:
            return
        if self._urc_header is not None:
            header, self._urc_header = self._urc_header, None
            events.append(Unsolicited(header, line))
            return
        if self._command is None:
            self._idle_line(line, events)
        else:
            self._command_line(line, events)

    def _idle_line(self, line: str, events: list[Event]) -> None:
        if parse_final(line) is not None:
            self._abandoned = None
            events.append(Stray(line))
        elif self._abandoned is not None and line.upper().startswith(self._abandoned):
            events.append(Stray(line))
        elif _PDU_MODE_HEADERS.match(line):
            self._urc_header = line
        else:
            events.append(Unsolicited(line))

    def _command_line(self, line: str, events: list[Event]) -> None:
        upper = line.upper()
        if upper == self._echo or (self._data is not None and line == self._data):
            return
        result = parse_final(line)
        if result is not None:
            assert self._command is not None
            events.append(Response(self._command, tuple(self._lines), result))
            self.cancel()
            return
        if self._is_urc(line):
            if _PDU_MODE_HEADERS.match(line):
                self._urc_header = line
            else:
                events.append(Unsolicited(line))
            return
        self._lines.append(line)

    def _is_urc(self, line: str) -> bool:
        if self._prefix is not None and line.upper().startswith(self._prefix):
            return False  # the command's own reply, e.g. +CREG: during AT+CREG?
        return line.startswith(self._urc_prefixes)
