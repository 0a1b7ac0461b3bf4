"""Restart safety: ``kill -9`` the gateway between the parts of a long message, while the modem
waits for a PDU after its prompt, or at moments of a steady load chosen from a seed; start it
again, and the simulated modem (its own process, on a real pty or over TCP) sees every part
once, but the one on the air at a kill; a status report committed and never acknowledged
before a kill is delivered again by the network and applied once."""

from __future__ import annotations

import os
import random
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest

from bench.simulator_control import MOMENTS, await_moment, counts, prepare_moment
from tests.e2e.served import (
    WAIT,
    GatewayToml,
    TomlValue,
    fetch,
    free_port,
    listed,
    parts_sent,
    process,
    until,
)
from tests.gateway.gateway_rig import ACCOUNT, basic_auth
from tests.gateway.webhook_receiver import Receiver

SIM_NUMBER = "+15550001001"


def write_config(
    tmp_path: Path,
    api: int,
    port: str,
    driver: str = "serial",
    *,
    sms_url: str | None = None,
    **modem: TomlValue,
) -> Path:
    """The gateway's configuration, written: its data in ``tmp_path / "data"``, one modem,
    ``sim`` (``port``, and ``modem``'s more keys), for SIM_NUMBER, whose inbound webhooks go
    to ``sms_url`` if given."""
    toml = GatewayToml(f"127.0.0.1:{api}", tmp_path / "data")
    toml.modem("sim", driver, [SIM_NUMBER], port=port, **modem)
    if sms_url is not None:
        toml.number(SIM_NUMBER, sms_url=sms_url)
    return toml.write(tmp_path / "gateway.toml")


async def status(http: aiohttp.ClientSession, sid: str) -> str:
    return str((await fetch(http, sid))["status"])


async def inbound_messages(http: aiohttp.ClientSession) -> list[tuple[str, str, str, int]]:
    """SID, status, body and num_segments of each inbound message, as the API lists them."""
    return [
        (m["sid"], m["status"], m["body"], int(m["num_segments"]))
        for m in await listed(http)
        if m["direction"] == "inbound"
    ]


async def modem_states(http: aiohttp.ClientSession) -> list[str]:
    async with http.get("/smsgw/modems.json") as reply:
        return [modem["state"] for modem in await reply.json()]


async def api_state(http: aiohttp.ClientSession) -> tuple[dict[str, str], list[str]]:
    """Outbound statuses by SID, and the bodies of the inbound messages received (not those
    still ``receiving`` their parts), as the API lists them."""
    messages = await listed(http)
    outbound = {m["sid"]: m["status"] for m in messages if m["direction"] != "inbound"}
    received = [m for m in messages if m["direction"] == "inbound" and m["status"] == "received"]
    return outbound, [m["body"] for m in received]


async def test_kill_9_between_parts_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    device, control, api = tmp_path / "ttySIM0", free_port(), free_port()
    # A second between parts: the kill lands in that gap.
    configuration = write_config(tmp_path, api, str(device), send_rate=1.0)
    body = "Every part exactly once, whatever happens to the gateway. " * 7  # 3 parts
    simulator = ("simulate", "--pty", str(device), "--number", SIM_NUMBER)
    async with (
        process(*simulator, "--control", f"127.0.0.1:{control}", ready="simulated modem"),
        aiohttp.ClientSession(f"http://127.0.0.1:{control}") as sim,
    ):
        serve = ("serve", "--config", str(configuration))
        async with (
            process(*serve, ready="smsgw is listening") as gateway,
            aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
        ):
            reply = await http.post(
                f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json",
                data={"To": "+447700900123", "From": SIM_NUMBER, "Body": body},
            )
            created = await reply.json()
            assert (reply.status, created["num_segments"]) == (201, "3")
            await (await sim.get("/submissions", params={"wait": "1"})).json()
            # The first part committed as sent (the gateway counts a part once committed).
            await until(lambda: parts_sent(f"http://127.0.0.1:{api}", "sim"), lambda n: n == 1)
            assert await status(http, created["sid"]) == "sending"
            gateway.send_signal(signal.SIGKILL)  # no shutdown, no flush: a power cut
            await gateway.wait()

        async with (
            process(*serve, ready="smsgw is listening"),
            aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
        ):
            submissions = await (await sim.get("/submissions", params={"wait": "3"})).json()
            # Every part's report matched, the first one's from before the kill too.
            await until(lambda: status(http, created["sid"]), lambda now: now == "delivered")
            fetched = await fetch(http, created["sid"])

    sequences = sorted(item["concatenation"][0] for item in submissions)
    assert sequences == [1, 2, 3], submissions  # each part once: none lost, none repeated
    assert {item["concatenation"][1] for item in submissions} == {3}
    assert fetched["status"] == "delivered"
    assert fetched["date_sent"] is not None


