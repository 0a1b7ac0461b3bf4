"""Voice calls to a running gateway's simulated modems: hung up at once with the vendor's
command, reported as a missed call to the number's VoiceUrl (signed, checked with twilio's own
RequestValidator, through the durable queue), never in the way of a send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from drivers.simulated import SimulatedModem
from gateway.api.openapi import document
from gateway.config import ModemConfig, NumberConfig
from gateway.domain.models import API_VERSION, Status, is_sid
from tests.e2e.rig import HANDSET, Rig, scrape, started_rig, value
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import ACCOUNT, ALICE, BOB, CAROL, OTHER_ACCOUNT, basic_auth
from tests.gateway.webhook_receiver import Received, Receiver

WAIT = 10.0
GEOGRAPHIC = (
    "FromCity",
    "FromState",
    "FromZip",
    "FromCountry",
    "ToCity",
    "ToState",
    "ToZip",
    "ToCountry",
)


def modems(personality: str = "generic", *, hangup_calls: bool = True) -> tuple[ModemConfig, ...]:
    return (
        ModemConfig("alice", "simulated", (ALICE,)),
        ModemConfig("bob", "simulated", (BOB,), personality=personality, hangup_calls=hangup_calls),
        ModemConfig("carol", "simulated", (CAROL,), account=OTHER_ACCOUNT.sid),
    )


@asynccontextmanager
async def calling(
    tmp_path: Path,
    *,
    receiver: Receiver | None = None,
    voice: dict[str, Any] | None = None,
    personality: str = "generic",
    hangup_calls: bool = True,
    number: str = BOB,
    **changes: Any,
) -> AsyncIterator[Rig]:
    """The e2e rig whose ``number`` reports missed calls to the receiver's ``/voice``
    (``voice``: other voice settings; ``None`` values: none); BOB's modem as ``personality``
    and ``hangup_calls`` say."""
    receiver = receiver or Receiver(ACCOUNT.auth_token)
    if not receiver.listening:
        await receiver.start()  # its URL goes in the configuration
    settings = {"voice_url": receiver.url("/voice"), **(voice or {})}
    numbers = (NumberConfig(number, **settings),)
    configured = modems(personality, hangup_calls=hangup_calls)
    async with started_rig(
        tmp_path, *configured, receiver=receiver, numbers=numbers, **changes
    ) as rig:
        yield rig


async def hung_up(sim: SimulatedModem) -> str | None:
    """How ``sim``'s last call ended, once one has."""
    ended = asyncio.Event()
    sim.calls.observers.append(lambda: ended.set() if sim.calls.ended else None)
    if not sim.calls.ended:
        await asyncio.wait_for(ended.wait(), WAIT)
    return sim.calls.ended[-1].ended_by


async def calls_reported(receiver: Receiver, count: int = 1) -> list[Received]:
    """The missed-call webhooks the receiver got (not a message's status callbacks), once
    ``count`` have come."""

    def reported() -> list[Received]:
        return [request for request in receiver.requests if "CallSid" in request.params]

    await receiver.until(lambda: len(reported()) >= count)
    return reported()


def expect_missed_call(
    request: Received, caller: str = HANDSET, path: str = "/voice", called: str = BOB
) -> None:
    params = request.params
    assert request.signed, "RequestValidator refused X-Twilio-Signature"
    assert (request.method, request.path) == ("POST", path)
    assert request.user_agent.startswith("TwilioProxy/")
    assert is_sid(params["CallSid"], "CA")
    assert params["AccountSid"] == ACCOUNT.sid
    assert (params["From"], params["Caller"]) == (caller, caller)
    assert (params["To"], params["Called"]) == (called, called)
    assert (params["CallStatus"], params["Direction"]) == ("no-answer", "inbound")
    assert params["ApiVersion"] == API_VERSION
    assert all(params[name] == "" for name in GEOGRAPHIC)
    assert "MessageSid" not in params and "Body" not in params


@pytest.mark.parametrize(("personality", "command"), [("generic", "ATH"), ("huawei", "AT+CHUP")])
async def test_a_call_is_hung_up_at_once_and_reported_as_missed(
    tmp_path: Path, personality: str, command: str
) -> None:
    async with calling(tmp_path, personality=personality) as rig:
        rig.bob.calls.incoming(HANDSET, interval=None)
        assert await hung_up(rig.bob) == command  # the vendor's command
        (request,) = await rig.receiver.wait(1)
        expect_missed_call(request)
        assert rig.bob.calls.ended[-1].rings == 1


