"""Conformance: every endpoint of the gateway driven through the real ``twilio`` package, with
only its base URL changed, both ways (``Client`` on ``requests`` in a thread, and the
``*_async`` methods on ``AsyncTwilioHttpClient``): create, fetch, update (redact, cancel),
delete, list with filters and paging, scheduled messages, Messaging Service sends (the pool,
sticky senders, failover), phone numbers (and an inbound message reaching a new SmsUrl),
media, the queue and concurrency limits, and every refusal as the ``TwilioRestException`` a
Twilio user catches, with Twilio's code and HTTP status.

Real sockets, real SQLite, simulated modems, the test's clock; every wait is for an event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from drivers.codec.pdu import Submit, decode
from drivers.simulated import SimulatedModem
from drivers.simulated.network import Fate, HandsetRule
from gateway.config import ModemConfig, NumberConfig, ServiceConfig
from gateway.domain.models import Status
from gateway.modems.supervisor import ModemState
from gateway.runtime import Gateway
from gateway.store import Audit
from tests.e2e.rig import HANDSET, HANDSET_2, Rig
from tests.e2e.rig import started_rig as e2e_rig
from tests.fakes.clock import T0, Clock
from tests.gateway.api_rig import ASYNC_CLIENT_WARNINGS
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    CAROL,
    OTHER_ACCOUNT,
    basic_auth,
)
from tests.gateway.webhook_receiver import Answer, Receiver

pytestmark = ASYNC_CLIENT_WARNINGS

SERVICE: Final = "MG" + "5e" * 16  # a pool of alice's and bob's numbers, sticky
UNKNOWN_SERVICE: Final = "MG" + "0f" * 16
WAIT: Final = 10.0
FAILOVER_WAIT: Final = 1.0  # seconds; a failover (after 0.01 or 0.2 s) takes milliseconds more
LATER: Final = T0 + timedelta(minutes=20)  # a valid SendAt: 15 minutes to 7 days ahead


def pool(*numbers: str, **settings: Any) -> ServiceConfig:
    return ServiceConfig(SERVICE, "conformance pool", numbers or (ALICE, BOB), **settings)


@asynccontextmanager
async def conformance(
    tmp_path: Path,
    mode: str,
    *modems: ModemConfig,
    prepare: Callable[[Gateway], None] | None = None,
    **changes: Any,
) -> AsyncIterator[Rig]:
    """The e2e rig with the SERVICE pool (unless ``services`` is given), handsets that never
    report delivery, and the twilio client used ``mode``'s way."""
    changes.setdefault("services", (pool(),))

    def no_reports(gateway: Gateway) -> None:
        # Handsets outside the gateway never report delivery: a message sent stays "sent".
        gateway.modems.network.set_rule("*", HandsetRule(Fate.NO_REPORT))
        if prepare is not None:
            prepare(gateway)

    async with e2e_rig(tmp_path, *modems, mode=mode, prepare=no_reports, **changes) as running:
        yield running


@pytest.fixture
async def rig(tmp_path: Path, mode: str) -> AsyncIterator[Rig]:
    async with conformance(tmp_path, mode) as running_rig:
        yield running_rig


# --- create, fetch, list ------------------------------------------------------------------


async def test_create_fetch_and_list_with_filters(rig: Rig) -> None:
    names: dict[str, str] = {}
    for name, day, from_, to in [
        ("m1", 1, ALICE, HANDSET),
        ("m2", 2, BOB, HANDSET_2),
        ("m3", 3, BOB, HANDSET),
    ]:
        rig.clock.now = datetime(2026, 3, day, 9, 0, tzinfo=UTC)
        created = await rig.create(to=to, from_=from_, body=name)
        assert (created.status, created.from_, created.to, created.body) == (
            "queued",
            from_,
            to,
            name,
        )
        assert (created.num_segments, created.direction) == ("1", "outbound-api")
        await rig.final(created.sid)
        fetched = await rig.fetch(created.sid)
        assert (fetched.sid, fetched.status, fetched.body) == (created.sid, "sent", name)
        assert fetched.date_sent == rig.clock.now
        names[created.sid] = name

    async def read(**params: Any) -> list[str]:
        return [names[sid] for sid in await rig.listed(**params)]

    assert await read() == ["m3", "m2", "m1"]  # newest first
    assert await read(to=HANDSET) == ["m3", "m1"]
    assert await read(from_=BOB) == ["m3", "m2"]
    assert await read(to=HANDSET, from_=ALICE) == ["m1"]
    assert await read(to=CAROL) == []
    assert await read(date_sent=date(2026, 3, 2)) == ["m2"]
    # The seed: DateSent<=YYYY-MM-DD reads "messages sent on or before midnight on a date",
    # the date's first instant in GMT, whether the date is given as a string or as a date
    # object (which twilio-python sends as that midnight, 2026-03-02T00:00:00Z).
    assert await read(date_sent_before="2026-03-02") == ["m1"]
    assert await read(date_sent_before=date(2026, 3, 2)) == ["m1"]
    assert await read(date_sent_before="2026-03-03") == ["m2", "m1"]
    assert await read(date_sent="<=2026-03-02") == ["m1"]  # twilio-python's docstring form
    assert await read(date_sent_after=date(2026, 3, 2)) == ["m3", "m2"]
    assert await read(
        date_sent_after=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        date_sent_before=datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
    ) == ["m2"]
    assert await read(from_=BOB, date_sent_after=date(2026, 3, 3)) == ["m3"]

    # Paging: page_size sets PageSize, limit stops early; filters stay on every page.
    rig.sdk.requests.clear()
    assert await read(page_size=1) == ["m3", "m2", "m1"]
    assert len(rig.sdk.gets()) == 3
    rig.sdk.requests.clear()
    assert await read(limit=2) == ["m3", "m2"]
    assert len(rig.sdk.gets()) == 1 and "PageSize=2" in rig.sdk.gets()[0]
    rig.sdk.requests.clear()
    assert await read(to=HANDSET, page_size=1, limit=5) == ["m3", "m1"]
    assert len(rig.sdk.gets()) == 2
    assert all("To=%2B447700900123" in url for url in rig.sdk.gets())


async def test_the_list_is_sorted_on_date_sent_most_recent_first(rig: Rig) -> None:
    """The seed ("Read multiple Message resources"): "When getting the list of all messages,
    results will be sorted on the DateSent field with the most recent messages appearing
    first." A message handed to a slow modem first and sent 3 s after one that went through a
    quicker modem is listed before it; while it waits to be sent it stands above every sent
    message (it will be sent after all of them)."""
    early = await rig.create(to=HANDSET, from_=BOB, body="early")
    await rig.final(early.sid)
    rig.alice.stall()  # busy: alice answers her AT+CMGS only once she resumes
    asked = rig.alice.listen("AT+CMGS")
    rig.clock.advance(1)
    slow = await rig.create(to=HANDSET, from_=ALICE, body="slow")
    await asked  # queued: its part is not granted before alice's prompt
    rig.clock.advance(1)
    quick = await rig.create(to=HANDSET_2, from_=BOB, body="quick")
    assert (await rig.final(quick.sid)).date_sent == rig.clock.now
    assert await rig.listed() == [slow.sid, quick.sid, early.sid]  # slow: not sent yet
    rig.clock.advance(3)
    rig.alice.resume()
    sent = await rig.final(slow.sid)
    assert sent.date_sent == rig.clock.now  # 3 s after quick, created 1 s before it
    assert await rig.listed() == [slow.sid, quick.sid, early.sid]
    assert await rig.listed(page_size=1) == [slow.sid, quick.sid, early.sid]
    # Creation order would be quick, slow, early: DateSent decides.
    dates = [(await rig.fetch(sid)).date_sent for sid in (slow.sid, quick.sid, early.sid)]
    assert dates == sorted(dates, reverse=True)


