"""What the network side sends: SMS-DELIVER and SMS-STATUS-REPORT PDUs (TS 23.040 §9.2.2),
and what a modem checks of the SMS-SUBMIT it is given (:func:`checked_submit`).

The gateway never builds these; the simulated network does, from the SUBMITs it receives and the
messages people inject, using the same field codecs as the real decoder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from drivers.codec import gsm7
from drivers.codec.pdu import Alphabet, Submit, decode, fields
from drivers.errors import PduError
from drivers.simulated.state import CommandFailed

MAX_TPDU: Final = 164  # TS 23.040: the longest SMS-SUBMIT TPDU

_MTI_DELIVER = 0x00
_MTI_STATUS_REPORT = 0x02
_TP_MMS = 0x04  # set: no more messages waiting
_TP_SRI = 0x20  # DELIVER: a status report will go back to the sender
_TP_UDHI = 0x40


def _sca(smsc: str) -> bytes:
    return fields.encode_sca(smsc)


def deliver_pdu(
    smsc: str,
    originator: str,
    scts: datetime,
    *,
    dcs: int,
    user_data_length: int,
    user_data: bytes,
    udhi: bool = False,
    pid: int = 0,
    status_report_indication: bool = False,
) -> tuple[str, int]:
    """An SMS-DELIVER with the user data exactly as given; returns (hex, TPDU length)."""
    first = _MTI_DELIVER | _TP_MMS
    if udhi:
        first |= _TP_UDHI
    if status_report_indication:
        first |= _TP_SRI
    if originator and not originator.lstrip("+").isdigit():
        originator_field = _alphanumeric(originator)
    else:
        originator_field = fields.encode_address(originator, "TP-OA")
    tpdu = bytearray((first,))
    tpdu += originator_field
    tpdu += bytes((pid, dcs))
    tpdu += fields.encode_timestamp(scts)
    tpdu.append(user_data_length)
    tpdu += user_data
    return (_sca(smsc) + tpdu).hex().upper(), len(tpdu)


def deliver_for_submit(
    smsc: str, originator: str, scts: datetime, submit: Submit, tpdu: bytes
) -> tuple[str, int]:
    """The DELIVER a recipient gets for ``submit`` (whose TPDU octets are ``tpdu``): same
    coding and user data octets, concatenation header included; the sender as originator."""
    user_data = submit.user_data
    septets = submit.dcs.alphabet is Alphabet.GSM7 and not submit.dcs.compressed
    octets = gsm7.packed_length(user_data.length) if septets else user_data.length
    end = submit.tpdu_length
    return deliver_pdu(
        smsc,
        originator,
        scts,
        dcs=submit.dcs.raw,
        user_data_length=user_data.length,
        user_data=bytes(tpdu[end - octets : end]),
        udhi=user_data.header is not None,
        pid=submit.pid,
        status_report_indication=submit.status_report_request,
    )


def _alphanumeric(name: str) -> bytes:
    septets = gsm7.encode(name)
    packed = gsm7.pack(septets)
    # TS 23.040 §9.1.2.5: the length counts the semi-octets the packed name occupies.
    semi_octets = (len(septets) * 7 + 3) // 4
    return bytes((semi_octets, 0xD0)) + packed


def status_report_pdu(
    smsc: str,
    *,
    reference: int,
    recipient: bytes,
    scts: datetime,
    discharge: datetime,
    status: int,
) -> tuple[str, int]:
    """An SMS-STATUS-REPORT for the SUBMIT with TP-MR ``reference``.

    ``recipient`` is the encoded TP-RA (the SUBMIT's TP-DA field as sent).
    """
    tpdu = bytearray((_MTI_STATUS_REPORT | _TP_MMS, reference))
    tpdu += recipient
    tpdu += fields.encode_timestamp(scts)
    tpdu += fields.encode_timestamp(discharge)
    tpdu.append(status)
    return (_sca(smsc) + tpdu).hex().upper(), len(tpdu)


def checked_submit(data: str, expected_length: int) -> tuple[bytes, Submit]:
    """The TPDU of the PDU ``data`` (hex, SMSC address first) given after ``AT+CMGS=<length>``,
    and its SUBMIT; or +CMS ERROR: 304 as a real modem would answer."""
    try:
        octets = bytes.fromhex(data)
    except ValueError:
        raise CommandFailed("CMS", 304) from None
    if not octets or octets[0] > 11 or 1 + octets[0] > len(octets):
        raise CommandFailed("CMS", 304)
    tpdu = octets[1 + octets[0] :]
    if len(tpdu) != expected_length or len(tpdu) > MAX_TPDU:
        raise CommandFailed("CMS", 304)  # TS 27.005 §3.5.1: <length> counts the TPDU only
    try:
        message = decode(tpdu, len(tpdu))
    except PduError:
        raise CommandFailed("CMS", 304) from None
    if not isinstance(message, Submit):
        raise CommandFailed("CMS", 304)
    return tpdu, message


def readdressed(tpdu: bytes, destination: str, toa: int | None = None) -> bytes:
    """An SMS-SUBMIT's TPDU with another TP-DA (``AT+CMSS=<index>,<da>``, TS 27.005 §3.5.2);
    +CMS ERROR: 304 when ``destination`` is no number."""
    end = 4 + (tpdu[2] + 1) // 2  # TP-DA follows the first octet and TP-MR
    try:
        address = fields.encode_address(destination, "TP-DA", toa)
    except PduError:
        raise CommandFailed("CMS", 304) from None
    return tpdu[:2] + address + tpdu[end:]
