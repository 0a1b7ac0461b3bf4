"""End to end, inbound: a handset texts a simulated modem, the gateway reads, deduplicates and
reassembles what it stores, and a real webhook receiver gets Twilio's request, signed; its
TwiML answer goes back out as an ``outbound-reply``."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from drivers.codec.pdu import Deliver, decode
from drivers.simulated import SimulatedNetwork
from drivers.simulated.pdus import deliver_pdu
from gateway.config import Config, ModemConfig, NumberConfig
from gateway.domain.assembly import received_part
from gateway.domain.models import API_VERSION, Message
from gateway.runtime import Gateway
from gateway.store.sqlite import SqliteStore
from tests.e2e.rig import HANDSET, HANDSET_2, Rig, started_rig
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    Inbox,
    basic_auth,
    config,
    put_on_sim,
    running,
)
from tests.gateway.webhook_receiver import Answer, Received, Receiver

GEOGRAPHIC = ("FromCity", "FromState", "FromZip", "FromCountry", "ToCity", "ToState", "ToZip")


def bob_number(receiver: Receiver, number: dict[str, Any] | None = None) -> NumberConfig:
    """BOB, his webhooks to ``receiver`` (``number``: more of his settings)."""
    return NumberConfig(BOB, sms_url=receiver.url(), **(number or {}))


def inbound_config(
    data_dir: Path, receiver: Receiver, number: dict[str, Any] | None = None, **changes: Any
) -> Config:
    return config(data_dir, numbers=(bob_number(receiver, number),), **changes)


@asynccontextmanager
async def receiving(
    tmp_path: Path,
    *,
    receiver: Receiver | None = None,
    number: dict[str, Any] | None = None,
    **changes: Any,
) -> AsyncIterator[Rig]:
    """The e2e rig whose number BOB posts its webhooks to the receiver (``number``: more of
    BOB's settings)."""
    receiver = receiver or Receiver(ACCOUNT.auth_token)
    if not receiver.listening:
        await receiver.start()  # its URL goes in the configuration
    numbers = (bob_number(receiver, number),)
    async with started_rig(tmp_path, receiver=receiver, numbers=numbers, **changes) as rig:
        yield rig


def expect_twilio_request(request: Received, message: Message, body: str, segments: int) -> None:
    params = request.params
    assert request.signed, "RequestValidator refused X-Twilio-Signature"
    assert (request.method, request.path) == ("POST", "/sms")
    assert request.user_agent.startswith("TwilioProxy/")
    for name in ("MessageSid", "SmsSid", "SmsMessageSid"):
        assert params[name] == message.sid
    assert params["AccountSid"] == ACCOUNT.sid
    assert (params["From"], params["To"], params["Body"]) == (HANDSET, BOB, body)
    assert (params["NumMedia"], params["NumSegments"]) == ("0", str(segments))
    assert (params["SmsStatus"], params["ApiVersion"]) == ("received", API_VERSION)
    assert all(params[name] == "" for name in GEOGRAPHIC)


# --- receiving and reassembly -----------------------------------------------------------------


async def test_a_text_reaches_the_webhook_signed_and_the_api_lists_it(tmp_path: Path) -> None:
    async with receiving(tmp_path) as rig:
        rig.text("Hello gateway")
        (message,) = await rig.inbox.wait()
        (request,) = await rig.receiver.wait()
        expect_twilio_request(request, message, "Hello gateway", 1)

        client = rig.sdk.client
        fetched = await asyncio.to_thread(lambda: client.messages(message.sid).fetch())
        assert (fetched.direction, fetched.status) == ("inbound", "received")
        assert (fetched.from_, fetched.to, fetched.body) == (HANDSET, BOB, "Hello gateway")
        assert (fetched.num_segments, fetched.error_code) == ("1", None)
        assert fetched.date_sent is not None
        listed = await asyncio.to_thread(lambda: client.messages.list(to=BOB))
        assert [item.sid for item in listed] == [message.sid]
        listed = await asyncio.to_thread(lambda: client.messages.list(from_=HANDSET))
        assert [item.sid for item in listed] == [message.sid]
        # Read, committed, then deleted: nothing is left on the SIM.
        await rig.gateway.inbound.settled()
        assert all(not storage.slots for storage in rig.bob.storages.values())


LONG = "Long messages arrive in parts and leave as one. " * 4  # 192 characters: 2 parts
TEN_PARTS = "".join(f"({n:04d}) ten parts, one message. " for n in range(49))  # 1519 chars


@pytest.mark.parametrize(
    ("body", "options", "segments"),
    [
        (LONG, {}, 2),
        (TEN_PARTS, {}, 10),
        (TEN_PARTS, {"order": [10, 3, 1, 9, 2, 8, 4, 7, 5, 6]}, 10),
        (LONG * 2, {"order": [3, 1, 1, 2, 3, 2]}, 3),  # every part twice
        (LONG, {"ref16": True}, 2),
        ("€ {escaped} [chars] | ~ ^ \\ " * 8, {}, 2),
        ("Привет! " * 10 + "😀" + " пока " * 3, {"ucs2": True}, 2),  # 😀 at the boundary
    ],
    ids=["two", "ten", "ten-shuffled", "duplicated", "16-bit-ref", "escapes", "ucs2-emoji"],
)
async def test_parts_make_one_message(
    tmp_path: Path, body: str, options: dict[str, Any], segments: int
) -> None:
    async with receiving(tmp_path) as rig:
        pdus = rig.text(body, **options)
        assert len(pdus) == segments
        (message,) = await rig.last(after=0)
        assert (message.body, message.num_segments, message.error_code) == (body, segments, None)
        (request,) = [r for r in await rig.receiver.wait(2) if r.params["From"] == HANDSET]
        expect_twilio_request(request, message, body, segments)


async def test_parts_through_different_smscs_make_one_message(tmp_path: Path) -> None:
    async with receiving(tmp_path) as rig:
        rig.text(LONG, order=[2], reference=5)
        rig.network.smsc = "+447785016005"  # the sender's network used another centre
        rig.text(LONG, order=[1], reference=5)
        (message,) = await rig.last(after=0)
        assert (message.body, message.num_segments) == (LONG, 2)


def split_pair_pdus(network: SimulatedNetwork, sender: str) -> tuple[str, list[tuple[str, int]]]:
    """Two UCS-2 parts whose boundary falls between the halves of a surrogate pair, as some
    phones send them (gammu#95): 66 units, the emoji's high half | its low half, more text."""
    text = "a" * 66 + "😀" + " and the rest"
    data = text.encode("utf-16-be")
    pdus = []
    for sequence, chunk in enumerate((data[:134], data[134:]), start=1):
        user_data = bytes((5, 0, 3, 0x5A, 2, sequence)) + chunk  # TS 23.040 §9.2.3.24.1
        pdus.append(
            deliver_pdu(
                network.smsc,
                sender,
                network.clock(),
                dcs=0x08,
                user_data_length=len(user_data),
                user_data=user_data,
                udhi=True,
            )
        )
    return text, pdus


async def test_a_surrogate_pair_split_between_parts_is_mended(tmp_path: Path) -> None:
    async with receiving(tmp_path) as rig:
        text, pdus = split_pair_pdus(rig.network, HANDSET)
        for pdu, length in reversed(pdus):
            rig.bob.receive(pdu, length)
        (message,) = await rig.last(after=0)
        assert (message.body, message.num_segments) == (text, 2)


async def test_a_missing_part_gives_30009_after_the_timeout_and_a_late_part_its_own(
    tmp_path: Path,
) -> None:
    async with receiving(tmp_path, reassembly_timeout=600) as rig:
        pdus = rig.text(LONG * 2, order=[1, 3], reference=200)
        assert await rig.last(after=0) == []  # waiting for part 2
        rig.clock.advance(599)
        assert await rig.gateway.inbound.expire_due() == 0
        rig.clock.advance(2)
        assert await rig.gateway.inbound.expire_due() == 1
        assert await rig.gateway.inbound.expire_due() == 0  # made once
        (message,) = rig.inbox.messages[1:]
        text = LONG * 2  # 384 GSM 7-bit characters: parts of 153, 153 and 78
        assert (message.body, message.num_segments) == (text[:153] + text[306:], 2)
        assert (message.error_code, message.error_message) == (30009, "Missing segment")
        requests = [r for r in await rig.receiver.wait(2) if r.params["From"] == HANDSET]
        assert [r.params["NumSegments"] for r in requests] == ["2"]

        # Part 2 turns up after all: it is not dropped, and the message already reported
        # does not change; it comes as a message of its own, marked 30009 too.
        pdu, length = pdus[1]
        rig.bob.receive(pdu, length)
        (late,) = await rig.last(after=2)
        assert (late.num_segments, late.error_code) == (1, 30009)
        assert late.body == text[153:306]
        stored = await rig.gateway.store.get_message(ACCOUNT.sid, message.sid)
        assert stored is not None and stored.body == message.body


THREE_PARTS = LONG * 2  # 384 GSM 7-bit characters: parts of 153, 153 and 78
ANOTHER_LONG = "A later long message, its reference used before. " * 4  # 2 parts


async def test_a_reference_used_again_by_a_later_message_makes_a_message_of_its_own(
    tmp_path: Path,
) -> None:
    """TS 23.040 §9.2.3.24.1: the 8-bit reference is "a modulo 256 counter", so a sender's
    257th long message reuses the first one's (and a phone restarted counts from 0 again).
    The handset sends two long messages one after the other under reference 200: each is
    its own message, whole, without 30009, each with its webhook, and the second one is
    ``receiving`` from its first part (the seed's "received by Twilio and is currently being
    processed") under a SID of its own."""
    async with receiving(tmp_path) as rig:
        client = rig.sdk.client
        rig.text(LONG, reference=200)
        (first,) = await rig.last(after=0)
        rig.clock.advance(60)
        rig.text(ANOTHER_LONG, order=[2], reference=200)
        assert await rig.last(after=2) == []  # after the first sentinel: part 1 still to come
        shown, earlier = await from_handset(client)
        assert (earlier.sid, earlier.status, earlier.body) == (first.sid, "received", LONG)
        assert shown.sid != first.sid
        assert (shown.status, shown.body, shown.num_segments) == (
            "receiving",
            ANOTHER_LONG[153:],
            "2",
        )
        rig.text(ANOTHER_LONG, order=[1], reference=200)
        (second,) = await rig.last(after=3)
        assert (second.sid, second.body, second.num_segments) == (shown.sid, ANOTHER_LONG, 2)
        assert (first.error_code, second.error_code) == (None, None)
        listed = [(m.sid, m.status, m.body) for m in await from_handset(client)]
        assert listed == [(second.sid, "received", ANOTHER_LONG), (first.sid, "received", LONG)]
        requests = [r for r in await rig.receiver.wait(5) if r.params["From"] == HANDSET]
        assert [(r.params["MessageSid"], r.params["Body"]) for r in requests] == [
            (first.sid, LONG),
            (second.sid, ANOTHER_LONG),
        ]


async def fetch(client: Client, sid: str) -> Any:
    return await asyncio.to_thread(lambda: client.messages(sid).fetch())


async def from_handset(client: Client) -> list[Any]:
    """What the Messages list shows of the handset's messages, through the twilio client."""
    return await asyncio.to_thread(lambda: client.messages.list(from_=HANDSET))


async def webhooks_of(rig: Rig, sid: str) -> int:
    """Webhooks the gateway has queued (or sent) for message ``sid``, as its store keeps them."""
    return len((await rig.trail(sid)).webhooks)


def to_the_second(moment: datetime) -> datetime:
    """A moment as the API shows it (RFC 2822: whole seconds)."""
    return moment.replace(microsecond=0)


async def refused(call: Callable[[], Any], code: int, status: int) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(call)
    assert (caught.value.code, caught.value.status) == (code, status), caught.value.msg


async def test_a_long_message_is_receiving_from_its_first_part_and_received_at_its_last(
    tmp_path: Path,
) -> None:
    """The seed: "receiving The inbound message has been received by Twilio and is currently
    being processed." From its first part a long message is a Message resource, fetched and
    listed through the twilio client: ``receiving``, the text of the parts that came (nothing
    for those still missing), ``num_segments`` the total its header announces, no
    ``date_sent`` yet, no webhook yet, and neither deleted nor redacted (20009). Its last part
    makes it ``received`` with the same SID, and its webhook goes once."""
    async with receiving(tmp_path) as rig:
        client = rig.sdk.client
        text, first_seen = THREE_PARTS, to_the_second(rig.clock())
        rig.text(text, order=[1], reference=77)  # parts 2 and 3 held back
        assert await rig.last(after=0) == []  # part 1 handled: nothing received yet
        (listed,) = await from_handset(client)
        sid = listed.sid
        for shown in (listed, await fetch(client, sid)):
            assert (shown.sid, shown.direction, shown.status) == (sid, "inbound", "receiving")
            assert (shown.from_, shown.to, shown.body) == (HANDSET, BOB, text[:153])
            assert (shown.num_segments, shown.num_media) == ("3", "0")
            assert (shown.error_code, shown.error_message, shown.date_sent) == (None, None, None)
            assert shown.date_created == shown.date_updated == first_seen
        assert await webhooks_of(rig, sid) == 0
        await refused(lambda: client.messages(sid).delete(), 20009, 409)
        await refused(lambda: client.messages(sid).update(body=""), 20009, 409)

        rig.clock.advance(5)
        rig.text(text, order=[3], reference=77)
        assert await rig.last(after=1) == []  # after the first sentinel
        shown = await fetch(client, sid)
        assert (shown.status, shown.body, shown.num_segments) == (
            "receiving",
            text[:153] + text[306:],  # parts 1 and 3, in order; part 2 not there yet
            "3",
        )
        assert (shown.date_created, shown.date_updated) == (first_seen, to_the_second(rig.clock()))
        assert [m.sid for m in await from_handset(client)] == [sid]

        rig.clock.advance(5)
        rig.text(text, order=[2], reference=77)
        (message,) = await rig.last(after=2)
        assert (message.sid, message.body, message.num_segments) == (sid, text, 3)
        received = await fetch(client, sid)
        assert (received.status, received.body, received.num_segments) == ("received", text, "3")
        assert (received.error_code, received.date_created) == (None, first_seen)
        assert received.date_sent == received.date_updated == to_the_second(rig.clock())
        assert [m.sid for m in await from_handset(client)] == [sid]
        # Three sentinels and the message: its webhook, once, with its SID.
        (request,) = [r for r in await rig.receiver.wait(4) if r.params["From"] == HANDSET]
        expect_twilio_request(request, message, text, 3)
        assert await webhooks_of(rig, sid) == 1
        assert await asyncio.to_thread(lambda: client.messages(sid).delete()) is True


async def test_a_receiving_message_whose_part_never_comes_is_received_with_30009(
    tmp_path: Path,
) -> None:
    """The seed: "receiving ... is currently being processed"; "30009 Missing segment One or
    more segments associated with your multi-part inbound message was not received." The
    message shown ``receiving`` is the one given up after ``reassembly_timeout`` (the test's
    clock): same SID, ``received``, 30009, made of the parts that came."""
    async with receiving(tmp_path, reassembly_timeout=600) as rig:
        client = rig.sdk.client
        text = THREE_PARTS
        rig.text(text, order=[1, 3], reference=201)
        assert await rig.last(after=0) == []
        (shown,) = await from_handset(client)
        assert (shown.status, shown.body, shown.num_segments) == (
            "receiving",
            text[:153] + text[306:],
            "3",
        )
        rig.clock.advance(599)
        assert await rig.gateway.inbound.expire_due() == 0
        assert (await fetch(client, shown.sid)).status == "receiving"
        rig.clock.advance(2)
        assert await rig.gateway.inbound.expire_due() == 1
        given_up = await fetch(client, shown.sid)
        assert (given_up.status, given_up.body) == ("received", shown.body)
        assert (given_up.error_code, given_up.error_message) == (30009, "Missing segment")
        assert given_up.num_segments == "2"  # the parts it is made of
        assert given_up.date_sent == to_the_second(rig.clock())
        assert [m.sid for m in await from_handset(client)] == [shown.sid]
        (request,) = [r for r in await rig.receiver.wait(2) if r.params["From"] == HANDSET]
        assert (request.params["MessageSid"], request.params["NumSegments"]) == (shown.sid, "2")


async def test_a_single_part_message_is_received_at_once(tmp_path: Path) -> None:
    """A message in one SMS is complete when it comes: never ``receiving``, ``received`` at
    once (the seed's "received On inbound messages only. The inbound message was received by
    one of your Twilio numbers.")."""
    async with receiving(tmp_path) as rig:
        client = rig.sdk.client
        rig.text("all in one")
        (message,) = await rig.inbox.wait()
        assert [(m.sid, m.status) for m in await from_handset(client)] == [
            (message.sid, "received")
        ]
        assert message.date_created == message.date_sent


async def test_the_same_pdu_read_twice_is_one_message(tmp_path: Path) -> None:
    async with receiving(tmp_path) as rig:
        (pdu, length), *_ = rig.network.inbound_pdus(HANDSET, "just once")
        rig.bob.receive(pdu, length)
        rig.bob.receive(pdu, length)  # the network resends it (no RP-ACK seen, say)
        messages = await rig.last(after=0)
        assert [m.body for m in messages] == ["just once"]
        assert rig.gateway.metrics.duplicates == 1


async def test_the_gateway_restarted_between_two_parts_assembles_once(tmp_path: Path) -> None:
    """A restart between the parts: the message shown ``receiving`` (the seed: "received by
    Twilio and is currently being processed") is still there after it, and the part that
    completes it makes it ``received``: the same SID, one message, one webhook."""
    receiver = Receiver(ACCOUNT.auth_token)
    clock = Clock()
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        rig.text(LONG, order=[1], reference=99)
        assert await rig.last(after=0) == []  # part 1 committed (and off the SIM), waiting
        (before,) = await from_handset(rig.sdk.client)
        assert (before.status, before.body, before.num_segments) == ("receiving", LONG[:153], "2")
    # A new process would have a new simulated network; so does this new gateway.
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        client = rig.sdk.client
        shown = await fetch(client, before.sid)
        assert (shown.status, shown.body, shown.date_created) == (
            "receiving",
            LONG[:153],
            before.date_created,
        )
        rig.text(LONG, order=[2], reference=99)
        (message,) = await rig.last(after=0)
        assert (message.body, message.num_segments, message.error_code) == (LONG, 2, None)
        assert message.sid == before.sid
        assert [(m.sid, m.status) for m in await from_handset(client)] == [(before.sid, "received")]
        from_handset_requests = [
            r for r in await rig.receiver.wait(3) if r.params["From"] == HANDSET
        ]
        assert [r.params["Body"] for r in from_handset_requests] == [LONG]
        assert from_handset_requests[0].params["MessageSid"] == before.sid
        assert await webhooks_of(rig, before.sid) == 1


async def test_a_restart_between_the_parts_of_a_reference_used_again_assembles_once(
    tmp_path: Path,
) -> None:
    """The second long message under a reference (TS 23.040 §9.2.3.24.1: "a modulo 256
    counter") is ``receiving`` when the gateway restarts: after it, it is still the seed's
    "received by Twilio and is currently being processed" under its own SID, its last part
    makes it ``received`` with that SID, one webhook, and the first message is untouched."""
    receiver = Receiver(ACCOUNT.auth_token)
    clock = Clock()
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        rig.text(LONG, reference=13)
        (first,) = await rig.last(after=0)
        rig.text(ANOTHER_LONG, order=[1], reference=13)
        assert await rig.last(after=2) == []
        before, _ = await from_handset(rig.sdk.client)
        assert (before.status, before.body) == ("receiving", ANOTHER_LONG[:153])
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        client = rig.sdk.client
        rig.text(ANOTHER_LONG, order=[2], reference=13)
        (second,) = await rig.last(after=0)
        assert (second.sid, second.body, second.error_code) == (before.sid, ANOTHER_LONG, None)
        listed = [(m.sid, m.status, m.body) for m in await from_handset(client)]
        assert listed == [(before.sid, "received", ANOTHER_LONG), (first.sid, "received", LONG)]
        assert await webhooks_of(rig, before.sid) == await webhooks_of(rig, first.sid) == 1


async def test_a_part_committed_before_a_crash_shows_its_message_receiving_at_the_next_start(
    tmp_path: Path,
) -> None:
    """The crash came after part 1's commit, before its message was shown ``receiving``: the
    next start shows it (the seed's "received by Twilio and is currently being processed"),
    once however often it resumes, and part 2 makes it ``received``, one webhook."""
    network = SimulatedNetwork()
    pdus = network.inbound_pdus(HANDSET, LONG, reference=42)
    pdu, length = pdus[0]
    deliver = decode(pdu, length)
    assert isinstance(deliver, Deliver)
    store = SqliteStore(tmp_path / "data")
    await store.open()
    try:
        part = received_part("bob", BOB, deliver, pdu[-2 * length :], Clock()())
        assert await store.add_inbound_part(part)
    finally:
        await store.close()

    async with receiving(tmp_path) as rig:
        client = rig.sdk.client
        await rig.gateway.inbound.resume()  # what the start does (again: it changes nothing)
        (shown,) = await from_handset(client)
        assert (shown.status, shown.body, shown.num_segments) == ("receiving", LONG[:153], "2")
        await rig.gateway.inbound.resume()
        assert [m.sid for m in await from_handset(client)] == [shown.sid]
        rig.bob.receive(*pdus[1])
        (message,) = await rig.last(after=0)
        assert (message.sid, message.body) == (shown.sid, LONG)
        (request,) = [r for r in await rig.receiver.wait(2) if r.params["From"] == HANDSET]
        expect_twilio_request(request, message, LONG, 2)


async def test_messages_already_on_the_sim_are_taken_at_start(tmp_path: Path) -> None:
    network = SimulatedNetwork()
    waiting = network.inbound_pdus(HANDSET, "sent while the gateway was down")
    long_one = network.inbound_pdus(HANDSET, LONG)

    def prepare(gateway: Gateway) -> None:
        sim = gateway.modems.simulated["bob"]
        put_on_sim(sim, waiting, stat=1)  # read already, by some other program
        put_on_sim(sim, long_one[::-1])

    async with receiving(tmp_path, prepare=prepare) as rig:
        messages = await rig.inbox.wait(2)
        assert sorted(m.body for m in messages) == sorted([LONG, "sent while the gateway was down"])
        await rig.gateway.inbound.settled()
        assert not rig.bob.storages["SM"].slots


async def test_a_sweep_frees_a_full_sim_and_the_held_message_comes(tmp_path: Path) -> None:
    def prepare(gateway: Gateway) -> None:
        sim = gateway.modems.simulated["bob"]
        # Where it stores now (power-on settings) and where the gateway will tell it to.
        for storage in {sim.mem[2], "ME"}:
            sim.fill_storage(storage)
        # Full: the network keeps this one until there is room (TS 23.040 memory capacity
        # exceeded) and delivers it once the SIM has room again.
        ((pdu, _),) = gateway.modems.network.inject(BOB, HANDSET, "waited for room")
        assert all(
            s.pdu != pdu for storage in sim.storages.values() for s in storage.slots.values()
        )

    async with receiving(tmp_path, prepare=prepare) as rig:
        (held,) = [m for m in await rig.last(after=0) if m.from_ == HANDSET]
        assert held.body == "waited for room"
        await rig.gateway.inbound.settled()
        assert not any(storage.slots for storage in rig.bob.storages.values())


async def test_the_safety_sweep_finds_what_a_modem_stored_without_a_word(tmp_path: Path) -> None:
    async with receiving(tmp_path, sweep_interval=0.05) as rig:
        # No +CMTI: the SIM got it, the modem said nothing (it happens: field-notes.md).
        put_on_sim(rig.bob, rig.network.inbound_pdus(HANDSET, "found on a sweep"))
        (message,) = await rig.inbox.wait()
        assert message.body == "found on a sweep"


@pytest.mark.parametrize("during", ["AT+CMGL", "AT+CMGD"])
async def test_a_text_announced_during_a_sweep_does_not_wait_for_the_next(
    tmp_path: Path, during: str
) -> None:
    """A text that arrives while a sweep lists (``AT+CMGL``) or deletes (``AT+CMGD``) is
    announced once the command is answered (TS 27.005 §3.4.1 ``AT+CNMI`` <mode> 2: buffered
    while the TA-TE link is reserved, then flushed) and read then, not left on the SIM for the
    next safety sweep: there is none here."""
    texted: list[str] = []

    def prepare(gateway: Gateway) -> None:
        sim = gateway.modems.simulated["bob"]
        network = gateway.modems.network
        put_on_sim(sim, network.inbound_pdus(HANDSET, "on the SIM at start"))  # to sweep

        def text_now(command: str) -> None:
            if command.startswith(during) and not texted:
                texted.append(command)
                network.inject(BOB, HANDSET, "during the sweep")

        sim.command_observers.append(text_now)

    async with receiving(tmp_path, prepare=prepare, sweep_interval=0) as rig:
        messages = await rig.inbox.wait(2)
        assert sorted(m.body for m in messages) == ["during the sweep", "on the SIM at start"]
        assert texted
        await rig.gateway.inbound.settled()
        assert not any(storage.slots for storage in rig.bob.storages.values())


async def test_routed_messages_are_acknowledged_after_the_commit(tmp_path: Path) -> None:
    modems = (
        ModemConfig("alice", "simulated", (ALICE,)),
        ModemConfig("bob", "simulated", (BOB,), personality="routed"),
    )
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    configuration = replace(inbound_config(tmp_path, receiver), modems=modems, accounts=(ACCOUNT,))
    try:
        async with running(configuration, clock=Clock()) as gateway:
            inbox = Inbox(gateway)
            sim = gateway.modems.simulated["bob"]
            committed: list[int] = []  # parts committed when each AT+CNMA came
            sim.command_observers.append(
                lambda command: (
                    committed.append(gateway.metrics.received) if command == "AT+CNMA" else None
                )
            )
            gateway.modems.network.inject(BOB, HANDSET, LONG)  # two +CMT, one at a time
            messages = await inbox.wait(1)
            assert messages[0].body == LONG
            await gateway.inbound.settled()
            # Each +CMT was acknowledged once its part was committed, not before: a crash in
            # between leaves the part with the network, which delivers it again.
            assert committed == [1, 2]
            assert not any(storage.slots for storage in sim.storages.values())
    finally:
        await receiver.stop()


# --- webhook delivery --------------------------------------------------------------------------


async def test_a_receiver_that_is_down_gets_the_webhook_once_it_is_up(tmp_path: Path) -> None:
    async with receiving(tmp_path) as rig:
        await rig.receiver.stop()
        rig.text("are you there?")
        (message,) = await rig.inbox.wait()
        (error,) = await rig.statuses.webhook_outcomes(1)
        assert error is not None and "Cannot connect" in error
        await rig.receiver.start()  # back, on the same port
        rig.clock.advance(4.9)  # the first retry is 5 s after the failure
        rig.gateway.webhooks.wake()
        rig.text("still here", sender=HANDSET_2)  # this one goes at once...
        await rig.receiver.wait(1)
        assert [r.params["Body"] for r in rig.receiver.requests] == ["still here"]
        rig.clock.advance(0.1)  # ...and the first once its retry is due
        rig.gateway.webhooks.wake()
        _, retried = await rig.receiver.wait(2)
        expect_twilio_request(retried, message, "are you there?", 1)
        assert rig.gateway.metrics.webhook_retries == 1


async def test_a_pending_webhook_survives_a_restart(tmp_path: Path) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    clock = Clock()
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        await receiver.stop()
        rig.text("deliver me later")
        (message,) = await rig.inbox.wait()
        await rig.statuses.webhook_outcomes(1)
    assert receiver.requests == []
    clock.advance(5)
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        (request,) = await receiver.wait(1)
        expect_twilio_request(request, message, "deliver me later", 1)
        assert await rig.inbox.wait(0) == []  # nothing was received again


async def test_a_failing_url_falls_back_and_gives_up_visibly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/sms"] = Answer(500, "oops", "text/plain")
    number = {"sms_fallback_url": receiver.url("/fallback"), "sms_fallback_method": "GET"}
    async with receiving(tmp_path, receiver=receiver, number=number) as rig:
        rig.text("primary down")
        (message,) = await rig.inbox.wait()
        primary, fallback = await receiver.wait(2)
        assert (primary.path, fallback.path) == ("/sms", "/fallback")
        assert fallback.method == "GET" and fallback.signed  # parameters in the signed URL
        assert fallback.params["MessageSid"] == message.sid
        # One webhook, one idempotency token: the fallback request carries the primary's.
        assert fallback.token == primary.token and uuid.UUID(primary.token).version == 4
        assert rig.gateway.metrics.webhook_retries == 0

    receiver.answers["/fallback"] = Answer(503, "", "text/plain")
    async with receiving(tmp_path, receiver=receiver, webhook_attempts=2) as rig:
        rig.text("nobody takes this")
        (message,) = await rig.inbox.wait()
        assert (await rig.statuses.webhook_outcomes(1))[0] == f"HTTP 500 from {receiver.url()}"
        rig.clock.advance(5)
        rig.gateway.webhooks.wake()
        await rig.statuses.webhook_outcomes(2)
        assert (rig.gateway.metrics.webhook_retries, rig.gateway.metrics.webhook_give_ups) == (1, 1)
        assert any(
            message.sid in record.message and "given up after 2 attempts" in record.message
            for record in caplog.records
            if record.levelno == logging.ERROR
        )
        rig.clock.advance(3600)
        rig.gateway.webhooks.wake()
        rig.text("next one", sender=HANDSET_2)
        await rig.statuses.webhook_outcomes(3)  # the given-up webhook is not tried again
        assert len(receiver.requests) == 2 + 2 + 1

        # Visible to the user: GET /smsgw/webhooks.json (`smsgw webhooks`).
        async with aiohttp.ClientSession(headers=basic_auth()) as http:
            reply = await http.get(f"{rig.gateway.base_url}/smsgw/webhooks.json")
            states = await reply.json()
        # Given up: this message's. Pending: "next one", failed once. Delivered: the first
        # run's, through its fallback URL.
        assert (states["pending"], states["delivered"], states["failed"]) == (1, 1, 1)
        retrying, given_up = states["troubled"]  # newest first
        assert (given_up["message_sid"], given_up["state"]) == (message.sid, "failed")
        assert (given_up["attempts"], given_up["next_attempt"]) == (2, None)
        assert given_up["last_error"] == f"HTTP 500 from {receiver.url()}"
        assert (retrying["state"], retrying["attempts"]) == ("pending", 1)
        assert retrying["next_attempt"] == (rig.clock.now + timedelta(seconds=5)).isoformat()


async def test_a_get_webhook_carries_its_parameters_in_the_signed_url(tmp_path: Path) -> None:
    async with receiving(tmp_path, number={"sms_method": "GET"}) as rig:
        rig.text("over GET, with & and = and ünïcödé")
        (message,) = await rig.inbox.wait()
        (request,) = await rig.receiver.wait()
        assert request.method == "GET" and request.signed
        assert request.params["Body"] == "over GET, with & and = and ünïcödé"
        assert request.params["MessageSid"] == message.sid


# --- TwiML replies -----------------------------------------------------------------------------


async def test_a_twiml_reply_goes_back_to_the_sender(tmp_path: Path) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/sms"] = Answer(
        body="<?xml version='1.0' encoding='UTF-8'?><Response>"
        '<Message action="/status">Thanks, got it 👍</Message>'
        f'<Message to="{ALICE}"><Body>Someone texted Bob</Body></Message>'
        "</Response>"
    )
    async with receiving(tmp_path, receiver=receiver) as rig:
        submitted = asyncio.Event()
        rig.network.on_submission(
            lambda _: submitted.set() if len(rig.network.submissions) >= 2 else None
        )
        rig.text("Hello Bob")
        await asyncio.wait_for(submitted.wait(), 10)
        # The handset got the first reply; Alice's modem (also the gateway's) got the second.
        (reply,) = rig.network.handset_inbox[HANDSET.lstrip("+")]
        assert (reply.sender, reply.submit.text) == (BOB, "Thanks, got it 👍")
        relayed = [m for m in await rig.inbox.wait(2) if m.to == ALICE]
        assert [(m.from_, m.body) for m in relayed] == [(BOB, "Someone texted Bob")]

        client = rig.sdk.client
        sent = await asyncio.to_thread(lambda: client.messages.list(from_=BOB))
        by_to = {m.to: m for m in sent}
        assert by_to[HANDSET].direction == "outbound-reply"
        assert by_to[ALICE].direction == "outbound-reply"
        stored = await rig.gateway.store.get_message(ACCOUNT.sid, by_to[HANDSET].sid)
        assert stored is not None and stored.status_callback == receiver.url("/status")