async def test_a_walk_lists_the_messages_as_they_stood_at_its_first_page(rig: Rig) -> None:
    """The seed: the next page "picks up where it left off and can prevent you from retrieving
    duplicate data if you are actively sending or receiving messages". ``stream()`` reads its
    first page while two messages wait for a busy modem; they are sent (and move among the
    sent), and a new message is sent, before it reads on: every message of the first page's
    list comes once, in that list's order, and the new one not at all."""
    sent = []
    for number in range(3):
        rig.clock.advance(1)
        created = await rig.create(to=HANDSET, from_=BOB, body=f"sent {number}")
        await rig.final(created.sid)
        sent.append(created.sid)
    rig.alice.stall()
    asked = rig.alice.listen("AT+CMGS")
    waiting = []
    for number in range(2):
        created = await rig.create(to=HANDSET_2, from_=ALICE, body=f"waiting {number}")
        waiting.append(created.sid)
    await asked
    then = waiting[::-1] + sent[::-1]
    assert await rig.listed() == then

    if rig.sdk.is_async:
        stream = await rig.messages.stream_async(page_size=2)

        async def take() -> Any:
            return await anext(stream, None)
    else:
        generator = await asyncio.to_thread(rig.messages.stream, page_size=2)

        async def take() -> Any:
            return await asyncio.to_thread(next, generator, None)

    walked = [(await take()).sid, (await take()).sid]  # the first page: the two waiting
    rig.clock.advance(10)
    rig.alice.resume()
    for sid in waiting:
        assert (await rig.final(sid)).date_sent == rig.clock.now  # now the most recent sent
    newer = await rig.create(to=HANDSET, from_=BOB, body="newer")
    await rig.final(newer.sid)
    while (message := await take()) is not None:
        walked.append(message.sid)
    assert walked == then
    assert await rig.listed() == [newer.sid, *waiting[::-1], *sent[::-1]]


async def test_page_tokens_stay_right_while_messages_arrive(rig: Rig) -> None:
    async def send(count: int) -> list[str]:
        return [(await rig.create(to=HANDSET, from_=ALICE, body=f"n{i}")).sid for i in range(count)]

    first = (await send(7))[::-1]  # newest first
    page1 = await rig.call(rig.messages, "page", page_size=3)
    got1 = [message.sid for message in page1]
    arrived = await send(2)  # newer than everything listed: they must not shift the pages
    page2 = await rig.call(page1, "next_page")
    got2 = [message.sid for message in page2]
    arrived += await send(1)
    page3 = await rig.call(page2, "next_page")
    got3 = [message.sid for message in page3]
    assert got1 + got2 + got3 == first  # no duplicates, no gaps
    assert page3.next_page_url is None
    back = await rig.call(page2, "previous_page")
    assert [message.sid for message in back] == got1  # PB<sid>: the page before, still
    assert await rig.listed() == arrived[::-1] + first


async def test_a_page_token_survives_the_deletion_of_its_message(rig: Rig) -> None:
    sids = []
    for i in range(6):
        created = await rig.create(to=HANDSET, from_=ALICE, body=f"d{i}")
        await rig.final(created.sid)
        sids.append(created.sid)
    page1 = await rig.call(rig.messages, "page", page_size=3)
    got1 = [message.sid for message in page1]
    assert got1 == sids[::-1][:3]
    assert await rig.call(rig.messages(got1[-1]), "delete") is True
    page2 = await rig.call(page1, "next_page")
    assert [message.sid for message in page2] == sids[::-1][3:]


# --- update: redact, cancel -----------------------------------------------------------------

SECRET: Final = "the door code is 4711"


async def traces(rig: Rig, sid: str, text: str) -> list[str]:
    """Where what the store keeps still holds ``text``: in message ``sid``'s parts, and in
    any message's body, webhooks and received parts (every message of the account, and the
    parts still waiting for theirs)."""
    trails = [await rig.trail(listed) for listed in await rig.listed()]
    found = []
    if any(text in trail.message.body for trail in trails):
        found.append("body")
    for part in (await rig.trail(sid)).parts:
        submit = decode(part.pdu) if part.pdu else None
        if isinstance(submit, Submit) and text in (submit.user_data.text or ""):
            found.append("parts")
    for trail in trails:
        for webhook in trail.webhooks:
            if any(text in value for _, value in webhook.params):
                found.append("webhooks")
    received = [part for trail in trails for part in trail.received]
    received += [part.text for part in await rig.gateway.store.waiting_parts()]
    found += ["received parts" for part in received if text in part]
    return found


async def _sent_message(rig: Rig) -> str:
    created = await rig.create(
        to=HANDSET, from_=ALICE, body=SECRET, status_callback=rig.receiver.url("/status")
    )
    assert (await rig.final(created.sid)).status is Status.SENT
    await rig.callbacks(created.sid, 2)  # queued, sent
    return str(created.sid)


async def _failed_message(rig: Rig) -> str:
    rig.alice.fail_sends(1)  # +CMS ERROR: 1, unassigned number: a permanent failure
    created = await rig.create(to=HANDSET, from_=ALICE, body=SECRET)
    assert (await rig.final(created.sid)).status is Status.FAILED
    return str(created.sid)


async def _received_message(rig: Rig) -> str:
    url = rig.receiver.url("/sms")
    numbers = await rig.call(rig.numbers, "list", phone_number=BOB)
    await rig.call(rig.numbers(numbers[0].sid), "update", sms_url=url)
    rig.network.inject(BOB, HANDSET, SECRET)
    (webhook,) = await rig.receiver.wait(1)
    assert webhook.params["Body"] == SECRET
    return webhook.params["MessageSid"]


async def _canceled_message(rig: Rig) -> str:
    created = await rig.create(
        to=HANDSET,
        messaging_service_sid=SERVICE,
        body=SECRET,
        schedule_type="fixed",
        send_at=LATER,
    )
    await rig.call(rig.messages(created.sid), "update", status="canceled")
    return str(created.sid)


MESSAGE_KINDS: Final = {
    "sent": (_sent_message, ["body", "parts"]),
    "failed": (_failed_message, ["body", "parts"]),
    "received": (_received_message, ["body", "webhooks", "received parts"]),
    "canceled": (_canceled_message, ["body"]),
}


@pytest.mark.parametrize("kind", list(MESSAGE_KINDS))
async def test_redact_removes_the_text_everywhere(rig: Rig, kind: str) -> None:
    make, where = MESSAGE_KINDS[kind]
    sid = await make(rig)
    assert await traces(rig, sid, SECRET) == where  # the check finds what is there
    before = await rig.fetch(sid)
    redacted = await rig.call(rig.messages(sid), "update", body="")
    assert (redacted.sid, redacted.body, redacted.status) == (sid, "", before.status)
    fetched = await rig.fetch(sid)
    assert (fetched.body, fetched.status, fetched.to) == ("", before.status, before.to)
    assert fetched.num_segments == before.num_segments
    assert await traces(rig, sid, SECRET) == []


