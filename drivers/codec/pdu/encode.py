"""The SMS-SUBMIT encoder (TS 23.040 §9.2.2.2): one PDU per part of a :class:`MessagePlan`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from drivers.codec import gsm7
from drivers.codec.pdu import fields
from drivers.codec.pdu.segmentation import MessagePlan, plan_text
from drivers.codec.pdu.types import (
    Alphabet,
    Concatenation,
    InformationElement,
    NationalLanguageShift,
)
from drivers.errors import PduError

# TS 23.040 §9.2.3: first-octet bits of an SMS-SUBMIT.
_MTI_SUBMIT: Final = 0x01
_TP_RD: Final = 0x04
_TP_VPF_RELATIVE: Final = 0x10
_TP_VPF_ABSOLUTE: Final = 0x18
_TP_SRR: Final = 0x20
_TP_UDHI: Final = 0x40


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """Everything about a SUBMIT besides its text and destination.

    ``validity`` is a number of seconds (relative TP-VP, rounded up to the next value the table
    of TS 23.040 §9.2.3.12.1 can express) or a date (absolute TP-VP). ``message_class`` 0 is a
    flash SMS. ``sca`` ``None`` sends ``00``: the SIM's SMSC (``AT+CSCA``) is used.
    """

    status_report: bool = False
    validity: int | datetime | None = None
    reject_duplicates: bool = False
    message_class: int | None = None
    message_reference: int = 0
    pid: int = 0
    sca: str | None = None
    sca_toa: int | None = None
    destination_toa: int | None = None


@dataclass(frozen=True, slots=True)
class SubmitPart:
    """One PDU ready for ``AT+CMGS=<tpdu_length>`` followed by ``pdu`` and Ctrl-Z."""

    pdu: str
    tpdu_length: int
    sequence: int
    total: int
    text: str


def _check_octet(value: int, field: str) -> int:
    if not 0 <= value <= 0xFF:
        raise PduError(field, f"{value} is not an octet value 0..255")
    return value


def _validity(validity: int | datetime | None) -> tuple[int, bytes]:
    if validity is None:
        return 0, b""
    if isinstance(validity, datetime):
        return _TP_VPF_ABSOLUTE, fields.encode_timestamp(validity)
    return _TP_VPF_RELATIVE, bytes((fields.relative_octet(validity),))


def _header_elements(plan: MessagePlan, reference: int, sequence: int) -> list[InformationElement]:
    elements: list[InformationElement] = []
    if plan.num_segments > 1:
        elements.append(Concatenation(reference, plan.num_segments, sequence, plan.ref16))
    if plan.locking_shift:
        elements.append(NationalLanguageShift(plan.locking_shift, locking=True))
    if plan.single_shift:
        elements.append(NationalLanguageShift(plan.single_shift, locking=False))
    return elements


def part_user_data(plan: MessagePlan, reference: int, sequence: int) -> tuple[bool, int, bytes]:
    """TP-UDHI, TP-UDL and TP-UD of part ``sequence`` (1-based) of ``plan``.

    The header carries the concatenation element (when there are several parts) and the
    national language shift elements; GSM 7-bit text follows it after the fill bits that
    realign it to a septet boundary (TS 23.040 §9.2.3.24).
    """
    headed = plan.num_segments > 1 or plan.locking_shift or plan.single_shift
    header = fields.encode_udh(_header_elements(plan, reference, sequence)) if headed else b""
    payload = plan.segments[sequence - 1].payload
    if plan.alphabet is not Alphabet.GSM7:
        return bool(header), len(header) + len(payload), header + payload
    header_septets = fields.header_septets(len(header))
    fill_bits = header_septets * 7 - len(header) * 8
    return bool(header), header_septets + len(payload), header + gsm7.pack(payload, fill_bits)


def encode_submit(
    destination: str,
    plan: MessagePlan,
    options: SubmitOptions = SubmitOptions(),
    reference: int = 0,
) -> tuple[SubmitPart, ...]:
    """The SUBMIT PDUs for ``plan``, in order.

    ``reference`` is the concatenation reference shared by the parts (0..255, or 0..65535 when
    the plan uses 16-bit references); the caller picks it so that consecutive long messages to
    one recipient differ.
    """
    limit = 0xFFFF if plan.ref16 else 0xFF
    if plan.num_segments > 1 and not 0 <= reference <= limit:
        raise PduError("concatenation reference", f"{reference} is not in 0..{limit}")
    vpf, vp = _validity(options.validity)
    first = _MTI_SUBMIT | vpf
    if options.reject_duplicates:
        first |= _TP_RD
    if options.status_report:
        first |= _TP_SRR
    sca = fields.encode_sca(options.sca, options.sca_toa)
    # Everything between the first octet and TP-UDL is the same in every part.
    head = bytearray((_check_octet(options.message_reference, "TP-MR"),))
    head += fields.encode_address(destination, "TP-DA", options.destination_toa)
    head.append(_check_octet(options.pid, "TP-PID"))
    head.append(fields.encode_dcs(plan.alphabet, options.message_class))
    head += vp
    total = plan.num_segments
    parts = []
    for sequence, segment in enumerate(plan.segments, 1):
        udhi, udl, ud = part_user_data(plan, reference, sequence)
        tpdu = bytearray((first | _TP_UDHI if udhi else first,))
        tpdu += head
        tpdu.append(udl)
        tpdu += ud
        pdu = (sca + tpdu).hex().upper()
        parts.append(SubmitPart(pdu, len(tpdu), sequence, total, segment.text))
    return tuple(parts)


def with_validity(pdu: str, seconds: int) -> str:
    """``pdu``, an SMS-SUBMIT with a relative TP-VP (as :func:`encode_submit` writes one, the
    SMSC address first), with that TP-VP set to the smallest period lasting ``seconds``.

    The rest of the PDU is untouched, so ``AT+CMGS``'s length stays right: the gateway sends a
    part with the validity it has left when it goes, not what it had when it was accepted.
    """
    try:
        octets = bytearray.fromhex(pdu)
    except ValueError:
        raise PduError("PDU", "not hexadecimal") from None
    first = 1 + (octets[0] if octets else 0)  # after the SMSC address
    # First octet, TP-MR, TP-DA (length in digits, type, digits), TP-PID, TP-DCS: then TP-VP.
    if len(octets) < first + 4:
        raise PduError("TP-DA", "the PDU ends before the destination address")
    if octets[first] & 0x03 != _MTI_SUBMIT:
        raise PduError("TP-MTI", "not an SMS-SUBMIT")
    if octets[first] & _TP_VPF_ABSOLUTE != _TP_VPF_RELATIVE:
        raise PduError("TP-VPF", "the PDU has no relative validity period to set")
    position = first + 4 + (octets[first + 2] + 1) // 2 + 2
    if position >= len(octets):
        raise PduError("TP-VP", "the PDU ends before the validity period")
    octets[position] = fields.relative_octet(seconds)
    return octets.hex().upper()


def encode_text(
    destination: str,
    text: str,
    options: SubmitOptions = SubmitOptions(),
    *,
    smart_encoded: bool = False,
    languages: Iterable[int] = (),
    ref16: bool = False,
    reference: int = 0,
) -> tuple[SubmitPart, ...]:
    """Plan ``text`` (see :func:`plan_text`) and encode its parts in one call."""
    plan = plan_text(text, smart_encoded=smart_encoded, languages=languages, ref16=ref16)
    return encode_submit(destination, plan, options, reference)
