"""python-gsmmodem-new against ``smsgw simulate --pty``: what issue 16 found failing (text mode,
a report racing its +CMGS, a UCS-2 send), and sending, receiving and reading as its users do."""

from __future__ import annotations

from typing import Any

import pytest
from gsmmodem.modem import SentSms, Sms

from tests.foreign.conftest import HANDSET, ME, WAIT, Connected

LONG = "A long text from a handset, more than one SMS can carry, so it comes in parts. " * 3


def submissions(connected: Connected, count: int) -> list[dict[str, Any]]:
    """What the simulated network accepted, once there are ``count``."""
    accepted: list[dict[str, Any]] = connected.simulator.get(
        f"/submissions?wait={count}&timeout={WAIT}"
    )
    assert len(accepted) >= count, accepted
    return accepted


@pytest.mark.parametrize("text_mode", [False, True], ids=["pdu", "text"])
@pytest.mark.parametrize("wait_for_report", [False, True], ids=["no-report-wait", "report-wait"])
def test_a_text_is_sent(gsm_modem: Connected, text_mode: bool, wait_for_report: bool) -> None:
    modem = gsm_modem.modem
    modem.smsTextMode = text_mode
    if not wait_for_report:
        # No report at all: one arriving after the test would find python-gsmmodem closed.
        gsm_modem.simulator.post("/rule", {"number": HANDSET, "fate": "no_report"})
    sms = modem.sendSms(
        HANDSET,
        "Hello from python-gsmmodem",
        waitForDeliveryReport=wait_for_report,
        deliveryTimeout=WAIT,
    )
    (submission,) = submissions(gsm_modem, 1)
    assert (submission["to"], submission["text"]) == (HANDSET, "Hello from python-gsmmodem")
    assert submission["reference"] == sms.reference
    assert submission["status_report"]  # python-gsmmodem asks for one (AT+CSMP=49 / TP-SRR)
    if wait_for_report:
        assert sms.status == SentSms.DELIVERED
        assert sms.report is not None and sms.report.reference == sms.reference
    else:
        assert sms.status == SentSms.ENROUTE


def test_a_ucs2_text_is_sent_and_its_report_awaited(gsm_modem: Connected) -> None:
    modem = gsm_modem.modem
    modem.smsTextMode = True  # no GSM 7-bit for this text: python-gsmmodem falls back to PDU
    text = "Привет, мир! 你好"
    sms = modem.sendSms(HANDSET, text, waitForDeliveryReport=True, deliveryTimeout=WAIT)
    assert sms.status == SentSms.DELIVERED
    (submission,) = submissions(gsm_modem, 1)
    assert submission["text"] == text


def test_a_long_message_arrives_in_parts(gsm_modem: Connected) -> None:
    """Each part is injected once the one before was taken and deleted: a network delivers
    them one at a time (TS 24.011, each RP-DATA acknowledged before the next), and
    python-gsmmodem handles only the first of several +CMTI lines it reads together. It deletes
    a message after its callback (AT+CMGD), and takes a +CMTI read while it waits for that
    answer for part of the answer: the next part comes once the modem has the AT+CMGD (its
    +CMTI then follows the OK), and the test ends once the last deletion is answered."""
    parts = []
    for sequence in (1, 2):
        answer = gsm_modem.simulator.post(
            "/inject", {"from": HANDSET, "text": LONG, "order": [sequence], "reference": 42}
        )
        assert answer["parts"] == 2
        parts.append(gsm_modem.next_received())
        gsm_modem.simulator.commands("AT+CMGD", sequence)
    # python-gsmmodem runs one command at a time: this one is answered after its AT+CMGD.
    assert gsm_modem.modem.write("AT") == ["OK"]
    assert {sms.number for sms in parts} == {HANDSET}
    headers = [sms.udh[0] for sms in parts]
    assert len({header.reference for header in headers}) == 1
    ordered = sorted(parts, key=lambda sms: sms.udh[0].number)
    assert "".join(sms.text for sms in ordered) == LONG


@pytest.mark.parametrize("text_mode", [False, True], ids=["pdu", "text"])
def test_stored_messages_are_listed_and_read(gsm_modem: Connected, text_mode: bool) -> None:
    modem = gsm_modem.modem
    modem.smsReceivedCallback = None  # leave them on the SIM: python-gsmmodem reads them below
    modem.smsTextMode = text_mode
    for text in ("first stored", "second stored"):
        gsm_modem.simulator.post("/inject", {"from": HANDSET, "text": text})
    listed = modem.listStoredSms(status=Sms.STATUS_ALL)
    assert [(sms.number, sms.text) for sms in listed] == [
        (HANDSET, "first stored"),
        (HANDSET, "second stored"),
    ]
    first = modem.readStoredSms(1)  # SIM storage counts from 1
    assert (first.text, first.status) == ("first stored", Sms.STATUS_RECEIVED_READ)


def test_it_finds_the_modem_as_it_is(gsm_modem: Connected) -> None:
    modem = gsm_modem.modem
    assert (modem.manufacturer, modem.model) == ("smsgw", "Simulated GSM modem")
    assert modem.imsi.startswith("31026")
    assert modem.ownNumber == ME
    assert modem.smsc == "+15550000000"
    assert {"+CMGS", "+CMSS", "+CSMP"} <= set(modem.supportedCommands)  # AT+CLAC, "AT" cut off