async def test_an_unsent_message_cannot_be_redacted_deleted_or_canceled(rig: Rig) -> None:
    rig.alice.faults.hold_submit = True  # takes the part and answers it only when released
    in_flight = await rig.create(to=HANDSET, from_=ALICE, body="in flight")
    await rig.statuses.reached(in_flight.sid, Status.SENDING)  # granted: it may have gone
    waiting = await rig.create(to=HANDSET_2, from_=ALICE, body="waiting")
    assert waiting.status == "queued"
    for message, status in [(in_flight, "sending"), (waiting, "queued")]:
        context = rig.messages(message.sid)
        await rig.refused(20009, 409, context, "update", body="")
        await rig.refused(20009, 409, context, "delete")
        await rig.refused(30409, 400, context, "update", status="canceled")
        fetched = await rig.fetch(message.sid)
        assert (fetched.status, fetched.body) == (status, message.body)
    rig.alice.release_submit()
    for message in (in_flight, waiting):
        assert (await rig.final(message.sid)).status is Status.SENT
        assert await rig.call(rig.messages(message.sid), "delete") is True


async def test_a_sent_message_cannot_be_canceled_or_rewritten(rig: Rig) -> None:
    created = await rig.create(to=HANDSET, from_=ALICE, body="gone already")
    await rig.final(created.sid)
    context = rig.messages(created.sid)
    error = await rig.refused(30409, 400, context, "update", status="canceled")
    assert "sent" in error.msg
    await rig.refused(20001, 400, context, "update", body="new text")
    await rig.refused(20001, 400, context, "update", status="sent")
    fetched = await rig.fetch(created.sid)
    assert (fetched.status, fetched.body) == ("sent", "gone already")


async def test_cancel_a_scheduled_message(rig: Rig) -> None:
    created = await rig.create(
        to=HANDSET,
        messaging_service_sid=SERVICE,
        body="never mind",
        schedule_type="fixed",
        send_at=LATER,
        status_callback=rig.receiver.url("/status"),
    )
    assert created.status == "scheduled"
    canceled = await rig.call(rig.messages(created.sid), "update", status="canceled")
    assert (canceled.sid, canceled.status, canceled.date_sent) == (created.sid, "canceled", None)
    (callback,) = await rig.callbacks(created.sid, 1)  # nothing for "scheduled": Twilio's rule
    assert callback.signed and callback.path == "/status"
    assert callback.params["MessageStatus"] == "canceled"
    assert callback.params["MessagingServiceSid"] == SERVICE
    # When it would have been due, nothing goes.
    rig.clock.now = LATER + timedelta(minutes=1)
    assert await rig.gateway.services.route_due() == 0
    fetched = await rig.fetch(created.sid)
    assert (fetched.status, fetched.from_, fetched.body) == ("canceled", None, "never mind")


# --- delete ----------------------------------------------------------------------------------


async def test_delete_a_final_message(rig: Rig) -> None:
    kept = await rig.create(to=HANDSET, from_=BOB, body="kept")
    created = await rig.create(to=HANDSET, from_=ALICE, body="delete me")
    await rig.final(kept.sid)
    await rig.final(created.sid)
    context = rig.messages(created.sid)
    assert await rig.call(context, "delete") is True
    await rig.refused(20404, 404, context, "fetch")
    await rig.refused(20404, 404, context, "delete")
    await rig.refused(20404, 404, context, "update", body="")
    await rig.page_refused(20404, 404, context.media)
    assert await rig.listed() == [kept.sid]
    store = rig.gateway.store
    assert isinstance(store, Audit)
    assert await store.message_trail(created.sid) is None  # nothing of it is kept


# --- an inbound message still arriving -------------------------------------------------------


async def test_a_long_message_still_arriving_is_receiving(tmp_path: Path, mode: str) -> None:
    """The seed: "receiving The inbound message has been received by Twilio and is currently
    being processed." From its first part, through either client: fetched and listed (by
    ``To`` and ``From``) as ``receiving`` with the text that came and ``num_segments`` the
    parts announced; refused deletion and redaction while so (20009, HTTP 409, as for every
    message in progress) and cancellation (30409); ``received``, the same SID, with its last
    part."""
    async with conformance(tmp_path, mode) as rig:
        text = "Still arriving, one part at a time. " * 6  # 216 characters: parts of 153, 63
        rig.network.inject(BOB, HANDSET, text, order=[1], reference=31)
        # One modem's messages are handled in order: once this one is in, part 1 has been.
        rig.network.inject(BOB, HANDSET_2, "after part 1")
        (after,) = await rig.inbox.wait(1)
        assert after.body == "after part 1"
        (shown,) = await rig.call(rig.messages, "list", from_=HANDSET)
        # Where it stands among them is the list order's business (DateSent: it has none).
        listed = await rig.call(rig.messages, "list", to=BOB)
        assert sorted(m.sid for m in listed) == sorted([after.sid, shown.sid])
        fetched = await rig.fetch(shown.sid)
        for message in (shown, fetched):
            assert (message.status, message.direction) == ("receiving", "inbound")
            assert (message.from_, message.to, message.body) == (HANDSET, BOB, text[:153])
            assert (message.num_segments, message.date_sent) == ("2", None)
        context = rig.messages(shown.sid)
        await rig.refused(20009, 409, context, "delete")
        await rig.refused(20009, 409, context, "update", body="")
        await rig.refused(30409, 400, context, "update", status="canceled")

        rig.network.inject(BOB, HANDSET, text, order=[2], reference=31)
        (_, received) = await rig.inbox.wait(2)
        assert received.sid == shown.sid
        fetched = await rig.fetch(shown.sid)
        assert (fetched.status, fetched.body, fetched.num_segments) == ("received", text, "2")
        assert fetched.date_sent is not None
        assert await rig.call(context, "delete") is True


# --- scheduled messages ----------------------------------------------------------------------


@pytest.mark.parametrize("via", ["messaging_service_sid", "from_"])
async def test_a_scheduled_message_is_sent_when_due(rig: Rig, via: str) -> None:
    created = await rig.create(
        to=HANDSET, body="later", schedule_type="fixed", send_at=LATER, **{via: SERVICE}
    )
    assert (created.status, created.from_, created.num_segments) == ("scheduled", None, "0")
    assert created.messaging_service_sid == SERVICE
    rig.clock.advance(19 * 60)
    assert await rig.gateway.services.route_due() == 0  # not yet
    assert (await rig.fetch(created.sid)).status == "scheduled"
    rig.clock.now = LATER
    rig.gateway.services.wake()
    sent = await rig.final(created.sid)
    assert (sent.status, sent.from_, sent.date_sent) == (Status.SENT, ALICE, LATER)
    fetched = await rig.fetch(created.sid)
    assert (fetched.status, fetched.from_, fetched.num_segments) == ("sent", ALICE, "1")


async def test_a_scheduled_message_survives_a_restart(tmp_path: Path, mode: str) -> None:
    clock = Clock()
    async with conformance(tmp_path, mode, clock=clock) as first:
        created = await first.create(
            to=HANDSET,
            messaging_service_sid=SERVICE,
            body="see you after the restart",
            schedule_type="fixed",
            send_at=LATER,
        )
        assert created.status == "scheduled"
    async with conformance(tmp_path, mode, clock=clock) as second:
        assert (await second.fetch(created.sid)).status == "scheduled"
        clock.now = LATER + timedelta(seconds=1)
        second.gateway.services.wake()
        sent = await second.final(created.sid)
        assert (sent.status, sent.from_, sent.body) == (
            Status.SENT,
            ALICE,
            "see you after the restart",
        )


