"""What status reports say about a message: each part's delivery, then the message's status.

The real reports are the SMS-STATUS-REPORT vectors of the shared corpus
(``tests/data/pdu_vectors.json``, a verbatim copy of ``../shared/vectors/real_vectors.json``),
decoded with :func:`drivers.codec.pdu.decode` as a modem's ``<length>`` tells; the TP-ST table is
``../shared/docs/gsm-at-pdu.md`` §1.7.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Final

import pytest

from drivers.codec.pdu import StatusReport, Timestamp, decode
from gateway.domain.delivery import (
    FINAL_DELIVERIES,
    Delivery,
    PartReport,
    PartState,
    done_date,
    part_report,
    report_of,
    same_recipient,
    settle,
)
from gateway.domain.models import Status
from tests.drivers.codec.test_pdu_vectors import (
    BY_ID,
    REPORT_VECTORS,
    Vector,
    tpdu_length,
    vector_id,
)

DELIVERED: Final = Delivery.DELIVERED
PENDING: Final = Delivery.PENDING
UNCONFIRMED: Final = Delivery.UNCONFIRMED
UNDELIVERED: Final = Delivery.UNDELIVERED


def real_report(vector: Vector) -> StatusReport:
    report = decode(vector["pdu"], tpdu_length(vector))
    assert isinstance(report, StatusReport)
    return report


# --- real status reports ----------------------------------------------------------------------

# Every status report of the corpus: (delivery, Twilio error code, done date YYMMDDhhmm).
# The delivery is what the source asserts where it asserts one (python-gsmmodem
# delivery_status, python-messaging status, oFono delivered, smslib delivery_status, the amro
# capture's st); otherwise it follows the TP-ST octet of the PDU (the corpus notes say 0x30 for
# ModemManager's two Spanish reports). The done date is the TP-DT digits as the SC gave them.
REAL_REPORTS: Final[dict[int, tuple[Delivery, int | None, str]]] = {
    5: (DELIVERED, None, "1101111759"),  # same PDU as 197, which smslib says is Delivered
    11: (DELIVERED, None, "1307261429"),  # same PDU as 29 (ZTE, DELIVERED)
    27: (DELIVERED, None, "1307171558"),  # South Africa, DELIVERED
    29: (DELIVERED, None, "1307261429"),
    31: (DELIVERED, None, "1610300459"),  # DT in +07 while the SCTS is in +08
    53: (PENDING, None, "1209110740"),  # TP-ST 0x30: the SC is still trying
    76: (PENDING, None, "1209110740"),  # TP-ST 0x30 (same network)
    89: (UNDELIVERED, 30005, "1002181147"),  # TP-ST 0x43 "not obtainable"
    94: (DELIVERED, None, "1009281456"),  # status 0
    95: (DELIVERED, None, "1010051600"),  # status 0
    132: (DELIVERED, None, "1006211403"),
    133: (DELIVERED, None, "1006211403"),
    134: (DELIVERED, None, "1009211403"),
    193: (DELIVERED, None, "1110271131"),
    194: (DELIVERED, None, "1112211133"),
    195: (DELIVERED, None, "1112211138"),
    196: (UNDELIVERED, 30008, "1112211203"),  # TP-ST 0x40, smslib "Aborted"
    197: (DELIVERED, None, "1101111759"),
    198: (DELIVERED, None, "1110271131"),  # 198-201: a Safaricom report with and without SCA
    199: (DELIVERED, None, "1110271131"),
    200: (DELIVERED, None, "1110271141"),
    201: (DELIVERED, None, "1110271144"),
    261: (DELIVERED, None, "0709121510"),  # st 0
}


def test_the_table_covers_every_real_status_report() -> None:
    assert sorted(REAL_REPORTS) == sorted(vector["id"] for vector in REPORT_VECTORS)


@pytest.mark.parametrize("vector", REPORT_VECTORS, ids=vector_id)
def test_each_real_report(vector: Vector) -> None:
    delivery, error_code, date = REAL_REPORTS[vector["id"]]
    report = real_report(vector)
    assert report_of(report) == PartReport(delivery, error_code, date)
    # report_of reads nothing but the report's TP-ST and TP-DT.
    assert report_of(report) == part_report(report.status, report.discharge)


def source_delivery(expected: dict[str, object]) -> Delivery | None:
    """The delivery a source asserts, in its own words, if it asserts one."""
    words = {"delivered": DELIVERED, "aborted": UNDELIVERED}
    if isinstance(expected.get("delivery_status"), str):  # python-gsmmodem, smslib
        return words[str(expected["delivery_status"]).lower()]
    if expected.get("delivered") is True:  # oFono
        return DELIVERED
    for key in ("status", "st"):  # python-messaging, the amro capture: TP-ST itself
        if expected.get(key) == 0:
            return DELIVERED
    return None


ASSERTED: Final = tuple(
    vector for vector in REPORT_VECTORS if source_delivery(vector["expected"]) is not None
)


def test_the_sources_that_assert_a_delivery() -> None:
    # python-gsmmodem 27/29/31, python-messaging 94/95, oFono 132-134, smslib 193-197, amro 261.
    assert sorted(vector["id"] for vector in ASSERTED) == [
        *(27, 29, 31, 94, 95, 132, 133, 134),
        *(193, 194, 195, 196, 197, 261),
    ]


@pytest.mark.parametrize("vector", ASSERTED, ids=vector_id)
def test_report_of_gives_the_delivery_the_source_asserts(vector: Vector) -> None:
    assert report_of(real_report(vector)).delivery is source_delivery(vector["expected"])


def test_a_real_temporary_error_is_pending_and_not_final() -> None:
    report = real_report(BY_ID[53])  # ModemManager test_pdu_not_stored: TP-ST 0x30
    assert report.status == 0x30
    part = report_of(report)
    assert part.delivery is PENDING and part.delivery not in FINAL_DELIVERIES
    assert part.error_code is None


def test_smslib_aborted_report_is_undelivered_with_the_unknown_error() -> None:
    report = real_report(BY_ID[196])
    assert report.status == 0x40
    assert report_of(report) == PartReport(UNDELIVERED, 30008, "1112211203")


def iso_digits(value: str) -> str:
    """``YYMMDDhhmm`` of an ISO date as written (its own time zone, never converted)."""
    return datetime.fromisoformat(value).strftime("%y%m%d%H%M")


def semi_octet_digits(octets: str) -> str:
    """``YYMMDDhhmm`` of a TP-DT written as semi-octet pairs (``"70 90 21 51 01 71 80"``)."""
    return "".join(pair[::-1] for pair in octets.split()[:5])


def source_done_date(expected: dict[str, object]) -> str | None:
    """The discharge time a source asserts, as ``YYMMDDhhmm`` digits, if it asserts one."""
    for key in ("discharge", "time_finalized", "dt"):  # python-gsmmodem, python-messaging
        if isinstance(expected.get(key), str):
            return iso_digits(str(expected[key]))
    if isinstance(expected.get("dt_semioctets"), str):  # the amro capture's octet table
        return semi_octet_digits(str(expected["dt_semioctets"]))
    return None


DATED: Final = tuple(
    vector for vector in REPORT_VECTORS if source_done_date(vector["expected"]) is not None
)


@pytest.mark.parametrize("vector", DATED, ids=vector_id)
def test_done_date_is_the_discharge_time_the_source_asserts(vector: Vector) -> None:
    assert report_of(real_report(vector)).done_date == source_done_date(vector["expected"])


def test_dated_sources_are_the_expected_ones() -> None:
    assert sorted(vector["id"] for vector in DATED) == [11, 27, 29, 31, 94, 95, 261]


SMSLIB_DATED: Final = tuple(
    vector for vector in REPORT_VECTORS if "date_received_epoch_ms" in vector["expected"]
)


@pytest.mark.parametrize("vector", SMSLIB_DATED, ids=vector_id)
def test_done_date_is_the_local_time_of_smslibs_discharge_instant(vector: Vector) -> None:
    # smslib asserts the TP-DT as an instant (epoch ms); the done date is the same instant in the
    # SC's own time zone (Safaricom +03, NL +01), not in UTC.
    report = real_report(vector)
    instant = datetime.fromtimestamp(vector["expected"]["date_received_epoch_ms"] / 1000, UTC)
    assert report.discharge.value == instant
    assert report_of(report).done_date == REAL_REPORTS[vector["id"]][2]
    assert report_of(report).done_date != instant.strftime("%y%m%d%H%M")  # not UTC's digits


# --- the TP-ST table (../shared/docs/gsm-at-pdu.md §1.7) ---------------------------------------

TP_ST_TABLE: Final[list[tuple[int, Delivery, int | None]]] = [
    (0x00, DELIVERED, None),
    (0x01, UNCONFIRMED, None),  # forwarded, the SC cannot confirm: stays sent
    (0x02, UNDELIVERED, 30008),  # replaced by the SC
    (0x10, DELIVERED, None),  # 10-1F: SC-specific "transaction completed"
    (0x17, DELIVERED, None),
    (0x1F, DELIVERED, None),
    (0x20, PENDING, None),  # congestion
    (0x21, PENDING, None),  # SME busy
    (0x22, PENDING, None),  # no response from SME
    (0x23, PENDING, None),  # service rejected
    (0x24, PENDING, None),  # QoS not available
    (0x25, PENDING, None),  # error in SME
    (0x30, PENDING, None),  # 30-3F: SC-specific, still trying
    (0x3F, PENDING, None),
    (0x40, UNDELIVERED, 30008),  # remote procedure error
    (0x41, UNDELIVERED, 30006),  # incompatible destination
    (0x42, UNDELIVERED, 30004),  # connection rejected by SME
    (0x43, UNDELIVERED, 30005),  # not obtainable
    (0x44, UNDELIVERED, 30008),  # QoS not available
    (0x45, UNDELIVERED, 30006),  # no interworking available
    (0x46, UNDELIVERED, 30003),  # validity period expired
    (0x47, UNDELIVERED, 30008),  # deleted by originating SME
    (0x48, UNDELIVERED, 30008),  # deleted by SC administration
    (0x49, UNDELIVERED, 30008),  # SM does not exist
    (0x50, UNDELIVERED, 30008),  # 50-5F: SC-specific, permanent
    (0x5A, UNDELIVERED, 30008),
    (0x5F, UNDELIVERED, 30008),
    (0x60, UNDELIVERED, 30008),  # congestion, SC gave up
    (0x61, UNDELIVERED, 30003),  # SME busy, SC gave up
    (0x62, UNDELIVERED, 30003),  # no response, SC gave up
    (0x63, UNDELIVERED, 30008),  # service rejected
    (0x64, UNDELIVERED, 30008),  # QoS not available
    (0x65, UNDELIVERED, 30003),  # error in SME (memory full)
    (0x70, UNDELIVERED, 30008),  # 70-7F: SC-specific, gave up
    (0x7F, UNDELIVERED, 30008),
    # Reserved values are treated as 0x63 "service rejected" (TS 23.040 §9.2.3.15).
    (0x03, UNDELIVERED, 30008),
    (0x05, UNDELIVERED, 30008),
    (0x0F, UNDELIVERED, 30008),
    (0x26, UNDELIVERED, 30008),
    (0x2F, UNDELIVERED, 30008),
    (0x4A, UNDELIVERED, 30008),
    (0x4F, UNDELIVERED, 30008),
    (0x66, UNDELIVERED, 30008),
    (0x6F, UNDELIVERED, 30008),
    (0x80, UNDELIVERED, 30008),
    (0xC5, UNDELIVERED, 30008),
    (0xFF, UNDELIVERED, 30008),
]


@pytest.mark.parametrize(
    ("status", "delivery", "error_code"), TP_ST_TABLE, ids=[f"{row[0]:02X}" for row in TP_ST_TABLE]
)
def test_each_tp_st_range(status: int, delivery: Delivery, error_code: int | None) -> None:
    assert part_report(status) == PartReport(delivery, error_code, None)


def test_every_tp_st_octet() -> None:
    for status in range(256):
        report = part_report(status)
        pending = 0x20 <= status <= 0x25 or 0x30 <= status <= 0x3F
        assert (report.delivery is PENDING) == pending, hex(status)
        completed = status == 0x00 or 0x10 <= status <= 0x1F
        assert (report.delivery is DELIVERED) == completed, hex(status)
        assert (report.delivery is UNCONFIRMED) == (status == 0x01), hex(status)
        # A code exactly when the part finally failed.
        assert (report.error_code is not None) == (report.delivery is UNDELIVERED), hex(status)


def test_final_deliveries() -> None:
    assert {DELIVERED, UNCONFIRMED, UNDELIVERED} == FINAL_DELIVERIES
    assert PENDING not in FINAL_DELIVERIES


# --- done dates -------------------------------------------------------------------------------


def test_done_date_keeps_the_service_centres_time_zone() -> None:
    plus_two = timezone(timedelta(hours=2))
    stamp = Timestamp(
        b"\x31\x70\x62\x41\x92\x13\x80", datetime(2013, 7, 26, 14, 29, 31, 0, plus_two)
    )
    assert done_date(stamp) == "1307261429"  # 12:29 in UTC, but the SC said 14:29
    west = Timestamp(b"", datetime(2010, 6, 21, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))))
    assert done_date(west) == "1006212359"  # not moved to the next day in UTC


def test_done_date_pads_every_field() -> None:
    assert done_date(Timestamp(b"", datetime(2007, 1, 2, 3, 4, 5, tzinfo=UTC))) == "0701020304"


def test_no_done_date_without_a_real_date() -> None:
    assert done_date(None) is None
    assert done_date(Timestamp(b"\x99\x99\x99\x99\x99\x99\x00", None)) is None
    assert part_report(0x00, Timestamp(b"", None)) == PartReport(DELIVERED, None, None)


def test_part_report_carries_the_done_date() -> None:
    stamp = Timestamp(b"", datetime(2024, 12, 31, 23, 58, tzinfo=UTC))
    assert part_report(0x46, stamp) == PartReport(UNDELIVERED, 30003, "2412312358")
    assert part_report(0x30, stamp).done_date == "2412312358"  # pending reports have one too


# --- settling a message from its parts --------------------------------------------------------


def part(sequence: int, delivery: Delivery | None, error_code: int | None = None) -> PartState:
    return PartState(sequence, delivery, error_code)


def test_a_single_part_delivered() -> None:
    assert settle(Status.SENT, [part(1, DELIVERED)]) == (Status.DELIVERED, None)


def test_delivered_only_when_every_part_is() -> None:
    three = [part(1, DELIVERED), part(2, DELIVERED), part(3, DELIVERED)]
    assert settle(Status.SENT, three) == (Status.DELIVERED, None)
    assert settle(Status.SENT, [part(1, DELIVERED), part(2, None)]) is None  # no report yet
    assert settle(Status.SENT, [part(1, None), part(2, DELIVERED)]) is None
    assert settle(Status.SENT, [part(1, DELIVERED), part(2, PENDING)]) is None


def test_an_unconfirmed_part_keeps_the_message_sent() -> None:
    assert settle(Status.SENT, [part(1, UNCONFIRMED)]) is None
    assert settle(Status.SENT, [part(1, DELIVERED), part(2, UNCONFIRMED)]) is None


def test_pending_parts_do_not_settle() -> None:
    assert settle(Status.SENT, [part(1, PENDING)]) is None
    assert settle(Status.SENT, [part(1, None)]) is None


def test_no_parts_do_not_settle() -> None:
    assert settle(Status.SENT, []) is None


def test_undelivered_as_soon_as_any_part_finally_failed() -> None:
    assert settle(Status.SENT, [part(1, UNDELIVERED, 30003)]) == (Status.UNDELIVERED, 30003)
    # The other parts have no report yet, are pending, or were delivered: it does not matter.
    parts = [part(1, None), part(2, PENDING), part(3, UNDELIVERED, 30005), part(4, DELIVERED)]
    assert settle(Status.SENT, parts) == (Status.UNDELIVERED, 30005)


def test_the_lowest_numbered_failed_part_gives_the_code() -> None:
    parts = [
        part(3, UNDELIVERED, 30005),
        part(2, DELIVERED),
        part(1, UNDELIVERED, 30003),  # listed last, numbered first
        part(4, UNDELIVERED, 30008),
    ]
    assert settle(Status.SENT, parts) == (Status.UNDELIVERED, 30003)
    assert settle(Status.SENT, tuple(reversed(parts))) == (Status.UNDELIVERED, 30003)


def test_an_undelivered_part_without_a_code_keeps_none() -> None:
    assert settle(Status.SENT, [part(1, UNDELIVERED)]) == (Status.UNDELIVERED, None)


@pytest.mark.parametrize("status", [status for status in Status if status is not Status.SENT])
def test_only_a_sent_message_moves(status: Status) -> None:
    assert settle(status, [part(1, DELIVERED)]) is None
    assert settle(status, [part(1, UNDELIVERED, 30003)]) is None
    assert settle(status, [part(1, DELIVERED), part(2, UNDELIVERED, 30005)]) is None


def test_real_two_part_assembly() -> None:
    # oFono's test_sr_assembly: a 2-part message is delivered only once both MR 4 and MR 5
    # have reported.
    first, second = (report_of(real_report(BY_ID[number])) for number in (132, 133))
    assert settle(Status.SENT, [part(1, first.delivery), part(2, None)]) is None
    assert settle(Status.SENT, [part(1, first.delivery), part(2, second.delivery)]) == (
        Status.DELIVERED,
        None,
    )


# --- matching a report's recipient ------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("+27829200000", "0829200000", True),  # South Africa, national with trunk 0
        ("+4915123456789", "015123456789", True),  # Germany
        ("+15551234567", "15551234567", True),  # international without the +
        ("+27829200000", "27829200000", True),
        ("+27 82 920 0000", "0829200000", True),  # formatting is not a digit
        ("004915123456789", "+4915123456789", True),  # 00 international prefix
        ("+15551234567", "5551234567", True),  # NANP national, no trunk prefix
        ("12345", "12345", True),  # short codes
        ("+15551234567", "+15551234567", True),
        ("12345", "+4912345", False),  # too short to compare by its end
        ("123456", "+49123456", True),  # six digits are enough
        ("+27829200000", "0829200001", False),
        ("+4915123456789", "+4915123456788", False),
        ("+33612345678", "+44612345678", False),  # same subscriber digits, other country
        ("0829200000", "0729200000", False),
        ("12345", "12346", False),
        ("", "", False),
        ("", "+15551234567", False),
        ("+15551234567", "", False),
        ("0", "00", False),  # no digits after the trunk prefix
        ("+", "+", False),
    ],
)
def test_same_recipient(a: str, b: str, same: bool) -> None:
    assert same_recipient(a, b) is same
    assert same_recipient(b, a) is same


def test_two_international_numbers_must_be_equal() -> None:
    # Germany and India: a suffix of one another, and different handsets.
    assert same_recipient("+4915123456789", "+915123456789") is False
    assert same_recipient("+915123456789", "+4915123456789") is False


def test_real_reports_name_the_recipient_in_either_form() -> None:
    # oFono's test_sr_assembly: sent to +358123456789, reported as national 123456789.
    national = real_report(BY_ID[134]).recipient.number
    assert national == "123456789"
    assert same_recipient("+358123456789", national)
    assert not same_recipient("+358123456780", national)
    # oFono's MR 4 report gives the number back in international form.
    assert same_recipient("+4915259911630", real_report(BY_ID[132]).recipient.number)
    assert same_recipient("015259911630", real_report(BY_ID[132]).recipient.number)
    # python-gsmmodem's South African capture: TP-RA national 0829200000.
    south_africa = real_report(BY_ID[27]).recipient.number
    assert south_africa == "0829200000"
    assert same_recipient("+27829200000", south_africa)
    assert not same_recipient("+27829200001", south_africa)