async def test_a_redirect_fetches_more_twiml(tmp_path: Path) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/sms"] = Answer(
        body='<Response><Redirect method="GET">/more</Redirect><Message>never</Message></Response>'
    )
    receiver.answers["/more"] = Answer(body="<Response><Message>from /more</Message></Response>")
    async with receiving(tmp_path, receiver=receiver) as rig:
        submitted = asyncio.Event()
        rig.network.on_submission(lambda _: submitted.set())
        rig.text("redirect me")
        await asyncio.wait_for(submitted.wait(), 10)
        (reply,) = rig.network.submissions
        assert reply.submit.text == "from /more"
        first, redirected = receiver.requests
        assert (redirected.method, redirected.path, redirected.signed) == ("GET", "/more", True)
        assert redirected.params["MessageSid"] == first.params["MessageSid"]
        # A request of its own, with a token of its own: a receiver that drops repeats by
        # token must not drop it as a repeat of the webhook.
        assert uuid.UUID(first.token) != uuid.UUID(redirected.token)


@pytest.mark.parametrize(
    ("twiml", "code"),
    [
        ("<Response><Message>ok</Message>", "12100"),  # not well-formed
        ("<Reply><Message>ok</Message></Reply>", "12100"),
        ("<Response><Say>hello</Say></Response>", "14110"),
        ("<Response>" + "<Message>x</Message>" * 11 + "</Response>", "14109"),
        ('<Response><Message to="not a number">x</Message></Response>', "14101"),
        ('<Response><Message from="+15550009999">x</Message></Response>', "14108"),
        ("<Response><Message></Message></Response>", "14103"),
    ],
)
async def test_faulty_twiml_is_logged_with_its_code_and_sends_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, twiml: str, code: str
) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/sms"] = Answer(body=twiml)
    async with receiving(tmp_path, receiver=receiver) as rig:
        rig.text("answer badly")
        assert await rig.statuses.webhook_outcomes(1) == [None]  # delivered: answered 200
        errors = [r.message for r in caplog.records if r.levelno == logging.ERROR]
        assert any(f"error {code}" in line for line in errors), errors
        assert rig.network.submissions == []
        client = rig.sdk.client
        sent = await asyncio.to_thread(lambda: client.messages.list(from_=BOB))
        assert sent == []