@pytest.mark.parametrize("transport", ["pty", "tcp"])
async def test_kill_9_in_the_prompt_and_the_next_start_gets_the_modem_back(
    tmp_path: Path, transport: str
) -> None:
    """The gateway killed while the modem waits for a PDU after ``AT+CMGS``: the modem, in its
    own process, does not know, and takes every ``AT`` of the next start as PDU digits. The next
    start brings it back to command state (ESC) and sends everything within seconds."""
    control, api = free_port(), free_port()
    if transport == "pty":
        device = str(tmp_path / "ttySIM0")
        where, driver, port = ("--pty", device), "serial", device
    else:
        listen = f"127.0.0.1:{free_port()}"
        where, driver, port = ("--tcp", listen), "tcp", f"tcp://{listen}"
    configuration = write_config(tmp_path, api, port, driver)
    serve = ("serve", "--config", str(configuration))
    messages = {"+447700900101": "held in the prompt", "+447700900102": "and then " * 20}
    async with (
        process("simulate", *where, "--control", f"127.0.0.1:{control}", ready="simulated modem"),
        aiohttp.ClientSession(f"http://127.0.0.1:{control}") as sim,
    ):
        await sim.post("/hold-prompt")  # the next AT+CMGS gets no "> " until released
        async with (
            process(*serve, ready="smsgw is listening") as gateway,
            aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
        ):
            for to, body in messages.items():
                reply = await http.post(
                    f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json",
                    data={"To": to, "From": SIM_NUMBER, "Body": body},
                )
                assert reply.status == 201
            state = await (await sim.get("/state", params={"until": "prompt_held"})).json()
            assert (state["data_mode"], state["prompt_held"]) == (True, True)
            gateway.send_signal(signal.SIGKILL)  # the host dies in the prompt
            await gateway.wait()
        assert (await (await sim.get("/state")).json())["data_mode"]  # the modem waits still

        async with (
            process(*serve, ready="smsgw is listening"),
            aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
        ):
            submissions = await (await sim.get("/submissions", params={"wait": "3"})).json()
            assert len(submissions) == 3, "the modem was not brought back from the prompt"
            outbound, _ = await until(
                lambda: api_state(http), lambda state: set(state[0].values()) == {"delivered"}
            )
            health = await http.get("/healthz")
            assert health.status == 200, await health.text()
        state = await (await sim.get("/state")).json()

    assert not state["data_mode"]
    # The held part's PDU was never written (the next start aborted it with ESC): every part
    # went once.
    parts = sorted((item["to"], (item["concatenation"] or [1])[0]) for item in submissions)
    assert parts == [("+447700900101", 1), ("+447700900102", 1), ("+447700900102", 2)]
    assert len(outbound) == len(messages)


