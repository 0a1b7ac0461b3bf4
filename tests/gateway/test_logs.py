"""Logs: one line per event, in text or JSON, the message SID in its own field."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from gateway.config import parse
from gateway.domain.errors import ConfigError
from gateway.logs import JsonFormatter, OneLineFormatter, fields

SID = "SM" + "0123456789abcdef" * 2


def record(message: str, *args: object, error: bool = False) -> logging.LogRecord:
    exc_info = None
    if error:
        try:
            raise ValueError("line one\nline two")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord(
        "gateway.outbound.dispatcher", logging.WARNING, __file__, 1, message, args, exc_info
    )


def test_json_is_one_object_per_line_with_the_sid() -> None:
    line = JsonFormatter().format(record("%s: giving up after %d attempts", SID, 5, error=True))
    assert "\n" not in line
    event = json.loads(line)
    assert event["message"] == f"{SID}: giving up after 5 attempts"
    assert event["sid"] == SID
    assert (event["level"], event["logger"]) == ("warning", "gateway.outbound.dispatcher")
    assert "ValueError: line one\nline two" in event["exception"]
    assert "sid" not in json.loads(JsonFormatter().format(record("alice: ready")))


def test_an_event_gives_its_own_fields() -> None:
    other = "SM" + "f" * 32
    line = record("%s: reply to %s queued", other, SID)
    line.__dict__.update(fields(sid=SID, modem="alice", code=None, tp_mr=7, message="not this"))
    event = json.loads(JsonFormatter().format(line))
    # The event's SID, not the first one its text names; no field over the line's own.
    assert (event["sid"], event["modem"], event["tp_mr"]) == (SID, "alice", 7)
    assert event["message"] == f"{other}: reply to {SID} queued"
    assert "code" not in event
    text = OneLineFormatter("%(levelname)s %(name)s: %(message)s").format(line)
    assert text == f"WARNING gateway.outbound.dispatcher: {other}: reply to {SID} queued"


def test_text_keeps_a_traceback_on_its_line() -> None:
    formatter = OneLineFormatter("%(levelname)s %(name)s: %(message)s")
    line = formatter.format(record("%s failed", SID, error=True))
    assert "\n" not in line
    assert line.startswith(f"WARNING gateway.outbound.dispatcher: {SID} failed\\nTraceback")


def test_the_format_is_checked_in_the_config() -> None:
    assert parse({"gateway": {"log_format": "JSON"}}).log_format == "json"
    assert parse({}).log_format == "text"
    with pytest.raises(ConfigError, match=r"gateway\.log_format: expected one of text, json"):
        parse({"gateway": {"log_format": "xml"}})
