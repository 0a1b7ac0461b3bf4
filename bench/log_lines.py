"""What a message's log lines cost: the eight INFO lines of a two-part message that is delivered
with status callbacks (accepted, two parts sent, two delivery reports, three callbacks
delivered), made by the gateway's own loggers with the same calls, through the handler ``smsgw
serve`` installs (:func:`gateway.logs.handler`), in text and in JSON, and with ``log_level =
warning``, where the lines are only asked for.

The lines go to /dev/null: this is the CPU the gateway spends on them, not the journal's. Run it
with ``python -m bench.log_lines`` (``make bench`` runs it too).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Final

from bench.harness import Candidate, markdown_table, measure, run_header
from gateway import logs
from gateway.logs import fields

SID: Final = "SM" + "e4c1" * 8
LINES: Final = 8
BATCH: Final = 50  # messages a call: the logger set-up of a call is spread thin
_OUTBOUND = logging.getLogger("gateway.outbound.accept")
_DISPATCHER = logging.getLogger("gateway.outbound.dispatcher")
_INBOUND = logging.getLogger("gateway.inbound.receiver")
_WEBHOOKS = logging.getLogger("gateway.webhooks.sender")


def one_message() -> None:
    """The lines of one message, as the gateway logs them (the arguments already at hand)."""
    _OUTBOUND.info(
        "%s: accepted to %s %s%s",
        SID,
        "+447700900123",
        "from +15550001001, 2 part(s) on alice",
        "",
        extra=fields(sid=SID, status="queued", modem="alice", service=None, parts=2),
    )
    for part in (1, 2):
        _DISPATCHER.info(
            "%s: part %d/%d sent by %s, TP-MR %s",
            SID,
            part,
            2,
            "alice",
            16 + part,
            extra=fields(sid=SID, modem="alice", part=part, parts=2, tp_mr=16 + part),
        )
    for part, status in ((1, None), (2, "delivered")):
        _INBOUND.info(
            "%s: part %s %s (TP-ST 0x%02X%s)%s",
            SID,
            part,
            "delivered",
            0,
            "",
            f"; message {status}" if status else "",
            extra=fields(
                sid=SID, modem="alice", part=part, delivery="delivered", status=status, code=None
            ),
        )
    for status in ("queued", "sent", "delivered"):
        _WEBHOOKS.info(
            "%s: %s delivered to %s (attempt %d)",
            SID,
            f"status callback ({status})",
            "https://example.com:443",
            1,
            extra=fields(
                sid=SID, kind="status", status=status, url="https://example.com:443", attempts=1
            ),
        )


def main() -> None:
    with open(os.devnull, "w", encoding="utf-8") as sink:
        candidates = [
            Candidate("text (log_format = text)", _steady("text", logging.INFO, sink), BATCH),
            Candidate("json (log_format = json)", _steady("json", logging.INFO, sink), BATCH),
            Candidate("log_level = warning", _steady("text", logging.WARNING, sink), BATCH),
        ]
        timings = measure(candidates)
    print("## Log lines: what one message's eight INFO lines cost")
    print()
    print(run_header())
    print()
    rows = [
        [t.name, f"{t.best_us:.1f}", f"{t.median_us:.1f}", f"{t.median_us / LINES:.1f}"]
        for t in timings
    ]
    print(markdown_table(["logging", "µs a message (best)", "median", "µs a line (median)"], rows))


def _steady(form: str, level: int, sink: logs.Stream) -> Callable[[], None]:
    """``one_message`` through a handler made once, as in a running ``serve`` (the root
    logger is switched to it for the call: the candidates are timed interleaved)."""
    root = logging.getLogger()
    handler = logs.handler(form, sink)

    def run() -> None:
        saved = root.handlers[:], root.level
        root.handlers[:] = [handler]
        root.setLevel(level)
        try:
            for _ in range(BATCH):
                one_message()
        finally:
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])

    return run


if __name__ == "__main__":
    main()
