"""``To`` as a carrier sees it (issue 14, item 6), through the real ``twilio`` client (sync and
async) and raw HTTP: numbers no network could route are refused with 21211; national numbers
become E.164 with ``[gateway] default_region`` (list filters too); short codes go from a modem
whose ``allow_short_codes`` is on, as given; inbound senders stay as the network gave them,
and TwiML replies to them follow the same rules.

Twilio's rule, as ``../shared/docs/twilio-messages-api.md`` records it (the seed documents
``To`` as "The destination phone number in E.164 format"): "`To` not a valid number | 400 |
21211 | The 'To' number {To} is not a valid phone number."
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import aiohttp
import pytest

from drivers.codec.pdu import Submit, TypeOfNumber
from gateway.config import ModemConfig, NumberConfig
from gateway.domain.models import Status
from tests.e2e.rig import HANDSET, Rig
from tests.e2e.test_conformance import SERVICE, conformance
from tests.e2e.test_inbound import receiving
from tests.gateway.api_rig import ASYNC_CLIENT_WARNINGS
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    CAROL,
    OTHER_ACCOUNT,
    basic_auth,
    config,
    running,
)
from tests.gateway.webhook_receiver import Answer, Receiver

pytestmark = ASYNC_CLIENT_WARNINGS

# alice's SIM texts short codes (a carrier's balance service, say); bob's does not.
MODEMS: Final = (
    ModemConfig("alice", "simulated", (ALICE,), allow_short_codes=True),
    ModemConfig("bob", "simulated", (BOB,)),
    ModemConfig("carol", "simulated", (CAROL,), account=OTHER_ACCOUNT.sid),
)
SHORT_CODE: Final = "85075"
MESSAGES: Final = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"


@pytest.fixture
async def rig(tmp_path: Path, mode: str) -> AsyncIterator[Rig]:
    async with conformance(tmp_path, mode, *MODEMS) as running_rig:
        yield running_rig


def submitted(rig: Rig) -> list[Submit]:
    return [item.submit for item in rig.network.submissions]


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("+12", "too short to be a phone number"),
        ("+1555", "too short for a +1 number"),
        ("+15551234", "+1 numbers of this length are dialled only locally"),
        ("+10000000000", "no +1 number begins so"),
        ("+999123456", "no country has this code"),
        ("5557770099", "a national number, and no [gateway] default_region"),
        ("Vodafone", "a phone number is a + and digits, or digits alone"),
    ],
)
async def test_a_to_no_network_could_route_is_refused(rig: Rig, to: str, reason: str) -> None:
    """The issue: "`+12`, `+1555`, `+15551234` are accepted and 'delivered'; `5557770099`
    is stored as is" — now each is refused with 21211, Twilio's sentence and why."""
    error = await rig.refused(21211, 400, rig.messages, "create", to=to, from_=ALICE, body="x")
    expected = f"The 'To' number {to} is not a valid phone number: {reason}"
    assert error.msg.startswith(f"Unable to create record: {expected}"), error.msg
    assert await rig.listed() == []
    assert submitted(rig) == []


async def test_fictitious_numbers_are_numbers(rig: Rig) -> None:
    """The ranges set aside for films and tests, which libphonenumber's is_valid_number
    refuses, are sent: a network routes what its plan allows (README: "Phone numbers")."""
    for to in ("+15555550123", "+447700900123", "+1 (555) 867-5310"):
        created = await rig.create(to=to, from_=BOB, body="fiction")
        assert (await rig.final(created.sid)).status is Status.SENT
    assert [str(s.destination.number) for s in submitted(rig)] == [
        "+15555550123",
        "+447700900123",
        "+15558675310",
    ]


async def test_national_numbers_become_e164_with_the_default_region(
    tmp_path: Path, mode: str
) -> None:
    """``[gateway] default_region = "US"``: a national To and From are read in it, and every
    response, status callback and list filter has them in E.164 (the seed: To is "The
    destination phone number in E.164 format")."""
    async with conformance(tmp_path, mode, *MODEMS, default_region="US") as rig:
        callback = rig.receiver.url("/status")
        created = await rig.create(
            to="(555) 867-5310", from_="555-000-1001", body="national", status_callback=callback
        )
        assert (created.to, created.from_, created.status) == ("+15558675310", ALICE, "queued")
        await rig.final(created.sid)
        fetched = await rig.fetch(created.sid)
        assert (fetched.to, fetched.from_) == ("+15558675310", ALICE)
        for status in await rig.callbacks(created.sid, 2):
            assert (status.params["To"], status.params["From"]) == ("+15558675310", ALICE)
        assert await rig.listed(to="555 867 5310") == [created.sid]
        assert await rig.listed(to="+15558675310", from_="5550001001") == [created.sid]
        assert await rig.listed(to="5558675311") == []
        # Raw HTTP, as any client: the JSON says E.164 too.
        async with aiohttp.ClientSession(rig.gateway.base_url, headers=basic_auth()) as http:
            reply = await http.post(
                MESSAGES, data={"To": "555.867.5310", "From": BOB, "Body": "raw"}
            )
            assert reply.status == 201
            body = await reply.json()
        assert (body["to"], body["from"]) == ("+15558675310", BOB)
        # E.164 numbers are read as before, whatever the region.
        abroad = await rig.create(to=HANDSET, from_=ALICE, body="abroad")
        assert abroad.to == HANDSET


