"""Twilio's JSON for the Message resource, its list and its (always empty) Media list, key for
key.

Checked against the OpenAPI description and both official clients
(``../shared/docs/twilio-messages-api.md`` §1, §3): ``num_segments`` and ``num_media`` are
strings, dates RFC 2822 in ``+0000`` (or null), ``error_code`` an integer, URIs host-less. The
list envelope (:mod:`.envelope`) carries exactly the keys twilio-python knows besides the list
itself, or it refuses the page. twilio-python's ``message/media.py``: ``MediaPage`` takes
``media_list``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from gateway.api.twilio_json.dates import rfc2822
from gateway.api.twilio_json.envelope import list_envelope
from gateway.domain.models import API_VERSION, Message

MESSAGES_KEY: Final = "messages"
MEDIA_LIST_KEY: Final = "media_list"


def message_json(message: Message) -> dict[str, Any]:
    base = f"/{API_VERSION}/Accounts/{message.account_sid}/Messages/{message.sid}"
    return {
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.date_created),
        "date_sent": rfc2822(message.date_sent),
        "date_updated": rfc2822(message.date_updated),
        "direction": message.direction.value,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": str(message.num_media),
        "num_segments": str(message.num_segments),
        "price": message.price,
        "price_unit": message.price_unit,
        "sid": message.sid,
        "status": message.status.value,
        "subresource_uris": {
            "media": f"{base}/Media.json",
            "feedback": f"{base}/Feedback.json",
        },
        "to": message.to,
        "uri": f"{base}.json",
    }


def messages_page_json(
    path: str,
    request_uri: str,
    *,
    filters: list[tuple[str, str]],
    messages: list[Message],
    page: int,
    page_size: int,
    next_token: str | None,
    previous_token: str | None,
) -> dict[str, Any]:
    """The list envelope around ``messages``; ``next_page_uri`` and ``previous_page_uri``
    carry the page tokens given (:mod:`gateway.api.page_tokens`), and are null without one."""
    return list_envelope(
        path,
        request_uri,
        MESSAGES_KEY,
        [message_json(message) for message in messages],
        page=page,
        page_size=page_size,
        filters=filters,
        next_token=next_token,
        previous_token=previous_token,
    )


def media_page_json(
    path: str,
    request_uri: str,
    page_size: int,
    *,
    page: int = 0,
    filters: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A message's Media list: always empty, the gateway carries no MMS."""
    return list_envelope(
        path,
        request_uri,
        MEDIA_LIST_KEY,
        [],
        page=page,
        page_size=page_size,
        filters=filters,
        next_token=None,
        previous_token=None,
    )
