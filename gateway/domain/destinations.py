"""Where a webhook's request goes, as far as sharing the work out is concerned: the scheme, host
and port of its URL (``http://127.0.0.1:8080``). The webhook sender limits the requests in flight
to each destination, so that one receiver that hangs cannot hold up another's webhooks.

The store keeps each pending webhook's destination in a column (computed here, at enqueue), so
that it can leave out, in SQL, the webhooks of a destination that has no room.
"""

from __future__ import annotations

from collections.abc import Iterable

from yarl import URL


def destination(url: str) -> str:
    """``scheme://host:port`` of ``url``, lower case, with the scheme's default port filled in
    (``https://Example.com/sms`` and ``https://example.com:443/x?y`` are one destination)."""
    try:
        # As the request is made (gateway.webhooks.signing: the URL exactly as configured).
        target = URL(url, encoded=True)
        scheme, host, port = target.scheme, target.host, target.port
    except (ValueError, UnicodeError):
        scheme = host = ""
        port = None
    if not scheme or not host:
        # No request can go there (it fails on its own): a destination of its own all the same.
        return "/".join(url.split("/", 3)[:3]).lower()
    host = host.lower()  # case-insensitive (RFC 3986 §3.2.2)
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"


def without_urls(text: str, urls: Iterable[str | None]) -> str:
    """``text`` (an error: "HTTP 500 from <url>") with each of ``urls`` cut to its
    destination: a URL's user, path or query may hold a secret, and logs, pages and the
    attempts kept in the database are read by others."""
    for url in urls:
        if url:
            text = text.replace(url, destination(url))
    return text