SCHEDULED: Final[dict[str, Any]] = {
    "to": HANDSET,
    "messaging_service_sid": SERVICE,
    "body": "x",
    "schedule_type": "fixed",
    "send_at": LATER,
}
CREATE_ERRORS: Final[list[tuple[str, dict[str, Any], int]]] = [
    ("no-send-at", {**SCHEDULED, "send_at": None}, 35111),
    ("too-soon", {**SCHEDULED, "send_at": T0 + timedelta(minutes=10)}, 35114),
    ("in-the-past", {**SCHEDULED, "send_at": T0 - timedelta(hours=1)}, 35114),
    ("too-far", {**SCHEDULED, "send_at": T0 + timedelta(days=8)}, 35114),
    ("not-iso-8601", {**SCHEDULED, "send_at": "next tuesday"}, 35114),
    ("a-date-alone", {**SCHEDULED, "send_at": "2026-03-02"}, 35114),
    ("no-service", {**SCHEDULED, "messaging_service_sid": None, "from_": ALICE}, 35118),
    ("not-fixed", {**SCHEDULED, "schedule_type": "recurring"}, 35126),
    ("unknown-service", {**SCHEDULED, "messaging_service_sid": UNKNOWN_SERVICE}, 21701),
    ("unknown-service-in-from", {"to": HANDSET, "from_": UNKNOWN_SERVICE, "body": "x"}, 21701),
    ("malformed-service", {"to": HANDSET, "messaging_service_sid": "MG42", "body": "x"}, 21705),
    ("malformed-service-in-from", {"to": HANDSET, "from_": "MGnot-hex", "body": "x"}, 21705),
    (
        "media",
        {"to": HANDSET, "from_": ALICE, "body": "x", "media_url": ["https://e.co/a.png"]},
        21621,
    ),
    ("to-invalid", {"to": "not a number", "from_": ALICE, "body": "x"}, 21211),
    ("from-not-ours", {"to": HANDSET, "from_": "+15559990000", "body": "x"}, 21606),
    ("from-other-account", {"to": HANDSET, "from_": CAROL, "body": "x"}, 21660),
    ("no-body", {"to": HANDSET, "from_": ALICE}, 21602),
    (
        "attempt-not-an-integer",
        {"to": HANDSET, "from_": ALICE, "body": "x", "attempt": "2nd"},
        20001,
    ),
    (
        "provide-feedback-not-a-boolean",
        {"to": HANDSET, "from_": ALICE, "body": "x", "provide_feedback": "perhaps"},
        20001,
    ),
    ("shorten-urls", {"to": HANDSET, "from_": ALICE, "body": "x", "shorten_urls": True}, 30106),
    (
        "eleven-media",
        {"to": HANDSET, "from_": ALICE, "body": "x", "media_url": ["https://e.co/a.png"] * 11},
        21623,
    ),
]


@pytest.mark.parametrize(
    ("params", "code"),
    [pytest.param(params, code, id=name) for name, params, code in CREATE_ERRORS],
)
async def test_create_refusals(rig: Rig, params: dict[str, Any], code: int) -> None:
    given = {name: value for name, value in params.items() if value is not None}
    error = await rig.refused(code, 400, rig.messages, "create", **given)
    assert error.msg.startswith("Unable to create record: ")
    assert await rig.listed() == []  # nothing was stored


async def test_media_is_always_empty_and_mms_is_refused(rig: Rig) -> None:
    created = await rig.create(to=HANDSET, from_=ALICE, body="text only")
    media = rig.messages(created.sid).media
    assert await rig.call(media, "list") == []
    assert await rig.call(media, "list", page_size=5, limit=10) == []
    await rig.refused(20404, 404, media("ME" + "0" * 32), "fetch")
    await rig.refused(20404, 404, media("ME" + "0" * 32), "delete")
    await rig.page_refused(20404, 404, rig.messages("SM" + "0" * 32).media)
    error = await rig.refused(
        21621,
        400,
        rig.messages,
        "create",
        to=HANDSET,
        from_=ALICE,
        body="look",
        media_url=["https://example.com/cat.jpg"],
    )
    assert "SMS only" in error.msg


async def test_message_feedback(rig: Rig) -> None:
    """The seed: provide_feedback: "Set this value to true if you are sending messages that
    have a trackable user action and you intend to confirm delivery of the message using the
    Message Feedback API. This parameter is false by default." Twilio's Feedback reference:
    "Pass the Outcome parameter with value confirmed to update the Message Feedback". Recorded
    (for whoever reads it back), the message unchanged; none without ProvideFeedback."""
    tracked = await rig.create(to=HANDSET, from_=ALICE, body="code 1234", provide_feedback=True)
    await rig.final(tracked.sid)
    rig.clock.advance(20)
    resource = rig.messages(tracked.sid).feedback
    confirmed = await rig.call(resource, "create", outcome="confirmed")
    assert (confirmed.account_sid, confirmed.message_sid) == (ACCOUNT.sid, tracked.sid)
    assert confirmed.outcome == "confirmed"
    assert confirmed.date_created == T0.replace(microsecond=0) + timedelta(seconds=20)
    assert (await rig.fetch(tracked.sid)).status == "sent"
    # Recorded: confirmed again later, it is the Feedback created first (its date) read back.
    rig.clock.advance(20)
    again = await rig.call(resource, "create", outcome="confirmed")
    assert (again.outcome, again.date_created) == ("confirmed", confirmed.date_created)
    await rig.refused(20001, 400, resource, "create", outcome="maybe")
    plain = await rig.create(to=HANDSET, from_=ALICE, body="no tracking")
    await rig.refused(20404, 404, rig.messages(plain.sid).feedback, "create", outcome="confirmed")


# --- Messaging Services ------------------------------------------------------------------------


async def test_a_service_message_is_accepted_then_sent_from_the_pool(rig: Rig) -> None:
    # The HTTP status itself, which the client does not show: 201, as for any create.
    raw = await rig.post(201, To=HANDSET_2, MessagingServiceSid=SERVICE, Body="raw")
    assert raw["status"] == "accepted"
    callback = rig.receiver.url("/status")
    for via in ("messaging_service_sid", "from_"):
        created = await rig.create(to=HANDSET, body=via, status_callback=callback, **{via: SERVICE})
        assert (created.status, created.num_segments, created.from_) == ("accepted", "0", None)
        assert created.messaging_service_sid == SERVICE
        sent = await rig.final(created.sid)
        assert sent.status is Status.SENT and sent.from_ in (ALICE, BOB)
        fetched = await rig.fetch(created.sid)
        assert (fetched.status, fetched.from_, fetched.num_segments) == ("sent", sent.from_, "1")
        callbacks = await rig.callbacks(created.sid, 2)
        assert [c.params["MessageStatus"] for c in callbacks] == ["queued", "sent"]
        assert callbacks[1].params["From"] == sent.from_


