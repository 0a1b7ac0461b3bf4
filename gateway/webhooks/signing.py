"""A webhook request as Twilio makes one: signed, its URL sent byte for byte, its token.

The signature (``X-Twilio-Signature``) is what twilio's ``RequestValidator`` checks: HMAC-SHA1,
keyed with the account's auth token, of the exact configured URL followed, for a POST, by each
parameter name and value in sorted order (``../shared/docs/twilio-messages-api.md`` §6).

Every request carries ``I-Twilio-Idempotency-Token``, as Twilio's do: a random UUID made with
the webhook and kept with it, the same on every attempt, on the primary and the fallback URL and
across restarts, so that a receiver can drop a webhook it has already taken (the gateway
repeats one whose answer it did not commit). A TwiML ``<Redirect>`` fetch is a request of its
own, for another document: it carries a token of its own, derived from the webhook's, the same
again if the webhook is delivered again. The token is not signed: twilio's ``RequestValidator``
checks the URL and the parameters only.

Pure: the sender (:mod:`gateway.webhooks.sender`) sends what :func:`signed_request` builds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from yarl import URL

from gateway.domain.records import Webhook

USER_AGENT: Final = "TwilioProxy/1.1"  # what Twilio's own webhook requests carry
SIGNATURE_HEADER: Final = "X-Twilio-Signature"
IDEMPOTENCY_HEADER: Final = "I-Twilio-Idempotency-Token"

Params = Sequence[tuple[str, str]]


def signature(auth_token: str, url: str, params: Params = ()) -> str:
    """``X-Twilio-Signature`` for ``url`` (query string included) and the POST ``params``."""
    data = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def with_query(url: str, params: Params) -> str:
    """A GET webhook: the parameters go in the query string (and into the signed URL)."""
    if not params:
        return url  # not "url?": a bare "?" is dropped on the way and the signature breaks
    return f"{url}{'&' if '?' in url else '?'}{urlencode(list(params))}"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What goes out: ``GET`` (the parameters in the URL) or ``POST`` (in the form body)."""

    method: str
    url: URL
    headers: dict[str, str]
    body: bytes | None


def signed_request(
    webhook: Webhook, url: str, method: str, auth_token: str, idempotency: str | None = None
) -> SignedRequest:
    """``webhook``'s parameters for ``url``, signed with ``auth_token``, with its
    idempotency token (or ``idempotency``)."""
    headers = {"Accept": "*/*"}
    if idempotency or webhook.token:
        headers[IDEMPOTENCY_HEADER] = idempotency or webhook.token
    if method == "GET":
        target = with_query(url, webhook.params)
        headers[SIGNATURE_HEADER] = signature(auth_token, target)
        return SignedRequest("GET", _exact(target), headers, None)
    headers[SIGNATURE_HEADER] = signature(auth_token, url, webhook.params)
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    body = urlencode(list(webhook.params)).encode()
    return SignedRequest("POST", _exact(url), headers, body)


def redirect_token(webhook: Webhook, number: int, url: str, method: str) -> str:
    """The idempotency token of a TwiML ``<Redirect>`` fetch: not the webhook's (a receiver
    that drops repeats would drop the fetch), but the same whenever the webhook is delivered
    again and its TwiML redirects the same way (UUID version 5 of both)."""
    name = f"{webhook.token} redirect {number} {method} {url}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _exact(url: str) -> URL:
    # The URL goes out exactly as signed: left to itself, yarl would re-quote it ("%2C"
    # becomes ",") and the receiver's validator would compute another signature.
    return URL(url, encoded=True)
