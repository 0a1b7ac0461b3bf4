"""A webhook's short log of its last attempts, kept in its own row (issue 18: "its webhooks
and callbacks with each attempt's response", on a message's console page).

The log rides on the UPDATE that records each attempt's outcome already (delivered, fallback
next, retry, given up), so that an attempt writes no extra row (issue 17: what an SD card is
written). It keeps the last :data:`KEPT` attempts, each with its time, what came back (an HTTP
status, or the error) cut to :data:`OUTCOME_CHARS`, and which URL it went to. A URL named in the
outcome ("HTTP 500 from <url>") is cut to where it goes (``scheme://host:port``): a URL's user,
path or query may hold a secret, and the console shows the log.

Stored as JSON text (``[[time, outcome, "primary" | "fallback"], ...]``, oldest first, times
in ISO 8601): the same in every engine, and read by no query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateway.domain.destinations import without_urls

KEPT: Final = 10
OUTCOME_CHARS: Final = 200
PRIMARY: Final = "primary"
FALLBACK: Final = "fallback"


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    at: datetime
    outcome: str  # "HTTP 200", "HTTP 500 from http://host:port", "ClientConnectorError: ..."
    url: str  # PRIMARY or FALLBACK


def logged(
    log: str | None, at: datetime, outcome: str, fallback: bool, urls: Iterable[str | None]
) -> str:
    """``log`` with one more attempt (at ``at``, answered ``outcome``, sent to the fallback
    URL if ``fallback``), its oldest dropped past :data:`KEPT`; ``urls`` are the webhook's, cut
    from the outcome to their destination."""
    outcome = without_urls(outcome, urls)
    if len(outcome) > OUTCOME_CHARS:
        outcome = outcome[: OUTCOME_CHARS - 1] + "…"
    entries = _entries(log)
    entries.append([at.isoformat(), outcome, FALLBACK if fallback else PRIMARY])
    return json.dumps(entries[-KEPT:], ensure_ascii=False)


def attempts_of(log: str | None) -> tuple[WebhookAttempt, ...]:
    """The attempts ``log`` holds, oldest first; a log that cannot be read holds none."""
    attempts = []
    for entry in _entries(log):
        try:
            at, outcome, url = entry
            attempts.append(WebhookAttempt(datetime.fromisoformat(at), str(outcome), str(url)))
        except (TypeError, ValueError):
            continue  # one entry unreadable: the others still say something
    return tuple(attempts)


def _entries(log: str | None) -> list[list[str]]:
    if not log:
        return []
    try:
        entries = json.loads(log)
    except ValueError:
        return []
    return entries if isinstance(entries, list) else []
