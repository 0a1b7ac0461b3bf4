"""End to end, the webhook sender's scheduling: a receiver that hangs holds up no other
receiver's webhooks, no destination has more than its limit of requests at once (a fallback
URL's included), a message's webhooks still go one at a time and in order, and every request
carries the webhook's ``I-Twilio-Idempotency-Token``, the same on every attempt and after a
restart.

The receivers are real aiohttp servers checking signatures with twilio's ``RequestValidator``
(:mod:`tests.gateway.webhook_receiver`); one that hangs accepts requests and answers none until the
test releases them. What is asserted is the order of events (what had arrived, what was still
open), never how long something took."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from gateway.config import NumberConfig
from gateway.domain.destinations import destination
from gateway.runtime import Gateway
from gateway.store.sqlite import DATABASE_NAME
from gateway.webhooks.sender import PER_DESTINATION
from tests.e2e.rig import HANDSET, HANDSET_2, scrape, value
from tests.e2e.test_inbound import inbound_config, receiving
from tests.fakes.clock import Clock
from tests.gateway.gateway_rig import (
    ACCOUNT,
    ALICE,
    BOB,
    CAROL,
    OTHER_ACCOUNT,
    Statuses,
    basic_auth,
    config,
    running,
)
from tests.gateway.webhook_receiver import Answer, Received, Receiver

EXPECTED = ["queued", "sent", "delivered"]  # each message's status callbacks, in this order


async def create(gateway: Gateway, **form: str) -> str:
    async with aiohttp.ClientSession(gateway.base_url, headers=basic_auth()) as http:
        reply = await http.post(f"/2010-04-01/Accounts/{ACCOUNT.sid}/Messages.json", data=form)
        body: dict[str, Any] = await reply.json()
        assert reply.status == 201, body
        return str(body["sid"])


def is_uuid4(token: str) -> bool:
    try:
        return uuid.UUID(token).version == 4
    except ValueError:
        return False


async def test_a_receiver_that_hangs_holds_up_no_other_receivers_webhooks(
    tmp_path: Path,
) -> None:
    hanging = Receiver(ACCOUNT.auth_token, hold={"/status"})
    other = Receiver(OTHER_ACCOUNT.auth_token)
    await hanging.start()
    await other.start()
    numbers = (NumberConfig(CAROL, sms_url=other.url()),)
    # No request times out while the test runs: the receiver that hangs keeps what it has.
    configuration = config(tmp_path / "data", numbers=numbers, webhook_timeout=600)
    try:
        async with running(configuration, clock=Clock()) as gateway:
            statuses = Statuses(gateway)
            # Many status callbacks of one account, all to the receiver that hangs.
            for number in range(40):
                await create(
                    gateway,
                    To=HANDSET,
                    From=ALICE,
                    Body=f"message {number}",
                    StatusCallback=hanging.url("/status"),
                )
            await hanging.until(lambda: len(hanging.open) >= PER_DESTINATION)

            # Another account's number receives a text, its webhook for another receiver.
            gateway.modems.network.inject(CAROL, HANDSET, "not held up")
            (request,) = await other.wait(1)
            assert (request.params["Body"], request.params["AccountSid"]) == (
                "not held up",
                OTHER_ACCOUNT.sid,
            )
            assert request.signed
            # It came while the hanging receiver still held every request it had been sent,
            # and had been sent no more than its destination's limit.
            assert (len(hanging.open), hanging.answered) == (PER_DESTINATION, 0)
            assert len(hanging.requests) == hanging.most_open == PER_DESTINATION

            # Its delivery committed, and no other.
            assert await statuses.webhook_outcomes(1) == [None]
            families = await scrape(gateway.base_url)
            held = destination(hanging.url())
            assert value(families, "smsgw_webhook_requests_in_flight") == PER_DESTINATION
            by_destination = "smsgw_webhook_destination_requests_in_flight"
            assert value(families, by_destination, destination=held) == PER_DESTINATION
            assert value(families, "smsgw_webhook_destinations_saturated") == 1
    finally:
        await hanging.stop()
        await other.stop()


def unfinished(receiver: Receiver, sids: list[str]) -> int:
    """Messages whose callbacks have not all been answered."""
    answered = Counter(r.params["MessageSid"] for r in receiver.requests if r not in receiver.open)
    return sum(1 for sid in sids if answered[sid] < len(EXPECTED))


async def test_one_destination_has_its_limit_at_once_and_each_messages_callbacks_in_order(
    tmp_path: Path,
) -> None:
    receiver = Receiver(ACCOUNT.auth_token, hold={"/status"})
    await receiver.start()
    try:
        async with running(config(tmp_path / "data"), clock=Clock()) as gateway:
            sids = [
                await create(
                    gateway,
                    To=HANDSET,
                    From=ALICE,
                    Body=f"in order {number}",
                    StatusCallback=receiver.url("/status"),
                )
                for number in range(10)
            ]
            total = len(sids) * len(EXPECTED)
            # Whenever the destination has all the requests it may (or every message left has
            # one open), answer the newest: requests end in another order than they began.
            while receiver.answered < total:
                target = min(PER_DESTINATION, unfinished(receiver, sids))
                await receiver.until(lambda: len(receiver.open) >= target)  # noqa: B023
                assert receiver.most_open <= PER_DESTINATION
                answered = receiver.answered
                receiver.release()
                await receiver.until(lambda: receiver.answered > answered)  # noqa: B023
    finally:
        await receiver.stop()

    assert receiver.most_open == PER_DESTINATION
    assert receiver.overlapping == []  # never two of one message at once
    for sid in sids:
        mine = [r for r in receiver.requests if r.params["MessageSid"] == sid]
        assert [r.params["MessageStatus"] for r in mine] == EXPECTED
        assert all(r.signed for r in mine)
    assert len({r.token for r in receiver.requests}) == total  # one token per webhook


async def test_a_fallback_url_is_a_destination_with_a_limit_of_its_own(tmp_path: Path) -> None:
    primary = Receiver(ACCOUNT.auth_token)
    primary.answers["/sms"] = Answer(500, "down", "text/plain")
    fallback = Receiver(ACCOUNT.auth_token, hold={"/fallback"})
    await fallback.start()
    number = {"sms_fallback_url": fallback.url("/fallback")}
    try:
        async with receiving(tmp_path, receiver=primary, number=number) as rig:
            texts = [f"text {n}" for n in range(PER_DESTINATION + 2)]
            for text in texts:
                rig.text(text)
            await primary.wait(len(texts))  # every primary attempt failed...
            await fallback.until(lambda: len(fallback.open) == PER_DESTINATION)
            # ...and the fallback URL's destination took no more than its limit: the others
            # wait for room there.
            assert len(fallback.requests) == PER_DESTINATION
            fallback.release_all()
            assert await rig.statuses.webhook_outcomes(len(texts)) == [None] * len(texts)
    finally:
        await fallback.stop()
    assert fallback.most_open == PER_DESTINATION
    assert sorted(r.params["Body"] for r in fallback.requests) == sorted(texts)
    # The fallback request carries the token its primary request carried.
    tokens = {r.params["Body"]: r.token for r in primary.requests}
    assert all(r.token == tokens[r.params["Body"]] for r in fallback.requests)
    assert all(is_uuid4(token) for token in tokens.values())


def tokens_by_body(requests: list[Received]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for request in requests:
        seen.setdefault(request.params["Body"], set()).add(request.token)
    return seen


async def test_every_attempt_carries_the_webhooks_token_across_a_restart(tmp_path: Path) -> None:
    receiver = Receiver(ACCOUNT.auth_token)
    await receiver.start()
    receiver.answers["/sms"] = Answer(503, "not now", "text/plain")
    clock = Clock()
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        rig.text("first")
        rig.text("second", sender=HANDSET_2)
        await rig.statuses.webhook_outcomes(2)
        clock.advance(5)  # the first retry
        rig.gateway.webhooks.wake()
        await rig.statuses.webhook_outcomes(4)
    # The gateway restarts on the same data directory; the receiver takes the next retry.
    del receiver.answers["/sms"]
    clock.advance(30)
    async with receiving(tmp_path, receiver=receiver, clock=clock):
        await receiver.wait(6)
    seen = tokens_by_body(receiver.requests)
    assert sorted(seen) == ["first", "second"]
    assert all(len(tokens) == 1 for tokens in seen.values())  # one token on all 3 attempts
    (first,), (second,) = seen["first"], seen["second"]
    assert first != second and is_uuid4(first) and is_uuid4(second)
    assert all(request.signed for request in receiver.requests)  # the token is not signed


async def test_a_delivery_cut_short_by_stop_goes_again_at_the_next_start(tmp_path: Path) -> None:
    receiver = Receiver(ACCOUNT.auth_token, hold={"/sms"})
    await receiver.start()
    clock = Clock()
    configuration = inbound_config(tmp_path / "data", receiver, webhook_timeout=600)
    async with running(configuration, clock=clock) as gateway:
        gateway.modems.network.inject(BOB, HANDSET, "interrupted")
        await receiver.until(lambda: len(receiver.open) == 1)
    # The gateway stopped without waiting for the answer: the delivery was cancelled.
    assert (len(receiver.open), receiver.answered) == (1, 0)
    receiver.release_all()
    async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
        interrupted, again = await receiver.wait(2)
        assert again.params == interrupted.params and again.signed
        assert again.token == interrupted.token and is_uuid4(again.token)
        assert rig.gateway.metrics.webhook_retries == 0  # not a failed attempt: it never ended


class Logged(logging.Handler):
    """Set once ``gateway.webhooks.sender`` logs a line containing ``text``: something to await."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


