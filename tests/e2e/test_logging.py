"""The log of a real flow, as ``smsgw serve`` writes it: one line per event (a message accepted,
each part sent with its TP-MR and modem, delivered, undelivered, failed, expired, canceled, an
inbound message received, a webhook delivered or given up, the gateway started and stopped),
in text and in JSON, the JSON line carrying the message SID in its own field; and never a
message's text, an auth token or what a webhook URL may hide.

An in-process gateway on the test's clock, driven through the real ``twilio`` client, with a
real webhook receiver; the lines come from the very handlers ``serve`` installs
(:func:`gateway.logs.handler`), and every wait is for a line to be written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from drivers.simulated.network import Fate, HandsetRule
from gateway import logs
from gateway.config import NumberConfig
from tests.e2e.rig import HANDSET, HANDSET_2, Rig
from tests.e2e.test_conformance import LATER, SERVICE, conformance
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB
from tests.gateway.webhook_receiver import Answer, Receiver

REJECTING: Final = "+447700900789"  # the network refuses messages to it: +CMS ERROR: 21
SECRET: Final = "the text is nobody's business"
URL_SECRET: Final = "s3cret"  # in webhook URLs' query strings
WAIT: Final = 10.0


class Journal:
    """A stream the log handlers write to: its lines, and a wait for the one to come."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial = ""
        self._loop = asyncio.get_running_loop()
        self._written = asyncio.Event()

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        self.lines += complete
        self._loop.call_soon_threadsafe(self._written.set)  # any thread may log
        return len(text)

    def flush(self) -> None:
        pass

    async def line(self, pattern: str) -> str:
        """The one line that matches ``pattern`` (a regular expression), once written."""
        async with asyncio.timeout(WAIT):
            while not (found := [line for line in self.lines if re.search(pattern, line)]):
                self._written.clear()
                await self._written.wait()
        assert len(found) == 1, found
        return found[0]


class Log:
    """The gateway's lines as ``serve`` writes them, in text and in JSON at once."""

    def __init__(self) -> None:
        self.text = Journal()
        self.json = Journal()

    async def event(
        self, logger: str, pattern: str, sid: str | None, level: str = "INFO"
    ) -> dict[str, Any]:
        """The event's one text line (``<level> <logger>: <pattern>``) and its JSON twin: one
        object, the same message, the SID in its own field. Returns the JSON object."""
        line = await self.text.line(rf" {level} {re.escape(logger)}: {pattern}$")
        message = line.split(f" {logger}: ", 1)[1]
        twin = await self.json.line(re.escape(json.dumps(message, ensure_ascii=False)))
        event: dict[str, Any] = json.loads(twin)
        assert (event["level"], event["logger"]) == (level.lower(), logger)
        assert event["message"] == message
        assert event.get("sid") == sid, event
        return event

    def ours(self) -> list[str]:
        """The gateway's own lines (the twilio client used by the test logs too)."""
        text = [line for line in self.text.lines if re.search(r" [A-Z]+ (gateway|drivers)\.", line)]
        ours = [
            line for line in self.json.lines if json.loads(line)["logger"] != "twilio.http_client"
        ]
        return text + ours

    @contextmanager
    def capturing(self) -> Iterator[None]:
        root = logging.getLogger()
        handlers = [logs.handler("text", self.text), logs.handler("json", self.json)]
        level = root.level
        root.setLevel(logging.INFO)  # serve's default log_level
        for handler in handlers:
            root.addHandler(handler)
        try:
            yield
        finally:
            for handler in handlers:
                root.removeHandler(handler)
            root.setLevel(level)


async def test_every_event_is_one_line_with_its_sid(tmp_path: Path) -> None:
    log = Log()
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/down"] = Answer(500, "down", "text/plain")
    status_url = receiver.url(f"/status?token={URL_SECRET}")
    number = NumberConfig(BOB, sms_url=receiver.url(f"/sms?token={URL_SECRET}"))
    to = f"http://127.0.0.1:{receiver.port}"  # where webhooks go, as lines say it
    try:
        with log.capturing():
            async with conformance(
                tmp_path, "sync", receiver=receiver, numbers=(number,), webhook_attempts=1
            ) as rig:
                base_url = rig.gateway.base_url
                await log.event(
                    "gateway.runtime",
                    f"started: listening on {re.escape(base_url)}, modems alice, bob, carol",
                    None,
                )
                rig.network.set_rule(HANDSET, HandsetRule(Fate.DELIVERED))
                rig.network.set_rule(HANDSET_2, HandsetRule(Fate.UNDELIVERED, status=0x41))
                rig.network.set_rule(REJECTING, HandsetRule(Fate.REJECTED, cms_error=21))
                await _delivered(rig, log, status_url, to)
                await _undelivered_and_failed(rig, log, to)
                await _received(rig, log, to)
                await _canceled_and_expired(rig, log)
        await log.event("gateway.runtime", "stopping", None)
        await log.event("gateway.runtime", "stopped", None)
    finally:
        await receiver.stop()
    for line in log.ours():
        assert "nobody's business" not in line and URL_SECRET not in line
        assert ACCOUNT.auth_token not in line


