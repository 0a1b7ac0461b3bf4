"""Frozen dataclasses for decoded TPDUs and their fields (TS 23.040 §9.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum, IntEnum, StrEnum


class TypeOfNumber(IntEnum):
    """TS 23.040 §9.1.2.5: bits 6..4 of the type-of-address octet."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6
    RESERVED = 7


@dataclass(frozen=True, slots=True)
class Address:
    """An address field (SMSC, TP-OA, TP-DA or TP-RA).

    ``number`` is the form people read: ``+`` and digits for international numbers, the decoded
    text for alphanumeric senders, digits (and ``*#abc``) otherwise.
    """

    number: str
    ton: TypeOfNumber
    npi: int
    toa: int


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A TP-SCTS, TP-DT or absolute TP-VP (TS 23.040 §9.2.3.11).

    ``value`` keeps the time zone the service centre gave; it is ``None`` when the date digits
    are not valid BCD or not a real date. An invalid time zone digit falls back to UTC.
    """

    raw: bytes
    value: datetime | None


class Alphabet(Enum):
    GSM7 = "GSM-7"
    DATA8 = "8-bit"
    UCS2 = "UCS-2"


class WaitingKind(Enum):
    """TS 23.038 §4, message waiting indication groups: the indication type."""

    VOICEMAIL = "voicemail"
    FAX = "fax"
    EMAIL = "email"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class MessageWaiting:
    kind: WaitingKind
    active: bool
    store: bool


@dataclass(frozen=True, slots=True)
class DataCoding:
    """TP-DCS (TS 23.038 §4) interpreted for every coding group."""

    raw: int
    alphabet: Alphabet
    message_class: int | None
    compressed: bool
    auto_delete: bool
    waiting: MessageWaiting | None


@dataclass(frozen=True, slots=True)
class Concatenation:
    """IEI 0x00 (8-bit reference) or 0x08 (16-bit reference), TS 23.040 §9.2.3.24.1/8."""

    reference: int
    total: int
    sequence: int
    ref16: bool

    @property
    def valid(self) -> bool:
        # TS 23.040 §9.2.3.24.1: a receiver ignores the element when the sequence number is 0 or
        # exceeds the number of parts.
        return 1 <= self.sequence <= self.total


@dataclass(frozen=True, slots=True)
class PortAddressing:
    """IEI 0x04 (8-bit ports) or 0x05 (16-bit ports), TS 23.040 §9.2.3.24.3/4."""

    destination: int
    source: int
    ports16: bool


@dataclass(frozen=True, slots=True)
class NationalLanguageShift:
    """IEI 0x24 (single shift) or 0x25 (locking shift), TS 23.040 §9.2.3.24.15/16."""

    language: int
    locking: bool


@dataclass(frozen=True, slots=True)
class UnknownElement:
    """Any other information element, kept as received."""

    iei: int
    data: bytes


InformationElement = Concatenation | PortAddressing | NationalLanguageShift | UnknownElement


@dataclass(frozen=True, slots=True)
class UserDataHeader:
    elements: tuple[InformationElement, ...]

    @property
    def concatenation(self) -> Concatenation | None:
        """The last valid concatenation element (TS 23.040: the last occurrence wins)."""
        found = None
        for element in self.elements:
            if isinstance(element, Concatenation) and element.valid:
                found = element
        return found

    @property
    def ports(self) -> PortAddressing | None:
        found = None
        for element in self.elements:
            if isinstance(element, PortAddressing):
                found = element
        return found

    def shift(self, *, locking: bool) -> int:
        """Language of the single (or locking) shift table in use, 0 for the default table."""
        language = 0
        for element in self.elements:
            if isinstance(element, NationalLanguageShift) and element.locking == locking:
                language = element.language
        return language


@dataclass(frozen=True, slots=True)
class UserData:
    """TP-UDL and TP-UD.

    ``length`` is TP-UDL as received (septets for uncompressed GSM 7-bit, octets otherwise).
    ``data`` is the user data after the header exactly as received (packed septets for GSM 7-bit).
    ``text`` is ``None`` for 8-bit data and for compressed user data, which we keep raw.
    """

    length: int
    header: UserDataHeader | None
    data: bytes
    text: str | None


class ValidityFormat(Enum):
    RELATIVE = "relative"
    ENHANCED = "enhanced"
    ABSOLUTE = "absolute"


@dataclass(frozen=True, slots=True)
class ValidityPeriod:
    """TP-VP (TS 23.040 §9.2.3.12). ``seconds`` is set for relative periods."""

    format: ValidityFormat
    raw: bytes
    seconds: int | None
    absolute: Timestamp | None


class StatusClass(Enum):
    """TS 23.040 §9.2.3.15: what a TP-ST value says about the message."""

    DELIVERED = "transaction completed"
    STILL_TRYING = "temporary error, SC still trying"
    PERMANENT_FAILURE = "permanent error, SC not making any more attempts"
    GAVE_UP = "temporary error, SC not making any more attempts"


class Delivery(StrEnum):
    """What a status report says of the delivery of the part it is for (TS 23.040 §9.2.3.15,
    ``../shared/docs/gsm-at-pdu.md`` §1.7).

    ``DELIVERED``: the transaction completed, the SME received it (TP-ST 0x00, 0x10-0x1F);
    ``PENDING``: the service centre is still trying (0x20-0x3F), not final; ``UNCONFIRMED``:
    forwarded, but the SC cannot confirm delivery (0x01), final; ``UNDELIVERED``: a final
    failure (replaced by the SC 0x02, 0x40 and up, and the reserved values, which TS 23.040
    says to treat as "service rejected").
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    UNCONFIRMED = "unconfirmed"
    UNDELIVERED = "undelivered"


