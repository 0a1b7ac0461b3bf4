"""Twilio's JSON: the Message resource and the list envelope, key for key.

Checked against the OpenAPI description and both official clients
(``../shared/docs/twilio-messages-api.md`` §1, §3): ``num_segments`` and ``num_media`` are
strings, dates RFC 2822 in ``+0000`` (or null), ``error_code`` an integer, URIs host-less. The
list envelope carries exactly the keys twilio-python knows besides the list itself, or it
refuses the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from gateway.domain.models import API_VERSION, Message

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(moment: datetime | None) -> str | None:
    # What email.utils.format_datetime gives for a UTC moment, at a fraction of its cost.
    if moment is None:
        return None
    m = moment.astimezone(UTC)
    return (
        f"{_DAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m.year:04d} "
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} +0000"
    )


def message_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"


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


def page_json(
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
    """The list envelope; ``next_page_uri`` and ``previous_page_uri`` carry the page tokens
    given (:mod:`gateway.api.page_tokens`), and are null without one."""

    def uri(page_number: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
        if token is not None:
            query.append(("PageToken", token))
        return f"{path}?{urlencode(query)}"

    start = page * page_size
    # Tokens, not page numbers, so that paging is right while messages are sent and arrive.
    next_uri = uri(page + 1, next_token) if next_token is not None else None
    previous_uri = uri(page - 1, previous_token) if previous_token is not None else None
    return {
        "end": start + len(messages) - 1 if messages else 0,
        "first_page_uri": uri(0),
        "messages": [message_json(message) for message in messages],
        "next_page_uri": next_uri,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": previous_uri,
        "start": start if messages else 0,
        "uri": request_uri,
    }
