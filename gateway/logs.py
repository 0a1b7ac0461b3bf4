"""Logging for a daemon: one line per event on stdout (the journal, under systemd).

``text`` is for people (``2026-11-27 08:00:00,123 INFO gateway.outbound.dispatcher: SM…: …``);
``json`` is one JSON object per line for log shippers, with the message SID, when the line names
one, in its own field. In both, a traceback stays on its event's line (escaped), so that one event
is always one line and one journal entry.

An event line gives its fields with ``extra=fields(sid=..., modem=...)``: in JSON each is a key
of its own beside the message (the SID as the event says it, not as found in the text), and the
text line, which says the same in words, is unchanged. A line without them still gets its
``sid`` from the first SID its message names.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Final, Protocol

FORMATS: Final = ("text", "json")
_SID: Final = re.compile(r"\b(?:SM|MM)[0-9a-f]{32}\b")
_TEXT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FIELDS: Final = "smsgw_fields"  # the LogRecord attribute fields() sets


def fields(**values: object) -> dict[str, object]:
    """``extra=`` for an event's log line: ``values`` (those not ``None``) become keys of their
    own in its JSON object (``sid``, ``modem``, ``status``, ``code``...)."""
    return {_FIELDS: {name: value for name, value in values.items() if value is not None}}


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        event: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        given = getattr(record, _FIELDS, None)
        if isinstance(given, dict):
            for name, value in given.items():
                event.setdefault(name, value)  # never over time, level, logger or message
        if "sid" not in event and (sid := _SID.search(message)) is not None:
            event["sid"] = sid.group()
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


class Stream(Protocol):
    """Where lines are written: stdout, or a test's journal."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


def handler(form: str = "text", stream: Stream | None = None) -> logging.Handler:
    """Where the daemon's lines go: one per record, in ``form``, on ``stream`` (stdout)."""
    made = logging.StreamHandler(stream or sys.stdout)
    made.setFormatter(JsonFormatter() if form == "json" else OneLineFormatter(_TEXT))
    return made


def configure(level: str, form: str = "text") -> None:
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler(form))
    root.setLevel(level.upper())
