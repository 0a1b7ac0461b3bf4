"""Logging for a daemon: one line per event on stdout (the journal, under systemd).

``text`` is for people (``2026-11-27 08:00:00,123 INFO gateway.dispatcher: SM…: …``); ``json``
is one JSON object per line for log shippers, with the message SID, when the line names one, in
its own field. In both, a traceback stays on its event's line (escaped), so that one event is
always one line and one journal entry.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Final

FORMATS: Final = ("text", "json")
_SID: Final = re.compile(r"\b(?:SM|MM)[0-9a-f]{32}\b")
_TEXT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
        sid = _SID.search(message)
        if sid is not None:
            event["sid"] = sid.group()
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def configure(level: str, form: str = "text") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if form == "json" else OneLineFormatter(_TEXT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
