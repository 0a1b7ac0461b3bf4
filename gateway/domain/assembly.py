"""Multipart reassembly, pure: what a received part is, and what parts make.

Parts of one concatenated message share a group: the modem that received them, the sender,
the concatenation reference, the number of parts and whether the reference is 8 or 16 bits
(TS 23.040 §9.2.3.24.1/8). Parts may come out of order, twice, or from different SMSCs; two
parts with one sequence number are never joined (the first received is kept), a sequence
number out of range is ignored by the decoder (the part then stands alone), and no part is
ever dropped.

A group is not one message for ever. TS 23.040 §9.2.3.24.1 makes the 8-bit reference "a modulo
256 counter": it comes back after a sender's 256th long message, and much sooner from a phone
that counts afresh after a reboot or a sender that takes it from a clock or its TP-MR (field
notes). So the parts of each message under one group are a *generation* of it, counted
from 0, and a new part (the same PDU read again, by a re-read, a restart or a network resend,
has the same key and is recognised before this: it adds nothing) goes to, in this order
(:func:`generation_of`):

1. the oldest generation still arriving (no message made of it yet) that lacks its sequence
   number: the parts of one message come within seconds of each other;
2. the newest generation, if its message was given up (30009) without this sequence number,
   and its last message (that one, or a late part's) was made no more than
   ``reassembly_timeout`` before: the part is that message's, late; it becomes a message of its
   own with 30009 at once, and the message already reported stays as it is;
3. a new generation otherwise: the sender used the reference again. A sequence number already
   in the newest generation's message (it was complete, or had this part) cannot be in it
   twice (§9.2.3.24.1: it is "the sequence number of a particular short message within the
   concatenated short message"), and a part that comes later than rule 2's window is taken
   for a new message too.

Rule 2's window weighs two mistakes. A late part taken for a new message waits
``reassembly_timeout`` as ``receiving`` and then becomes the same 30009 message of its own: a
delay. A new message's part taken for a late one splits the new message into two 30009
messages. So the window is short: as long again as the message was waited for. Rule 1 also
keeps apart two long messages that one sender sent at once under one reference (a bulk sender
picking references at random) when their parts come in step, each one's part n before the
other's part n + 1; in any other order nothing in the header tells them apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from drivers.codec import Deliver, join_parts, part_text
from gateway.domain.records import Generation, InboundPart


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
        text=part_text(message),
        pdu=tpdu.upper(),
        received_at=received_at,
    )


def generation_of(part: InboundPart, generations: Sequence[Generation], late_for: timedelta) -> int:
    """The generation of its group that ``part`` belongs to, given those it may join (the
    store's :meth:`~gateway.store.InboundLog.generations`, oldest first) and how long after a
    message was given up a part missing from it still counts as late (``reassembly_timeout``):
    the three rules of this module's docstring."""
    for generation in generations:
        if not generation.made and part.sequence not in generation.waiting:
            return generation.number
    if not generations:
        return 0
    newest = generations[-1]
    late = (
        newest.made_at is not None
        and part.sequence not in newest.made
        and part.received_at <= newest.made_at + late_for
    )
    return newest.number if newest.made and late else newest.number + 1


@dataclass(frozen=True, slots=True)
class Assembly:
    text: str
    parts: tuple[InboundPart, ...]  # the parts used, in sequence order
    missing: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def assemble(parts: Sequence[InboundPart]) -> Assembly:
    """Join what arrived of one group, in sequence order; a surrogate pair split between
    two parts is mended (the codec's ``join_parts``)."""
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
    text = "".join(join_parts(part.text for part in run) for run in runs)
    return Assembly(text, ordered, missing)