def refusing_updates(database: Path, refuse: bool) -> None:
    """The database refuses (or takes again) every change to a webhook, whoever makes it, as
    a full disk would: a trigger, made and dropped by a connection of the test's own."""
    with sqlite3.connect(database) as db:
        if refuse:
            db.execute(
                "CREATE TRIGGER refuse BEFORE UPDATE ON webhooks "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        else:
            db.execute("DROP TRIGGER refuse")


async def test_a_delivery_whose_outcome_cannot_be_committed_waits_before_going_again(
    tmp_path: Path,
) -> None:
    receiver = Receiver(ACCOUNT.auth_token, hold={"/sms"})
    clock = Clock()
    logged = Logged("could not be recorded")
    logging.getLogger("gateway.webhooks.sender").addHandler(logged)
    try:
        async with receiving(tmp_path, receiver=receiver, clock=clock) as rig:
            database = rig.gateway.config.data_dir / DATABASE_NAME
            rig.text("taken, not recorded")
            await receiver.until(lambda: len(receiver.open) == 1)
            await asyncio.to_thread(refusing_updates, database, True)
            receiver.release_all()  # taken: the delivery, and then its failure, cannot commit
            await asyncio.wait_for(logged.seen.wait(), 10)
            await asyncio.to_thread(refusing_updates, database, False)
            # The sender goes on with the others, and does not send that one again at once.
            rig.text("the next one", sender=HANDSET_2)
            await receiver.wait(2)
            clock.advance(5)  # as after a failed attempt
            rig.gateway.webhooks.wake()
            first, other, again = await receiver.wait(3)
    finally:
        logging.getLogger("gateway.webhooks.sender").removeHandler(logged)
    assert [r.params["Body"] for r in (first, other, again)] == [
        "taken, not recorded",
        "the next one",
        "taken, not recorded",
    ]
    assert again.token == first.token