async def test_a_service_message_with_a_from_is_accepted_then_sent_from_it(rig: Rig) -> None:
    """The seed, of ``accepted``: "This will be the initial status when sending with a
    Messaging Service and the From parameter"; of ``num_segments``: "When using a Messaging
    Service to send messages, num_segments will always be 0 in Twilio's response to your API
    request"; of ``From``: "you can choose a specific number in a messaging service to set as
    the From". bob's number, not the pool's first (alice's, which the service would choose):
    the service sends it from the From given. Status callbacks: "queued, failed, sent,
    delivered, or undelivered", never accepted."""
    callback = rig.receiver.url("/status")
    created = await rig.create(
        to=HANDSET,
        from_=BOB,
        messaging_service_sid=SERVICE,
        body="from bob",
        status_callback=callback,
    )
    assert (created.status, created.num_segments, created.from_) == ("accepted", "0", BOB)
    assert created.messaging_service_sid == SERVICE
    sent = await rig.final(created.sid)
    assert (sent.status, sent.from_, sent.modem) == (Status.SENT, BOB, "bob")
    fetched = await rig.fetch(created.sid)
    assert (fetched.status, fetched.from_, fetched.num_segments) == ("sent", BOB, "1")
    callbacks = await rig.callbacks(created.sid, 2)
    assert [c.params["MessageStatus"] for c in callbacks] == ["queued", "sent"]
    assert {c.params["From"] for c in callbacks} == {BOB}
    # The JSON itself, as any HTTP client reads it: 201, "accepted", "0", the From.
    body = await rig.post(201, To=HANDSET_2, From=BOB, MessagingServiceSid=SERVICE, Body="raw")
    assert (body["status"], body["num_segments"], body["from"]) == ("accepted", "0", BOB)
    assert body["messaging_service_sid"] == SERVICE
    assert (await rig.final(body["sid"])).from_ == BOB


async def test_a_from_outside_the_services_pool_is_refused(tmp_path: Path, mode: str) -> None:
    """The seed: "you can choose a specific number in a messaging service to set as the
    From": a number of the gateway that is not in the service is refused (21606), and
    nothing is stored."""
    async with conformance(tmp_path, mode, services=(pool(ALICE),)) as rig:
        error = await rig.refused(
            21606,
            400,
            rig.messages,
            "create",
            to=HANDSET,
            from_=BOB,
            messaging_service_sid=SERVICE,
            body="x",
        )
        assert BOB in error.msg and SERVICE in error.msg
        assert await rig.listed() == []
        created = await rig.create(
            to=HANDSET, from_=ALICE, messaging_service_sid=SERVICE, body="in the pool"
        )
        assert (created.status, created.from_) == ("accepted", ALICE)


async def test_a_service_message_with_a_from_never_moves_to_another_number(rig: Rig) -> None:
    """The From given with the service is the sender (the seed: "you can choose a specific
    number in a messaging service to set as the From"): while its modem is away the message
    waits for it, as a message sent without a service does; a failover moves only the
    messages whose sender the service chose."""
    stuck, chosen = await _alice_busy_with_a_sticky_message(rig)
    pinned = await rig.create(
        to=HANDSET_2, from_=ALICE, messaging_service_sid=SERVICE, body="from alice alone"
    )
    assert (pinned.status, pinned.from_, pinned.num_segments) == ("accepted", ALICE, "0")
    await rig.statuses.reached(pinned.sid, Status.QUEUED)  # behind the stuck one, on alice
    alice = rig.gateway.modems.handles["alice"]
    assert await rig.gateway.services.fail_over(alice) == 1  # the one the service chose
    assert (await rig.final(chosen)).from_ == BOB
    assert (await rig.fetch(pinned.sid)).status == "queued"
    await rig.replug_alice()
    for sid in (stuck, pinned.sid):
        sent = await rig.final(sid)
        assert (sent.status, sent.from_) == (Status.SENT, ALICE)


async def test_a_scheduled_service_message_with_a_from_is_sent_from_it(rig: Rig) -> None:
    """The seed: "When a message is scheduled, you will see scheduled instead of accepted",
    with num_segments "always 0" for a Messaging Service; when due, it goes from the From
    given (bob's), not the number the service would choose (alice's)."""
    created = await rig.create(
        to=HANDSET,
        from_=BOB,
        messaging_service_sid=SERVICE,
        body="later, from bob",
        schedule_type="fixed",
        send_at=LATER,
    )
    assert (created.status, created.from_, created.num_segments) == ("scheduled", BOB, "0")
    rig.clock.now = LATER
    rig.gateway.services.wake()
    sent = await rig.final(created.sid)
    assert (sent.status, sent.from_, sent.date_sent) == (Status.SENT, BOB, LATER)


async def _alice_busy_with_a_sticky_message(rig: Rig) -> tuple[str, str]:
    """HANDSET got a service message from alice; then alice hangs with a message of her own
    in flight, and a second service message to HANDSET is queued behind it (sticky: alice,
    though bob has nothing to send). Returns (the message in flight, the sticky one)."""
    first = await rig.create(to=HANDSET, messaging_service_sid=SERVICE, body="first")
    assert (await rig.final(first.sid)).from_ == ALICE  # equally loaded: the pool's first
    rig.alice.hang()
    asked = rig.alice.listen("AT+CMGS")
    stuck = await rig.create(to=HANDSET_2, from_=ALICE, body="stuck")
    await asked  # alice's worker is at stuck's part, unanswered
    second = await rig.create(to=HANDSET, messaging_service_sid=SERVICE, body="second")
    await rig.statuses.reached(second.sid, Status.QUEUED)
    fetched = await rig.fetch(second.sid)
    assert (fetched.status, fetched.from_) == ("queued", ALICE)
    return str(stuck.sid), str(second.sid)


async def test_the_sender_is_sticky_per_recipient(rig: Rig) -> None:
    stuck, second = await _alice_busy_with_a_sticky_message(rig)
    # A new recipient gets the least-loaded number: bob's.
    other = await rig.create(to=HANDSET_2, messaging_service_sid=SERVICE, body="other")
    assert (await rig.final(other.sid)).from_ == BOB
    # Alice comes back (plugged in again): both of hers go, from her number.
    await rig.replug_alice()
    for sid in (stuck, second):
        sent = await rig.final(sid)
        assert (sent.status, sent.from_) == (Status.SENT, ALICE)


async def test_without_sticky_sender_the_least_loaded_number_sends(
    tmp_path: Path, mode: str
) -> None:
    async with conformance(tmp_path, mode, services=(pool(sticky_sender=False),)) as rig:
        first = await rig.create(to=HANDSET, messaging_service_sid=SERVICE, body="first")
        assert (await rig.final(first.sid)).from_ == ALICE
        rig.alice.hang()
        asked = rig.alice.listen("AT+CMGS")
        stuck = await rig.create(to=HANDSET_2, from_=ALICE, body="stuck")
        await asked  # alice's worker is at stuck's part, unanswered
        second = await rig.create(to=HANDSET, messaging_service_sid=SERVICE, body="second")
        assert (await rig.final(second.sid)).from_ == BOB
        await rig.replug_alice()
        assert (await rig.final(stuck.sid)).from_ == ALICE


async def test_fail_over_moves_a_message_to_another_number_of_the_pool(rig: Rig) -> None:
    stuck, second = await _alice_busy_with_a_sticky_message(rig)
    alice = rig.gateway.modems.handles["alice"]
    assert await rig.gateway.services.fail_over(alice) == 1
    sent = await rig.final(second)
    assert (sent.status, sent.from_) == (Status.SENT, BOB)
    fetched = await rig.fetch(second)
    assert (fetched.from_, fetched.status, fetched.messaging_service_sid) == (BOB, "sent", SERVICE)
    assert (await rig.fetch(stuck)).status == "queued"  # not a service message: it waits
    await rig.replug_alice()
    assert (await rig.final(stuck)).from_ == ALICE


def _wants_a_pin(sim: SimulatedModem) -> ModemState:
    """Rebooted with a SIM that now wants a PIN nobody configured: she cannot be set up."""
    sim.pin = "1234"
    sim.reboot()
    return ModemState.FAILED


