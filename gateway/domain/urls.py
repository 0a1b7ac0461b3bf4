"""One rule for every URL the gateway will request later: webhook and fallback URLs, status
callbacks, a TwiML ``<Message action>`` and ``<Redirect>``, from the API, the configuration or a
receiver's answer alike.

A URL is accepted only if it can be requested exactly as written, because webhooks are signed
over the URL as given (``X-Twilio-Signature``) and sent as signed: an absolute ``http://`` or
``https://`` URL (RFC 3986 §3) whose characters need no further encoding, with a host that can be
looked up or connected to, a port from 1 to 65535, and no ``#fragment`` (a fragment is never sent,
and a GET webhook's parameters would land behind it). Everything else is refused before it is
stored, with the reason, so that no webhook attempt can ever fail for its URL's sake.
"""

from __future__ import annotations

import ipaddress
import re
import string
from typing import Final
from urllib.parse import urlsplit

MAX_URL: Final = 4000  # characters; Twilio's limit for a callback URL
_SCHEMES: Final = ("http", "https")
# RFC 3986 §2: unreserved and reserved characters, and "%" (checked below to begin an escape).
# "#" is reserved too but refused on its own, with its own reason.
_ALLOWED: Final = frozenset(string.ascii_letters + string.digits + "-._~:/?[]@!$&'()*+,;=%")
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 1123 §2.1: a host name label is letters, digits and hyphens, not at either end. An
# underscore is allowed in DNS records but not in host names; Twilio refuses it in callback URLs.
_LABEL: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_MAX_HOST: Final = 253  # RFC 1035 §2.3.4, without the final dot


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested as written, in words that complete "``url`` ...";
    ``None`` when it can."""
    return _text_problem(url) or _parts_problem(url)


def _text_problem(url: str) -> str | None:
    if len(url) > MAX_URL:
        return f"is longer than {MAX_URL} characters"
    if "#" in url:
        return "has a #fragment, which is never sent"
    bad = next((char for char in url if char not in _ALLOWED), None)
    if bad is not None:
        if not bad.isascii():
            return f"has {bad!r}: percent-encode it, and write a host name in its xn-- (IDNA) form"
        return f"has {bad!r}, which must be percent-encoded"
    if _BAD_ESCAPE.search(url):
        return "has a '%' that does not begin a percent-encoded octet"
    return None


def _parts_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme.lower() not in _SCHEMES or not url[len(parts.scheme) :].startswith("://"):
        return "is not an http:// or https:// URL"
    # What aiohttp sends for these differs from what was signed (RFC 3986 §6.2.3 normalises
    # both): an empty query is dropped, an empty path before a query becomes "/".
    if not parts.query and url.endswith("?"):
        return "ends with an empty query '?', which is not sent"
    if parts.query and not parts.path:
        return "has a query but no path: write '/' before the '?'"
    return _host_problem(parts.hostname, parts.netloc, port)


def _host_problem(host: str | None, netloc: str, port: int | None) -> str | None:
    if not host:
        return "has no host"
    if port == 0:
        return "has port 0, which cannot be connected to"
    if "%" in host:  # an encoded host name, or an IPv6 zone: nothing a resolver takes
        return f"has the host {host!r}, which cannot be looked up"
    if "[" in netloc:  # urlsplit checked the brackets; the address inside must be IPv6
        return _address_problem(host, ipaddress.IPv6Address)
    return _name_problem(host)


def _address_problem(
    host: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]
) -> str | None:
    try:
        kind(host)
    except ValueError:
        return f"has the host {host!r}, which is not an {kind.__name__[:4]} address"
    return None


def _name_problem(host: str) -> str | None:
    name = host[:-1] if host.endswith(".") else host  # a fully qualified name's final dot
    labels = name.split(".")
    if all(label.isdigit() for label in labels):  # numbers only: meant as an IPv4 address
        return _address_problem(name, ipaddress.IPv4Address)
    if len(name) > _MAX_HOST or not all(_LABEL.fullmatch(label) for label in labels):
        return f"has the host {host!r}, which is not a valid host name"
    return None