class _CarriesText:
    """What a PDU with user data (an SMS-DELIVER, an SMS-SUBMIT) says of its text: the text
    itself (``None`` for 8-bit data) and the concatenation header, if it is a part."""

    __slots__ = ()
    user_data: UserData

    @property
    def text(self) -> str | None:
        return self.user_data.text

    @property
    def concatenation(self) -> Concatenation | None:
        header = self.user_data.header
        return header.concatenation if header else None


@dataclass(frozen=True, slots=True)
class Deliver(_CarriesText):
    """SMS-DELIVER (TS 23.040 §9.2.2.1)."""

    sca: Address | None
    first_octet: int
    more_messages: bool
    reply_path: bool
    status_report_indication: bool
    loop_prevention: bool
    originator: Address
    pid: int
    dcs: DataCoding
    scts: Timestamp
    user_data: UserData
    tpdu_length: int


@dataclass(frozen=True, slots=True)
class Submit(_CarriesText):
    """SMS-SUBMIT (TS 23.040 §9.2.2.2), as sent or as read back from modem storage."""

    sca: Address | None
    first_octet: int
    reject_duplicates: bool
    status_report_request: bool
    reply_path: bool
    message_reference: int
    destination: Address
    pid: int
    dcs: DataCoding
    validity: ValidityPeriod | None
    user_data: UserData
    tpdu_length: int


@dataclass(frozen=True, slots=True)
class StatusReport:
    """SMS-STATUS-REPORT (TS 23.040 §9.2.2.3) with its TP-ST classified: its class, its
    description and what it says of the part's :class:`Delivery`."""

    sca: Address | None
    first_octet: int
    more_messages: bool
    command_report: bool
    message_reference: int
    recipient: Address
    scts: Timestamp
    discharge: Timestamp
    status: int
    status_class: StatusClass
    status_description: str
    delivery: Delivery
    pid: int | None
    dcs: DataCoding | None
    user_data: UserData | None
    tpdu_length: int


Pdu = Deliver | Submit | StatusReport