async def test_short_codes_go_as_given_from_a_modem_that_allows_them(rig: Rig) -> None:
    """The issue: "SIM gateways text short codes (a carrier's balance or opt-out service):
    allow short codes when a modem's `allow_short_codes = true`, stored as given"."""
    created = await rig.create(to="85 075", from_=ALICE, body="BALANCE")
    assert (created.to, created.status, created.num_segments) == (SHORT_CODE, "queued", "1")
    assert (await rig.final(created.sid)).status is Status.SENT
    (submit,) = submitted(rig)
    recipient = submit.destination
    assert (recipient.number, recipient.ton) == (SHORT_CODE, TypeOfNumber.UNKNOWN)
    assert await rig.listed(to=SHORT_CODE) == [created.sid]
    # bob's modem does not: 21211, saying which setting would allow it.
    error = await rig.refused(
        21211, 400, rig.messages, "create", to=SHORT_CODE, from_=BOB, body="BALANCE"
    )
    assert "short code" in error.msg and "bob" in error.msg and "allow_short_codes" in error.msg
    # A Messaging Service may give any number of its pool: each one's modem must allow it,
    # unless the From given pins alice.
    error = await rig.refused(
        21211,
        400,
        rig.messages,
        "create",
        to=SHORT_CODE,
        messaging_service_sid=SERVICE,
        body="BALANCE",
    )
    assert "bob" in error.msg and "alice" not in error.msg
    pinned = await rig.create(
        to=SHORT_CODE, from_=ALICE, messaging_service_sid=SERVICE, body="STOP"
    )
    assert (pinned.to, pinned.status, pinned.from_) == (SHORT_CODE, "accepted", ALICE)
    sent = await rig.final(pinned.sid)
    assert (sent.status, sent.to, sent.from_) == (Status.SENT, SHORT_CODE, ALICE)


async def test_inbound_senders_are_kept_and_replies_follow_the_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue: "Inbound senders are kept as the network gave them (alphanumeric senders
    included)". A TwiML reply goes through the rule of a create: to a national sender it
    goes in E.164 (default_region); to an alphanumeric sender, or to a short code from bob's
    modem, which does not text them, it is refused (14101, the TwiML code for a bad To)."""
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/sms"] = Answer(body="<Response><Message>Thanks</Message></Response>")
    senders = ["Vodafone", "07700900999", SHORT_CODE]
    async with receiving(tmp_path, receiver=receiver, default_region="GB") as rig:
        replied = asyncio.Event()
        rig.network.on_submission(lambda _: replied.set())
        for sender in senders:
            rig.text(f"from {sender}", sender=sender)
        received = await rig.inbox.wait(3)
        assert [(m.from_, m.body) for m in received] == [(s, f"from {s}") for s in senders]
        assert {m.to for m in received} == {BOB}
        requests = await receiver.wait(3)
        assert [r.params["From"] for r in requests] == senders
        assert {r.params["To"] for r in requests} == {BOB}
        # Each webhook delivered, its reply made.
        assert await rig.statuses.webhook_outcomes(3) == [None] * 3
        await asyncio.wait_for(replied.wait(), 10)
        client = rig.sdk.client
        listed = await asyncio.to_thread(lambda: client.messages.list(from_="Vodafone"))
        assert [m.body for m in listed] == ["from Vodafone"]
        national = await asyncio.to_thread(lambda: client.messages.list(from_="07700900999"))
        assert [m.body for m in national] == ["from 07700900999"]  # as given, not E.164

    replies = [s.submit for s in rig.network.submissions]
    assert [(str(r.destination.number), r.text) for r in replies] == [("+447700900999", "Thanks")]
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sum("error 14101" in line for line in refused) == 2, refused
    assert any("allow_short_codes" in line for line in refused), refused


async def test_a_reply_to_a_short_code_goes_from_a_modem_that_allows_them(
    tmp_path: Path,
) -> None:
    """The same reply, from a modem whose allow_short_codes is on: sent to the code as the
    network gave it."""
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/sms"] = Answer(body="<Response><Message>STOP</Message></Response>")
    bob = ModemConfig("bob", "simulated", (BOB,), allow_short_codes=True)
    settings = NumberConfig(BOB, sms_url=receiver.url())
    try:
        async with running(config(tmp_path, bob, numbers=(settings,))) as gateway:
            replied = asyncio.Event()
            gateway.modems.network.on_submission(lambda _: replied.set())
            gateway.modems.network.inject(BOB, SHORT_CODE, "Your balance is 0")
            await asyncio.wait_for(replied.wait(), 10)
            (reply,) = gateway.modems.network.submissions
            assert (str(reply.submit.destination.number), reply.submit.text) == (SHORT_CODE, "STOP")
    finally:
        await receiver.stop()
