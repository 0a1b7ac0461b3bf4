"""TP-ST (TS 23.040 §9.2.3.15): what a status report says of the part it is for.

Its class and description are TS 23.040's; its :class:`~drivers.codec.pdu.types.Delivery`
follows the project's shared table (``../shared/docs/gsm-at-pdu.md`` §1.7): a completed
transaction is ``delivered``, except "forwarded, unable to confirm" (``unconfirmed``) and
"replaced" (``undelivered``); while the service centre is still trying it is ``pending``; every
final failure is ``undelivered``. What a delivery means to a Twilio client (a message status,
an error code) is for the caller to say (the gateway: ``gateway/domain/delivery.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drivers.codec.pdu.types import Delivery, StatusClass

# TS 23.040 §9.2.3.15: "any reserved values received shall be treated as 'service rejected'".
_SERVICE_REJECTED: Final = 0x63

_DESCRIPTIONS: Final[dict[int, str]] = {
    0x00: "short message received by the SME",
    0x01: "forwarded by the SC to the SME, but the SC is unable to confirm delivery",
    0x02: "short message replaced by the SC",
    0x20: "congestion",
    0x21: "SME busy",
    0x22: "no response from SME",
    0x23: "service rejected",
    0x24: "quality of service not available",
    0x25: "error in SME",
    0x40: "remote procedure error",
    0x41: "incompatible destination",
    0x42: "connection rejected by SME",
    0x43: "not obtainable",
    0x44: "quality of service not available",
    0x45: "no interworking available",
    0x46: "SM validity period expired",
    0x47: "SM deleted by originating SME",
    0x48: "SM deleted by SC administration",
    0x49: "SM does not exist",
    0x60: "congestion",
    0x61: "SME busy",
    0x62: "no response from SME",
    0x63: "service rejected",
    0x64: "quality of service not available",
    0x65: "error in SME",
}


@dataclass(frozen=True, slots=True)
class StatusMeaning:
    status_class: StatusClass
    description: str
    delivery: Delivery


def _reserved(value: int) -> bool:
    return (
        0x03 <= value <= 0x0F
        or 0x26 <= value <= 0x2F
        or 0x4A <= value <= 0x4F
        or 0x66 <= value <= 0x6F
        or value >= 0x80
    )


def _describe(value: int) -> str:
    if value in _DESCRIPTIONS:
        return _DESCRIPTIONS[value]
    if _reserved(value):
        return "reserved value, treated as service rejected"
    return "SC specific"


def interpret_status(value: int) -> StatusMeaning:
    """Classify one TP-ST octet (0..255)."""
    description = _describe(value)
    effective = _SERVICE_REJECTED if _reserved(value) else value
    if effective < 0x20:
        if effective == 0x01:
            return StatusMeaning(StatusClass.DELIVERED, description, Delivery.UNCONFIRMED)
        if effective == 0x02:
            return StatusMeaning(StatusClass.DELIVERED, description, Delivery.UNDELIVERED)
        return StatusMeaning(StatusClass.DELIVERED, description, Delivery.DELIVERED)
    if effective < 0x40:
        return StatusMeaning(StatusClass.STILL_TRYING, description, Delivery.PENDING)
    status_class = StatusClass.PERMANENT_FAILURE if effective < 0x60 else StatusClass.GAVE_UP
    return StatusMeaning(status_class, description, Delivery.UNDELIVERED)