async def _delivered(rig: Rig, log: Log, status_url: str, to: str) -> None:
    """Sent in two parts, each delivered; each status callback delivered."""
    sid = (
        await rig.create(to=HANDSET, from_=ALICE, body=SECRET * 6, status_callback=status_url)
    ).sid
    event = await log.event(
        "gateway.outbound.accept",
        rf"{sid}: accepted to \{HANDSET} from \{ALICE}, 2 part\(s\) on alice",
        sid,
    )
    assert (event["modem"], event["parts"], event["status"]) == ("alice", 2, "queued")
    for part in (1, 2):
        event = await log.event(
            "gateway.outbound.dispatcher", rf"{sid}: part {part}/2 sent by alice, TP-MR \d+", sid
        )
        assert (event["modem"], event["part"], event["parts"]) == ("alice", part, 2)
        assert isinstance(event["tp_mr"], int)
    await log.event("gateway.inbound.receiver", rf"{sid}: part 1 delivered \(TP-ST 0x00\)", sid)
    event = await log.event(
        "gateway.inbound.receiver",
        rf"{sid}: part 2 delivered \(TP-ST 0x00\); message delivered",
        sid,
    )
    assert (event["delivery"], event["status"], event["modem"]) == ("delivered",) * 2 + ("alice",)
    for status in ("queued", "sent", "delivered"):
        event = await log.event(
            "gateway.webhooks.sender",
            rf"{sid}: status callback \({status}\) delivered to {to} \(attempt 1\)",
            sid,
        )
        assert (event["kind"], event["status"], event["url"]) == ("status", status, to)


async def _undelivered_and_failed(rig: Rig, log: Log, to: str) -> None:
    """Undelivered with Twilio's code (accepted with its recipient masked, as it asked);
    refused by the network, failed with its code, its callbacks' receiver down."""
    sid = (
        await rig.create(to=HANDSET_2, from_=ALICE, body=SECRET, address_retention="obfuscate")
    ).sid
    await log.event(
        "gateway.outbound.accept",
        rf"{sid}: accepted to \+4477XXXXXX56 from \{ALICE}, 1 part\(s\) on alice",
        sid,
    )
    event = await log.event(
        "gateway.inbound.receiver",
        rf"{sid}: part 1 undelivered \(TP-ST 0x41, error 30006\); message undelivered",
        sid,
    )
    assert (event["status"], event["code"]) == ("undelivered", 30006)

    down = rig.receiver.url("/down")
    sid = (await rig.create(to=REJECTING, from_=ALICE, body=SECRET, status_callback=down)).sid
    event = await log.event("gateway.outbound.dispatcher", rf"{sid}: failed, error 30007", sid)
    assert (event["status"], event["code"]) == ("failed", 30007)
    for status in ("queued", "failed"):
        event = await log.event(
            "gateway.webhooks.sender",
            rf"{sid}: status callback \({status}\) to {to} given up after 1 attempts: "
            rf"HTTP 500 from {to} \(Twilio error 11200\)",
            sid,
            "ERROR",
        )
        assert (event["code"], event["attempts"], event["status"]) == (11200, 1, status)


async def _received(rig: Rig, log: Log, to: str) -> None:
    rig.network.inject(BOB, HANDSET, SECRET)
    line = await log.text.line(r"gateway.inbound.receiver: SM[0-9a-f]{32}: received from")
    sid = line.split("gateway.inbound.receiver: ")[1][:34]
    event = await log.event(
        "gateway.inbound.receiver",
        rf"{sid}: received from \{HANDSET} to \{BOB}, 1 part\(s\) on bob",
        sid,
    )
    assert (event["modem"], event["parts"]) == ("bob", 1)
    event = await log.event(
        "gateway.webhooks.sender", rf"{sid}: inbound webhook delivered to {to} \(attempt 1\)", sid
    )
    assert (event["kind"], event["url"]) == ("inbound", to)


async def _canceled_and_expired(rig: Rig, log: Log) -> None:
    sid = (
        await rig.create(
            to=HANDSET,
            messaging_service_sid=SERVICE,
            body=SECRET,
            schedule_type="fixed",
            send_at=LATER,
        )
    ).sid
    at = re.escape(LATER.replace(microsecond=0).isoformat())  # SendAt is in seconds
    event = await log.event(
        "gateway.outbound.accept",
        rf"{sid}: accepted to \{HANDSET} for {SERVICE}, to go at {at}",
        sid,
    )
    assert (event["service"], event["status"]) == (SERVICE, "scheduled")
    await rig.call(rig.messages(sid), "update", status="canceled")
    await log.event("gateway.outbound.accept", rf"{sid}: canceled", sid)

    rig.alice.stall()  # nothing leaves alice until she resumes
    sid = (await rig.create(to=HANDSET, from_=ALICE, body=SECRET, validity_period=60)).sid
    rig.clock.advance(61)
    assert await rig.gateway.dispatcher.expire_due() == 1
    event = await log.event(
        "gateway.outbound.dispatcher",
        rf"{sid}: not sent within its validity period; failed \(30036\)",
        sid,
        "WARNING",
    )
    assert (event["status"], event["code"]) == ("failed", 30036)
    rig.alice.resume()