async def test_a_withheld_number_is_reported_anonymous(tmp_path: Path) -> None:
    async with calling(tmp_path, voice={"voice_method": "GET"}) as rig:
        rig.bob.calls.incoming(HANDSET, withheld=True, interval=None)
        await hung_up(rig.bob)
        (request,) = await rig.receiver.wait(1)
        assert (request.method, request.signed) == ("GET", True)
        assert (request.params["From"], request.params["CallStatus"]) == ("anonymous", "no-answer")


async def test_a_call_left_ringing_is_reported_once_and_never_hung_up(tmp_path: Path) -> None:
    async with calling(tmp_path, hangup_calls=False) as rig:
        rig.bob.calls.incoming(HANDSET, interval=None)
        rig.clock.advance(5)
        rig.bob.calls.ring()
        rig.clock.advance(5)
        rig.bob.calls.ring()
        (request,) = await rig.receiver.wait(1)
        expect_missed_call(request)
        await rig.gateway.calls.settled()
        await rig.statuses.webhook_outcomes(1)
        assert await rig.gateway.store.next_webhook_at() is None  # nothing more to send
        assert rig.bob.calls.current is not None  # still ringing
        assert not {"ATH", "AT+CHUP"} & set(rig.bob.received_commands)
        # The caller gives up; a call later is another call, and another report.
        rig.bob.calls.give_up(no_carrier=True)
        rig.clock.advance(60)
        rig.bob.calls.incoming(HANDSET, interval=None)
        _, again = await rig.receiver.wait(2)
        expect_missed_call(again)
        assert again.params["CallSid"] != request.params["CallSid"]
        # Two calls, however many rings: what /metrics counts.
        families = await scrape(rig.gateway.base_url)
        assert value(families, "smsgw_modem_calls", modem="bob") == 2
        assert value(families, "smsgw_modem_calls", modem="alice") == 0


async def test_a_number_without_a_voice_url_has_its_calls_hung_up_and_nothing_sent(
    tmp_path: Path,
) -> None:
    async with calling(tmp_path, voice={"voice_url": None}) as rig:
        rig.bob.calls.incoming(HANDSET, interval=None)
        assert await hung_up(rig.bob) == "ATH"
        await rig.gateway.calls.settled()
        assert await rig.gateway.store.next_webhook_at() is None
        assert rig.receiver.requests == []


async def until_prompt_held(sim: SimulatedModem) -> None:
    held = asyncio.Event()
    sim.state_observers.append(lambda: held.set() if sim.prompt_held else None)
    if not sim.prompt_held:
        await asyncio.wait_for(held.wait(), WAIT)


async def until_command(sim: SimulatedModem, command: str) -> None:
    came = asyncio.Event()
    sim.command_observers.append(lambda line: came.set() if line == command else None)
    if command not in sim.received_commands:
        await asyncio.wait_for(came.wait(), WAIT)


@pytest.mark.parametrize("modem", ["holds the ring", "prints the ring in the prompt"])
async def test_a_call_during_a_send_waits_for_it_and_never_disturbs_it(
    tmp_path: Path, modem: str
) -> None:
    """The send's ``> `` prompt is held while the call rings: a modem that holds its URCs
    (TS 27.005 §3.4.1) rings once the send is answered; one that prints them in the prompt
    has the gateway hear the call at once, and its hang-up wait for the send's end."""
    async with calling(tmp_path, number=ALICE) as rig:
        alice = rig.alice
        alice.faults.hold_prompt = True
        sid = await rig.send(body="A call must not break me")
        await until_prompt_held(alice)
        if modem == "holds the ring":
            alice.calls.incoming(HANDSET, interval=None)
        else:
            await alice.emit_garbage(
                f'\r\nRING\r\n\r\n+CLIP: "{HANDSET}",145,"",128,"",0\r\n'.encode()
            )
            (request,) = await calls_reported(rig.receiver)  # heard, while the send goes on
            expect_missed_call(request, called=ALICE)
            assert "ATH" not in alice.received_commands  # its turn comes after the send
        assert await alice.release_prompt()
        message = await rig.final(sid)
        assert message.status in (Status.SENT, Status.DELIVERED)  # on the air, intact
        (submitted,) = rig.network.submissions
        assert submitted.submit.text == "A call must not break me"
        await until_command(alice, "ATH")
        commands = alice.received_commands
        assert commands.index("ATH") > next(
            i for i, line in enumerate(commands) if line.startswith("AT+CMGS")
        )
        if modem == "holds the ring":
            assert await hung_up(alice) == "ATH"
            (request,) = await calls_reported(rig.receiver)
            expect_missed_call(request, called=ALICE)


