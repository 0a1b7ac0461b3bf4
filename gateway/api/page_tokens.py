"""``PageToken`` values of the Messages list: a position in the list as it stood when the walk's
first page was read (:class:`gateway.store.PageCursor`), so that following ``next_page_uri``
neither skips nor repeats a message that was sent between two pages (the seed: the next page
"picks up where it left off and can prevent you from retrieving duplicate data if you are
actively sending or receiving messages").

A token is ``PA`` (the page after the position) or ``PB`` (the page before it) and 40
characters of URL-safe base64: a version, the snapshot, the position, and a 4-byte BLAKE2b
digest keyed with the account, so that a token cut short, mistyped or from another account is
refused rather than read as some other position. It is opaque to clients (they follow the
URIs) but not a secret: one made by hand only pages through the same account's list.

``PA``/``PB`` followed by a message's SID, the shape of the tokens in Twilio's reference, is
read too: the page after (before) that message as the list stands now. The lists of
IncomingPhoneNumbers and Applications are paged by tokens of that shape only
(:func:`sid_tokens`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from gateway.domain.models import is_sid
from gateway.store import ListPosition, PageCursor

AFTER: Final = "PA"
BEFORE: Final = "PB"
_VERSION: Final = 1
_WAITING: Final = 1  # the flag byte: the position is among the messages waiting to be sent
_LAYOUT: Final = struct.Struct(">BBqqq")  # version, flags, snapshot, listed_at, id
_DIGEST_SIZE: Final = 4
_TEXT: Final = re.compile(r"[A-Za-z0-9_-]{40}")  # (26 + 4) bytes in base64, no padding


class TokenError(ValueError):
    """Not a page token of this account's list."""


@dataclass(frozen=True, slots=True)
class MessageToken:
    """A token of Twilio's documented shape: ``PA``/``PB`` and a message's SID."""

    sid: str
    forward: bool


def encode(cursor: PageCursor, account_sid: str) -> str:
    position = cursor.position
    payload = _LAYOUT.pack(
        _VERSION,
        _WAITING if position.waiting else 0,
        cursor.snapshot,
        0 if position.waiting else position.listed_at,
        position.id,
    )
    text = base64.urlsafe_b64encode(payload + _digest(payload, account_sid)).decode("ascii")
    return (AFTER if cursor.forward else BEFORE) + text


def decode(token: str, account_sid: str) -> PageCursor | MessageToken:
    """The cursor ``token`` names; :class:`TokenError` for anything that is not one."""
    prefix, rest = token[:2], token[2:]
    if prefix not in (AFTER, BEFORE):
        raise TokenError("it does not start with PA or PB")
    forward = prefix == AFTER
    if is_sid(rest, "SM") or is_sid(rest, "MM"):
        return MessageToken(rest, forward)
    if not _TEXT.fullmatch(rest):
        raise TokenError("it is not a token this gateway gave")
    try:
        raw = base64.urlsafe_b64decode(rest)
    except (binascii.Error, ValueError):  # not expected after the pattern; never a 500
        raise TokenError("it is not a token this gateway gave") from None
    payload, digest = raw[:-_DIGEST_SIZE], raw[-_DIGEST_SIZE:]
    if len(payload) != _LAYOUT.size or digest != _digest(payload, account_sid):
        raise TokenError("it is damaged, or was given for another account")
    version, flags, snapshot, listed_at, identity = _LAYOUT.unpack(payload)
    waiting = flags == _WAITING
    if (
        version != _VERSION
        or flags not in (0, _WAITING)
        or not 0 < identity <= snapshot
        or (waiting and listed_at != 0)
    ):
        raise TokenError("it is not a token this gateway gave")
    return PageCursor(snapshot, ListPosition(waiting, listed_at, identity), forward)


def sid_tokens(sids: Sequence[str], *, page: int, has_more: bool) -> tuple[str | None, str | None]:
    """The next and previous page tokens of a page of a list paged by SID, whose resources'
    SIDs are ``sids`` (in list order): ``PA`` and its last SID when ``has_more``, ``PB`` and
    its first after the first page; ``None`` where there is no such page."""
    next_token = AFTER + sids[-1] if has_more and sids else None
    previous_token = BEFORE + sids[0] if page > 0 and sids else None
    return next_token, previous_token


def _digest(payload: bytes, account_sid: str) -> bytes:
    key = account_sid.encode("utf-8")[:64]  # BLAKE2b takes keys of up to 64 bytes
    return hashlib.blake2b(payload, digest_size=_DIGEST_SIZE, key=key).digest()
