"""Decoder behaviour the real vectors do not pin down on their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from drivers.codec.pdu import (
    Alphabet,
    Deliver,
    Delivery,
    MessageWaiting,
    StatusClass,
    StatusReport,
    TypeOfNumber,
    WaitingKind,
    decode,
    interpret_status,
)
from drivers.codec.pdu.fields import decode_dcs, decode_timestamp
from drivers.errors import PduError

# ModemManager test_pdu3: "hellohello" from +18005551212.
HELLO = "07912143658709F1040B918100551512F20000111010214365000AE8329BFD4697D9EC37"
HELLO_TPDU = HELLO[16:]
# gsm-at-pdu.md §1.6a: a real status report, MR 183, delivered.
REPORT = "07917248014000F506B70AA18092020000317071518590803170715185418000"


def deliver(pdu: str, length: int | None = None) -> Deliver:
    message = decode(pdu, length)
    assert isinstance(message, Deliver)
    return message


def test_length_tells_whether_an_sca_is_present() -> None:
    with_sca = deliver(HELLO, len(HELLO_TPDU) // 2)
    without = deliver(HELLO_TPDU, len(HELLO_TPDU) // 2)
    assert with_sca.sca is not None and with_sca.sca.number == "+12345678901"
    assert without.sca is None
    assert with_sca.text == without.text == "hellohello"
    assert with_sca.tpdu_length == without.tpdu_length == 28


def test_without_a_length_a_tpdu_only_pdu_is_still_recognised() -> None:
    # smslib CServiceTest: the same report with and without the SCA prefix.
    bare = decode("06130C91527420121670110172111332E11101721113322100")
    prefixed = decode("07A17098103254F606130C91527420121670110172111332E11101721113322100")
    assert isinstance(bare, StatusReport) and isinstance(prefixed, StatusReport)
    assert bare.message_reference == prefixed.message_reference == 0x13
    assert prefixed.sca is not None and prefixed.sca.number == "07890123456"


def test_whitespace_and_lower_case_hex_are_fine() -> None:
    assert deliver(HELLO.lower()[:20] + " \n" + HELLO[20:]).text == "hellohello"


@pytest.mark.parametrize(
    ("pdu", "length", "field"),
    [
        ("", None, "PDU"),
        ("0", None, "PDU"),
        ("zz", None, "PDU"),
        ("0C" + "00" * 20, None, "SCA"),
        (HELLO[:-2], None, "TP-UD"),
        (HELLO + "00", None, "TP-UD"),
    ],
)
def test_malformed_input_names_the_field(pdu: str, length: int | None, field: str) -> None:
    with pytest.raises(PduError) as caught:
        decode(pdu, length)
    assert caught.value.field == field


def test_sim_record_padding_is_ignored() -> None:
    # Some modems return the whole EF-SMS record: the PDU followed by 0xFF filler.
    assert deliver(HELLO + "FF" * 20).text == "hellohello"
    report = decode(REPORT + "FFFF")
    assert isinstance(report, StatusReport) and report.pid is None


def test_alphanumeric_sender_has_no_trailing_at() -> None:
    # oFono test_alnum_sender: "sipgate" (smspdudecoder returns "sipgate@").
    message = deliver("0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9")
    assert message.originator.number == "sipgate"
    assert message.originator.ton is TypeOfNumber.ALPHANUMERIC


def test_broken_type_of_address_is_read_leniently() -> None:
    # ZTE: type-of-address octet with bit 7 cleared.
    tpdu = "04" + "0B" + "11" + "8100551512F2" + "0000" + "11101021436500" + "0AE8329BFD4697D9EC37"
    message = deliver("00" + tpdu)
    assert message.originator.number == "+18005551212"


def test_timestamps_keep_their_zone() -> None:
    stamp = decode_timestamp(bytes.fromhex("31707151859080"))
    assert stamp.value == datetime(2013, 7, 17, 15, 58, 9, tzinfo=timezone(timedelta(hours=2)))
    negative = decode_timestamp(bytes.fromhex("1120821105050A"))
    assert negative.value is not None
    assert negative.value.utcoffset() == timedelta(hours=-5)


def test_invalid_time_zone_falls_back_to_utc_and_invalid_dates_to_none() -> None:
    # Safaricom status reports carry 0xE1 as their time zone octet.
    stamp = decode_timestamp(bytes.fromhex("110172111332E1"))
    assert stamp.value == datetime(2011, 10, 27, 11, 31, 23, tzinfo=UTC)
    assert decode_timestamp(bytes.fromhex("11F172111332E1")).value is None
    assert decode_timestamp(bytes.fromhex("00000000000000")).value is None
    assert decode_timestamp(bytes.fromhex("99211332959500")).value == datetime(
        1999, 12, 31, 23, 59, 59, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("raw", "alphabet", "message_class", "compressed", "auto_delete", "waiting"),
    [
        (0x00, Alphabet.GSM7, None, False, False, None),
        (0x04, Alphabet.DATA8, None, False, False, None),
        (0x08, Alphabet.UCS2, None, False, False, None),
        (0x0C, Alphabet.GSM7, None, False, False, None),  # reserved alphabet: default
        (0x10, Alphabet.GSM7, 0, False, False, None),
        (0x18, Alphabet.UCS2, 0, False, False, None),
        (0x26, Alphabet.DATA8, None, True, False, None),
        (0x53, Alphabet.GSM7, 3, False, True, None),
        (0x90, Alphabet.GSM7, None, False, False, None),  # reserved coding group
        (
            0xC0,
            Alphabet.GSM7,
            None,
            False,
            False,
            MessageWaiting(WaitingKind.VOICEMAIL, False, False),
        ),
        (
            0xC8,
            Alphabet.GSM7,
            None,
            False,
            False,
            MessageWaiting(WaitingKind.VOICEMAIL, True, False),
        ),
        (0xD9, Alphabet.GSM7, None, False, False, MessageWaiting(WaitingKind.FAX, True, True)),
        (
            0xE0,
            Alphabet.UCS2,
            None,
            False,
            False,
            MessageWaiting(WaitingKind.VOICEMAIL, False, True),
        ),
        (0xEA, Alphabet.UCS2, None, False, False, MessageWaiting(WaitingKind.EMAIL, True, True)),
        (0xF0, Alphabet.GSM7, 0, False, False, None),
        (0xF1, Alphabet.GSM7, 1, False, False, None),
        (0xF5, Alphabet.DATA8, 1, False, False, None),
    ],
)
def test_every_dcs_group(
    raw: int,
    alphabet: Alphabet,
    message_class: int | None,
    compressed: bool,
    auto_delete: bool,
    waiting: MessageWaiting | None,
) -> None:
    dcs = decode_dcs(raw)
    assert (dcs.alphabet, dcs.message_class, dcs.compressed, dcs.auto_delete, dcs.waiting) == (
        alphabet,
        message_class,
        compressed,
        auto_delete,
        waiting,
    )


def test_compressed_user_data_is_kept_raw() -> None:
    tpdu = "04" + "0B918100551512F2" + "00" + "26" + "11101021436500" + "03" + "ABCDEF"
    message = deliver(tpdu, len(tpdu) // 2)
    assert message.dcs.compressed
    assert (message.text, message.user_data.data) == (None, bytes.fromhex("ABCDEF"))


def test_ucs2_with_an_odd_octet_count_marks_the_lost_half() -> None:
    tpdu = "04" + "0B918100551512F2" + "00" + "08" + "11101021436500" + "03" + "004100"
    assert deliver(tpdu, len(tpdu) // 2).text == "A\ufffd"


def test_status_report_fields() -> None:
    report = decode(REPORT)
    assert isinstance(report, StatusReport)
    assert report.message_reference == 183
    assert report.recipient.number == "0829200000"
    assert report.recipient.ton is TypeOfNumber.NATIONAL
    assert report.discharge.value == datetime(
        2013, 7, 17, 15, 58, 14, tzinfo=timezone(timedelta(hours=2))
    )
    assert (report.status, report.delivery) == (0, Delivery.DELIVERED)


def test_status_report_optional_parameters() -> None:
    # TP-PI = 07: TP-PID, TP-DCS and TP-UDL/UD follow the status.
    report = decode(REPORT + "07" + "00" + "00" + "02" + "C834")
    assert isinstance(report, StatusReport)
    assert (report.pid, report.user_data is not None) == (0, True)
    assert report.user_data is not None and report.user_data.text == "Hi"


# What each TP-ST says of the delivery (../shared/docs/gsm-at-pdu.md §1.7); the Twilio error
# codes of the undelivered ones are the gateway's (tests/gateway/test_delivery.py).
@pytest.mark.parametrize(
    ("status", "status_class", "delivery"),
    [
        (0x00, StatusClass.DELIVERED, Delivery.DELIVERED),
        (0x01, StatusClass.DELIVERED, Delivery.UNCONFIRMED),
        (0x02, StatusClass.DELIVERED, Delivery.UNDELIVERED),
        (0x05, StatusClass.GAVE_UP, Delivery.UNDELIVERED),  # reserved: as "service rejected"
        (0x1F, StatusClass.DELIVERED, Delivery.DELIVERED),
        (0x21, StatusClass.STILL_TRYING, Delivery.PENDING),
        (0x30, StatusClass.STILL_TRYING, Delivery.PENDING),
        (0x40, StatusClass.PERMANENT_FAILURE, Delivery.UNDELIVERED),
        (0x41, StatusClass.PERMANENT_FAILURE, Delivery.UNDELIVERED),
        (0x42, StatusClass.PERMANENT_FAILURE, Delivery.UNDELIVERED),
        (0x43, StatusClass.PERMANENT_FAILURE, Delivery.UNDELIVERED),
        (0x46, StatusClass.PERMANENT_FAILURE, Delivery.UNDELIVERED),
        (0x5A, StatusClass.PERMANENT_FAILURE, Delivery.UNDELIVERED),
        (0x61, StatusClass.GAVE_UP, Delivery.UNDELIVERED),
        (0x63, StatusClass.GAVE_UP, Delivery.UNDELIVERED),
        (0x65, StatusClass.GAVE_UP, Delivery.UNDELIVERED),
        (0x7F, StatusClass.GAVE_UP, Delivery.UNDELIVERED),
        (0xFF, StatusClass.GAVE_UP, Delivery.UNDELIVERED),
    ],
)
def test_status_mapping(status: int, status_class: StatusClass, delivery: Delivery) -> None:
    meaning = interpret_status(status)
    assert (meaning.status_class, meaning.delivery) == (status_class, delivery)
