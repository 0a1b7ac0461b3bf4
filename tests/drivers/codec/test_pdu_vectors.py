"""Every PDU of the real-vector corpus, decoded and compared field by field with its source.

``tests/data/pdu_vectors.json`` is a verbatim copy of the shared corpus: each vector carries the
PDU and what its source library's own test asserts about it, under that library's field names
(``source`` = repository:path, plus ``commit`` and ``test``). This module

* decodes each PDU with :func:`drivers.codec.pdu.decode`, passing the ``<length>`` the vector gives
  (``tpdu_length``, ``tpdu_len``, ``cmgs_length``, ``tpdu_offset``, the ``+CMGR`` line, or
  ``has_sca``/``has_smsc_param``);
* compares EVERY asserted field with our decoded dataclass through one explicit table per
  source (``GSMMODEM``, ``MODEMMANAGER``, ``MESSAGING``, ``OFONO``, ``SMSLIB``, ``ANDROID``,
  ``AMRO`` below): a field without a mapping fails the test, nothing is skipped;
* requires ``must_fail``/``must_fail_strict`` PDUs to raise :class:`~drivers.errors.PduError`;
* lists in ONE table, :data:`DISAGREEMENTS`, the fields where we deliberately decode something
  else than the source asserts, with the value we assert instead and why;
* checks the Twilio status of every status report (``../shared/docs/gsm-at-pdu.md`` §1.7).

The encoder vectors, information elements and address fields are in
``test_pdu_vectors_encode.py``, the smspdudecoder cross-check in
``test_pdu_vectors_smspdudecoder.py``; both take their vectors from the selections here, and
:func:`test_every_vector_is_handled` checks that together they cover the whole file.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from drivers.codec import gsm7, gsm7_tables
from drivers.codec.pdu import (
    Address,
    Alphabet,
    Concatenation,
    Deliver,
    Delivery,
    Pdu,
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
    decode,
)
from drivers.codec.pdu import fields as pdu_fields
from drivers.errors import PduError

Vector = dict[str, Any]

CORPUS: Final = Path(__file__).resolve().parents[2] / "data" / "pdu_vectors.json"
VECTORS: Final[tuple[Vector, ...]] = tuple(json.loads(CORPUS.read_text("utf-8"))["vectors"])
BY_ID: Final[dict[int, Vector]] = {vector["id"]: vector for vector in VECTORS}

# Repository (the part of ``source`` before ':') -> the mapping table that reads its fields.
_SOURCE_KEYS: Final = {
    "babca/python-gsmmodem": "gsmmodem",
    "linux-mobile-broadband/ModemManager": "mm",
    "pmarti/python-messaging": "messaging",
    "rilmodem/ofono": "ofono",
    "frontlinesms/smslib": "smslib",
    "aosp-mirror/platform_frameworks_base": "android",
    "LineageOS/android_frameworks_opt_telephony": "android",
    "web": "amro",  # http://amro.blogspot.com/2007/09/receiving-sms-status-report-message.html
}


def source_key(vector: Vector) -> str:
    return _SOURCE_KEYS[vector["source"].split(":", 1)[0]]


def vector_id(vector: Vector) -> str:
    """The pytest id of a vector: ``<id>-<source>``."""
    return f"{vector['id']}-{source_key(vector)}"


def must_fail(vector: Vector) -> bool:
    expected = vector["expected"]
    return bool(expected.get("must_fail") or expected.get("must_fail_strict"))


# The selections every check module draws its parameters from.
PDU_VECTORS: Final = tuple(vector for vector in VECTORS if vector["pdu"])
FIELD_VECTORS: Final = tuple(vector for vector in VECTORS if not vector["pdu"])
MUST_FAIL_VECTORS: Final = tuple(vector for vector in PDU_VECTORS if must_fail(vector))
DELIVER_VECTORS: Final = tuple(
    vector for vector in PDU_VECTORS if vector["kind"] == "deliver" and not must_fail(vector)
)
REPORT_VECTORS: Final = tuple(vector for vector in PDU_VECTORS if vector["kind"] == "status_report")
ENCODE_VECTORS: Final = tuple(vector for vector in VECTORS if vector.get("direction") == "encode")


def tpdu_length(vector: Vector) -> int | None:
    """The ``<length>`` a modem would give with this PDU (TPDU octets, SCA excluded), if known."""
    expected = vector["expected"]
    for key in ("tpdu_length", "tpdu_len", "cmgs_length"):
        if key in expected:
            return int(expected[key])
    if "cmgr_response" in vector:  # e.g. "+CMGR: 1,,26": the last header parameter
        return int(vector["cmgr_response"][0].split(",")[-1])
    size = len(vector["pdu"]) // 2
    if "tpdu_offset" in expected:
        return size - int(expected["tpdu_offset"])
    has_sca = vector.get("has_sca", expected.get("has_sca", expected.get("has_smsc_param")))
    if has_sca is None:
        return None
    return size - 1 - int(vector["pdu"][:2], 16) if has_sca else size


@functools.cache
def decoded(number: int) -> Pdu:
    """Vector ``number`` decoded with the length the vector gives (cached: groups reuse parts)."""
    vector = BY_ID[number]
    return decode(vector["pdu"], tpdu_length(vector))


# ---------------------------------------------------------------------------------------------
# THE EXCEPTIONS: fields where we decode something else than the source asserts.
#
# Each entry names the vector and the source's field, repeats the source's value (so the table
# fails loudly if the corpus changes), says what we assert instead, and why. DECODE as the field
# means the whole PDU: the source decodes it, we reject it with PduError (``we_say`` names the
# field our error blames).

DECODE: Final = "(decode)"


@dataclass(frozen=True, slots=True)
class Disagreement:
    source_says: object
    we_say: object
    why: str


_NATIONAL_TABLES_BY_CALLER: Final = (
    "oFono's test_sms_charset passes the language tables to its GSM-to-UTF-8 converter as "
    "arguments; the PDU itself has no UDH (first octet 0x00: no TP-UDHI), so it carries no "
    "national language shift element (TS 23.040 §9.2.3.24.15/16) and a receiver must decode it "
    "with the default alphabet and extension table (TS 23.038 §6.2.1, escape + unknown code shows "
    "the basic character). test_ofono_charset_tables_are_applied_by_the_caller checks that the "
    "same septets give oFono's text with the tables it names."
)
_DEFAULT_ALPHABET: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EIGHT_BIT_AS_TEXT: Final = (
    "TP-DCS 0x04 is 8-bit data (TS 23.038 §4): the octets have no character set, so our "
    "UserData.text is None and the octets are kept in UserData.data (which equal the ASCII of "
    "the source's text, checked in test_eight_bit_data_keeps_the_octets); the source decodes 8-bit "
    "data as Latin-1 text."
)
_MISLABELLED_COLUMNS: Final = (
    "The corpus took these names from the tuple columns of python-gsmmodem's "
    "test_encodeSmsSubmit, but the test passes the columns positionally to "
    "encodeSmsSubmitPdu(number, text, reference, validity, smsc, requestStatusReport, "
    "rejectDuplicates, sendFlash): the 'rejectDuplicates' column is really requestStatusReport and "
    "the 'sendFlash' column is really rejectDuplicates. The bytes decide: "
)
_BCD_B_IS_HASH: Final = (
    "TS 23.040 §9.1.2.3: semi-octet 1011 is '#' (1010 '*', 1100-1110 'a'-'c'); python-gsmmodem "
    "prints the nibble as hex 'b'. The source itself notes this ZTE report is semi-invalid."
)

DISAGREEMENTS: Final[dict[tuple[int, str], Disagreement]] = {
    (8, DECODE): Disagreement(
        ("text", "はい"),
        "PduError: TP-UD",
        "TP-UDL is 0xA0 (160 octets of UCS-2) but only 10 octets follow; python-gsmmodem's own "
        "test comments 'User data length is invalid in this PDU (too long)' and decodes what is "
        "there. We reject a user data shorter than TP-UDL, as ModemManager's "
        "test_pdu_insufficient_data (vector 54, must_fail) requires.",
    ),
    (9, "text"): Disagreement("Hello world!", None, _EIGHT_BIT_AS_TEXT),
    (107, "text"): Disagreement("Hi there...", None, _EIGHT_BIT_AS_TEXT),
    (11, "number"): Disagreement("+b08427829207025", "+#08427829207025", _BCD_B_IS_HASH),
    (29, "number"): Disagreement("+b08427829207025", "+#08427829207025", _BCD_B_IS_HASH),
    (14, "reject_duplicates"): Disagreement(
        False, True, _MISLABELLED_COLUMNS + "first octet 0x05 has TP-RD set."
    ),
    (14, "flash_class0"): Disagreement(
        True,
        False,
        _MISLABELLED_COLUMNS + "TP-DCS 0x00 has no message class (a flash SMS is 0x10).",
    ),
    (16, "reject_duplicates"): Disagreement(
        True, False, _MISLABELLED_COLUMNS + "first octet 0x31 is TP-SRR + relative TP-VP, no TP-RD."
    ),
    (31, "time_sent"): Disagreement(
        "2016-10-30T04:59:44+08:00",
        "2016-10-30T04:59:44+00:00",
        "The SCTS time zone octet is 0xC2: its units digit is the nibble 0xC, which is not BCD "
        "(TS 23.040 §9.2.3.11). python-gsmmodem computes 2*10+12 = 32 quarters = +8 h; we keep "
        "the wall-clock time and fall back to UTC for an invalid zone, as the project's reference "
        "requires (gsm-at-pdu.md §1.2, 'never crash on bad BCD, fall back to UTC').",
    ),
    (93, DECODE): Disagreement(
        (
            "text_non_strict",
            "Lieber FONIC Kunde, die Tarifoption Internet-Tagesflatrate wurde aktiviert. "
            "Internet-Nutzung wird jetzt pro Nutzungstag abgerechnet. Ihr FONIC Tea",
        ),
        "PduError: PDU",
        "The hex has an odd number of digits (the last one was cut off). python-messaging's "
        "non-strict mode drops the dangling digit and decodes a user data shorter than its "
        "TP-UDL; our decoder has a single, strict mode (the same PDU is vector 92, "
        "must_fail_strict) and rejects both the odd hex and, once evened, the short user data "
        "(test_odd_length_pdu_is_rejected_even_when_evened).",
    ),
    (122, "text"): Disagreement(
        "@£$¥€éùıòÇ\nĞğ\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ŞşßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "İABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§çabcdefghijklmnopqrstuvwxyzäöñüà",
        _DEFAULT_ALPHABET,
        _NATIONAL_TABLES_BY_CALLER,
    ),
    (122, "locking_shift_lang"): Disagreement("turkish", None, _NATIONAL_TABLES_BY_CALLER),
    (123, "text"): Disagreement(
        "\f^{}\\[~]|ĞİŞç€ğış", "\f^{}\\[~]|Ø¡Æ¿èøìæ", _NATIONAL_TABLES_BY_CALLER
    ),
    (123, "locking_shift_lang"): Disagreement("turkish", None, _NATIONAL_TABLES_BY_CALLER),
    (123, "single_shift_lang"): Disagreement("turkish", None, _NATIONAL_TABLES_BY_CALLER),
    (124, "text"): Disagreement(
        "@£$¥êéúíóç\nÔô\rÁáΔ_ªÇÀ∞^\\€Ó| ÂâÊÉ !\"#º%&'()*+,-./0123456789:;<=>?"
        "ÍABCDEFGHIJKLMNOPQRSTUVWXYZÃÕÚÜ§~abcdefghijklmnopqrstuvwxyzãõ`üà",
        _DEFAULT_ALPHABET,
        _NATIONAL_TABLES_BY_CALLER,
    ),
    (124, "locking_shift_lang"): Disagreement("portuguese", None, _NATIONAL_TABLES_BY_CALLER),
    (125, "text"): Disagreement(
        "êç\fÔôÁáΦΓ^ΩΠΨΣΘÊ{}\\[~]|ÀÍÓÚÃÕÂ€íóúãõâ",
        "èÇ\fØøÅåΦΓΠΩΠΨΣΘß{}Ψ[¿]ΞΛ¡ΘÑÄÖÆΣìòùäöæ",
        _NATIONAL_TABLES_BY_CALLER,
    ),
    (125, "locking_shift_lang"): Disagreement("portuguese", None, _NATIONAL_TABLES_BY_CALLER),
    (125, "single_shift_lang"): Disagreement("portuguese", None, _NATIONAL_TABLES_BY_CALLER),
    (126, "text"): Disagreement(
        "ç\f^{}\\[~]|ÁÍÓÚá€íóú", "Ç\f^{}\\[~]|AIOUa€iou", _NATIONAL_TABLES_BY_CALLER
    ),
    (126, "locking_shift_lang"): Disagreement("spanish", None, _NATIONAL_TABLES_BY_CALLER),
    (126, "single_shift_lang"): Disagreement("spanish", None, _NATIONAL_TABLES_BY_CALLER),
}

# Asserted fields that are not in the PDU at all, and how (or whether) they can be checked.
NOT_IN_PDU: Final = {
    "read_status": (
        "the <stat> of +CMGR/+CMGL (TS 27.005 §3.1: 0 REC UNREAD, 1 REC READ), not a TPDU field; "
        "checked against the vector's +CMGR line where it has one (vector 31), otherwise only "
        "that it is one of the 27.005 values"
    ),
}
_CMGR_STAT: Final = {0: "REC UNREAD", 1: "REC READ", 2: "STO UNSENT", 3: "STO SENT"}


# ---------------------------------------------------------------------------------------------
# Reading our decoded PDU


@dataclass(frozen=True, slots=True)
class Case:
    """One vector and what we decoded from it."""

    vector: Vector
    pdu: Pdu

    @property
    def deliver(self) -> Deliver:
        assert isinstance(self.pdu, Deliver), f"decoded as {type(self.pdu).__name__}"
        return self.pdu

    @property
    def submit(self) -> Submit:
        assert isinstance(self.pdu, Submit), f"decoded as {type(self.pdu).__name__}"
        return self.pdu

    @property
    def report(self) -> StatusReport:
        assert isinstance(self.pdu, StatusReport), f"decoded as {type(self.pdu).__name__}"
        return self.pdu

    def expected(self, key: str) -> Any:
        return self.vector["expected"][key]


_TYPE_NAMES: Final = {
    Deliver: "SMS-DELIVER",
    Submit: "SMS-SUBMIT",
    StatusReport: "SMS-STATUS-REPORT",
}


def pdu_type(case: Case) -> str:
    return _TYPE_NAMES[type(case.pdu)]


def sca_number(case: Case) -> str | None:
    return case.pdu.sca.number if case.pdu.sca else None


def sca_in_bytes(case: Case) -> bool:
    """Whether the hex starts with an SMSC address field (possibly the empty ``00``)."""
    return case.pdu.tpdu_length != len(case.vector["pdu"]) // 2


def tp_mr(case: Case) -> int:
    """TP-MR of a SUBMIT or a STATUS-REPORT (an SMS-DELIVER has none)."""
    pdu = case.pdu
    assert not isinstance(pdu, Deliver), "an SMS-DELIVER has no TP-MR"
    return pdu.message_reference


def party(case: Case) -> Address:
    """TP-OA of a DELIVER, TP-DA of a SUBMIT, TP-RA of a STATUS-REPORT."""
    pdu = case.pdu
    if isinstance(pdu, Deliver):
        return pdu.originator
    if isinstance(pdu, Submit):
        return pdu.destination
    return pdu.recipient


def pdu_text(pdu: Pdu) -> str | None:
    return pdu.user_data.text if pdu.user_data else None


def text(case: Case) -> str | None:
    return pdu_text(case.pdu)


def user_data(case: Case) -> UserData:
    data = case.pdu.user_data
    assert data is not None, "no user data"
    return data


def data_hex(case: Case) -> str:
    return user_data(case).data.hex().upper()


def header(case: Case) -> UserDataHeader | None:
    return user_data(case).header


def concat(case: Case) -> Concatenation | None:
    found = header(case)
    return found.concatenation if found else None


def concat_field(name: str) -> Callable[[Case], object]:
    def read(case: Case) -> object:
        found = concat(case)
        return getattr(found, name) if found else None

    return read


def ports_field(name: str) -> Callable[[Case], object]:
    def read(case: Case) -> object:
        found = header(case)
        ports = found.ports if found else None
        return getattr(ports, name) if ports else None

    return read


def sequence_or_single(case: Case) -> tuple[int, int]:
    """(sequence, total) of the concatenation element, (1, 1) for a single-part message."""
    found = concat(case)
    return (found.sequence, found.total) if found else (1, 1)


def ud_octets(case: Case) -> int:
    """Octets of TP-UD including the header (UDHL, elements, and the fill bits' octet share)."""
    data = user_data(case)
    elements = list(data.header.elements) if data.header else []
    return len(pdu_fields.encode_udh(elements)) + len(data.data)


def scts(case: Case) -> Timestamp:
    pdu = case.pdu
    assert not isinstance(pdu, Submit), "an SMS-SUBMIT has no TP-SCTS"
    return pdu.scts


def iso(stamp: Timestamp | None) -> str | None:
    """Wall-clock time and the offset the service centre gave, e.g. 2013-03-08T15:02:16+02:00."""
    return stamp.value.isoformat() if stamp and stamp.value else None


def iso_in(value: str) -> str:
    """The source's ISO date, normalised (it may write the offset as ``-05`` or ``Z``)."""
    return datetime.fromisoformat(value).isoformat()


def naive_utc(stamp: Timestamp | None) -> str | None:
    if stamp is None or stamp.value is None:
        return None
    return stamp.value.astimezone(UTC).replace(tzinfo=None).isoformat()


def naive_local(stamp: Timestamp) -> str | None:
    return stamp.value.replace(tzinfo=None).isoformat() if stamp.value else None


def epoch_ms(stamp: Timestamp) -> int | None:
    return round(stamp.value.timestamp() * 1000) if stamp.value else None


def ofono_scts(case: Case) -> dict[str, int] | None:
    """oFono's struct sms_scts: two-digit year and the zone in signed quarter hours."""
    value = scts(case).value
    if value is None:
        return None
    offset = value.utcoffset() or timedelta(0)
    return {
        "year": value.year % 100,
        "month": value.month,
        "day": value.day,
        "hour": value.hour,
        "minute": value.minute,
        "second": value.second,
        "tz_quarters": int(offset / timedelta(minutes=15)),
    }


def validity(case: Case) -> ValidityPeriod | None:
    return case.submit.validity


def relative_seconds(case: Case) -> int | None:
    period = validity(case)
    return period.seconds if period and period.format is ValidityFormat.RELATIVE else None


def absolute_validity(case: Case) -> str | None:
    period = validity(case)
    return iso(period.absolute) if period and period.format is ValidityFormat.ABSOLUTE else None


def validity_view(case: Case) -> object:
    """None, seconds (relative) or an ISO date (absolute), like python-gsmmodem's 'validity'."""
    period = validity(case)
    if period is None:
        return None
    return absolute_validity(case) or period.seconds


def optional_iso_in(value: str | None) -> str | None:
    return iso_in(value) if value is not None else None


def language(case: Case, *, locking: bool) -> str | None:
    """The national language table the PDU's own shift element names, None without one."""
    found = header(case)
    number = found.shift(locking=locking) if found else 0
    return gsm7_tables.LANGUAGE_NAMES[number] if number else None


def element_view(element: object) -> dict[str, Any]:
    """An information element the way python-gsmmodem's decodeSmsPdu lists it."""
    assert isinstance(element, Concatenation | UnknownElement), element
    raw = pdu_fields.encode_udh([element])[1:]  # IEI, IEDL, data
    view: dict[str, Any] = {"iei": raw[0], "ie_len": raw[1], "ie_data": list(raw[2:])}
    if isinstance(element, Concatenation):
        view |= {
            "concat_reference": element.reference,
            "concat_parts": element.total,
            "concat_number": element.sequence,
        }
    return view


def text_format_elements(case: Case) -> int:
    """IEI 0x0A, EMS text formatting (TS 23.040 §9.2.3.24.10.1.1), kept as unknown elements."""
    found = header(case)
    elements = found.elements if found else ()
    return sum(isinstance(e, UnknownElement) and e.iei == 0x0A for e in elements)


def header_view(case: Case) -> list[dict[str, Any]]:
    found = header(case)
    return [element_view(element) for element in found.elements] if found else []


def joined_text(case: Case, key: str) -> str:
    """The texts of the corpus vectors of this source that share ``expected[key]`` (one message
    split into parts), in the order of their concatenation sequence numbers."""
    value = case.expected(key)
    members = [
        decoded(vector["id"])
        for vector in VECTORS
        if vector["source"] == case.vector["source"] and vector["expected"].get(key) == value
    ]
    members.sort(key=_sequence)
    texts = [pdu_text(pdu) or "" for pdu in members]
    return gsm7.join_texts(texts)


def _sequence(pdu: Pdu) -> int:
    data = pdu.user_data
    found = data.header.concatenation if data and data.header else None
    assert found is not None, "a part without a concatenation element"
    return found.sequence


# ---------------------------------------------------------------------------------------------
# Status reports: TP-ST in the vocabulary of each source


def twilio_delivered(case: Case) -> bool:
    return case.report.delivery is Delivery.DELIVERED


def gsmmodem_delivery_status(case: Case) -> str:
    # python-gsmmodem keeps TP-ST as deliveryStatus; StatusReport.DELIVERED is 0.
    status = case.report.status
    return "DELIVERED" if status == 0 else f"TP-ST 0x{status:02X}"


_SMSLIB_STATUS: Final = {
    StatusClass.DELIVERED: "Delivered",
    StatusClass.STILL_TRYING: "KeepTrying",
    StatusClass.PERMANENT_FAILURE: "Aborted",
    StatusClass.GAVE_UP: "Aborted",
}
# smslib CStatusReportMessage: messageText by bits 6-5 of TP-ST, i.e. by our status class.
_SMSLIB_TEXT: Final = {
    StatusClass.DELIVERED: "00 - Succesful Delivery.",
    StatusClass.STILL_TRYING: "01 - Errors, will retry dispatch.",
    StatusClass.PERMANENT_FAILURE: "02 - Errors, stopped retrying dispatch.",
    StatusClass.GAVE_UP: "03 - Errors, stopped retrying dispatch.",
}


def smslib_text(case: Case) -> str | None:
    if isinstance(case.pdu, StatusReport):
        return _SMSLIB_TEXT[case.pdu.status_class]
    return text(case)


def messaging_status_label(case: Case) -> str:
    # python-messaging deliver.py: 0x00 SR-OK, 0x30 SR-STORED, anything else SR-UNKNOWN.
    return {0x00: "SR-OK", 0x30: "SR-STORED"}.get(case.report.status, "SR-UNKNOWN")


def messaging_status_text(case: Case) -> str | None:
    # python-messaging renders a report as "<recipient>|<scts>|" (+ "<dt>" when delivered),
    # with the service centre's local wall-clock times.
    report = case.report
    if report.scts.value is None or report.discharge.value is None:
        return None
    stamp = "%y/%m/%d %H:%M:%S"
    line = f"{report.recipient.number}|{report.scts.value.strftime(stamp)}|"
    return line + report.discharge.value.strftime(stamp) if report.status == 0 else line


def ofono_recipient_matches(case: Case) -> bool:
    """oFono test_sr_assembly: the report's TP-RA matches the number the SUBMIT was sent to.

    The value is that number, or "<sent> (sent) vs national <digits> (report)" when the network
    reported the national form, which must then match as a suffix of the sent digits.
    """
    value = str(case.expected("recipient_matches"))
    sent = value.split(maxsplit=1)[0]
    reported = case.report.recipient
    if " vs national " not in value:
        return reported.number == sent
    national = value.split(" vs national ")[1].split(maxsplit=1)[0]
    return (
        reported.ton is not TypeOfNumber.INTERNATIONAL
        and reported.number == national
        and (sent.endswith(national))
    )


def ofono_assembly_complete(case: Case) -> bool:
    """Whether the parts of oFono's test_assembly up to this one (in file order) make the whole."""
    own = concat(case)
    assert own is not None
    seen = {
        _sequence(decoded(vector["id"]))
        for vector in VECTORS
        if vector["source"] == case.vector["source"]
        and vector["test"] == case.vector["test"]
        and vector["id"] <= case.vector["id"]
    }
    return seen == set(range(1, own.total + 1))


def mm_group_count(case: Case) -> int:
    """Messages ModemManager's list builds from the parts sharing this concat_group: distinct
    reassembly keys (originator, reference, total)."""
    label = case.expected("concat_group")
    keys = set()
    for vector in VECTORS:
        if vector["expected"].get("concat_group") == label:
            part = Case(vector, decoded(vector["id"]))
            found = concat(part)
            assert found is not None
            keys.add((part.deliver.originator.number, found.reference, found.total))
    return len(keys)


def cmgr_read_status(case: Case) -> str | None:
    """The <stat> of the vector's +CMGR line (see NOT_IN_PDU)."""
    response = case.vector.get("cmgr_response")
    if response is None:
        # Not recorded in the vector: all we can check is that the value is a 27.005 one.
        stated = case.expected("read_status")
        return stated if stated in _CMGR_STAT.values() else None
    return _CMGR_STAT[int(response[0].removeprefix("+CMGR:").split(",")[0])]


# ---------------------------------------------------------------------------------------------
# Android's readings that sit on top of the TPDU (GsmSmsTest)


def cphs_voicemail(address: Address) -> bool | None:
    """CPHS 4.2 §B.4.2 (Android GsmSmsAddress): an alphanumeric originator (TOA 0xD0) of two
    characters whose first octet is 0x11 sets the voicemail indicator, 0x10 clears it."""
    if address.toa != 0xD0 or len(address.number) != 2:
        return None
    return {0x11: True, 0x10: False}.get(gsm7.pack(gsm7.encode(address.number))[0])


def android_mwi(case: Case) -> bool | None:
    """True: indicator set, False: cleared, None: no message waiting indication."""
    waiting = case.deliver.dcs.waiting
    if waiting is not None:
        return waiting.active
    return cphs_voicemail(case.deliver.originator)


def android_mwi_dont_store(case: Case) -> bool:
    waiting = case.deliver.dcs.waiting
    if waiting is not None:
        return not waiting.store  # DCS group 1100: discard message
    # CPHS 4.2 §B.4.2.1: a CPHS indication whose text is one space is not stored.
    return cphs_voicemail(case.deliver.originator) is not None and text(case) == " "


_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def android_email(case: Case) -> tuple[bool, str | None, str | None]:
    """Android's email-gateway reading (TS 23.040 §3.8): a numeric sender of at most 4 digits
    may be a gateway; the text is then '<from>[ ]/<body>' or '<from> <body>'."""
    sender = case.deliver.originator
    body = text(case) or ""
    if sender.ton is TypeOfNumber.ALPHANUMERIC or len(sender.number) > 4:
        return False, None, None
    parts = re.split(r" /| ", body, maxsplit=1)
    if len(parts) < 2 or not _EMAIL.fullmatch(parts[0]):
        return False, None, None
    return True, parts[0], parts[1]


def android_display_address(case: Case) -> str:
    is_email, sender, _ = android_email(case)
    return sender if is_email and sender else case.deliver.originator.number


def android_display_body(case: Case) -> str | None:
    is_email, _, body = android_email(case)
    return body if is_email else text(case)


# ---------------------------------------------------------------------------------------------
# One table per source: the source's field name -> how we read it (and how its value is read).


def _same(value: Any) -> object:
    return value


@dataclass(frozen=True, slots=True)
class Field:
    ours: Callable[[Case], object]
    theirs: Callable[[Any], object] = _same


def _digits(value: str) -> str:
    return value.removeprefix("+")


def _names(value: str) -> str:
    return value.lower()


_CHARSETS: Final = {Alphabet.GSM7: "7bit", Alphabet.DATA8: "8bit", Alphabet.UCS2: "ucs2"}
_PYTHON_MESSAGING_FMT: Final = {Alphabet.GSM7: 0x00, Alphabet.DATA8: 0x04, Alphabet.UCS2: 0x08}
_NPI_NAMES: Final = {0: "unknown", 1: "isdn", 3: "data", 4: "telex", 8: "national", 9: "private"}

# babca/python-gsmmodem: decodeSmsPdu() keys (test_pdu.py) and the Sms/StatusReport attributes of
# test_modem.py. 'number' is TP-OA, TP-DA or TP-RA by type; 'reference' is TP-MR.
GSMMODEM: Final[dict[str, Field]] = {
    "type": Field(pdu_type),
    "smsc": Field(sca_number),
    "number": Field(lambda c: party(c).number),
    "protocol_id": Field(lambda c: c.pdu.pid),
    "time": Field(lambda c: iso(scts(c)), iso_in),
    "text": Field(text),
    "udh": Field(header_view),
    "reference": Field(tp_mr),
    "validity": Field(validity_view, lambda v: iso_in(v) if isinstance(v, str) else v),
    "validity_seconds": Field(relative_seconds),
    "validity_relative_seconds": Field(relative_seconds),
    "validity_absolute": Field(absolute_validity, iso_in),
    "discharge": Field(lambda c: iso(c.report.discharge), iso_in),
    "reject_duplicates": Field(lambda c: c.submit.reject_duplicates),
    "request_status_report": Field(lambda c: c.submit.status_report_request),
    "flash_class0": Field(lambda c: c.submit.dcs.message_class == 0),
    "full_text": Field(lambda c: joined_text(c, "full_text")),
    "segment": Field(concat_field("sequence")),
    "segments": Field(concat_field("total")),
    "tpdu_length": Field(lambda c: c.pdu.tpdu_length),
    "time_sent": Field(lambda c: iso(c.report.scts), iso_in),
    "time_finalized": Field(lambda c: iso(c.report.discharge), iso_in),
    "delivery_status": Field(gsmmodem_delivery_status),
    "read_status": Field(cmgr_read_status),
}

# linux-mobile-broadband/ModemManager: MMSmsPart getters (test-sms-part-3gpp.c, test-sms-list.c,
# test-modem-helpers.c). 'number' is TP-OA/TP-DA/TP-RA, 'timestamp' the TP-SCTS.
MODEMMANAGER: Final[dict[str, Field]] = {
    "smsc": Field(sca_number),
    "number": Field(lambda c: party(c).number),
    "timestamp": Field(lambda c: iso(scts(c)), iso_in),
    "should_concat": Field(lambda c: concat(c) is not None),
    "text": Field(text),
    "data_hex": Field(data_hex),
    "validity_relative_minutes_arg": Field(lambda c: (relative_seconds(c) or 0) // 60),
    "tpdu_offset": Field(lambda c: len(c.vector["pdu"]) // 2 - c.pdu.tpdu_length),
    "tpdu_length": Field(lambda c: c.pdu.tpdu_length),
    # The corpus labels the group with the hex concatenation reference: "mm-mbim-c4" is 0xC4.
    "concat_group": Field(concat_field("reference"), lambda v: int(v.rsplit("-", 1)[1], 16)),
    "assembled_message_count": Field(mm_group_count),
}

# pmarti/python-messaging: SmsDeliver/SmsSubmit attributes and .data/.sr keys. DELIVER dates are
# naive UTC (deliver.py subtracts the zone); status report scts/dt/date are the naive LOCAL time
# (deliver.py _decode_status_report_pdu parses the digits without the zone). 'ref' is TP-MR.
MESSAGING: Final[dict[str, Field]] = {
    "text": Field(text),
    "text_non_strict": Field(text),  # non-strict decoding of an odd-length PDU: see vector 93
    "csca": Field(sca_number),
    "number": Field(lambda c: party(c).number),
    "date": Field(
        lambda c: (
            naive_local(c.report.scts) if isinstance(c.pdu, StatusReport) else naive_utc(scts(c))
        )
    ),
    "pid": Field(lambda c: c.pdu.pid),
    "fmt(dcs)": Field(lambda c: _PYTHON_MESSAGING_FMT[c.deliver.dcs.alphabet]),
    "dcs": Field(lambda c: c.submit.dcs.raw),
    "library_number": Field(messaging_status_label),
    "library_text": Field(messaging_status_text),
    "concat_ref": Field(concat_field("reference")),
    "concat_cnt": Field(concat_field("total")),
    "concat_seq": Field(concat_field("sequence")),
    "rand_id(concat ref)": Field(concat_field("reference")),
    "cnt": Field(lambda c: sequence_or_single(c)[1]),
    "seq": Field(lambda c: sequence_or_single(c)[0]),
    "ref": Field(tp_mr),
    "status": Field(lambda c: c.report.status),
    "scts": Field(lambda c: naive_local(c.report.scts)),
    "dt": Field(lambda c: naive_local(c.report.discharge)),
    "recipient": Field(lambda c: c.report.recipient.number),
    "validity": Field(validity_view),
    "validity_absolute_naive": Field(
        lambda c: naive_utc(p.absolute if (p := validity(c)) else None)
    ),
    "validity_relative_seconds": Field(relative_seconds),
    "validity_seconds": Field(relative_seconds),
    "cmgs_length": Field(lambda c: c.pdu.tpdu_length),
    "message_class": Field(lambda c: c.submit.dcs.message_class),
    "request_status": Field(lambda c: c.submit.status_report_request),
    "full_text": Field(lambda c: joined_text(c, "full_text")),
}

# rilmodem/ofono: struct sms fields (unit/test-sms.c). Addresses are digits plus a separate
# type of number; udl is TP-UDL, ud_bytes the octets of TP-UD including the header.
OFONO: Final[dict[str, Field]] = {
    "sc_addr": Field(lambda c: _digits(sca_number(c) or ""), _digits),
    "sc_ton": Field(lambda c: c.pdu.sca.ton.name.lower() if c.pdu.sca else None, _names),
    "oaddr": Field(lambda c: _digits(c.deliver.originator.number), _digits),
    "oaddr_ton": Field(lambda c: c.deliver.originator.ton.name.lower(), _names),
    "oaddr_npi": Field(lambda c: _NPI_NAMES[c.deliver.originator.npi], _names),
    "daddr": Field(lambda c: _digits(c.submit.destination.number), _digits),
    "daddr_ton": Field(lambda c: c.submit.destination.ton.name.lower(), _names),
    "mr": Field(tp_mr),
    "pid": Field(lambda c: c.pdu.pid),
    "dcs": Field(lambda c: c.deliver.dcs.raw if isinstance(c.pdu, Deliver) else c.submit.dcs.raw),
    "scts": Field(ofono_scts),
    "vpf": Field(lambda c: p.format.value if (p := validity(c)) else None),
    "vp_relative": Field(lambda c: p.raw[0] if (p := validity(c)) else None),
    "udl": Field(lambda c: user_data(c).length),
    "udhl": Field(lambda c: ud_octets(c) - len(user_data(c).data) - 1),
    "ud_bytes": Field(ud_octets),
    "text": Field(text),
    "tpdu_len": Field(lambda c: c.pdu.tpdu_length),
    "charset": Field(lambda c: _CHARSETS[c.deliver.dcs.alphabet]),
    "compressed": Field(lambda c: c.deliver.dcs.compressed),
    "locking_shift_lang": Field(lambda c: language(c, locking=True)),
    "single_shift_lang": Field(lambda c: language(c, locking=False)),
    "mwi_dcs_decode_ok": Field(lambda c: c.deliver.dcs.waiting is not None),
    "text_format_ies(0x0A)": Field(text_format_elements),
    "part": Field(concat_field("sequence")),
    "parts": Field(concat_field("total")),
    "assembly_complete_after_this": Field(ofono_assembly_complete),
    "recipient_matches": Field(ofono_recipient_matches, lambda _: True),
    "delivered": Field(twilio_delivered),
    "has_sca": Field(sca_in_bytes),
    "dst_port": Field(ports_field("destination")),
    "port_is_8bit": Field(lambda c: not ports_field("ports16")(c)),
    "reencodes_byte_exact": Field(
        lambda c: rebuild_deliver(c.deliver) == bytes.fromhex(c.vector["pdu"])
    ),
}

# frontlinesms/smslib: CIncomingMessage/CStatusReportMessage getters. 'originator' of a report is
# its TP-RA (smslib's getOriginator returns the recipient); dates are epoch milliseconds.
SMSLIB: Final[dict[str, Field]] = {
    "text": Field(smslib_text),
    "assembled_text": Field(lambda c: joined_text(c, "assembled_text")),
    "part_index_in_list": Field(concat_field("sequence")),
    "parts_in_list": Field(concat_field("total")),
    "binary_payload_hex": Field(data_hex),
    "has_smsc_param": Field(sca_in_bytes),
    "has_sca": Field(sca_in_bytes),
    "is_status_report": Field(lambda c: isinstance(c.pdu, StatusReport)),
    "delivery_status": Field(lambda c: _SMSLIB_STATUS[c.report.status_class]),
    "ref_no": Field(lambda c: c.report.message_reference),
    "originator": Field(lambda c: c.report.recipient.number),
    "date_original_epoch_ms": Field(lambda c: epoch_ms(c.report.scts)),
    "date_received_epoch_ms": Field(lambda c: epoch_ms(c.report.discharge)),
}

# Android (AOSP and LineageOS) GsmSmsTest: SmsMessage getters.
ANDROID: Final[dict[str, Field]] = {
    "service_center": Field(sca_number),
    "originating_address": Field(lambda c: c.deliver.originator.number),
    "recipient_address": Field(lambda c: c.submit.destination.number),
    "body": Field(text),
    "concat_ref": Field(concat_field("reference")),
    "concat_count": Field(concat_field("total")),
    "concat_seq": Field(concat_field("sequence")),
    "concat_8bit": Field(lambda c: not concat_field("ref16")(c)),
    "dest_port": Field(ports_field("destination")),
    "orig_port": Field(ports_field("source")),
    "ports_8bit": Field(lambda c: not ports_field("ports16")(c)),
    # TS 23.040 §9.2.3.9: TP-PID 0x41..0x47 is "replace short message type 1..7".
    "is_replace": Field(lambda c: 0x41 <= c.deliver.pid <= 0x47),
    "mwi_set": Field(lambda c: android_mwi(c) is True),
    "mwi_clear": Field(lambda c: android_mwi(c) is False),
    "mwi_dont_store": Field(android_mwi_dont_store),
    "is_email": Field(lambda c: android_email(c)[0]),
    "email_from": Field(lambda c: android_email(c)[1]),
    "email_body": Field(lambda c: android_email(c)[2]),
    "display_originating_address": Field(android_display_address),
    "display_body": Field(android_display_body),
}


def _spaced_hex(data: bytes) -> str:
    return " ".join(f"{octet:02X}" for octet in data)


# amro.blogspot.com: the author's octet-by-octet table of a real +CDS (TPDU without SCA).
AMRO: Final[dict[str, Field]] = {
    "first_octet": Field(lambda c: f"{c.report.first_octet:02X}"),
    "mr": Field(lambda c: c.report.message_reference),
    "recipient_len": Field(lambda c: len(_digits(c.report.recipient.number))),
    "recipient_toa": Field(lambda c: f"{c.report.recipient.toa:02X}"),
    "recipient_semioctets": Field(
        lambda c: _spaced_hex(pdu_fields.encode_digits(_digits(c.report.recipient.number), "TP-RA"))
    ),
    "scts_semioctets": Field(lambda c: _spaced_hex(c.report.scts.raw)),
    "dt_semioctets": Field(lambda c: _spaced_hex(c.report.discharge.raw)),
    "st": Field(lambda c: c.report.status),
}

SOURCE_FIELDS: Final[dict[str, dict[str, Field]]] = {
    "gsmmodem": GSMMODEM,
    "mm": MODEMMANAGER,
    "messaging": MESSAGING,
    "ofono": OFONO,
    "smslib": SMSLIB,
    "android": ANDROID,
    "amro": AMRO,
}
_FAILURE_KEYS: Final = {"must_fail", "must_fail_strict"}


# ---------------------------------------------------------------------------------------------
# Re-encoding a decoded SMS-DELIVER with our field encoders (oFono re-encodes byte-exact)


def _address_field(address: Address, field: str) -> bytes:
    if address.ton is TypeOfNumber.ALPHANUMERIC:
        packed = gsm7.pack(gsm7.encode(address.number))
        # TS 23.040 §9.1.2.5: the length counts the semi-octets the packed septets occupy.
        return bytes(((7 * len(address.number) + 3) // 4, address.toa)) + packed
    return pdu_fields.encode_address(address.number, field, address.toa)


def _user_data_field(data: UserData, alphabet: Alphabet) -> bytes:
    elements = list(data.header.elements) if data.header else []
    head = pdu_fields.encode_udh(elements)
    if alphabet is Alphabet.UCS2:
        body = gsm7.encode_ucs2(data.text or "")
    elif alphabet is Alphabet.DATA8:
        body = data.data
    else:
        septets = gsm7.encode(data.text or "")
        fill = pdu_fields.header_septets(len(head)) * 7 - len(head) * 8
        body = gsm7.pack(septets, fill)
    return bytes((data.length,)) + head + body


def rebuild_deliver(pdu: Deliver) -> bytes:
    """The octets of an SMS-DELIVER rebuilt from our decoded fields, SCA included."""
    assert pdu.scts.value is not None
    sca = pdu_fields.encode_sca(pdu.sca.number, pdu.sca.toa) if pdu.sca else b"\x00"
    return (
        sca
        + bytes((pdu.first_octet,))
        + _address_field(pdu.originator, "TP-OA")
        + bytes((pdu.pid, pdu.dcs.raw))
        + pdu_fields.encode_timestamp(pdu.scts.value)
        + _user_data_field(pdu.user_data, pdu.dcs.alphabet)
    )


# ---------------------------------------------------------------------------------------------
# The checks


def _check_rejection(vector: Vector, entry: Disagreement | None) -> list[str]:
    with pytest.raises(PduError) as caught:
        decode(vector["pdu"], tpdu_length(vector))
    if entry is None:
        return []
    failures = []
    # For a rejected PDU, source_says is (field, value) of the source's main assertion.
    source = entry.source_says
    assert isinstance(source, tuple)
    key, value = source
    if vector["expected"].get(key) != value:
        failures.append(f"DISAGREEMENTS is stale: the source's {key} is not {value!r}")
    if f"PduError: {caught.value.field}" != entry.we_say:
        failures.append(f"rejected by {caught.value.field}, DISAGREEMENTS says {entry.we_say}")
    return failures


def check_vector(vector: Vector) -> list[str]:
    """Compare every field the vector's source asserts; return the mismatches."""
    expected: dict[str, Any] = vector["expected"]
    table = SOURCE_FIELDS[source_key(vector)]
    unmapped = sorted(set(expected) - set(table) - _FAILURE_KEYS)
    if unmapped:
        return [f"no mapping for {source_key(vector)} field(s) {unmapped}"]
    rejected = DISAGREEMENTS.get((vector["id"], DECODE))
    if must_fail(vector) or rejected is not None:
        return _check_rejection(vector, rejected)
    case = Case(vector, decoded(vector["id"]))
    failures = []
    length = tpdu_length(vector)
    if length is not None and case.pdu.tpdu_length != length:
        # The <length> must have been honoured, not overruled by the fallback reading.
        failures.append(f"decoded a {case.pdu.tpdu_length}-octet TPDU, the vector gives {length}")
    for key, value in expected.items():
        entry = DISAGREEMENTS.get((vector["id"], key))
        if entry is not None and value != entry.source_says:
            failures.append(f"{key}: DISAGREEMENTS is stale, the source now says {value!r}")
        want = entry.we_say if entry is not None else table[key].theirs(value)
        try:
            ours = table[key].ours(case)
        except AssertionError as error:
            failures.append(f"{key}: cannot be read from our {type(case.pdu).__name__}: {error}")
            continue
        if ours != want:
            failures.append(
                f"{key}: source says {value!r}, so we want {want!r}; we decode {ours!r}"
            )
    return failures


@pytest.mark.parametrize("vector", PDU_VECTORS, ids=vector_id)
def test_vector_decodes_as_its_source_asserts(vector: Vector) -> None:
    failures = check_vector(vector)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("vector", MUST_FAIL_VECTORS, ids=vector_id)
def test_must_fail_vector_raises_pdu_error_only(vector: Vector) -> None:
    # pytest.raises lets any other exception through, which fails the test.
    with pytest.raises(PduError):
        decode(vector["pdu"], tpdu_length(vector))
    with pytest.raises(PduError):
        decode(vector["pdu"])


def test_odd_length_pdu_is_rejected_even_when_evened() -> None:
    # Vector 93 (python-messaging non-strict): dropping the dangling digit leaves a user data
    # one octet shorter than TP-UDL (147 septets) announces, which we reject like vector 54.
    odd = BY_ID[93]["pdu"]
    assert len(odd) % 2 == 1
    with pytest.raises(PduError) as caught:
        decode(odd[:-1])
    assert caught.value.field == "TP-UD"


@pytest.mark.parametrize("number", [9, 107], ids=str)
def test_eight_bit_data_keeps_the_octets(number: int) -> None:
    pdu = decoded(number)
    assert not isinstance(pdu, StatusReport)
    assert pdu.dcs.alphabet is Alphabet.DATA8
    assert pdu.user_data.data == BY_ID[number]["expected"]["text"].encode("ascii")


_OFONO_CHARSET: Final = tuple(
    vector for vector in PDU_VECTORS if "test_sms_charset" in vector.get("test", "")
)
_LANGUAGES: Final = {name: number for number, name in gsm7_tables.LANGUAGE_NAMES.items()}


@pytest.mark.parametrize("vector", _OFONO_CHARSET, ids=vector_id)
def test_ofono_charset_tables_are_applied_by_the_caller(vector: Vector) -> None:
    """oFono ids 120-126: the septets, decoded with the tables oFono's test names, give its text."""
    expected = vector["expected"]
    pdu = decoded(vector["id"])
    assert isinstance(pdu, Deliver)
    assert pdu.user_data.header is None
    assert len(pdu.user_data.data) == expected["ud_bytes"]
    septets = gsm7.unpack(pdu.user_data.data, pdu.user_data.length)
    locking = _LANGUAGES[expected["locking_shift_lang"] or "default"]
    single = _LANGUAGES[expected["single_shift_lang"] or "default"]
    assert gsm7.decode(septets, locking, single) == expected["text"]
    # Without the tables, what we decode from the PDU is the default-alphabet reading.
    assert pdu.text == gsm7.decode(septets)


# gsm-at-pdu.md §1.7: (status class, delivery) for the TP-ST values below; their Twilio statuses
# and error codes are the gateway's (tests/gateway/test_delivery.py, over these same vectors).
DELIVERY_BY_STATUS: Final[dict[int, tuple[StatusClass, Delivery]]] = {
    0x00: (StatusClass.DELIVERED, Delivery.DELIVERED),  # SM received by the SME
    0x30: (StatusClass.STILL_TRYING, Delivery.PENDING),  # SC-specific, SC still trying
    0x40: (StatusClass.PERMANENT_FAILURE, Delivery.UNDELIVERED),  # remote procedure error
    0x43: (StatusClass.PERMANENT_FAILURE, Delivery.UNDELIVERED),  # not obtainable
}
# TP-ST of each status report of the corpus (the octet after TP-DT).
REPORT_STATUS: Final[dict[int, int]] = {
    5: 0x00, 11: 0x00, 27: 0x00, 29: 0x00, 31: 0x00, 53: 0x30, 76: 0x30, 89: 0x43, 94: 0x00,
    95: 0x00, 132: 0x00, 133: 0x00, 134: 0x00, 193: 0x00, 194: 0x00, 195: 0x00, 196: 0x40,
    197: 0x00, 198: 0x00, 199: 0x00, 200: 0x00, 201: 0x00, 261: 0x00,
}  # fmt: skip


@pytest.mark.parametrize("vector", REPORT_VECTORS, ids=vector_id)
def test_status_report_is_classified(vector: Vector) -> None:
    report = decoded(vector["id"])
    assert isinstance(report, StatusReport)
    assert report.status == REPORT_STATUS[vector["id"]]
    status_class, delivery = DELIVERY_BY_STATUS[report.status]
    assert report.status_class is status_class
    assert report.delivery is delivery


def test_disagreements_name_real_vectors_and_fields() -> None:
    for number, key in DISAGREEMENTS:
        expected = BY_ID[number]["expected"]
        assert key == DECODE or key in expected, (number, key)
    assert set(NOT_IN_PDU) <= set(GSMMODEM)


def _ids(vectors: Iterable[Vector]) -> set[int]:
    return {vector["id"] for vector in vectors}


def test_every_vector_is_handled() -> None:
    all_ids = _ids(VECTORS)
    assert len(VECTORS) == len(all_ids) == 185
    # Every PDU vector goes through the field-by-field decode check, every field-level vector
    # (udh_ie, address) through test_pdu_vectors_encode.py.
    assert _ids(PDU_VECTORS) | _ids(FIELD_VECTORS) == all_ids
    assert {vector["kind"] for vector in FIELD_VECTORS} == {"udh_ie", "address"}
    assert {vector["kind"] for vector in PDU_VECTORS} == {"deliver", "submit", "status_report"}
    assert set(REPORT_STATUS) == _ids(REPORT_VECTORS)
    # The selections the other modules use: encoder vectors are SUBMIT PDUs; the smspdudecoder
    # comparison gets every DELIVER that is not a must-fail one.
    assert {vector["kind"] for vector in ENCODE_VECTORS} == {"submit"}
    deliver_ids = {vector["id"] for vector in PDU_VECTORS if vector["kind"] == "deliver"}
    assert _ids(DELIVER_VECTORS) == deliver_ids - _ids(MUST_FAIL_VECTORS)
    for vector in PDU_VECTORS:
        table = SOURCE_FIELDS[source_key(vector)]
        unmapped = set(vector["expected"]) - set(table) - _FAILURE_KEYS
        assert not unmapped, (vector["id"], unmapped)
