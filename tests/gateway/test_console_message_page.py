"""What a message's console page derives from what the store keeps (gateway.console.message_page):
PDUs decoded by the codec, TP-ST in words, the status timeline. Pure: no gateway, no store."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from drivers.codec import SubmitOptions, encode_text
from gateway.console.message_page import decoded, discharge, status_meaning, timeline
from gateway.domain.models import Status
from gateway.store import MessageTrail, PartTrail
from tests.fakes.clock import T0
from tests.fakes.records import HANDSET, message


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_submit_is_decoded_with_its_fields() -> None:
    options = SubmitOptions(status_report=True, validity=86400)
    first, _ = encode_text(HANDSET, "Привет " + "ж" * 70, options, ref16=True, reference=513)
    found = decoded(first.pdu)
    assert found is not None and found.error is None
    assert found.kind == "SMS-SUBMIT"
    fields = dict(found.fields)
    assert fields["TP-DA (destination)"] == HANDSET
    assert fields["TP-DCS (coding)"] == "0x08: UCS-2"
    assert fields["TP-VP (validity)"] == "relative, 1 days"
    assert fields["TP-SRR (report requested)"] == "yes"
    assert fields["UDH concatenation"] == "part 1 of 2, reference 513 (16-bit)"
    assert found.text is not None and found.text.startswith("Привет ж")


def test_a_pdu_that_does_not_decode_says_why_and_one_not_kept_is_none() -> None:
    for garbage in ("zz", "00", "0011000B91"):
        found = decoded(garbage)
        assert found is not None and found.kind == ""
        assert found.error is not None and found.error.startswith("not decodable: ")
    assert decoded("") is None  # redacted


def test_tp_st_in_the_words_of_ts_23_040() -> None:
    assert status_meaning(0x00) == (
        "0x00: short message received by the SME (transaction completed)"
    )
    assert status_meaning(0x41).startswith("0x41: ")
    assert "permanent error" in status_meaning(0x41)
    assert "SC still trying" in status_meaning(0x30)
    assert "reserved" in status_meaning(0x80)
    assert discharge("2603011234") == "2026-03-01 12:34 (SC time)"
    assert discharge(None) is None


def test_the_timeline_of_an_undelivered_message_in_order() -> None:
    sent = replace(
        message(num_segments=2),
        status=Status.UNDELIVERED,
        error_code=30003,
        date_sent=at(3),
        date_updated=at(60),  # a redaction, say: not when it was settled
    )
    parts = (
        PartTrail(1, "", 7, at(2), "delivered", 0x00, at(1), at(5), None, None),
        PartTrail(2, "", 8, at(3), "undelivered", 0x41, at(2), at(9), None, 30003),
    )
    trail = MessageTrail(sent, 1, parts, (), ())
    events = [(event.at, event.what) for event in timeline(sent, trail)]
    assert events == [
        (T0, "created"),
        (at(1), "sending"),  # the first part claimed
        (at(2), "part 1 sent"),
        (at(3), "part 2 sent"),
        (at(3), "sent"),
        (at(5), "part 1: delivered"),
        (at(9), "part 2: undelivered"),
        (at(9), "undelivered"),  # settled by the last report, not at date_updated
    ]


def test_the_timeline_of_a_canceled_message_without_parts_sent() -> None:
    canceled = replace(message(), status=Status.CANCELED, date_updated=at(30), send_at=at(600))
    events = timeline(canceled, None)
    assert [(e.at, e.what) for e in events] == [(T0, "created"), (at(30), "canceled")]
    assert events[0].detail.startswith("scheduled for ")