async def test_kill_9_between_received_parts_makes_one_message(tmp_path: Path) -> None:
    """Killed between the parts of a long message, while it is ``receiving`` (the seed: "The
    inbound message has been received by Twilio and is currently being processed"): the next
    start finds part 2 on the SIM and makes the same message (its SID) ``received``; one
    message, one webhook."""
    device, control, api = tmp_path / "ttySIM0", free_port(), free_port()
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    configuration = write_config(tmp_path, api, str(device), sms_url=receiver.url())
    body = "Two parts, a power cut between them, and still one message. " * 4
    part = {"from": "+447700900123", "text": body, "reference": 123}
    simulator = ("simulate", "--pty", str(device), "--number", SIM_NUMBER)
    serve = ("serve", "--config", str(configuration))
    try:
        async with (
            process(*simulator, "--control", f"127.0.0.1:{control}", ready="simulated modem"),
            aiohttp.ClientSession(f"http://127.0.0.1:{control}") as sim,
        ):
            async with (
                process(*serve, ready="smsgw is listening") as gateway,
                aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
            ):
                await sim.post("/inject", json={**part, "order": [1]})
                shown = await until(lambda: inbound_messages(http), bool)
                gateway.send_signal(signal.SIGKILL)
                await gateway.wait()
            ((sid, status, text, segments),) = shown
            assert (status, text, segments) == ("receiving", body[:153], 2)
            # Part 2 comes while no gateway runs: the modem stores it and tells nobody.
            await sim.post("/inject", json={**part, "order": [2]})
            async with (
                process(*serve, ready="smsgw is listening"),
                aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
            ):
                (request,) = await receiver.wait(1, timeout=WAIT)
                made = await inbound_messages(http)
    finally:
        await receiver.stop()
    assert request.signed
    assert (request.params["Body"], request.params["NumSegments"]) == (body, "2")
    assert len(receiver.requests) == 1
    assert request.params["MessageSid"] == sid
    assert made == [(sid, "received", body, 2)]


# The kills' order and their k come from this seed; SMSGW_CRASH_SEED=<n> tries another.
CRASH_SEED: Final = int(os.environ.get("SMSGW_CRASH_SEED", "12"))
STEADY_LATENCY: Final = 0.02  # seconds each AT+CMGS takes: a part is on the air a while


def kill_plan(seed: int) -> list[tuple[str, int]]:
    """Every moment once, in a seeded order, each with how far past the last kill it lands."""
    rng = random.Random(seed)
    moments = list(MOMENTS)
    rng.shuffle(moments)
    steps = {"accepted": 6, "cmgs": 6, "cmgl": 3}
    return [(moment, rng.randint(1, steps.get(moment, 1))) for moment in moments]