def _no_network(sim: SimulatedModem) -> ModemState:
    """Registered on no network: connected, set up, and unable to send."""
    sim.set_registration(0)
    return ModemState.NO_SERVICE


@pytest.mark.parametrize(
    "away",
    [
        pytest.param(_wants_a_pin, id="sim-wants-a-pin"),
        pytest.param(_no_network, id="no-network"),
    ],
)
async def test_fail_over_when_a_modem_stays_away(
    tmp_path: Path, mode: str, away: Callable[[SimulatedModem], ModemState]
) -> None:
    def quick(gateway: Gateway) -> None:
        gateway.services.failover_after = 0.01

    async with conformance(tmp_path, mode, prepare=quick) as rig:
        stuck, second = await _alice_busy_with_a_sticky_message(rig)
        state = away(rig.alice)
        entered = rig.statuses.entering("alice", state)
        rig.alice.resume()
        await rig.alice.drop_line()  # she comes back as ``away`` left her
        await entered
        # Bounded: a message that never moves must not cost the whole WAIT.
        sent = await asyncio.wait_for(rig.final(second), FAILOVER_WAIT)
        assert (sent.status, sent.from_) == (Status.SENT, BOB)
        assert rig.gateway.metrics.moved == 1
        assert (await rig.fetch(stuck)).status == "queued"  # not a service message: it waits


async def test_fail_over_counts_from_when_the_modem_went_away(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The backoff between reconnection attempts, scaled down with the failover delay.
    monkeypatch.setattr("gateway.modems.supervisor.BACKOFF_FIRST", 0.01)
    monkeypatch.setattr("gateway.modems.supervisor.BACKOFF_MAX", 0.02)

    def soon(gateway: Gateway) -> None:
        gateway.services.failover_after = 0.2  # ten attempts' worth of being away

    async with conformance(tmp_path, mode, prepare=soon) as rig:
        _, second = await _alice_busy_with_a_sticky_message(rig)
        failed = rig.statuses.entering("alice", _wants_a_pin(rig.alice))
        rig.alice.resume()
        await rig.alice.drop_line()  # from now on she fails every attempt to set her up
        await failed
        sent = await asyncio.wait_for(rig.final(second), FAILOVER_WAIT)
        assert (sent.status, sent.from_) == (Status.SENT, BOB)


async def test_a_service_message_waits_accepted_while_no_number_can_send(
    tmp_path: Path, mode: str
) -> None:
    async with conformance(tmp_path, mode, services=(pool(ALICE),)) as rig:
        failed = rig.statuses.entering("alice", _wants_a_pin(rig.alice))
        await rig.alice.drop_line()
        await failed
        callback = rig.receiver.url("/status")
        created = await rig.create(
            to=HANDSET, messaging_service_sid=SERVICE, body="wait", status_callback=callback
        )
        assert created.status == "accepted"
        assert await rig.gateway.services.route_due() == 0  # no number of its pool is ready
        assert (await rig.fetch(created.sid)).status == "accepted"
        canceled = await rig.call(rig.messages(created.sid), "update", status="canceled")
        assert (canceled.status, canceled.from_) == ("canceled", None)
        (canceled_callback,) = await rig.callbacks(created.sid, 1)
        assert canceled_callback.params["MessageStatus"] == "canceled"
        assert canceled_callback.signed


async def test_a_services_own_status_callback_and_inbound_url(tmp_path: Path, mode: str) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    service = pool(
        status_callback=receiver.url("/service-status"), sms_url=receiver.url("/service-sms")
    )
    try:
        async with conformance(tmp_path, mode, receiver=receiver, services=(service,)) as rig:
            created = await rig.create(to=HANDSET, messaging_service_sid=SERVICE, body="hi")
            callbacks = await rig.callbacks(created.sid, 2)
            assert [c.path for c in callbacks] == ["/service-status"] * 2
            assert [c.params["MessageStatus"] for c in callbacks] == ["queued", "sent"]
            assert all(c.signed for c in callbacks)
            # An explicit StatusCallback wins over the service's.
            own = await rig.create(
                to=HANDSET,
                messaging_service_sid=SERVICE,
                body="mine",
                status_callback=receiver.url("/mine"),
            )
            assert [c.path for c in await rig.callbacks(own.sid, 2)] == ["/mine"] * 2
            # An SMS to a number of the pool goes to the service's inbound URL.
            rig.network.inject(BOB, HANDSET_2, "to the service")
            inbound = [r for r in await receiver.wait(5) if r.path == "/service-sms"]
            assert len(inbound) == 1 and inbound[0].signed
            params = inbound[0].params
            assert (params["Body"], params["To"], params["From"]) == (
                "to the service",
                BOB,
                HANDSET_2,
            )
            assert params["MessagingServiceSid"] == SERVICE
            received = await rig.fetch(params["MessageSid"])
            assert (received.direction, received.messaging_service_sid) == ("inbound", SERVICE)
    finally:
        await receiver.stop()


# --- phone numbers ------------------------------------------------------------------------------


async def test_phone_numbers_list_and_fetch(rig: Rig) -> None:
    listed = await rig.call(rig.numbers, "list")
    assert sorted(n.phone_number for n in listed) == [ALICE, BOB]  # carol's is another account's
    for number in listed:
        assert number.sid.startswith("PN") and len(number.sid) == 34
        assert number.account_sid == ACCOUNT.sid
        assert (number.sms_url, number.sms_method) in ((None, "POST"), ("", "POST"))
        fetched = await rig.call(rig.numbers.get(number.sid), "fetch")
        assert (fetched.sid, fetched.phone_number) == (number.sid, number.phone_number)
    (alice,) = await rig.call(rig.numbers, "list", phone_number=ALICE)
    assert alice.phone_number == ALICE
    assert [n.sid for n in await rig.call(rig.numbers, "list", page_size=1)] == [
        n.sid for n in listed
    ]
    unknown = rig.numbers("PN" + "0" * 32)
    await rig.refused(20404, 404, unknown, "fetch")
    await rig.refused(20404, 404, unknown, "update", sms_url=rig.receiver.url())


async def test_a_new_sms_url_gets_the_next_inbound_message_and_survives_a_restart(
    tmp_path: Path, mode: str
) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    clock = Clock()
    old = NumberConfig(BOB, sms_url=receiver.url("/configured"))
    try:
        async with conformance(
            tmp_path, mode, clock=clock, receiver=receiver, numbers=(old,)
        ) as rig:
            (bob,) = await rig.call(rig.numbers, "list", phone_number=BOB)
            assert bob.sms_url == receiver.url("/configured")
            updated = await rig.call(
                rig.numbers(bob.sid), "update", sms_url=receiver.url("/new"), sms_method="POST"
            )
            assert (updated.sid, updated.sms_url, updated.sms_method) == (
                bob.sid,
                receiver.url("/new"),
                "POST",
            )
            rig.network.inject(BOB, HANDSET, "text")
            (request,) = await receiver.wait(1)
            assert (request.path, request.signed, request.method) == ("/new", True, "POST")
            assert (request.params["Body"], request.params["To"]) == ("text", BOB)
            assert request.params["From"] == HANDSET
        # The API's setting wins over the configuration's, after a restart too.
        async with conformance(
            tmp_path, mode, clock=clock, receiver=receiver, numbers=(old,)
        ) as rig:
            fetched = await rig.call(rig.numbers(bob.sid), "fetch")
            assert (fetched.sid, fetched.sms_url) == (bob.sid, receiver.url("/new"))
            rig.network.inject(BOB, HANDSET, "again")
            requests = await receiver.wait(2)
            assert (requests[1].path, requests[1].signed) == ("/new", True)
            assert requests[1].params["Body"] == "again"
    finally:
        await receiver.stop()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        pytest.param({"sms_url": "ftp://example.com/sms"}, 21502, id="url-not-http"),
        pytest.param({"sms_url": "/sms"}, 21502, id="url-relative"),
        pytest.param({"sms_url": "http://example.com/a b"}, 21502, id="url-space"),
        pytest.param({"sms_fallback_url": "mailto:me@example.com"}, 21502, id="fallback"),
        pytest.param({"status_callback": "nope"}, 21609, id="status-callback"),
        pytest.param({"sms_method": "PUT"}, 20001, id="method"),
    ],
)
async def test_phone_number_update_refusals(rig: Rig, params: dict[str, Any], code: int) -> None:
    (alice,) = await rig.call(rig.numbers, "list", phone_number=ALICE)
    await rig.refused(code, 400, rig.numbers(alice.sid), "update", **params)
    fetched = await rig.call(rig.numbers(alice.sid), "fetch")
    assert (fetched.sms_url, fetched.sms_method) == (alice.sms_url, alice.sms_method)


