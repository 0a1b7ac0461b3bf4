"""The TE character sets of ``AT+CSCS`` (TS 27.007 §5.5): how a simulated modem writes a text on
the line and reads one the host typed. Text mode (:mod:`~drivers.simulated.text_mode`) and USSD
(:mod:`~drivers.simulated.ussd`, TS 27.007 §7.15: a GSM 7-bit ``<str>`` is in the TE
character set) share them."""

from __future__ import annotations

from typing import Final

from drivers.codec import gsm7
from drivers.simulated.state import CommandFailed

INVALID_TEXT: Final = 305  # TS 27.005 §3.2.5: invalid text mode parameter


def to_te(text: str, charset: str) -> str:
    """``text`` in the TE character set ``charset``, as the modem writes it on the line."""
    if charset == "UCS2":
        return text.encode("utf-16-be").hex().upper()
    if charset == "GSM":
        # The GSM default alphabet's septet values, one byte each (the line is 8-bit).
        septets = gsm7.try_encode(text) or gsm7.encode("".join(_gsm_or_query(text)))
        return septets.decode("latin-1")
    if charset == "IRA":
        return text.encode("ascii", "replace").decode("ascii")
    return text.encode("latin-1", "replace").decode("latin-1")


def _gsm_or_query(text: str) -> list[str]:
    return [char if gsm7.can_encode(char) else "?" for char in text]


def from_te(text: str, charset: str) -> str:
    """What the host typed in ``charset`` as text; +CMS ERROR: 305 if it is not that."""
    if charset == "UCS2":
        return from_hex(text).decode("utf-16-be", "replace")
    if charset == "GSM":
        raw = text.encode("latin-1")
        if any(byte > 0x7F for byte in raw):
            raise CommandFailed("CMS", INVALID_TEXT)
        return gsm7.decode(raw)
    return text


def from_hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CommandFailed("CMS", INVALID_TEXT) from None