async def test_kill_9_at_many_points_of_a_steady_load(tmp_path: Path) -> None:
    """Messages sent and received all the time, the gateway killed at five moments of the
    modem's (:data:`MOMENTS`, in a seeded order) and started again: in the end nothing
    accepted is lost, every part went, none twice but the one on the air at each kill, every
    inbound message was made once, and a webhook went again only if its delivery had not been
    confirmed."""
    plan = kill_plan(CRASH_SEED)
    print(f"SMSGW_CRASH_SEED={CRASH_SEED}: kills at {plan}")  # shown when the test fails
    context = f"seed {CRASH_SEED}, kills at {plan}"
    device, control, api = tmp_path / "ttySIM0", free_port(), free_port()
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    configuration = write_config(tmp_path, api, str(device), sms_url=receiver.url())
    # Reports stored (+CDSI) and listed with AT+CMGL, as the "cmgl" moment counts on (a routed
    # +CDS, acknowledged after its commit, has no read to be killed at).
    simulator = (
        "simulate",
        "--pty",
        str(device),
        "--number",
        SIM_NUMBER,
        "--personality",
        "stored",
    )
    serve = ("serve", "--config", str(configuration))
    created: dict[str, tuple[str, int]] = {}  # SID -> (recipient, parts): one recipient each
    injected: list[str] = []
    try:
        async with (
            process(*simulator, "--control", f"127.0.0.1:{control}", ready="simulated modem"),
            aiohttp.ClientSession(f"http://127.0.0.1:{control}") as sim,
        ):
            await sim.post("/latency", json={"seconds": STEADY_LATENCY})
            for round_number, (moment, step) in enumerate(plan):
                target = (await counts(sim)).get(moment, 0) + step
                await prepare_moment(sim, moment)
                async with (
                    process(*serve, ready="smsgw is listening") as gateway,
                    aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
                ):
                    for n in range(6):
                        body = f"round {round_number} message {n} " + ("long " * 40) * (n % 2)
                        to = f"+447700900{round_number}{n:02d}"
                        reply = await http.post(
                            f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json",
                            data={"To": to, "From": SIM_NUMBER, "Body": body},
                        )
                        assert reply.status == 201  # committed: it must survive every kill
                        created[(await reply.json())["sid"]] = (to, 1 + n % 2)
                    for n in range(3):
                        text = f"inbound {round_number}.{n} " + ("part " * 40) * (n % 2)
                        await sim.post("/inject", json={"from": "+447700900999", "text": text})
                        injected.append(text)
                    await await_moment(sim, moment, target)
                    gateway.send_signal(signal.SIGKILL)  # right there
                    await gateway.wait()
                await sim.post("/latency", json={"seconds": STEADY_LATENCY})
            async with (
                process(*serve, ready="smsgw is listening") as gateway,
                aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
            ):

                def settled(state: tuple[dict[str, str], list[str]]) -> bool:
                    outbound, inbound = state
                    done = all(s in ("sent", "delivered") for s in outbound.values())
                    return len(outbound) == len(created) and done and len(inbound) >= len(injected)

                await until(lambda: api_state(http), settled, WAIT * 2)
                await receiver.wait(len(injected), timeout=WAIT)
                outbound, inbound = await api_state(http)
                made = await inbound_messages(http)
                gateway.send_signal(signal.SIGTERM)
                assert await gateway.wait() == 0
            submissions = await (await sim.get("/submissions")).json()
    finally:
        await receiver.stop()

    assert set(outbound) == set(created), context  # nothing accepted was lost
    parts: dict[tuple[str, int], int] = {}
    for item in submissions:
        sequence = item["concatenation"][0] if item["concatenation"] else 1
        key = (item["to"], sequence)
        parts[key] = parts.get(key, 0) + 1
    expected = {
        (to, sequence) for to, total in created.values() for sequence in range(1, total + 1)
    }
    assert set(parts) == expected, context  # every part went
    repeated = sum(count - 1 for count in parts.values())
    assert repeated <= len(plan), context  # at most the part on the air at each kill went twice
    assert sorted(inbound) == sorted(injected), context  # each inbound message made once
    assert len(made) == len(injected), context  # and none left receiving
    bodies = [request.params["Body"] for request in receiver.requests]
    assert set(bodies) == set(injected), context
    assert len(bodies) - len(injected) <= len(plan), context  # again only if not known delivered


