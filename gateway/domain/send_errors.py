"""What a ``+CMS ERROR`` to ``AT+CMGS`` means for the message: the shared table of
``../shared/docs/gsm-at-pdu.md`` §3.2 (TS 27.005 §3.2.5, RP-causes of TS 24.011 Annex E,
TP-FCS of TS 23.040 §9.2.3.22).

An error to AT+CMGS means the SMSC never accepted the SUBMIT: a permanent one fails the message
at once with the Twilio code of the table; a temporary one is retried with backoff; a local one
(the modem or its SIM) keeps the message queued while the modem is seen to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final


class Kind(Enum):
    PERMANENT = "permanent"  # the message fails now
    TEMPORARY = "temporary"  # network trouble: retry with backoff
    LOCAL = "local"  # modem or SIM trouble: keep queued, recover the modem
    DUPLICATE = "duplicate"  # 197: the SC already has it, so it was sent


@dataclass(frozen=True, slots=True)
class Meaning:
    kind: Kind
    twilio_code: int  # used when the message fails (now, or after the last retry)


_UNKNOWN: Final = 30008
_TABLE: Final[dict[int, Meaning]] = {
    1: Meaning(Kind.PERMANENT, 30005),  # unassigned (unallocated) number
    8: Meaning(Kind.PERMANENT, 30004),  # operator determined barring
    10: Meaning(Kind.PERMANENT, 30004),  # call barred
    21: Meaning(Kind.PERMANENT, 30007),  # short message transfer rejected
    27: Meaning(Kind.TEMPORARY, 30003),  # destination out of service
    28: Meaning(Kind.PERMANENT, 30005),  # unidentified subscriber
    29: Meaning(Kind.PERMANENT, 30008),  # facility rejected
    30: Meaning(Kind.PERMANENT, 30005),  # unknown subscriber
    38: Meaning(Kind.TEMPORARY, 30008),  # network out of order
    41: Meaning(Kind.TEMPORARY, 30008),  # temporary failure
    42: Meaning(Kind.TEMPORARY, 30008),  # congestion
    47: Meaning(Kind.TEMPORARY, 30008),  # resources unavailable
    50: Meaning(Kind.PERMANENT, 30008),  # facility not subscribed (no SMS, no credit)
    69: Meaning(Kind.PERMANENT, 30008),  # facility not implemented
    81: Meaning(Kind.TEMPORARY, 30008),  # invalid SM transfer reference: once more
    192: Meaning(Kind.TEMPORARY, 30008),  # SC busy
    193: Meaning(Kind.PERMANENT, 30008),  # no SC subscription
    194: Meaning(Kind.TEMPORARY, 30008),  # SC system failure
    195: Meaning(Kind.PERMANENT, 30005),  # invalid SME address
    196: Meaning(Kind.PERMANENT, 30004),  # destination SME barred
    197: Meaning(Kind.DUPLICATE, 30008),  # SM rejected-duplicate: the SC has it already
    255: Meaning(Kind.TEMPORARY, 30008),  # unspecified: once more
    300: Meaning(Kind.LOCAL, 30008),  # ME failure
    301: Meaning(Kind.LOCAL, 30008),  # SMS service of ME reserved
    302: Meaning(Kind.LOCAL, 30008),  # operation not allowed (wrong mode)
    303: Meaning(Kind.LOCAL, 30008),  # operation not supported
    304: Meaning(Kind.PERMANENT, 30008),  # invalid PDU mode parameter: our PDU is wrong
    305: Meaning(Kind.LOCAL, 30008),  # text-mode syntax: the modem lost AT+CMGF=0
    320: Meaning(Kind.LOCAL, 30008),  # memory failure
    322: Meaning(Kind.LOCAL, 30008),  # memory full
    330: Meaning(Kind.LOCAL, 30008),  # SMSC address unknown
    331: Meaning(Kind.LOCAL, 30008),  # no network service: wait for registration
    332: Meaning(Kind.TEMPORARY, 30008),  # network timeout
    500: Meaning(Kind.TEMPORARY, 30008),  # unknown error (SIM800's catch-all)
}


def meaning(code: int | None) -> Meaning:
    """How to treat ``+CMS ERROR: <code>`` (``None`` for a plain ERROR)."""
    if code is None:
        return Meaning(Kind.TEMPORARY, _UNKNOWN)
    if code in _TABLE:
        return _TABLE[code]
    if 95 <= code <= 127 or 128 <= code <= 176:
        # Invalid message, mandatory IE, protocol errors; TP-PID/DCS/command/TPDU unsupported.
        return Meaning(Kind.PERMANENT, _UNKNOWN)
    if 310 <= code <= 318:
        return Meaning(Kind.LOCAL, _UNKNOWN)  # SIM missing, PIN, busy, failure
    if 208 <= code <= 213:
        return Meaning(Kind.LOCAL, _UNKNOWN)  # SIM full, no SIM storage, MS error...
    return Meaning(Kind.TEMPORARY, _UNKNOWN)  # manufacturer codes (>= 512) and the rest