async def test_a_missed_call_webhook_survives_a_restart(tmp_path: Path) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    clock = Clock()
    async with calling(tmp_path, receiver=receiver, clock=clock) as rig:
        await receiver.stop()
        rig.bob.calls.incoming(HANDSET, interval=None)
        await hung_up(rig.bob)
        (error,) = await rig.statuses.webhook_outcomes(1)
        assert error is not None and "Cannot connect" in error
    assert receiver.requests == []
    clock.advance(5)
    async with calling(tmp_path, receiver=receiver, clock=clock):
        (request,) = await receiver.wait(1)
        expect_missed_call(request)


async def test_the_voice_url_is_set_and_shown_over_the_api(tmp_path: Path) -> None:
    async with calling(tmp_path, voice={"voice_url": None}) as rig:
        (bob,) = await rig.call(rig.numbers, "list", phone_number=BOB)
        assert (bob.voice_url, bob.voice_method, bob.voice_fallback_url) == (None, "POST", None)
        await rig.refused(21502, 400, rig.numbers(bob.sid), "update", voice_url="ftp://x")
        await rig.refused(20001, 400, rig.numbers(bob.sid), "update", voice_method="PUT")
        updated = await rig.call(
            rig.numbers(bob.sid),
            "update",
            voice_url=rig.receiver.url("/missed"),
            voice_method="post",
            voice_fallback_url=rig.receiver.url("/fallback"),
            voice_fallback_method="GET",
        )
        assert (updated.voice_url, updated.voice_method) == (rig.receiver.url("/missed"), "POST")
        assert (updated.voice_fallback_url, updated.voice_fallback_method) == (
            rig.receiver.url("/fallback"),
            "GET",
        )
        fetched = await rig.call(rig.numbers(bob.sid), "fetch")
        assert fetched.voice_url == rig.receiver.url("/missed")
        rig.bob.calls.incoming(HANDSET, interval=None)
        (request,) = await rig.receiver.wait(1)
        expect_missed_call(request, path="/missed")
        cleared = await rig.call(rig.numbers(bob.sid), "update", voice_url="")
        assert cleared.voice_url is None


async def test_a_reload_sets_the_voice_url_and_leaves_calls_ringing(tmp_path: Path) -> None:
    """voice_url ([[numbers]]) and hangup_calls ([[modems]]) changed by a reload: the next
    call is reported to the new URL and left ringing."""
    async with calling(tmp_path, voice={"voice_url": None}) as rig:
        gateway = rig.gateway
        config = gateway.config
        numbers = (NumberConfig(BOB, voice_url=rig.receiver.url("/voice")),)
        bob = [replace(m, hangup_calls=False) if m.id == "bob" else m for m in config.modems]
        changes = await gateway.reload(replace(config, numbers=numbers, modems=tuple(bob)))
        assert changes.describe() == (
            f"numbers: {BOB} voice_url set; modems: changed bob (hangup_calls)"
        )
        await asyncio.wait_for(gateway.modems.handles["bob"].ready(), WAIT)
        sim = gateway.modems.simulated["bob"]
        sim.calls.incoming(HANDSET, interval=None)
        (request,) = await calls_reported(rig.receiver)
        expect_missed_call(request)
        await gateway.calls.settled()
        assert sim.calls.current is not None  # still ringing
        assert not {"ATH", "AT+CHUP"} & set(sim.received_commands)


async def test_a_missed_calls_webhook_in_trouble_is_shown_as_documented(tmp_path: Path) -> None:
    """``GET /smsgw/webhooks.json`` lists it with kind "call", which its OpenAPI schema did
    not know ("inbound" and "status" only): an answer off the document."""
    async with calling(tmp_path) as rig:
        await rig.receiver.stop()
        rig.bob.calls.incoming(HANDSET, interval=None)
        (error,) = await rig.statuses.webhook_outcomes(1)
        assert error is not None
        async with (
            aiohttp.ClientSession(headers=basic_auth()) as http,
            http.get(f"{rig.gateway.base_url}/smsgw/webhooks.json") as reply,
        ):
            (trouble,) = (await reply.json())["troubled"]
    schema = document()["components"]["schemas"]["smsgw.webhooks"]
    kinds = schema["properties"]["troubled"]["items"]["properties"]["kind"]["enum"]
    assert (trouble["kind"], trouble["state"]) == ("call", "pending")
    assert trouble["kind"] in kinds
