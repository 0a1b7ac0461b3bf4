"""A total decoder for the PDUs a modem hands over: SMS-DELIVER, SMS-SUBMIT, SMS-STATUS-REPORT.

:func:`decode` returns a frozen dataclass or raises :class:`~drivers.errors.PduError` naming the
field; no other exception escapes, whatever the input (the fuzz tests hold it to that).
"""

from __future__ import annotations

from typing import Final

from drivers.codec import gsm7
from drivers.codec.pdu import fields
from drivers.codec.pdu.status import interpret_status
from drivers.codec.pdu.types import (
    Address,
    Alphabet,
    DataCoding,
    Deliver,
    Pdu,
    StatusReport,
    Submit,
    UserData,
    UserDataHeader,
    ValidityPeriod,
)
from drivers.errors import PduError

# TS 23.040 §9.2.3.1, TP-MTI in the two low bits of the first octet, as seen by the MS side.
_MTI_DELIVER: Final = 0
_MTI_SUBMIT: Final = 1
_MTI_STATUS_REPORT: Final = 2

_TIMESTAMP_OCTETS: Final = 7
_VP_OCTETS: Final = (0, 7, 1, 7)  # by TP-VPF: none, enhanced, relative, absolute
_SIM_PADDING: Final = 0xFF  # unused octets of an EF-SMS record, which some modems return


