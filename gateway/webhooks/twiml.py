"""Messaging TwiML, as answered to an inbound-message webhook (pure parsing).

``<Response>`` may hold ``<Message>`` verbs (the text as the element's text or in ``<Body>``;
attributes ``to``, ``from``, ``action``, ``method``, and ``statusCallback`` as the deprecated
name of ``action``) and a ``<Redirect method="...">URL</Redirect>``, after which nothing is
read. ``<Response/>`` sends nothing. Errors carry Twilio's codes: 12100 for a document that is
not well-formed TwiML, 14110 for an unknown verb, 14109 for more than ten messages, 11100 for a
Redirect URL that cannot be requested (:mod:`gateway.domain.urls`; a bad ``action`` refuses only its
reply, in :mod:`gateway.webhooks.replies`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin

from gateway.domain.urls import url_problem

if TYPE_CHECKING:
    from xml.etree import ElementTree

MAX_MESSAGES: Final = 10  # Twilio error 14109
INVALID_URL: Final = 11100  # "Invalid URL format", e.g. in a Redirect verb's body
MAX_DOCUMENT: Final = 64 * 1024
_VERBS: Final = ("Message", "Sms", "Redirect")


class TwimlError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ReplyMessage:
    body: str
    to: str | None
    from_: str | None
    action: str | None
    method: str


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str
    method: str


@dataclass(frozen=True, slots=True)
class Twiml:
    messages: tuple[ReplyMessage, ...]
    redirect: Redirect | None


def _method(value: str | None) -> str:
    method = (value or "POST").upper()
    if method not in ("GET", "POST"):
        raise TwimlError(12100, f"method {value!r} is neither GET nor POST")
    return method


def _resolved(base_url: str, url: str) -> str:
    """``url`` resolved against the document's own URL, or as written when it cannot be (then
    the check of the URL says what is wrong with it)."""
    try:
        return urljoin(base_url, url)
    except ValueError:  # e.g. "http://[::1": an unclosed IPv6 bracket
        return url


def _redirect_url(base_url: str, url: str) -> str:
    absolute = _resolved(base_url, url)
    problem = url_problem(absolute)
    if problem is not None:
        raise TwimlError(INVALID_URL, f"<Redirect> {absolute!r} {problem}")
    return absolute


def _message(element: ElementTree.Element, base_url: str) -> ReplyMessage:
    body = element.find("Body")
    text = body.text if body is not None else element.text
    action = element.get("action") or element.get("statusCallback")
    return ReplyMessage(
        body=(text or "").strip(),
        to=element.get("to") or None,
        from_=element.get("from") or None,
        # Checked with the reply (gateway.webhooks.replies): a bad one refuses that reply
        # alone (14105).
        action=_resolved(base_url, action) if action else None,
        method=_method(element.get("method")),
    )


def _xml() -> ModuleType:
    # Imported when the first TwiML answer comes: the parser (pyexpat) is half a megabyte that
    # a gateway without webhooks, or whose receivers answer nothing, never needs.
    from xml.etree import ElementTree  # noqa: PLC0415

    return ElementTree


def parse(document: str, base_url: str) -> Twiml:
    """Read a TwiML document fetched from ``base_url`` (relative URLs resolve against it)."""
    if not document.strip():
        return Twiml((), None)  # an empty answer sends nothing, like <Response/>
    if len(document) > MAX_DOCUMENT:
        raise TwimlError(12100, f"the document is larger than {MAX_DOCUMENT} characters")
    try:
        # The receiver is the user's own server, yet its answer is bounded (MAX_DOCUMENT) and
        # the expat behind ElementTree (2.4.1 and later) refuses entity-expansion bombs.
        root = _xml().fromstring(document)
    except _xml().ParseError as exc:
        raise TwimlError(12100, f"not well-formed XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(12100, f"the root element is <{root.tag}>, not <Response>")
    messages: list[ReplyMessage] = []
    redirect = None
    for element in root:
        if element.tag not in _VERBS:
            raise TwimlError(14110, f"<{element.tag}> is not a Messaging TwiML verb")
        if element.tag == "Redirect":
            url = (element.text or "").strip()
            if not url:
                raise TwimlError(12100, "<Redirect> has no URL")
            redirect = Redirect(_redirect_url(base_url, url), _method(element.get("method")))
            break  # verbs after a Redirect are never reached
        messages.append(_message(element, base_url))
    if len(messages) > MAX_MESSAGES:
        raise TwimlError(14109, f"{len(messages)} <Message> verbs; at most {MAX_MESSAGES}")
    return Twiml(tuple(messages), redirect)
