"""A message into its SMS-SUBMIT parts, at acceptance: the codec's plan of the text
(``drivers.codec.plan_text``) and its PDUs (``encode_submit``), so that ``num_segments`` is
exactly what will be sent; and the concatenation reference (3GPP TS 23.040 §9.2.3.24.1) each
modem's long messages go on from.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace

from drivers.codec import PduError, SubmitOptions, encode_submit, plan_text
from gateway.domain.errors import ApiError
from gateway.domain.models import Message, Segment
from gateway.domain.records import NewMessage
from gateway.modems.supervisor import ModemHandle
from gateway.store import OutboundQueue


class PartEncoder:
    def __init__(self, store: OutboundQueue) -> None:
        self.store = store
        self._references: dict[str, int] = {}

    async def add_modems(self, modem_ids: Iterable[str]) -> None:
        """Read where each new modem's concatenation references go on (at start, and before a
        reload adds modems)."""
        for modem_id in modem_ids:
            if modem_id in self._references:
                continue  # a modem reopened: its count goes on
            last = await self.store.last_concat_reference(modem_id)
            # Consecutive long messages to a handset must not share a reference: continue
            # after the last one used, or start anywhere.
            start = random.randrange(256) if last is None else last + 1
            self._references[modem_id] = start % 256

    def _reference(self, modem_id: str) -> int:
        reference = self._references.get(modem_id, 0)
        self._references[modem_id] = (reference + 1) % 256
        return reference

    def encode(self, message: Message, handle: ModemHandle, *, smart: bool = False) -> NewMessage:
        """``message`` to be sent by ``handle``'s modem from ``message.from_``: its parts
        (``num_segments`` is then what will be sent), or a 21211 for a number no PDU holds."""
        plan = plan_text(message.body, smart_encoded=smart)
        reference = self._reference(handle.id) if plan.num_segments > 1 else 0
        options = SubmitOptions(
            status_report=handle.config.status_reports, validity=message.validity_period
        )
        try:
            parts = encode_submit(message.to, plan, options, reference)
        except PduError as exc:
            raise ApiError(
                21211, f"The 'To' number {message.to} is not a valid phone number."
            ) from exc
        concat_reference = reference if len(parts) > 1 else None
        segments = tuple(
            Segment(part.sequence, part.pdu, part.tpdu_length, concat_reference=concat_reference)
            for part in parts
        )
        encoded = replace(
            message,
            body=plan.text,  # what goes on the air (smart encoding may have changed it)
            num_segments=plan.num_segments,
            modem=handle.id,
        )
        return NewMessage(encoded, segments)
