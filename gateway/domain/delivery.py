"""What status reports say about a message: each part's delivery, then the message's status.

Each SMS-STATUS-REPORT settles one part (``../shared/docs/gsm-at-pdu.md`` §1.7, TS 23.040
§9.2.3.15); the codec says what it says of that part's delivery (``StatusReport.delivery``):

- ``delivered``: the transaction completed (TP-ST 0x00, 0x10-0x1F);
- ``pending``: the service centre is still trying (0x20-0x3F): recorded, not final;
- ``unconfirmed``: forwarded, but the SC cannot confirm delivery (0x01): final, stays ``sent``;
- ``undelivered``: a final failure (0x02, 0x40 and up, reserved values), with its Twilio code
  (this module's table: Twilio's, not TS 23.040's).

A message is ``delivered`` only when every part is; ``undelivered`` as soon as any part finally
failed (with that part's code: the lowest-numbered failed part's, if several did); otherwise it
stays ``sent``. Only a ``sent`` message moves: a report never changes a message that is still
being sent (it is settled when its last part is), nor one already final.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from drivers import codec
from drivers.codec import StatusReport, Timestamp, interpret_status
from gateway.domain.models import Status

# What a report says of its part: the domain's word for it is the codec's.
Delivery = codec.Delivery

# A report is for a part sent at most this long before it arrived. Service centres keep trying
# for the validity period, which this gateway sets to at most 4 hours when asked to; without
# one, their default is commonly one to three days, rarely more.
REPORT_WINDOW_DAYS: Final = 7
# A report matched to a part committed just after it came may have been taken this long before
# the part's send was recorded (the two race between the +CMGS answer and the commit).
EARLY_REPORT_SLACK: Final = 60.0

# Twilio error codes for final failures, by TP-ST (shared table §1.7); unlisted ones are 30008.
_ERROR_CODES: Final[dict[int, int]] = {
    0x41: 30006,  # incompatible destination: landline or unreachable carrier
    0x42: 30004,  # connection rejected: message blocked
    0x43: 30005,  # not obtainable: unknown destination handset
    0x45: 30006,  # no interworking available
    0x46: 30003,  # validity period expired: unreachable handset
    0x61: 30003,  # SME busy, SC gave up
    0x62: 30003,  # no response from SME, SC gave up
    0x65: 30003,  # error in SME (e.g. memory full), SC gave up
}
_UNKNOWN_ERROR: Final = 30008


FINAL_DELIVERIES: Final = frozenset(
    {Delivery.DELIVERED, Delivery.UNCONFIRMED, Delivery.UNDELIVERED}
)


@dataclass(frozen=True, slots=True)
class PartReport:
    """What one report says of the part it is for."""

    delivery: Delivery
    error_code: int | None
    done_date: str | None  # TP-DT as YYMMDDhhmm, the SC's local time (RawDlrDoneDate)


@dataclass(frozen=True, slots=True)
class PartState:
    sequence: int
    delivery: Delivery | None  # None: no report yet
    error_code: int | None


def part_report(status: int, discharge: Timestamp | None = None) -> PartReport:
    """The delivery of a part whose report carried TP-ST ``status`` and TP-DT ``discharge``."""
    delivery = interpret_status(status).delivery
    return PartReport(delivery, error_code(status, delivery), done_date(discharge))


def report_of(report: StatusReport) -> PartReport:
    return PartReport(
        report.delivery, error_code(report.status, report.delivery), done_date(report.discharge)
    )


def error_code(status: int, delivery: Delivery) -> int | None:
    """Twilio's error code for a part ``undelivered`` with TP-ST ``status`` (``None`` for any
    other delivery). A reserved TP-ST is "service rejected" (TS 23.040 §9.2.3.15), 30008."""
    if delivery is not Delivery.UNDELIVERED:
        return None
    return _ERROR_CODES.get(status, _UNKNOWN_ERROR)


def message_status(delivery: Delivery) -> Status:
    """The status a message whose only part had ``delivery`` would have: ``delivered``,
    ``undelivered``, or ``sent`` while the service centre tries or cannot confirm."""
    if delivery is Delivery.DELIVERED:
        return Status.DELIVERED
    if delivery is Delivery.UNDELIVERED:
        return Status.UNDELIVERED
    return Status.SENT


def done_date(discharge: Timestamp | None) -> str | None:
    """``YYMMDDhhmm`` as the service centre gave it (its own time zone, as Twilio passes the
    carrier's done date through); ``None`` when the date digits are not a real date."""
    if discharge is None or discharge.value is None:
        return None
    value: datetime = discharge.value
    return value.strftime("%y%m%d%H%M")


def settle(status: Status, parts: Sequence[PartState]) -> tuple[Status, int | None] | None:
    """The status (and error code) a ``sent`` message moves to now, or ``None`` to stay."""
    if status is not Status.SENT:
        return None
    for part in sorted(parts, key=lambda part: part.sequence):
        if part.delivery is Delivery.UNDELIVERED:
            return Status.UNDELIVERED, part.error_code
    if parts and all(part.delivery is Delivery.DELIVERED for part in parts):
        return Status.DELIVERED, None
    return None


def same_recipient(a: str, b: str) -> bool:
    """Whether a report's TP-RA and the number a part was sent to are one handset.

    Service centres give the recipient back in international or national form, whichever way
    it was sent or not (oFono's status report tests): ``+27829200000``, ``27829200000`` and
    ``0829200000`` are the same number. The national form is compared without its trunk
    prefix (leading zeros) against the end of the international one.
    """
    if a.startswith("+") and b.startswith("+"):
        return _digits(a) == _digits(b) != ""  # both international: nothing to complete
    x, y = _digits(a).lstrip("0"), _digits(b).lstrip("0")
    if x == y:
        return bool(x)
    shorter, longer = sorted((x, y), key=len)
    return len(shorter) >= 6 and longer.endswith(shorter)


def _digits(number: str) -> str:
    return "".join(char for char in number if char.isdigit())
