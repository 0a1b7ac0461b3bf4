"""The webhook sender alone (``gateway/webhooks/sender.py``): a webhook is signed and delivered,
moves to its fallback URL when the primary fails, is retried with backoff and then given up;
an inbound webhook's TwiML replies (Redirects followed, ten at most) are committed with its
delivery; no destination takes more requests at once than its limit, and a message's webhooks
go one at a time. Over the in-memory store, the test clock and real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import socket
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

import pytest
from twilio.request_validator import RequestValidator

from gateway.domain.models import Direction, Status, new_sid
from gateway.domain.records import Webhook
from gateway.webhooks.answers import MAX_REDIRECTS
from tests.gateway.units.rig import ACCOUNT, ALICE, SENDER
from tests.gateway.units.webhook_site import Delivering, Reply, delivering, site

FAILING: Final = Reply(500, "no")
HELD: Final = Reply(hold=True)


def hook(url: str, *, kind: str = "status", sid: str | None = None, **changes: Any) -> Webhook:
    message_sid = sid or new_sid("SM")
    params: tuple[tuple[str, str], ...] = (
        ("MessageSid", message_sid),
        ("MessageStatus", "sent"),
        ("Body", "Grüße 😀"),
    )
    if kind == "inbound":
        params = (("MessageSid", message_sid), ("From", SENDER), ("To", ALICE), ("Body", "hi"))
    made = Webhook(ACCOUNT.sid, message_sid, kind, url, "POST", params)
    return replace(made, **changes)


def state(unit: Delivering, webhook_id: int) -> tuple[str, int, bool]:
    row = unit.store.webhooks[webhook_id]
    return row.state, row.attempts, row.use_fallback


async def test_a_webhook_is_signed_delivered_and_taken_off_the_queue() -> None:
    async with site() as receiver, delivering() as unit:
        webhook = hook(receiver.url("/status?x=1"))
        webhook_id = await unit.enqueue(webhook)
        assert await unit.outcome(1) == [None]
        (request,) = receiver.requests
        assert request.params == dict(webhook.params)
        validator = RequestValidator(ACCOUNT.auth_token)
        signed = request.headers["X-Twilio-Signature"]
        assert validator.validate(webhook.url, request.params, signed)
        assert request.headers["I-Twilio-Idempotency-Token"] == webhook.token
        assert request.headers["User-Agent"] == "TwilioProxy/1.1"
        assert state(unit, webhook_id) == ("delivered", 0, False)
        assert unit.sender.metrics.webhooks_delivered == 1


async def test_the_fallback_url_takes_a_webhook_the_primary_failed() -> None:
    async with site() as primary, site() as fallback, delivering() as unit:
        primary.answer("/sms", FAILING)
        webhook = hook(
            primary.url("/sms"),
            kind="inbound",
            fallback_url=fallback.url("/backup"),
            fallback_method="GET",
        )
        webhook_id = await unit.enqueue(webhook)
        assert await unit.outcome(1) == [None]
        ((first,), (second,)) = primary.requests, fallback.requests
        assert (first.method, second.method) == ("POST", "GET")
        assert second.params == dict(webhook.params)  # in the query, signed with it
        assert RequestValidator(ACCOUNT.auth_token).validate(
            second.url, {}, second.headers["X-Twilio-Signature"]
        )
        tokens = {r.headers["I-Twilio-Idempotency-Token"] for r in (first, second)}
        assert tokens == {webhook.token}  # the same webhook, to either URL
        # The primary's failure was no attempt of its own: that takes both URLs.
        assert state(unit, webhook_id) == ("delivered", 0, True)
        assert unit.store.webhooks[webhook_id].last_error == f"HTTP 500 from {webhook.url}"


async def test_failures_are_retried_with_backoff_then_given_up() -> None:
    async with site() as receiver, delivering(max_attempts=3, backoff=(5.0, 30.0)) as unit:
        receiver.answer("/status", FAILING)
        webhook_id = await unit.enqueue(hook(receiver.url("/status")))
        assert await unit.outcome(1) == [f"HTTP 500 from {receiver.url('/status')}"]
        row = unit.store.webhooks[webhook_id]
        assert (row.state, row.attempts, row.last_error) == ("pending", 1, unit.outcomes[0][1])
        assert row.next_attempt_at == unit.clock() + timedelta(seconds=5)
        unit.advance(5)
        await unit.outcome(2)
        assert (row.attempts, row.next_attempt_at) == (2, unit.clock() + timedelta(seconds=30))
        unit.advance(30)
        await unit.outcome(3)
        assert state(unit, webhook_id) == ("failed", 3, False)
        assert (unit.sender.metrics.webhook_retries, unit.sender.metrics.webhook_give_ups) == (2, 1)
        assert len(receiver.requests) == 3


async def test_a_retry_goes_to_the_primary_url_again_then_to_the_fallback() -> None:
    async with site() as primary, site() as fallback, delivering(backoff=(5.0,)) as unit:
        primary.answer("/sms", FAILING)
        fallback.answer("/backup", FAILING, Reply())
        webhook = hook(primary.url("/sms"), fallback_url=fallback.url("/backup"))
        webhook_id = await unit.enqueue(webhook)
        assert await unit.outcome(1) == [f"HTTP 500 from {webhook.fallback_url}"]
        assert state(unit, webhook_id) == ("pending", 1, False)  # back to the primary
        unit.advance(5)
        assert await unit.outcome(2) == [f"HTTP 500 from {webhook.fallback_url}", None]
        assert (len(primary.requests), len(fallback.requests)) == (2, 2)


async def test_a_receiver_nobody_listens_on_is_a_failure_like_any_other() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again at once: nothing listens there
    async with delivering(backoff=(5.0,)) as unit:
        webhook_id = await unit.enqueue(hook(f"http://127.0.0.1:{port}/status"))
        (error,) = await unit.outcome(1)
        assert error is not None and error.startswith("ClientConnectorError")
        assert state(unit, webhook_id) == ("pending", 1, False)


async def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt() -> None:
    async with site() as receiver, delivering(timeout=0.05) as unit:
        receiver.answer("/status", HELD)
        webhook_id = await unit.enqueue(hook(receiver.url("/status")))
        assert await unit.outcome(1) == ["TimeoutError"]
        assert state(unit, webhook_id) == ("pending", 1, False)


def twiml(*verbs: str) -> Reply:
    return Reply(body=f"<Response>{''.join(verbs)}</Response>", content_type="text/xml")


async def test_twiml_replies_are_committed_with_the_delivery() -> None:
    async with site() as receiver, delivering() as unit:
        receiver.answer("/sms", twiml("<Message>Thanks!</Message>"))
        webhook_id = await unit.enqueue(hook(receiver.url("/sms"), kind="inbound"))
        assert await unit.outcome(1) == [None]
        (reply,) = [row.message for row in unit.store.messages.values()]
        assert (reply.direction, reply.status) == (Direction.OUTBOUND_REPLY, Status.QUEUED)
        assert (reply.from_, reply.to, reply.body, reply.modem) == (
            ALICE,
            SENDER,
            "Thanks!",
            "alice",
        )
        assert state(unit, webhook_id)[0] == "delivered"


def redirect_chain(receiver_url: str, redirects: int) -> dict[str, Reply]:
    """``/r0`` redirects to ``/r1``, and so on: ``redirects`` Redirects, then a reply."""
    chain = {
        f"/r{n}": twiml(f"<Redirect>{receiver_url}/r{n + 1}</Redirect>") for n in range(redirects)
    }
    chain[f"/r{redirects}"] = twiml("<Message>at the end</Message>")
    return chain


@pytest.mark.parametrize(("redirects", "replies"), [(MAX_REDIRECTS, 1), (MAX_REDIRECTS + 1, 0)])
async def test_redirects_are_followed_up_to_the_limit(redirects: int, replies: int) -> None:
    async with site() as receiver, delivering() as unit:
        for path, reply in redirect_chain(receiver.url(""), redirects).items():
            receiver.answer(path, reply)
        webhook_id = await unit.enqueue(hook(receiver.url("/r0"), kind="inbound"))
        assert await unit.outcome(1) == [None]  # delivered: the receiver answered 200
        assert len(unit.store.messages) == replies  # past the limit (14106): nothing is sent
        # The webhook, and each Redirect followed; never one past the limit.
        assert len(receiver.requests) == 1 + min(redirects, MAX_REDIRECTS)
        tokens = [r.headers["I-Twilio-Idempotency-Token"] for r in receiver.requests]
        assert len(set(tokens)) == len(tokens) and all(uuid.UUID(t) for t in tokens)
        assert state(unit, webhook_id)[0] == "delivered"


async def test_no_destination_takes_more_requests_at_once_than_its_limit() -> None:
    async with (
        site() as hung,
        site() as other,
        delivering(per_destination=2) as unit,
    ):
        hung.answer("/status", HELD)
        held = [await unit.enqueue(hook(hung.url("/status"))) for _ in range(4)]
        await hung.until(lambda s: s.in_flight == 2)
        await unit.enqueue(hook(other.url("/status")))
        assert await unit.outcome(1) == [None]  # the other receiver's, meanwhile
        assert unit.sender.saturated() == [hung.destination]
        assert [state(unit, i)[0] for i in held] == ["pending"] * 4
        hung.release()
        assert await unit.outcome(5) == [None] * 5
        assert (hung.most_in_flight, len(hung.requests)) == (2, 4)


async def test_a_messages_webhooks_go_one_at_a_time_and_in_order() -> None:
    async with site() as receiver, delivering() as unit:
        receiver.answer("/status", HELD)
        sid = new_sid("SM")
        for status in ("queued", "sent", "delivered"):
            params = (("MessageSid", sid), ("MessageStatus", status))
            await unit.enqueue(hook(receiver.url("/status"), sid=sid, params=params))
        await receiver.until(lambda s: s.in_flight == 1)
        assert len(receiver.requests) == 1
        receiver.release()
        await unit.outcome(3)
        assert [r.params["MessageStatus"] for r in receiver.requests] == [
            "queued",
            "sent",
            "delivered",
        ]
        assert receiver.most_in_flight == 1