# --- Applications --------------------------------------------------------------------------------

UNKNOWN_APPLICATION: Final = "AP" + "0f" * 16


async def test_application_sid_sends_sent_and_failed_to_the_application_not_status_callback(
    rig: Rig,
) -> None:
    """The seed (application_sid): "The SID of the application that should receive message
    status. We POST a message_sid parameter and a message_status parameter with a value of
    sent or failed to the application's message_status_callback. If a status_callback
    parameter is also passed, it will be ignored and the application's message_status_callback
    parameter will be used." (Twilio's newer reference, twilio-messages-api.md line 99, has it
    the other way round; the seed wins.)"""
    app = await rig.call(
        rig.sdk.client.applications,
        "create",
        friendly_name="status",
        message_status_callback=rig.receiver.url("/app-status"),
    )
    ignored = rig.receiver.url("/ignored")
    created = await rig.create(
        to=HANDSET, from_=ALICE, body="hi", application_sid=app.sid, status_callback=ignored
    )
    assert created.status == "queued"
    assert (await rig.final(created.sid)).status is Status.SENT
    (callback,) = await rig.callbacks(created.sid, 1)
    assert (callback.path, callback.method, callback.signed) == ("/app-status", "POST", True)
    assert (callback.params["MessageStatus"], callback.params["MessageSid"]) == (
        "sent",
        created.sid,
    )
    # Only "sent" was reported: not "queued", and nothing to the StatusCallback given with it.
    assert [webhook.url for webhook in (await rig.trail(created.sid)).webhooks] == [
        rig.receiver.url("/app-status")
    ]

    # Failed: reported, with its error code.
    rig.network.set_rule(HANDSET_2, HandsetRule(Fate.REJECTED, cms_error=21))
    failing = await rig.create(to=HANDSET_2, from_=ALICE, body="no", application_sid=app.sid)
    assert (await rig.final(failing.sid)).status is Status.FAILED
    (failed,) = await rig.callbacks(failing.sid, 1)
    assert (failed.path, failed.signed) == ("/app-status", True)
    assert (failed.params["MessageStatus"], failed.params["ErrorCode"]) == ("failed", "30007")

    # Delivered: "sent" is reported, the delivery is not ("a value of sent or failed").
    delivered_to = "+447700900789"
    rig.network.set_rule(delivered_to, HandsetRule(Fate.DELIVERED))
    delivered = await rig.create(to=delivered_to, from_=BOB, body="ok", application_sid=app.sid)
    await rig.statuses.reached(delivered.sid, Status.DELIVERED)
    assert [c.params["MessageStatus"] for c in await rig.callbacks(delivered.sid, 1)] == ["sent"]
    assert len((await rig.trail(delivered.sid)).webhooks) == 1


async def test_the_application_is_looked_up_when_each_callback_is_made(rig: Rig) -> None:
    """The seed: "We POST ... to the application's message_status_callback": the application's
    URL when the status changes, not a copy taken when the message was created. Twilio calls
    it "the SID of the application that should receive message status": a reference, so a
    change to the application applies to the messages that name it, and an application
    deleted meanwhile receives nothing."""
    apps = rig.sdk.client.applications
    kept = await rig.call(apps, "create", message_status_callback=rig.receiver.url("/before"))
    gone = await rig.call(apps, "create", message_status_callback=rig.receiver.url("/gone"))
    rig.alice.hang()
    asked = rig.alice.listen("AT+CMGS")
    first = await rig.create(to=HANDSET, from_=ALICE, body="one", application_sid=kept.sid)
    second = await rig.create(to=HANDSET, from_=ALICE, body="two", application_sid=gone.sid)
    await asked  # alice's worker is at the first's part, unanswered
    await rig.call(apps(kept.sid), "update", message_status_callback=rig.receiver.url("/after"))
    assert await rig.call(apps(gone.sid), "delete") is True
    await rig.replug_alice()
    for sid in (first.sid, second.sid):
        assert (await rig.final(sid)).status is Status.SENT
    (callback,) = await rig.callbacks(first.sid, 1)
    assert (callback.path, callback.signed, callback.params["MessageStatus"]) == (
        "/after",
        True,
        "sent",
    )
    assert (await rig.trail(second.sid)).webhooks == ()


async def test_an_unknown_application_sid_is_refused_with_21218(rig: Rig) -> None:
    """The seed's application_sid is "The SID of the application that should receive message
    status": one that names no application of the account is refused with Twilio's 21218
    "Invalid ApplicationSid" ("The application may not exist anymore or may not be available
    within your account", Twilio's error dictionary), not dropped."""
    carol = rig.clients.account(OTHER_ACCOUNT)
    theirs = await rig.call(carol.client.applications, "create", friendly_name="carol's")
    for sid in ("nonsense", UNKNOWN_APPLICATION, theirs.sid):
        error = await rig.refused(
            21218,
            400,
            rig.messages,
            "create",
            to=HANDSET,
            from_=ALICE,
            body="x",
            application_sid=sid,
        )
        assert "ApplicationSid" in error.msg
    assert await rig.listed() == []  # nothing was stored


