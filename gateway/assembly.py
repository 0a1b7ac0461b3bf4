"""Multipart reassembly, pure: what a received part is, and what parts make.

Parts of one concatenated message share a group: the modem that received them, the sender,
the concatenation reference, the number of parts and whether the reference is 8 or 16 bits
(TS 23.040 §9.2.3.24.1/8). Parts may come out of order, twice, or from different SMSCs; a
duplicate sequence number keeps the first part received, a sequence number out of range is
ignored by the decoder (the part then stands alone), and no part is ever dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from drivers import gsm7
from drivers.pdu import Deliver
from gateway.store import InboundPart


def _text(message: Deliver) -> str:
    if message.text is not None:
        return message.text
    # 8-bit data (or compressed): no alphabet says how to read it; Latin-1 keeps every octet.
    return message.user_data.data.decode("latin-1")


def received_part(
    modem: str, recipient: str, message: Deliver, tpdu: str, received_at: datetime
) -> InboundPart:
    """The part a decoded SMS-DELIVER is, ready to commit."""
    sender = message.originator.number
    concat = message.concatenation
    group = None
    sequence, total = 1, 1
    if concat is not None and concat.total > 1:
        width = 16 if concat.ref16 else 8
        group = f"{modem}|{sender}|{concat.reference}|{concat.total}|{width}"
        sequence, total = concat.sequence, concat.total
    # The same PDU read twice (a re-read, a restart, a network resend) has the same key.
    identity = "|".join(
        (modem, sender, message.scts.raw.hex(), group or "", str(sequence), tpdu.upper())
    )
    return InboundPart(
        key=hashlib.sha256(identity.encode()).hexdigest(),
        modem=modem,
        recipient=recipient,
        sender=sender,
        group=group,
        sequence=sequence,
        total=total,
        text=_text(message),
        pdu=tpdu.upper(),
        received_at=received_at,
    )


@dataclass(frozen=True, slots=True)
class Assembly:
    text: str
    parts: tuple[InboundPart, ...]  # the parts used, in sequence order
    missing: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def _whole(text: str) -> str:
    # Half a surrogate pair whose other half is in a part that never came is no character:
    # U+FFFD stands for it (and the text stays valid UTF-8 for the store and the webhook).
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")


def assemble(parts: Sequence[InboundPart]) -> Assembly:
    """Join what arrived of one group, in sequence order; a surrogate pair split between
    two parts is mended (``gsm7.join_texts``)."""
    by_sequence: dict[int, InboundPart] = {}
    for part in parts:
        by_sequence.setdefault(part.sequence, part)
    ordered = tuple(by_sequence[number] for number in sorted(by_sequence))
    total = max((part.total for part in parts), default=1)
    missing = tuple(number for number in range(1, total + 1) if number not in by_sequence)
    # A surrogate pair is mended only across neighbouring parts: halves on either side of a
    # missing part are two broken characters, not one made-up character.
    runs: list[list[InboundPart]] = []
    for part in ordered:
        if runs and runs[-1][-1].sequence + 1 == part.sequence:
            runs[-1].append(part)
        else:
            runs.append([part])
    text = "".join(_whole(gsm7.join_texts(part.text for part in run)) for run in runs)
    return Assembly(text, ordered, missing)
