"""The codec of TS 23.038 and TS 23.040: pure, no I/O, no asyncio, no AT.

What the gateway (or any reader and writer of SMS) uses of it is here::

    decode(pdu, tpdu_length=None) -> Deliver | Submit | StatusReport   # or PduError
    plan_text(text, smart_encoded=..., languages=..., ref16=...) -> MessagePlan
    encode_submit(destination, plan, options, reference) -> tuple[SubmitPart, ...]
    encode_text(destination, text, options, ...) -> tuple[SubmitPart, ...]
    with_validity(pdu, seconds) -> pdu   # the relative TP-VP of an encoded SUBMIT, set anew
    StatusReport.delivery                # what a report says of its part (Delivery)
    part_text(deliver) -> str            # the text a received part carries
    join_parts(texts) -> str             # consecutive parts' texts joined
    ussd.decode(data, dcs) -> str        # a USSD string (CBS data coding, TS 23.038 §5)

Its modules: ``gsm7`` and ``gsm7_tables`` (the GSM 7-bit alphabet and its national language
tables, TS 23.038), ``smart_encoding`` (look-alike replacements that keep a text in GSM 7-bit),
``pdu`` (TS 23.040's PDUs: decoding, encoding, segmentation, status reports), ``text`` and
``ussd`` (USSD strings: the CBS data coding scheme, packing with CR padding).
"""

from drivers.codec import ussd
from drivers.codec.gsm7_tables import DEFAULT as DEFAULT_LANGUAGE
from drivers.codec.gsm7_tables import LANGUAGE_NAMES
from drivers.codec.pdu import (
    Address,
    Alphabet,
    Concatenation,
    DataCoding,
    Deliver,
    Delivery,
    InformationElement,
    MessagePlan,
    MessageWaiting,
    NationalLanguageShift,
    Pdu,
    PortAddressing,
    Segment,
    StatusClass,
    StatusMeaning,
    StatusReport,
    Submit,
    SubmitOptions,
    SubmitPart,
    Timestamp,
    TypeOfNumber,
    UnknownElement,
    UserData,
    UserDataHeader,
    ValidityFormat,
    ValidityPeriod,
    WaitingKind,
    decode,
    encode_submit,
    encode_text,
    interpret_status,
    plan_data,
    plan_text,
    plan_ucs2,
    with_validity,
)
from drivers.codec.text import join_parts, part_text
from drivers.errors import PduError

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGE_NAMES",
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
    "PduError",
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
    "join_parts",
    "part_text",
    "plan_data",
    "plan_text",
    "plan_ucs2",
    "ussd",
    "with_validity",
]
