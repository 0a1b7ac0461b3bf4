"""An account's webhooks as the console lists them (pending by when they are due, given up
newest first, each with where it goes next), and "retry now": a pending or given-up webhook
due at once, an account's own only, never a delivered one."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.domain.models import new_sid
from gateway.store import Store
from tests.fakes.clock import T0
from tests.fakes.records import ACCOUNT, webhook

OTHER = "AC" + "c3" * 16


def seconds(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


async def test_the_accounts_webhooks_pending_and_given_up(store: Store) -> None:
    a, b, c = new_sid("SM"), new_sid("SM"), new_sid("SM")
    await store.enqueue_webhook(webhook(a, url="https://a.example.com/in"), T0)
    await store.enqueue_webhook(webhook(b, url="https://b.example.com/in"), seconds(1))
    await store.enqueue_webhook(webhook(c, url="https://c.example.com/in"), seconds(2))
    await store.enqueue_webhook(webhook(new_sid("SM"), account_sid=OTHER), T0)
    due = {w.message_sid: w for w in await store.due_webhooks(seconds(5))}
    await store.webhook_retry(due[a].id, 1, seconds(300), "HTTP 500 from a", seconds(5))
    await store.webhook_failed(due[b].id, 10, "ClientConnectorError", seconds(6))

    pending = await store.account_webhooks(ACCOUNT, "pending")
    assert [(w.message_sid, w.attempts) for w in pending] == [(c, 0), (a, 1)]  # by when due
    assert (pending[1].last_error, pending[1].next_attempt_at) == ("HTTP 500 from a", seconds(300))
    assert pending[1].url == "https://a.example.com/in"
    (given_up,) = await store.account_webhooks(ACCOUNT, "failed")
    assert (given_up.message_sid, given_up.state, given_up.attempts) == (b, "failed", 10)
    assert (given_up.next_attempt_at, given_up.updated_at) == (None, seconds(6))
    assert given_up.last_error == "ClientConnectorError"
    assert [w.message_sid for w in await store.account_webhooks(ACCOUNT, "pending", 1)] == [c]
    assert len(await store.account_webhooks(OTHER, "pending")) == 1


async def test_retry_now_makes_a_waiting_or_given_up_webhook_due(store: Store) -> None:
    a, b = new_sid("SM"), new_sid("SM")
    await store.enqueue_webhook(webhook(a, fallback_url=None), T0)
    await store.enqueue_webhook(webhook(b, fallback_url=None), T0)
    first, second = await store.due_webhooks(seconds(1))
    await store.webhook_retry(first.id, 2, seconds(3600), "HTTP 503", seconds(1))
    await store.webhook_failed(second.id, 10, "HTTP 404", seconds(1))
    assert await store.due_webhooks(seconds(10)) == []

    assert await store.retry_webhook_now(ACCOUNT, first.id, seconds(10))
    assert await store.retry_webhook_now(ACCOUNT, second.id, seconds(10))
    due = await store.due_webhooks(seconds(10))
    assert sorted((w.id, w.attempts) for w in due) == [(first.id, 2), (second.id, 10)]
    again = next(w for w in due if w.id == second.id)
    assert (again.token, again.use_fallback) == (second.token, False)  # the same request
    assert await store.next_webhook_at() == seconds(10)
    assert await store.account_webhooks(ACCOUNT, "failed") == []

    await store.webhook_delivered(first.id, seconds(11))
    assert not await store.retry_webhook_now(ACCOUNT, first.id, seconds(12))  # delivered
    assert not await store.retry_webhook_now(OTHER, second.id, seconds(12))  # not theirs
    assert not await store.retry_webhook_now(ACCOUNT, 10**9, seconds(12))
    (pending,) = await store.account_webhooks(ACCOUNT, "pending")
    assert (pending.id, pending.next_attempt_at) == (second.id, seconds(10))


async def test_each_attempt_is_logged_in_the_webhook_the_last_ten_kept(store: Store) -> None:
    sid = new_sid("SM")
    secret = "https://user:pw@a.example.com/in?key=s3cret"
    await store.enqueue_webhook(
        webhook(sid, url=secret, fallback_url="https://b.example.com/fb?token=t0ken"), T0
    )
    (due,) = await store.due_webhooks(T0)
    await store.webhook_fallback(due.id, f"HTTP 500 from {secret}", seconds(1))
    await store.webhook_retry(due.id, 1, seconds(2), "ClientConnectorError: refused", seconds(1))
    (pending,) = await store.account_webhooks(ACCOUNT, "pending")
    assert [(a.at, a.outcome, a.url) for a in pending.attempt_log] == [
        # The URL in the outcome cut to where it went: its user, path and query may be secrets.
        (seconds(1), "HTTP 500 from https://a.example.com:443", "primary"),
        (seconds(1), "ClientConnectorError: refused", "fallback"),
    ]

    for n in range(2, 12):
        await store.webhook_retry(due.id, n, seconds(n + 1), "x" * 300 + str(n), seconds(n))
    await store.webhook_failed(due.id, 12, "HTTP 404", seconds(12))
    (given_up,) = await store.account_webhooks(ACCOUNT, "failed")
    log = given_up.attempt_log
    assert len(log) == 10  # the last ten, oldest first
    assert [a.at for a in log] == [seconds(n) for n in range(3, 13)]
    assert log[-1].outcome == "HTTP 404"
    assert len(log[0].outcome) == 200 and log[0].outcome.endswith("…")  # cut to ~200
