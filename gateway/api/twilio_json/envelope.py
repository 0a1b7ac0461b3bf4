"""Twilio's list envelope, the one every list of the API is answered in (Messages, Media,
IncomingPhoneNumbers, Applications).

twilio-oai's ``List*Response`` schemas, as the clients generated from it show them: the list
under its resource's key, plus ``end``, ``first_page_uri``, ``next_page_uri``, ``page``,
``page_size``, ``previous_page_uri``, ``start`` and ``uri``; no ``total``, ``num_pages`` or
``last_page_uri``. ``twilio.base.page.Page`` refuses a page whose keys, less these, are not
exactly one (the list). URIs are host-less.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode


def list_envelope(
    path: str,
    request_uri: str,
    key: str,
    items: list[dict[str, Any]],
    *,
    page: int,
    page_size: int,
    filters: Sequence[tuple[str, str]],
    next_token: str | None,
    previous_token: str | None,
) -> dict[str, Any]:
    """``items`` (this page's resources, as JSON) under ``key``, and the paging keys:
    ``next_page_uri`` and ``previous_page_uri`` carry the page tokens given
    (:mod:`gateway.api.page_tokens`), and are null without one. Tokens, not page numbers, so
    that paging is right while the list changes (messages are sent and arrive)."""

    def uri(page_number: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(page_number))]
        if token is not None:
            query.append(("PageToken", token))
        return f"{path}?{urlencode(query)}"

    start = page * page_size
    next_uri = uri(page + 1, next_token) if next_token is not None else None
    previous_uri = uri(page - 1, previous_token) if previous_token is not None else None
    return {
        "end": start + len(items) - 1 if items else 0,
        "first_page_uri": uri(0),
        key: items,
        "next_page_uri": next_uri,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": previous_uri,
        "start": start if items else 0,
        "uri": request_uri,
    }