async def test_kill_9_while_a_missed_calls_webhook_is_on_its_way_sends_it_after(
    tmp_path: Path,
) -> None:
    """A call hung up and its webhook (to the number's voice_url) killed in flight: the next
    start sends it again, the same call, as nothing else keeps a call once it is hung up."""
    device, control, api = tmp_path / "ttySIM0", free_port(), free_port()
    receiver = Receiver(ACCOUNT.auth_token, hold={"/voice"})
    await receiver.start()
    toml = GatewayToml(f"127.0.0.1:{api}", tmp_path / "data")
    toml.modem("sim", "serial", [SIM_NUMBER], port=str(device))
    toml.number(SIM_NUMBER, voice_url=receiver.url("/voice"))
    serve = ("serve", "--config", str(toml.write(tmp_path / "gateway.toml")))
    simulator = ("simulate", "--pty", str(device), "--number", SIM_NUMBER)
    try:
        async with (
            process(*simulator, "--control", f"127.0.0.1:{control}", ready="simulated modem"),
            aiohttp.ClientSession(f"http://127.0.0.1:{control}") as sim,
        ):
            async with (
                process(*serve, ready="smsgw is listening") as gateway,
                aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
            ):
                await until(lambda: modem_states(http), lambda states: states == ["ready"])
                reply = await sim.post("/call", json={"from": "+447700900123", "interval": 0})
                assert reply.status == 200, await reply.text()
                (first,) = await receiver.wait(1, timeout=WAIT)  # held: no answer yet
                gateway.send_signal(signal.SIGKILL)
                await gateway.wait()
            receiver.release_all()
            async with process(*serve, ready="smsgw is listening"):
                _, again = await receiver.wait(2, timeout=WAIT)
            state = await (await sim.get("/state")).json()
    finally:
        await receiver.stop()
    assert again.signed
    assert again.params == first.params
    assert again.params["CallSid"].startswith("CA")
    assert (again.params["From"], again.params["CallStatus"]) == ("+447700900123", "no-answer")
    assert [call["ended_by"] for call in state["calls_ended"]] == ["ATH"]


def zone_three_hours_before_midnight() -> str:
    """An Etc/GMT zone where it is now 21:xx: its next day starts within the queue limit's
    four hours (a held message is accepted, not refused), and not during the test."""
    offset = (21 - datetime.now(UTC).hour + 12) % 24 - 12  # hours east of UTC, -12 to 11
    return f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-3 is three hours east


async def test_kill_9_keeps_a_message_its_caps_hold_and_what_they_used(tmp_path: Path) -> None:
    """A modem with daily_limit = 1: the second message waits for the next day. Killed, the
    gateway starts with it still queued, still held (the part sent that day still counts),
    and with nothing sent twice."""
    device, control, api = tmp_path / "ttySIM0", free_port(), free_port()
    zone = zone_three_hours_before_midnight()
    configuration = write_config(tmp_path, api, str(device), daily_limit=1, quota_time_zone=zone)
    simulator = ("simulate", "--pty", str(device), "--number", SIM_NUMBER, "--report-delay", "0")
    serve = ("serve", "--config", str(configuration))
    form = {"To": "+447700900123", "From": SIM_NUMBER}
    async with (
        process(*simulator, "--control", f"127.0.0.1:{control}", ready="simulated modem"),
        aiohttp.ClientSession(f"http://127.0.0.1:{control}") as sim,
    ):
        async with (
            process(*serve, ready="smsgw is listening") as gateway,
            aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
        ):
            sids = []
            for body in ("today", "tomorrow"):
                reply = await http.post(
                    f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json", data={**form, "Body": body}
                )
                assert reply.status == 201, (zone, await reply.text())
                sids.append((await reply.json())["sid"])
            await until(lambda: status(http, sids[0]), lambda now: now == "delivered")
            held = await until(lambda: modem_quota(http), lambda day: day["used"] == 1)
            gateway.send_signal(signal.SIGKILL)
            await gateway.wait()

        async with (
            process(*serve, ready="smsgw is listening"),
            aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
        ):
            await until(lambda: modem_states(http), lambda states: states == ["ready"])
            after = await until(lambda: modem_quota(http), bool)
            second = await fetch(http, sids[1])
        submissions = await (await sim.get("/submissions")).json()
    assert after == held  # the part of the day before the kill still counted
    assert (after["used"], after["left"]) == (1, 0)
    assert second["status"] == "queued"
    assert [item["text"] for item in submissions] == ["today"]  # the held one never went


async def modem_quota(http: aiohttp.ClientSession) -> dict[str, Any]:
    """The day's cap of the one modem, as /smsgw/modems.json shows it ({} before it is read)."""
    async with http.get("/smsgw/modems.json") as reply:
        (modem,) = await reply.json()
    return dict((modem["quota"] or {}).get("day") or {})


