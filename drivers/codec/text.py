"""The text of what was received: a part's, and that of consecutive parts joined.

A reader of SMS-DELIVERs keeps every part as text, whatever its alphabet, and joins the parts
of a concatenated message (TS 23.040 §9.2.3.24.1) in sequence order. UCS-2 parts carry UTF-16
code units, and a sender may split a surrogate pair between two parts: joined, the pair is one
character again; a half whose other half is in no part given is no character, and becomes
U+FFFD.
"""

from __future__ import annotations

from collections.abc import Iterable

from drivers.codec import gsm7
from drivers.codec.pdu.types import Deliver


def part_text(message: Deliver) -> str:
    """The text ``message`` carries; for 8-bit data (or compressed) its octets as Latin-1."""
    if message.text is not None:
        return message.text
    # 8-bit data (or compressed): no alphabet says how to read it; Latin-1 keeps every octet.
    return message.user_data.data.decode("latin-1")


def join_parts(texts: Iterable[str]) -> str:
    """The text of consecutive parts (their :func:`part_text`, in sequence order), a surrogate
    pair split between two of them mended (:func:`~drivers.codec.gsm7.join_texts`)."""
    # Half a surrogate pair whose other half is in a part that never came is no character:
    # U+FFFD stands for it (and the text stays valid UTF-8 for whoever stores or sends it).
    joined = gsm7.join_texts(texts)
    return joined.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
