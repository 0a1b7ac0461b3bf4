"""The PDU codec of TS 23.040: decoding, SMS-SUBMIT encoding, segmentation.

Public API::

    decode(pdu, tpdu_length=None) -> Deliver | Submit | StatusReport   # or PduError
    plan_text(text, smart_encoded=..., languages=..., ref16=...) -> MessagePlan
    encode_submit(destination, plan, options, reference) -> tuple[SubmitPart, ...]
    encode_text(destination, text, options, ...) -> tuple[SubmitPart, ...]
    with_validity(pdu, seconds) -> pdu   # the relative TP-VP of an encoded SUBMIT, set anew
"""

from drivers.codec.pdu.decode import decode
from drivers.codec.pdu.encode import (
    SubmitOptions,
    SubmitPart,
    encode_submit,
    encode_text,
    with_validity,
)
from drivers.codec.pdu.segmentation import MessagePlan, Segment, plan_data, plan_text, plan_ucs2
from drivers.codec.pdu.status import StatusMeaning, interpret_status
from drivers.codec.pdu.types import (
    Address,
    Alphabet,
    Concatenation,
    DataCoding,
    Deliver,
    Delivery,
    InformationElement,
    MessageWaiting,
    NationalLanguageShift,
    Pdu,
    PortAddressing,
    StatusClass,
    StatusReport,
    Submit,
    Timestamp,
    TypeOfNumber,
    UnknownElement,
    UserData,
    UserDataHeader,
    ValidityFormat,
    ValidityPeriod,
    WaitingKind,
)

__all__ = [
    "Address",
    "Alphabet",
    "Concatenation",
    "DataCoding",
    "Deliver",
    "Delivery",
    "InformationElement",
    "MessagePlan",
    "MessageWaiting",
    "NationalLanguageShift",
    "Pdu",
    "PortAddressing",
    "Segment",
    "StatusClass",
    "StatusMeaning",
    "StatusReport",
    "Submit",
    "SubmitOptions",
    "SubmitPart",
    "Timestamp",
    "TypeOfNumber",
    "UnknownElement",
    "UserData",
    "UserDataHeader",
    "ValidityFormat",
    "ValidityPeriod",
    "WaitingKind",
    "decode",
    "encode_submit",
    "encode_text",
    "interpret_status",
    "plan_data",
    "plan_text",
    "plan_ucs2",
    "with_validity",
]