async def test_a_number_s_sms_application_gets_its_inbound_messages(
    tmp_path: Path, mode: str
) -> None:
    """twilio-oai, IncomingPhoneNumber sms_application_sid: "The SID of the application that
    handles SMS messages sent to the phone number. If an sms_application_sid is present, we
    ignore all sms_*_url values and use those of the application." Twilio's Applications
    reference: "You can assign an ApplicationSid to an IncomingPhoneNumber to tell Twilio to use
    the application's URLs instead of the ones set directly on the IncomingPhoneNumber."
    """
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    clock = Clock()
    own = NumberConfig(BOB, sms_url=receiver.url("/own"))
    try:
        async with conformance(
            tmp_path, mode, clock=clock, receiver=receiver, numbers=(own,), services=()
        ) as rig:
            app = await rig.call(
                rig.sdk.client.applications,
                "create",
                sms_url=receiver.url("/app-sms"),
                sms_method="GET",
                sms_fallback_url=receiver.url("/app-fallback"),
            )
            (bob,) = await rig.call(rig.numbers, "list", phone_number=BOB)
            assert bob.sms_application_sid == ""
            updated = await rig.call(rig.numbers(bob.sid), "update", sms_application_sid=app.sid)
            assert updated.sms_application_sid == app.sid
            assert updated.sms_url == receiver.url("/own")  # kept, but not used
            rig.network.inject(BOB, HANDSET, "to the app")
            (request,) = await receiver.wait(1)
            assert (request.path, request.method, request.signed) == ("/app-sms", "GET", True)
            assert (request.params["Body"], request.params["To"]) == ("to the app", BOB)
            # The application's fallback URL, when its SmsUrl fails.
            receiver.answers["/app-sms"] = Answer(status=500)
            rig.network.inject(BOB, HANDSET, "fallback")
            requests = await receiver.wait(3)
            assert [(r.path, r.signed) for r in requests[1:]] == [
                ("/app-sms", True),
                ("/app-fallback", True),
            ]
            assert requests[2].params["Body"] == "fallback"
        # Kept across a restart, and the application's new URL is used at once.
        async with conformance(
            tmp_path, mode, clock=clock, receiver=receiver, numbers=(own,), services=()
        ) as rig:
            fetched = await rig.call(rig.numbers(bob.sid), "fetch")
            assert fetched.sms_application_sid == app.sid
            apps = rig.sdk.client.applications
            await rig.call(apps(app.sid), "update", sms_url=receiver.url("/new"), sms_method="POST")
            rig.network.inject(BOB, HANDSET, "new url")
            request = (await receiver.wait(4))[3]
            assert (request.path, request.method, request.signed) == ("/new", "POST", True)
            # Deleted: the number goes back to its own URL.
            clock.advance(60)
            assert await rig.call(apps(app.sid), "delete") is True
            after = await rig.call(rig.numbers(bob.sid), "fetch")
            assert after.sms_application_sid == ""
            assert after.date_updated == clock.now.replace(microsecond=0)
            rig.network.inject(BOB, HANDSET, "own again")
            request = (await receiver.wait(5))[4]
            assert (request.path, request.params["Body"], request.signed) == (
                "/own",
                "own again",
                True,
            )
    finally:
        await receiver.stop()


async def test_a_number_s_sms_application_must_be_one_of_the_account_s(rig: Rig) -> None:
    """Twilio's 22108 "Invalid Application SID" for configuring a phone number with one that
    "is not a 34-character string that is prefixed with 'AP'" or "does not exist anymore or does
    not belong to your account" (twilio.com/docs/api/errors/22108); '' clears it."""
    (alice,) = await rig.call(rig.numbers, "list", phone_number=ALICE)
    carol = rig.clients.account(OTHER_ACCOUNT)
    theirs = await rig.call(carol.client.applications, "create", friendly_name="carol's")
    for sid in ("nonsense", UNKNOWN_APPLICATION, theirs.sid):
        await rig.refused(22108, 400, rig.numbers(alice.sid), "update", sms_application_sid=sid)
    mine = await rig.call(rig.sdk.client.applications, "create", friendly_name="mine")
    set_ = await rig.call(rig.numbers(alice.sid), "update", sms_application_sid=mine.sid)
    assert set_.sms_application_sid == mine.sid
    cleared = await rig.call(rig.numbers(alice.sid), "update", sms_application_sid="")
    assert cleared.sms_application_sid == ""


# --- limits --------------------------------------------------------------------------------------


async def test_a_full_queue_refuses_with_429_and_keeps_what_it_has(
    tmp_path: Path, mode: str
) -> None:
    alice = ModemConfig("alice", "simulated", (ALICE,), max_backlog=3)
    bob = ModemConfig("bob", "simulated", (BOB,))
    async with conformance(tmp_path, mode, alice, bob, services=()) as rig:
        rig.alice.faults.hold_submit = True  # the first part taken, its answer held back
        accepted = []
        for i in range(3):
            created = await rig.create(to=HANDSET, from_=ALICE, body=f"part {i}")
            accepted.append(created.sid)
        await rig.statuses.reached(accepted[0], Status.SENDING)  # on its way: still counted
        error = await rig.refused(
            21611, 429, rig.messages, "create", to=HANDSET, from_=ALICE, body="one too many"
        )
        assert "queued messages" in error.msg
        # Another sender's queue is its own.
        from_bob = await rig.create(to=HANDSET, from_=BOB, body="bob is fine")
        await rig.final(from_bob.sid)
        listed = await rig.listed(from_=ALICE)
        assert listed == accepted[::-1]  # nothing already accepted was dropped
        # Alice's network answers at last: all three go.
        rig.alice.release_submit()
        for sid in accepted:
            assert (await rig.final(sid)).status is Status.SENT


async def test_too_many_concurrent_requests_are_20429(tmp_path: Path, mode: str) -> None:
    async with conformance(tmp_path, mode, max_concurrent_requests=1) as rig:
        body = b"To=%2B447700900123&From=%2B15550001001&Body=held"
        path = f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json"
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.gateway.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {basic_auth()['Authorization']}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode())
        # aiohttp answers "100 Continue" and goes straight on (without yielding: the write
        # needs no drain) into the middlewares, where the request is counted; its handler
        # then waits for the body this client holds back.
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT) == (
            b"HTTP/1.1 100 Continue\r\n\r\n"
        )
        error = await rig.refused(
            20429, 429, rig.messages, "create", to=HANDSET, from_=BOB, body="refused"
        )
        assert "Too Many Requests" in error.msg
        await rig.refused(20429, 429, rig.messages("SM" + "0" * 32), "fetch")
        writer.write(body)
        answer = await asyncio.wait_for(reader.read(), WAIT)
        writer.close()
        await writer.wait_closed()
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 201 Created"
        held = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert (held["status"], held["body"]) == ("queued", "held")
        # One at a time again: the client is served.
        assert await rig.listed() == [held["sid"]]


# --- other accounts, bad credentials ------------------------------------------------------------


async def test_another_accounts_resources_are_not_found_and_bad_credentials_are_20003(
    rig: Rig,
) -> None:
    carol = rig.clients.account(OTHER_ACCOUNT)
    theirs = await rig.call(carol.messages, "create", to=HANDSET, from_=CAROL, body="carol's")
    await rig.final(theirs.sid, OTHER_ACCOUNT)
    (carols_number,) = await rig.call(carol.client.incoming_phone_numbers, "list")
    assert carols_number.phone_number == CAROL
    mine = rig.messages(theirs.sid)
    await rig.refused(20404, 404, mine, "fetch")
    await rig.refused(20404, 404, mine, "update", body="")
    await rig.refused(20404, 404, mine, "update", status="canceled")
    await rig.refused(20404, 404, mine, "delete")
    await rig.page_refused(20404, 404, mine.media)
    await rig.refused(20404, 404, rig.numbers(carols_number.sid), "fetch")
    await rig.refused(20404, 404, rig.numbers(carols_number.sid), "update", sms_url="")
    assert (await rig.call(carol.messages(theirs.sid), "fetch")).body == "carol's"

    intruder = rig.clients(ACCOUNT.sid, "not-the-token").client
    await rig.refused(20003, 401, intruder.messages(theirs.sid), "fetch")
    await rig.refused(20003, 401, intruder.messages(theirs.sid), "update", body="")
    await rig.refused(20003, 401, intruder.messages(theirs.sid), "delete")
    await rig.refused(20003, 401, intruder.incoming_phone_numbers(carols_number.sid), "fetch")
    await rig.page_refused(20003, 401, intruder.incoming_phone_numbers)
    await rig.page_refused(20003, 401, intruder.messages(theirs.sid).media)