async def test_a_pdu_left_on_the_sim_by_a_crash_is_not_received_twice(tmp_path: Path) -> None:
    """A crash after the commit but before ``AT+CMGD``: the next start reads the PDU again."""
    receiver = Receiver(ACCOUNT.auth_token)
    clock = Clock()
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        pdus = rig.text("read, committed, never deleted")
        (message,) = await rig.last(after=0)

    async with receiving(
        tmp_path,
        receiver=receiver,
        clock=clock,
        prepare=lambda gateway: put_on_sim(gateway.modems.simulated["bob"], pdus),
    ) as rig:
        await rig.gateway.inbound.settled()  # the sweep at start has read the SIM
        assert (rig.inbox.messages, rig.gateway.metrics.duplicates) == ([], 1)
        assert not rig.bob.storages["SM"].slots  # deleted this time
        client = rig.sdk.client
        listed = await asyncio.to_thread(lambda: client.messages.list(from_=HANDSET))
        assert [item.sid for item in listed] == [message.sid]


async def test_a_part_committed_just_before_a_crash_still_becomes_its_message(
    tmp_path: Path,
) -> None:
    """The crash came after the part's commit, before its message was made (and before the
    PDU left the SIM, or the +CMT was acknowledged): the next start finishes the job."""
    network = SimulatedNetwork()
    ((pdu, length),) = network.inbound_pdus(HANDSET, "committed, then the lights went out")
    deliver = decode(pdu, length)
    assert isinstance(deliver, Deliver)
    tpdu = pdu[-2 * length :]
    store = SqliteStore(tmp_path / "data")
    await store.open()
    try:
        part = received_part("bob", BOB, deliver, tpdu, Clock()())
        assert await store.add_inbound_part(part)
    finally:
        await store.close()

    def prepare(gateway: Gateway) -> None:
        put_on_sim(gateway.modems.simulated["bob"], [(pdu, length)])  # still there, too

    async with receiving(tmp_path, prepare=prepare) as rig:
        (message,) = await rig.inbox.wait()
        assert message.body == "committed, then the lights went out"
        (request,) = await rig.receiver.wait()
        expect_twilio_request(request, message, message.body, 1)
        await rig.gateway.inbound.settled()
        assert rig.gateway.metrics.duplicates == 1  # the re-read made nothing more
        assert await rig.last(after=1) == []
        assert rig.gateway.metrics.received == 1  # the sentinel's part