class _Reader:
    """A cursor over the PDU octets; every read names the field it is reading."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def octet(self, field: str) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise PduError(field, "missing: the PDU ends before it")
        self.pos = pos + 1
        return self.data[pos]

    def take(self, count: int, field: str) -> bytes:
        pos = self.pos
        end = pos + count
        if end > len(self.data):
            raise PduError(field, f"needs {count} octets, only {len(self.data) - pos} left")
        self.pos = end
        return self.data[pos:end]

    def address(self, field: str) -> Address:
        digits = self.octet(field)
        toa = self.octet(field)
        if digits > fields.MAX_ADDRESS_DIGITS:
            raise PduError(field, f"length {digits} exceeds {fields.MAX_ADDRESS_DIGITS} digits")
        return fields.make_address(toa, self.take((digits + 1) // 2, field), digits)

    def finish(self, field: str) -> None:
        rest = self.data[self.pos :]
        if rest and rest.count(_SIM_PADDING) != len(rest):
            raise PduError(field, f"{len(rest)} unexpected octets after the end of the PDU")


def _to_bytes(pdu: str | bytes) -> bytes:
    if isinstance(pdu, bytes):
        return pdu
    try:
        return bytes.fromhex(pdu)  # also skips whitespace between octets
    except ValueError:
        pass
    text = "".join(pdu.split())
    if len(text) % 2:
        raise PduError("PDU", f"odd number of hex digits ({len(text)})")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise PduError("PDU", "not a hexadecimal string") from None


def _sca(data: bytes) -> tuple[Address | None, int]:
    """The SMSC address and the offset of the TPDU after it (TS 24.011 §8.2.5.1)."""
    size = data[0]
    if size == 0:
        return None, 1
    if size > fields.MAX_SCA_OCTETS:
        raise PduError("SCA", f"length {size} exceeds {fields.MAX_SCA_OCTETS} octets")
    if 1 + size > len(data):
        raise PduError("SCA", f"length {size} runs past the end of the PDU")
    value = data[2 : 1 + size]
    return fields.make_address(data[1], value, 2 * len(value)), 1 + size


def decode(pdu: str | bytes, tpdu_length: int | None = None) -> Pdu:
    """Decode a PDU as the modem gives it (hex or bytes).

    ``tpdu_length`` is the ``<length>`` of ``+CMGR``/``+CMGL``/``+CMT``/``+CDS``, which counts the
    TPDU without the SMSC address (TS 27.005 §3.1); it tells whether an SCA is present. Without
    it, an SCA is assumed (TS 27.005 PDU mode), and a TPDU-only reading is tried if that fails.
    """
    data = _to_bytes(pdu)
    if not data:
        raise PduError("PDU", "empty")
    if tpdu_length is not None:
        if len(data) == tpdu_length:
            return _decode_tpdu(data, None, 0)
        if len(data) == tpdu_length + 1 + data[0]:
            sca, offset = _sca(data)
            return _decode_tpdu(data, sca, offset)
        # The modem's count matches neither reading; fall back to looking at the PDU itself.
    try:
        sca, offset = _sca(data)
        return _decode_tpdu(data, sca, offset)
    except PduError as with_sca:
        try:
            return _decode_tpdu(data, None, 0)
        except PduError:
            raise with_sca from None


def _decode_tpdu(data: bytes, sca: Address | None, offset: int) -> Pdu:
    reader = _Reader(data, offset)
    first = reader.octet("TP-MTI")
    mti = first & 0x03
    if mti == _MTI_SUBMIT:
        return _submit(reader, sca, first)
    if mti == _MTI_STATUS_REPORT:
        return _status_report(reader, sca, first)
    # TS 23.040 §9.2.3.1: a reserved TP-MTI (11) is processed as an SMS-DELIVER.
    return _deliver(reader, sca, first)


def _deliver(reader: _Reader, sca: Address | None, first: int) -> Deliver:
    start = reader.pos - 1
    originator = reader.address("TP-OA")
    pid = reader.octet("TP-PID")
    dcs = fields.decode_dcs(reader.octet("TP-DCS"))
    scts = fields.decode_timestamp(reader.take(_TIMESTAMP_OCTETS, "TP-SCTS"))
    user_data = _user_data(reader, dcs, bool(first & 0x40))
    reader.finish("TP-UD")
    return Deliver(
        sca=sca,
        first_octet=first,
        more_messages=not first & 0x04,  # TP-MMS set means no more messages are waiting
        reply_path=bool(first & 0x80),
        status_report_indication=bool(first & 0x20),
        loop_prevention=bool(first & 0x08),
        originator=originator,
        pid=pid,
        dcs=dcs,
        scts=scts,
        user_data=user_data,
        tpdu_length=reader.pos - start,
    )


def _submit(reader: _Reader, sca: Address | None, first: int) -> Submit:
    start = reader.pos - 1
    reference = reader.octet("TP-MR")
    destination = reader.address("TP-DA")
    pid = reader.octet("TP-PID")
    dcs = fields.decode_dcs(reader.octet("TP-DCS"))
    vpf = (first >> 3) & 0x03
    validity: ValidityPeriod | None = None
    if vpf:
        validity = fields.decode_validity(vpf, reader.take(_VP_OCTETS[vpf], "TP-VP"))
    user_data = _user_data(reader, dcs, bool(first & 0x40))
    reader.finish("TP-UD")
    return Submit(
        sca=sca,
        first_octet=first,
        reject_duplicates=bool(first & 0x04),
        status_report_request=bool(first & 0x20),
        reply_path=bool(first & 0x80),
        message_reference=reference,
        destination=destination,
        pid=pid,
        dcs=dcs,
        validity=validity,
        user_data=user_data,
        tpdu_length=reader.pos - start,
    )


def _status_report(reader: _Reader, sca: Address | None, first: int) -> StatusReport:
    start = reader.pos - 1
    reference = reader.octet("TP-MR")
    recipient = reader.address("TP-RA")
    scts = fields.decode_timestamp(reader.take(_TIMESTAMP_OCTETS, "TP-SCTS"))
    discharge = fields.decode_timestamp(reader.take(_TIMESTAMP_OCTETS, "TP-DT"))
    status = reader.octet("TP-ST")
    pid, dcs, user_data = _report_parameters(reader, bool(first & 0x40))
    meaning = interpret_status(status)
    return StatusReport(
        sca=sca,
        first_octet=first,
        more_messages=not first & 0x04,
        command_report=bool(first & 0x20),  # TP-SRQ: the report is about an SMS-COMMAND
        message_reference=reference,
        recipient=recipient,
        scts=scts,
        discharge=discharge,
        status=status,
        status_class=meaning.status_class,
        status_description=meaning.description,
        delivery=meaning.delivery,
        pid=pid,
        dcs=dcs,
        user_data=user_data,
        tpdu_length=reader.pos - start,
    )


def _report_parameters(
    reader: _Reader, udhi: bool
) -> tuple[int | None, DataCoding | None, UserData | None]:
    """TP-PI and the optional TP-PID, TP-DCS and TP-UD of a status report (TS 23.040 §9.2.3.27)."""
    rest = reader.data[reader.pos :]
    if not rest or rest.count(_SIM_PADDING) == len(rest):
        return None, None, None
    indicator = reader.octet("TP-PI")
    extension = indicator
    while extension & 0x80:  # further TP-PI octets carry nothing we interpret
        extension = reader.octet("TP-PI")
    pid = reader.octet("TP-PID") if indicator & 0x01 else None
    dcs = fields.decode_dcs(reader.octet("TP-DCS")) if indicator & 0x02 else None
    user_data = None
    if indicator & 0x04:
        user_data = _user_data(reader, dcs or fields.decode_dcs(0), udhi)
    reader.finish("TP-PI")
    return pid, dcs, user_data


def _user_data(reader: _Reader, dcs: DataCoding, udhi: bool) -> UserData:
    length = reader.octet("TP-UDL")
    septets = dcs.alphabet is Alphabet.GSM7 and not dcs.compressed
    # TS 23.040 §9.2.3.16: UDL counts septets for uncompressed GSM 7-bit, octets otherwise.
    raw = reader.take(gsm7.packed_length(length) if septets else length, "TP-UD")
    header: UserDataHeader | None = None
    header_octets = 0
    if udhi:
        if not raw:
            raise PduError("TP-UDH", "TP-UDHI is set but the user data is empty")
        header_octets = raw[0] + 1
        if header_octets > len(raw):
            raise PduError("TP-UDH", f"UDHL {raw[0]} exceeds the user data ({len(raw)} octets)")
        header = fields.decode_udh(raw[1:header_octets])
    body = raw[header_octets:]
    if dcs.compressed or dcs.alphabet is Alphabet.DATA8:
        return UserData(length, header, body, None)
    if dcs.alphabet is Alphabet.UCS2:
        return UserData(length, header, body, _ucs2_text(body))
    header_septets = fields.header_septets(header_octets)
    if header_septets > length:
        raise PduError("TP-UDL", f"{length} septets cannot hold a {header_octets}-octet header")
    fill_bits = header_septets * 7 - header_octets * 8
    text_septets = gsm7.unpack(body, length - header_septets, fill_bits)
    locking = header.shift(locking=True) if header else 0
    single = header.shift(locking=False) if header else 0
    return UserData(length, header, body, gsm7.decode(text_septets, locking, single))


def _ucs2_text(body: bytes) -> str:
    if len(body) % 2:
        # A truncated sender: keep what decodes and mark the lost half character visibly.
        return gsm7.decode_ucs2(body[:-1]) + "\ufffd"
    return gsm7.decode_ucs2(body)
