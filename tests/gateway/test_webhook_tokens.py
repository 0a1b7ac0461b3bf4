"""The idempotency tokens of a webhook's requests: its own on every attempt, and for a TwiML
``<Redirect>`` fetch one of the fetch's own, the same whenever the webhook goes again."""

from __future__ import annotations

import uuid
from dataclasses import replace

from gateway.domain.records import Webhook
from gateway.webhooks.signing import redirect_token

HOOK = Webhook("AC" + "a" * 32, "SM" + "b" * 32, "inbound", "https://x.example/sms", "POST", ())


def test_each_webhook_is_made_with_a_token_of_its_own() -> None:
    made = [made_like(HOOK) for _ in range(100)]
    assert len({hook.token for hook in made}) == 100
    assert all(uuid.UUID(hook.token).version == 4 for hook in made)
    assert replace(HOOK, attempts=3).token == HOOK.token  # kept with it, not made again


def test_a_redirect_fetch_has_a_token_of_its_own_the_same_every_time() -> None:
    url = "https://x.example/more"
    first = redirect_token(HOOK, 1, url, "GET")
    assert first == redirect_token(replace(HOOK, attempts=4), 1, url, "GET")
    assert first != HOOK.token and uuid.UUID(first)
    others = {
        redirect_token(HOOK, 2, url, "GET"),
        redirect_token(HOOK, 1, url + "2", "GET"),
        redirect_token(HOOK, 1, url, "POST"),
        redirect_token(made_like(HOOK), 1, url, "GET"),
    }
    assert first not in others and len(others) == 4


def made_like(hook: Webhook) -> Webhook:
    """Another webhook with the same fields, made anew (as each one is, when committed)."""
    return Webhook(hook.account_sid, hook.message_sid, hook.kind, hook.url, hook.method, ())