async def test_kill_9_between_a_reports_commit_and_its_cnma_applies_it_once(
    tmp_path: Path,
) -> None:
    """A routed ``+CDS`` committed, and the gateway killed before its ``AT+CNMA`` reached the
    modem: the network never had its acknowledgement and delivers the report again once the
    next start routes reports (TS 27.005 §3.4.1). It is recognised: one ``delivered``, one
    status callback, and the second delivery acknowledged."""
    device, control, api = tmp_path / "ttySIM0", free_port(), free_port()
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    configuration = write_config(tmp_path, api, str(device))
    simulator = ("simulate", "--pty", str(device), "--number", SIM_NUMBER)
    serve = ("serve", "--config", str(configuration))
    handset = "+447700900123"

    def delivered() -> list[str]:
        """The distinct ``delivered`` callbacks (a retry of one has its idempotency token)."""
        callbacks = [r for r in receiver.requests if r.params.get("MessageStatus") == "delivered"]
        return sorted({r.token for r in callbacks})

    try:
        async with (
            process(*simulator, "--control", f"127.0.0.1:{control}", ready="simulated modem"),
            aiohttp.ClientSession(f"http://127.0.0.1:{control}") as sim,
        ):
            # No report of the network's own, and no timer: the test says when each comes.
            await sim.post("/rule", json={"number": "*", "fate": "no_report"})
            await sim.post("/ack-timeout", json={"seconds": None})
            async with (
                process(*serve, ready="smsgw is listening") as gateway,
                aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
            ):
                reply = await http.post(
                    f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json",
                    data={
                        "To": handset,
                        "From": SIM_NUMBER,
                        "Body": "reported once",
                        "StatusCallback": receiver.url("/status"),
                    },
                )
                sid = (await reply.json())["sid"]
                submitted = await sim.get("/submissions", params={"wait": "1"})
                (submission,) = await submitted.json()
                await until(lambda: status(http, sid), lambda now: now == "sent")
                # The modem reads nothing from now on: the AT+CNMA never reaches it.
                await sim.post("/hang")
                report = {"to": handset, "first_reference": submission["reference"], "count": 1}
                await sim.post("/flood", json=report)  # +CDS to the gateway
                await receiver.until(lambda: len(delivered()) == 1, timeout=WAIT)
                assert await status(http, sid) == "delivered"  # committed, not acknowledged
                gateway.send_signal(signal.SIGKILL)
                await gateway.wait()
            state = await (await sim.get("/state")).json()
            assert state["awaiting_ack"] and "AT+CNMA" not in await commands(sim)
            # The network's wait ends: it keeps the report for later (routing off).
            assert await (await sim.post("/miss-ack")).json() == {"missed": True}
            await sim.post("/resume")
            async with (
                process(*serve, ready="smsgw is listening"),
                aiohttp.ClientSession(f"http://127.0.0.1:{api}", headers=basic_auth()) as http,
            ):
                # Routing set again: the report comes again, and is acknowledged.
                await sim.get("/commands", params={"wait": "AT+CNMA", "count": "1"})
                state = await (await sim.get("/state")).json()
                webhooks = await (await http.get("/smsgw/webhooks.json")).json()
                fetched = await fetch(http, sid)
    finally:
        await receiver.stop()
    assert (state["awaiting_ack"], state["routing_disabled"], state["acks_missed"]) == (
        False,
        False,
        1,
    )
    assert fetched["status"] == "delivered"
    assert len(delivered()) == 1  # one status callback, none made by the second delivery
    assert webhooks["pending"] == 0, webhooks


async def commands(sim: aiohttp.ClientSession) -> list[str]:
    """Every command line the simulated modem received so far."""
    reply: list[str] = await (await sim.get("/commands")).json()
    return reply
