"""The reply parsers of ``drivers/at/replies.py`` on every recorded AT transcript, and their errors.

Each vector of ``tests/data/at_transcripts.json`` is replayed through :class:`AtParser` (the same
bytes as ``test_at_parse.py``; ``tests/drivers/at/at_transcripts.py`` says how each source's shape
becomes bytes), and the lines of the :class:`Response` go to the reply parser of that command.
What comes out is compared with what the vector's source asserts. Tests carry the device in their
name or id, as ModemManager's ``test-modem-helpers.c`` does (``test_cpms_response_huawei_mu609``).

Where a source expects what our design does differently, the test asserts OUR behaviour and the
comment says why; nothing is skipped. :func:`test_every_vector_is_handled` checks that every
vector of the file is used by some test here (the ids are collected when this module is imported,
so running one test alone does not change the answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

import pytest

from drivers.at.parse import Prompt, ResultKind, Unsolicited
from drivers.at.replies import (
    Cusd,
    Operator,
    PinAttempts,
    Registration,
    StoredPdu,
    fields,
    parse_cmgl,
    parse_cmgr,
    parse_cmgs,
    parse_cnmi,
    parse_cnmi_test,
    parse_cnum,
    parse_cops,
    parse_cpin,
    parse_cpms_read,
    parse_cpms_test,
    parse_cpms_usage,
    parse_csca,
    parse_csms,
    parse_csq,
    parse_cusd,
    parse_pdu_urc_length,
    parse_pin_attempts,
    parse_registration,
    parse_registration_urc,
    parse_storage_urc,
    parse_text,
    rssi_dbm,
)
from drivers.codec.pdu import Deliver, StatusClass, StatusReport, Submit, decode
from drivers.errors import AtReplyError, PduError
from tests.drivers.at.at_transcripts import (
    VECTORS,
    ZTE_REFERENCE,
    Command,
    Vector,
    case_id,
    replay,
    responses,
    steps,
    unsolicited,
)

HANDLED: set[int] = set()
F = TypeVar("F", bound=Callable[..., object])


def handles(*ids: int) -> Callable[[F], F]:
    """Marks a test as the one that checks these vectors (collected at import time)."""
    assert set(ids) <= set(VECTORS), set(ids) - set(VECTORS)
    HANDLED.update(ids)

    def mark(test: F) -> F:
        return test

    return mark


def use(ids: Sequence[int]) -> list[Vector]:
    """The vectors ``ids``, for ``pytest.mark.parametrize`` (and marked as handled)."""
    handles(*ids)
    return [VECTORS[vid] for vid in ids]


def replies(vector: Vector) -> list[tuple[str, ...]]:
    """The reply lines of every command of ``vector``; each must have ended with ``OK``."""
    events, parser = replay(steps(vector))
    assert not parser.busy
    done = responses(events)
    assert [response.result.kind for response in done] == [ResultKind.OK] * len(done)
    return [response.lines for response in done]


def only_reply(vector: Vector) -> tuple[str, ...]:
    (lines,) = replies(vector)
    return lines


# --- +CMGL -----------------------------------------------------------------------------------

# python-gsmmodem's Sms.STATUS_* names, as its expected messages give them.
GSMMODEM_STATUS: Final = {"REC UNREAD": 0, "REC READ": 1, "STO UNSENT": 2, "STO SENT": 3}


@handles(35)
def test_cmgl_gsmmodem_generic() -> None:
    """TestStoredSms.test_listStoredSms_pdu: three messages, each decoded and compared."""
    vector = VECTORS[35]
    entries = parse_cmgl(only_reply(vector))
    expected = vector["expected"]["messages"]
    assert [(e.index, e.stat, e.length) for e in entries] == [(0, 0, 35), (1, 1, 161), (2, 1, 159)]
    assert len(entries) == len(expected)
    for entry, message in zip(entries, expected, strict=True):
        assert entry.index == message["index"]
        assert entry.stat == message["stat"] == GSMMODEM_STATUS[message["status"]]
        pdu = decode(entry.pdu, entry.length)
        assert isinstance(pdu, Deliver)
        assert pdu.originator.number == message["number"]
        assert pdu.scts.value == datetime.fromisoformat(message["time"])
        assert pdu.text == message["text"]


def _entries(vector: Vector) -> list[tuple[int | None, int | None, str]]:
    return [(e.index, e.stat, e.pdu) for e in parse_cmgl(only_reply(vector))]


def _expected_entries(vector: Vector) -> list[tuple[int, int, str]]:
    return [(e["index"], e["stat"], e["pdu"]) for e in vector["expected"]["entries"]]


@pytest.mark.parametrize("vector", use([69, 70]), ids=case_id)
def test_cmgl_generic(vector: Vector) -> None:
    """ModemManager test_cmgl_response_generic(_multiple): ``+CMGL: 0,1,,147`` + PDU line."""
    assert _entries(vector) == _expected_entries(vector)
    for entry in parse_cmgl(only_reply(vector)):
        assert entry.length == 147
        assert isinstance(decode(entry.pdu, entry.length), Deliver)


@pytest.mark.parametrize("vector", use([71, 72]), ids=case_id)
def test_cmgl_pantech(vector: Vector) -> None:
    """ModemManager test_cmgl_response_pantech(_multiple): ``+CMGL: 17,3,35``, no <alpha>."""
    assert _entries(vector) == _expected_entries(vector)
    for entry in parse_cmgl(only_reply(vector)):
        assert entry.length == 35
        # ModemManager's test strings cut these PDUs short (an odd number of hex digits, see the
        # vector notes); MM checks only the listing. The codec must refuse them, not guess.
        with pytest.raises(PduError):
            decode(entry.pdu, entry.length)


def _non_empty(vector: Vector) -> list[str]:
    return [line.strip() for line in vector["transcript"] if line.strip()]


@handles(202)
def test_cmgl_smslib_real_listing() -> None:
    """smslib CServiceTest.testGetNextUsefulLine: every non-empty line, in order."""
    vector = VECTORS[202]
    lines = only_reply(vector)
    assert [*lines, "OK"] == _non_empty(vector)
    entries = parse_cmgl(lines)
    assert [(e.index, e.stat, e.length) for e in entries] == [(1, 1, 142), (2, 0, 26)]
    assert all(isinstance(decode(e.pdu, e.length), Deliver) for e in entries)


# smslib's listing of a UK modem mixes SMS-STATUS-REPORTs (first TPDU octet 06) into the same
# memory as the messages (vector 203 notes; ../shared/docs/gsm-at-pdu.md §4 "Status reports").
SMSLIB_UK_REPORTS: Final = frozenset({12, 13, 14, 16})


@handles(203)
def test_cmgl_smslib_uk_modem_blank_lines_and_reports() -> None:
    vector = VECTORS[203]
    lines = only_reply(vector)
    assert [*lines, "OK"] == _non_empty(vector)  # the blank lines between entries are gone
    entries = parse_cmgl(lines)
    assert [e.index for e in entries] == list(range(1, 18))
    assert [e.stat for e in entries] == [1] * 16 + [0]
    for entry in entries:
        pdu = decode(entry.pdu, entry.length)
        kind = StatusReport if entry.index in SMSLIB_UK_REPORTS else Deliver
        assert isinstance(pdu, kind), entry.index


@handles(204)
def test_cmgl_smslib_memory_index() -> None:
    """smslib CServiceTest.testGetMemoryIndex: the index is the first field of the header.

    smslib reads the index from a header alone. ``parse_cmgl`` reads whole entries, header and PDU
    line, and refuses a header whose PDU line is missing (here every header is followed by the next
    one), so each header is paired with its PDU from the real listings these headers come from
    (vectors 202 and 203, the same smslib test).
    """
    vector = VECTORS[204]
    headers = only_reply(vector)
    with pytest.raises(AtReplyError, match="malformed entry"):
        parse_cmgl(headers)
    pdus = {}
    for listing in (VECTORS[202], VECTORS[203]):
        lines = only_reply(listing)
        pdus.update({line: lines[at + 1] for at, line in enumerate(lines) if line in headers})
    for header, index in vector["expected"]["lines"].items():
        (entry,) = parse_cmgl([header, pdus[header]])
        assert entry.index == index


# --- +CMGR -----------------------------------------------------------------------------------


def _read(vector: Vector, at: int = 0) -> StoredPdu:
    entry = parse_cmgr(replies(vector)[at])
    assert entry is not None
    return entry


@pytest.mark.parametrize("vector", use([28, 30]), ids=case_id)
def test_cdsi_then_cmgr_status_report_gsmmodem(vector: Vector) -> None:
    """TestSmsStatusReports.test_receiveStatusReportPduMode: +CDSI, AT+CMGR, a DELIVERED report.

    Vector 30 is the ZTE capture: ``+CMGR: ,,27`` (no <stat>) and a two-octet SCA (97 F1) that
    python-gsmmodem calls an incorrect SMSC length; the <length> (27 = 30 octets - 1 - 2) still
    finds the TPDU.
    """
    expected = vector["expected"]
    events, _ = replay(steps(vector))
    (urc,) = unsolicited(events)
    assert urc.line == expected["urc"]
    memory, index = parse_storage_urc(urc.value)
    assert (memory, f"AT+CMGR={index}") == ("SM", expected["then_command"])
    # Deleting the report afterwards is the driver's job (drivers/modem/storage.py,
    # test_modem.py); here only that the index it deletes is the one the URC named.
    assert expected["then_delete"] == f"AT+CMGD={index},0"
    (response,) = responses(events)
    assert response.command == expected["then_command"]
    entry = parse_cmgr(response.lines)
    assert entry is not None and entry.pdu == vector["pdu"]
    # python-gsmmodem falls back to "received unread" when ZTE leaves <stat> out; the reply parser
    # says "not given" (None) and leaves any fallback to the driver.
    assert (entry.stat, entry.length) == ((0, 24) if vector["id"] == 28 else (None, 27))
    report = decode(entry.pdu, entry.length)
    assert isinstance(report, StatusReport)
    assert report.message_reference == expected["reference"]
    assert expected["delivery_status"] == "DELIVERED"
    assert report.status_class is StatusClass.DELIVERED


@handles(36)
def test_cmgr_gsmmodem_generic() -> None:
    """TestStoredSms.test_readStoredSms_pdu: ``+CMGR: 0,,35`` and the PDU line."""
    vector = VECTORS[36]
    entry = _read(vector)
    assert (entry.index, entry.stat, entry.length) == (None, 0, 35)
    pdu = decode(entry.pdu, entry.length)
    assert isinstance(pdu, Deliver)
    assert pdu.originator.number == vector["expected"]["number"]
    assert pdu.text == vector["expected"]["text"]
    (response,) = responses(replay(steps(vector))[0])
    assert response.command == vector["expected"]["command"]


@handles(73)
def test_cmgr_generic_pdu_on_the_header_line() -> None:
    """ModemManager test_cmgr_response_generic: ``+CMGR: 1,,147 <pdu>``, a space, no CRLF."""
    vector = VECTORS[73]
    lines = only_reply(vector)
    assert len(lines) == 1  # the parser keeps it one reply line; the reply parser splits it
    entry = _read(vector)
    assert (entry.stat, entry.length, entry.pdu) == (1, 147, vector["expected"]["pdu"])
    assert entry.stat == vector["expected"]["status"]
    assert isinstance(decode(entry.pdu, entry.length), Deliver)


@handles(74)
def test_cmgr_telit_he910() -> None:
    """ModemManager test_cmgr_response_telit: ``+CMGR: 0,"",50`` (quoted empty <alpha>)."""
    vector = VECTORS[74]
    entry = _read(vector)
    assert (entry.stat, entry.length, entry.pdu) == (0, 50, vector["expected"]["pdu"])
    assert entry.stat == vector["expected"]["status"]
    assert isinstance(decode(entry.pdu, entry.length), Deliver)


# Every +CMGR header of the gammu at-sms dumps and the <stat>, <length> it carries.
GAMMU_HEADERS: Final[dict[str, tuple[int | None, int]]] = {
    "+CMGR: 0,23": (0, 23),
    "+CMGR: 24": (None, 24),  # the length alone (38.dump)
    "+CMGR: ,,92": (None, 92),  # no <stat> (39.dump), like ZTE
    "+CMGR: 0,,93": (0, 93),
    "+CMGR: 1,,25": (1, 25),
    "+CMGR: 1,,30": (1, 30),
    "+CMGR: 1,,45": (1, 45),
    "+CMGR: 1,,78": (1, 78),
    "+CMGR: 1,,122": (1, 122),
    "+CMGR: 1,,153": (1, 153),
    "+CMGR: 1,,156": (1, 156),
    "+CMGR: 2,,164": (2, 164),
    "+CMGR: 3,,16": (3, 16),
    "+CMGR: 3,,29": (3, 29),
    # 26.dump and 27.dump answer AT+CMGR=4 with "+CMGR: 4,1,,151": four fields, the +CMGL layout
    # <index>,<stat>,[<alpha>],<length> with the index requested in front. The <stat> is the 1;
    # 4 is no <stat> at all (TS 27.005 §3.1 PDU mode: 0..3), so reading the first field as <stat>
    # is wrong. (gammu reads the first field too, and files these as "sent", its default for a
    # state it does not know.)
    "+CMGR: 4,1,,151": (1, 151),
    # at-sms-failing 33.dump: the same layout (a garbled dump: AT+CMGR=1 answered for index 2).
    "+CMGR: 2,2,,174": (2, 174),
}

# gammu at-sms dumps that gammu decodes but our codec refuses, with the field it names and why.
# The reply parser handles all of them; the differences are in what the codec accepts.
GAMMU_DIFFERENCES: Final[dict[int, tuple[str, str]]] = {
    208: (
        "PDU",
        "the PDU line ends with a stray '\"' (04.dump; the at-sms README says the dumps were "
        "collected from the Internet): gammu decodes it anyway, our codec refuses a PDU that is "
        "not hex (without the quote it decodes, see the test below)",
    ),
    217: (
        "TP-UD",
        "TP-UDL 18 counts the octets of UCS-2 text ('Тест Test') under a DCS (F9) that says GSM "
        "7-bit, so 18 septets are 16 octets and 2 are left over; gammu ignores them, our codec "
        "refuses octets after the user data",
    ),
    221: (
        "TP-UDH",
        "TP-UDHI is set (first octet D5) with TP-UDL 0 (20.dump): no room for the header it "
        "announces; gammu ignores the flag, our codec refuses the contradiction",
    ),
    238: (
        "TP-UD",
        "TP-UDL says 53 septets (47 octets) but 77 octets of user data follow (39.dump); gammu "
        "stops at the UDL, our codec refuses the 30 octets after it",
    ),
    240: (
        "TP-OA",
        "lowercase hex, SCA 00, and <length> 93 is the whole PDU with the SCA octet counted "
        "(41.dump). Read as the length says (no SCA), the first octet 00 makes a DELIVER with a "
        "65-digit TP-OA (the field named); read with the SCA, the SUBMIT's 7-bit user data (93 "
        "septets, 82 octets) is 3 octets short. gammu accepts the short user data",
    ),
}


GAMMU_AT_SMS: Final = use(range(206, 252))


@pytest.mark.parametrize("vector", GAMMU_AT_SMS, ids=case_id)
def test_cmgr_gammu_header(vector: Vector) -> None:
    """Every +CMGR header variant of the gammu dumps gives its <stat> and <length>."""
    lines = only_reply(vector)
    header = next(line for line in lines if line.startswith("+CMGR:"))
    entry = parse_cmgr(lines)
    assert entry is not None
    assert (entry.stat, entry.length) == GAMMU_HEADERS[header]


@pytest.mark.parametrize("vector", GAMMU_AT_SMS, ids=case_id)
def test_cmgr_gammu_at_sms(vector: Vector) -> None:
    """gammu ``sms-at-parse-*``: ``success`` must decode, ``fail`` must raise PduError."""
    entry = _read(vector)
    assert entry.pdu == vector["pdu"]
    outcome = vector["expected"]["gammu_sms_at_parse"]
    if outcome == "fail" or vector["id"] in GAMMU_DIFFERENCES:
        with pytest.raises(PduError) as error:
            decode(entry.pdu, entry.length)
        if vector["id"] in GAMMU_DIFFERENCES:
            assert outcome == "success"
            assert error.value.field == GAMMU_DIFFERENCES[vector["id"]][0]
    else:
        assert outcome == "success"
        assert isinstance(decode(entry.pdu, entry.length), Deliver | Submit | StatusReport)


def test_gammu_quoted_pdu_decodes_without_the_quote() -> None:
    # The stray quote is all that stops 04.dump (see GAMMU_DIFFERENCES[208]).
    entry = _read(VECTORS[208])
    assert entry.pdu.endswith('"')
    assert isinstance(decode(entry.pdu.rstrip('"'), entry.length), Deliver)


@handles(239)
def test_cmgr_gammu_mms_notification() -> None:
    """40.dump: gammu also decodes the WAP push in it (an MMS notification); we keep it raw.

    An SMS gateway delivers SMS; the port-addressed 8-bit payload is kept as received, and the
    fields gammu asserts are in it (the size, 96857, is WSP-encoded, so not a visible string).
    """
    vector = VECTORS[239]
    expected = vector["expected"]
    entry = _read(vector)
    pdu = decode(entry.pdu, entry.length)
    assert isinstance(pdu, Deliver)
    assert pdu.text is None  # 8-bit data
    assert pdu.user_data.header is not None
    ports = pdu.user_data.header.ports
    assert ports is not None and ports.destination == 2948  # WAP push (WDP port 2948)
    assert expected["SMS_MESSAGES"] == expected["DECODED_PARTS"] == 1
    assert pdu.concatenation is None  # one message, one part
    data = pdu.user_data.data
    assert expected["DECODED_1_MMS_SENDER"].encode() in data
    assert expected["DECODED_1_MMS_ADDRESS"].encode() in data
    assert expected["DECODED_1_MMS_TITLE"] == ""


# --- +CMGS -----------------------------------------------------------------------------------


@handles(37)
def test_cmgs_zte_urcs_around_the_prompt() -> None:
    """python-gsmmodem test_sendSmsResponseMixedWithUnsolictedMessages (its issue #11, ZTE)."""
    vector = VECTORS[37]
    expected = vector["expected"]
    events, _ = replay(steps(vector))
    prompt = events.index(Prompt())
    before = [e.line for e in events[:prompt] if isinstance(e, Unsolicited)]
    assert before == expected["prompt_preceded_by_urcs"]
    assert len(unsolicited(events)) == 6  # 2 before the prompt, 4 between the PDU and +CMGS
    (response,) = responses(events)
    assert response.command.startswith("AT+CMGS=")
    assert expected["must_ignore_urcs"] is True
    assert response.lines == (f"+CMGS: {ZTE_REFERENCE}",)  # nothing of the URCs in the reply
    assert parse_cmgs(response.lines) == ZTE_REFERENCE


def _unescape(text: str) -> str:
    return text.replace("\\r", "\r").replace("\\n", "\n")


@handles(205)
def test_cmgs_smslib_reply_variants() -> None:
    """smslib CServiceTest.testIsError: ``+CMGS:123\\rOK`` and ``+CMGS: 12\\r\\rOK\\r``."""
    vector = VECTORS[205]
    assert [parse_cmgs(lines) for lines in replies(vector)] == [123, 12]
    # smslib asserts that none of these is an error; the two not in the transcript as well.
    not_errors = [_unescape(text) for text in vector["expected"]["not_errors"]]
    assert not_errors[:2] == vector["transcript"]
    cpms, cpin = not_errors[2:]
    events, parser = replay([Command('AT+CPMS="SM","SM","SM"'), cpms.encode()])
    (response,) = responses(events)
    assert response.result.ok
    assert parse_cpms_usage(response.lines) == [(3, 25)] * 3
    # The echo and the reply to AT+CPIN? without a final result (smslib's string stops there, as
    # old Wavecom firmware does, ../shared/docs/gsm-at-pdu.md §4): nothing final, no error, and
    # the reply so far is readable.
    events, parser = replay([Command("AT+CPIN?"), cpin.encode()])
    assert events == []
    assert parser.busy
    assert parse_cpin(parser.partial_lines) == "SIM PIN"


@handles(38)
def test_cmgs_then_status_report_gsmmodem() -> None:
    """python-gsmmodem test_sendSms_waitForDeliveryReport: the TP-MR of +CMGS finds its report."""
    vector = VECTORS[38]
    expected = vector["expected"]
    events, _ = replay(steps(vector))
    assert isinstance(events[0], Prompt)
    sent, read = responses(events)
    reference = parse_cmgs(sent.lines)
    assert reference == expected["mr"] == 183
    (urc,) = unsolicited(events)
    assert parse_storage_urc(urc.value) == ("SM", 3)
    entry = parse_cmgr(read.lines)
    assert entry is not None
    report = decode(entry.pdu, entry.length)
    assert isinstance(report, StatusReport)
    assert report.message_reference == reference == expected["status_report_reference"]
    assert expected["delivery_status"] == "DELIVERED"
    assert report.status_class is StatusClass.DELIVERED


# --- +CSCA -----------------------------------------------------------------------------------


@handles(39)
def test_csca_unknown_gsmmodem() -> None:
    """python-gsmmodem test_smsc: ``+CMS ERROR: 330`` (SMSC address unknown) means no SMSC."""
    vector = VECTORS[39]
    events, _ = replay(steps(vector))
    (response,) = responses(events)
    assert response.command == vector["expected"]["command"]
    assert response.result.line == vector["expected"]["response"]
    assert (response.result.kind, response.result.code) == (ResultKind.CMS_ERROR, 330)
    # The driver turns the error into CmsError(330); the reply itself holds no +CSCA line.
    assert response.lines == ()
    assert parse_csca(response.lines) is None


def test_csca_real_gammu_log() -> None:
    # ../shared/docs/gsm-at-pdu.md §3: '+CSCA: "+59899998932",145' (a real gammu log).
    assert parse_csca(['+CSCA: "+59899998932",145']) == ("+59899998932", 145)


def test_csca_huawei_ucs2_and_unset() -> None:
    # Huawei with AT+CSCS="UCS2" reports the number as UCS-2 hex.
    ucs2 = "+34656000311".encode("utf-16-be").hex().upper()
    assert parse_csca([f'+CSCA: "{ucs2}",145']) == ("+34656000311", 145)
    assert parse_csca(['+CSCA: "",129']) is None
    assert parse_csca(['+CSCA: "+4917"']) == ("+4917", 145)  # no <tosca>: 145 is assumed


# --- +CDS / +CDSI / +CMTI --------------------------------------------------------------------


@handles(75)
def test_cds_generic() -> None:
    """ModemManager test_parse_cds: ``+CDS: 24`` and the PDU line; 24 leaves out the SCA."""
    vector = VECTORS[75]
    events, parser = replay(steps(vector))
    assert not parser.busy
    (urc,) = events
    assert isinstance(urc, Unsolicited)
    assert (urc.name, urc.pdu) == (vector["expected"]["urc"], vector["expected"]["pdu"])
    length = parse_pdu_urc_length(urc.value)
    assert length == vector["expected"]["length"]
    assert urc.pdu is not None
    report = decode(urc.pdu, length)
    assert isinstance(report, StatusReport)
    assert report.tpdu_length == length == len(bytes.fromhex(urc.pdu)) - 8


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"SM",3', ("SM", 3)),  # python-gsmmodem +CMTI / +CDSI
        ('"SR",0', ("SR", 0)),  # gammu issues #408/#412: reports in the SR memory
        ('"me", 12', ("ME", 12)),
    ],
)
def test_storage_urc(value: str, expected: tuple[str, int]) -> None:
    assert parse_storage_urc(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(",24", 24), ('"",24', 24), ("24", 24)])
def test_pdu_urc_length(value: str, expected: int) -> None:
    assert parse_pdu_urc_length(value) == expected


# --- +CPMS=? ---------------------------------------------------------------------------------


def _memories(vector: Vector) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    return parse_cpms_test(only_reply(vector))


def _set(*names: str) -> frozenset[str]:
    return frozenset(names)


@handles(77)
def test_cpms_test_cinterion() -> None:
    assert _memories(VECTORS[77]) == (_set("ME", "MT"), _set("ME", "SM", "MT"), _set("SM", "MT"))


@handles(78)
def test_cpms_test_huawei_mu609() -> None:
    # No parentheses: one flat list, meant for all three positions.
    flat = _set("ME", "MT", "SM")
    assert _memories(VECTORS[78]) == (flat, flat, flat)


@handles(79)
def test_cpms_test_nokia_c6() -> None:
    assert _memories(VECTORS[79]) == (_set(), _set(), _set())


def _gammu_memories(text: str) -> dict[str, dict[str, bool]]:
    """``"read: ME : ok, SM : N/A ... save: ..."`` -> ``{"read": {"ME": True, "SM": False}...}``.

    gammu's "read" is <mem1> (read, list, delete), "save" is <mem2> (write, send from storage).
    """
    out: dict[str, dict[str, bool]] = {}
    for part, listing in re.findall(r"(read|save):(.*?)(?=save:|$)", text):
        out[part] = {
            name: state == "ok" for name, state in re.findall(r"(\w+) : (ok|N/A)", listing)
        }
    return out


GAMMU_CPMS: Final[dict[int, tuple[frozenset[str], frozenset[str], frozenset[str]]]] = {
    255: (_set("SM", "ME", "SM_P", "ME_P", "MT"),) * 3,  # Alcatel S320, spaces after commas
    256: (_set("SM", "ME"),) * 3,  # Huawei E3372 (Brovi): no SR, ../shared/docs §4 "Huawei"
    257: (_set("SM", "ME"),) * 3,
    # Samsung J700 answers an empty "+CPMS: ". gammu special-cases Samsung and assumes SM and ME
    # (at-sms.c "Assuming broken Samsung response"); our parser reports what the reply says:
    # nothing, three empty sets, and the driver falls back to its defaults. So gammu's "ok"s for
    # this device are not asserted against the sets.
    258: (_set(), _set(), _set()),
    259: (_set("SM"),) * 3,  # iWOW: "SM","SM","SM" without parentheses, the same list for each
    # The generic SR dump has a quote missing: (ME", "SR"), ("ME", "SR"), ("ME").
    260: (_set("ME", "SR"), _set("ME", "SR"), _set("ME")),
}
GAMMU_CPMS_DIFFERENCES: Final = frozenset({258})


@pytest.mark.parametrize("vector", use(sorted(GAMMU_CPMS)), ids=case_id)
def test_cpms_test_gammu(vector: Vector) -> None:
    memories = _memories(vector)
    assert memories == GAMMU_CPMS[vector["id"]]
    gammu = _gammu_memories(vector["expected"]["gammu_memories"])
    assert set(gammu) == {"read", "save"}
    if vector["id"] in GAMMU_CPMS_DIFFERENCES:
        assert all(gammu["read"][name] for name in ("ME", "SM"))  # gammu's Samsung assumption
        return
    for part, offered in (("read", memories[0]), ("save", memories[1])):
        for name, ok in gammu[part].items():
            assert (name in offered) is ok, (part, name)


# --- +CNMI=? ---------------------------------------------------------------------------------


def _values(*groups: Sequence[int]) -> tuple[frozenset[int], ...]:
    return tuple(frozenset(group) for group in groups)


GAMMU_CNMI: Final[dict[int, tuple[frozenset[int], ...]]] = {
    252: _values([2], [0, 1, 3], [0, 2], [0, 1], [0]),
    253: _values([0, 1, 2], [0, 1, 3], [0], [0, 1], [0, 1]),
    254: _values(range(4), range(4), range(4), [0, 1], [0, 1]),  # "+CNMI:(0-3)", no space
}


@pytest.mark.parametrize("vector", use(sorted(GAMMU_CNMI)), ids=case_id)
def test_cnmi_test_gammu(vector: Vector) -> None:
    assert vector["expected"]["gammu_cnmi_parse"] == "success"
    assert parse_cnmi_test(only_reply(vector)) == GAMMU_CNMI[vector["id"]]


def test_cnmi_test_without_parentheses() -> None:
    assert parse_cnmi_test(["+CNMI: 0-2,1,0,0-2,0"]) == _values(range(3), [1], [0], range(3), [0])


# --- Everything else the driver reads --------------------------------------------------------


def test_cpms_usage() -> None:
    # smslib CServiceTest.testIsError's AT+CPMS reply, and the bare form of AT+CPMS=<mem>.
    assert parse_cpms_usage(['+CPMS: "SM",3,25,"SM",3,25,"SM",3,25']) == [(3, 25)] * 3
    assert parse_cpms_usage(["+CPMS: 0,30,0,30,0,30"]) == [(0, 30)] * 3
    assert parse_cpms_usage(['+CPMS: "SR",1,20']) == [(1, 20)]


def test_cpms_read_names_each_memory() -> None:
    # smslib's reply again, with its names; a report storage read as <mem1> beside the one
    # messages go to (TS 27.005 §3.2.2 read command); firmware that gives <mem1> alone.
    assert parse_cpms_read(['+CPMS: "SM",3,25,"SM",3,25,"SM",3,25']) == [("SM", 3, 25)] * 3
    assert parse_cpms_read(['+CPMS: "SR",7,20,"ME",0,100,"ME",0,100']) == [
        ("SR", 7, 20),
        ("ME", 0, 100),
        ("ME", 0, 100),
    ]
    assert parse_cpms_read(['+CPMS: "sm",1,30']) == [("SM", 1, 30)]


def test_cnmi_read() -> None:
    # TS 27.005 §3.4.1 read command; after a missed AT+CNMA the ME sets <mt> and <ds> to 0.
    assert parse_cnmi(["+CNMI: 2,1,0,1,0"]) == (2, 1, 0, 1, 0)
    assert parse_cnmi(["+CNMI: 2,0,0,0,0"]) == (2, 0, 0, 0, 0)


def test_csms() -> None:
    assert parse_csms(["+CSMS: 1,1,1"]) == (1, 1, 1)
    assert parse_csms(["+CSMS: 0,1,1,1"]) == (1, 1, 1)  # AT+CSMS?: <service> first


@pytest.mark.parametrize(
    ("line", "expected"),
    [("+CPIN: READY", "READY"), ("+CPIN: SIM PIN", "SIM PIN"), ('+CPIN: "ready"', "READY")],
)
def test_cpin(line: str, expected: str) -> None:
    assert parse_cpin([line]) == expected


def test_csq() -> None:
    # python-gsmmodem test_signalStrength: '+CSQ: 18,99', '+CSQ:4,0', '+CSQ: 99,99'.
    assert parse_csq(["+CSQ: 18,99"]) == (18, 99)
    assert parse_csq(["+CSQ:4,0"]) == (4, 0)
    assert parse_csq(["+CSQ: 99,99"]) == (99, 99)
    assert [rssi_dbm(value) for value in (0, 18, 31, 32, 99)] == [-113, -77, -51, None, None]


def test_registration() -> None:
    # python-gsmmodem test_waitForNetorkCoverage replies ('+CREG: 0,2', '0,1', '0,5', '0,3').
    assert parse_registration(["+CREG: 0,1"]) == Registration(1)
    assert parse_registration(["+CREG: 0,5"]).registered
    assert not parse_registration(["+CREG: 0,2"]).registered
    assert not parse_registration(["+CREG: 0,3"]).registered
    full = parse_registration(['+CEREG: 2,1,"1A2B","00C3D4E5",7'], "+CEREG:")
    assert full == Registration(1, "1A2B", "00C3D4E5", 7)
    assert parse_registration_urc("1") == Registration(1)
    assert parse_registration_urc('5,"1A2B","00C3D4E5"') == Registration(5, "1A2B", "00C3D4E5")


def test_registration_roaming() -> None:
    # ModemManager test-modem-helpers.c: "+CREG: 2,5,\"0502\",\"0404736D\"" (roaming) and
    # "+CREG: 2,6,\"8B37\",\"0A265185\",7" (SMS only, home).
    roaming = parse_registration(['+CREG: 2,5,"0502","0404736D"'])
    assert roaming == Registration(5, "0502", "0404736D")
    assert roaming.registered and roaming.roaming
    home = parse_registration(['+CREG: 2,6,"8B37","0A265185",7'])
    assert home == Registration(6, "8B37", "0A265185", 7)
    assert home.registered and not home.roaming
    assert not parse_registration(["+CREG: 0,1"]).roaming


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # ModemManager test-modem-helpers.c cops_query_data, each format.
        ('+COPS: 1,0,"CHINA MOBILE"', Operator(1, 0, "CHINA MOBILE")),
        ('+COPS: 1,0,"CHINA MOBILE",7', Operator(1, 0, "CHINA MOBILE", 7)),
        ('+COPS: 1,2,"46000"', Operator(1, 2, "46000")),
        ('+COPS: 1,2,"46000",7', Operator(1, 2, "46000", 7)),
        # A gsm-nodejs log: "+COPS: 0,0,\"VIETTEL\",2" (UTRAN); the short format (1).
        ('+COPS: 0,0,"VIETTEL",2', Operator(0, 0, "VIETTEL", 2)),
        ('+COPS: 0,1,"OP"', Operator(0, 1, "OP")),
        # Not registered: the mode alone.
        ("+COPS: 0", Operator(0)),
        # ModemManager normalize_operator_tests: with AT+CSCS="UCS2" the name is UCS-2 hex.
        ('+COPS: 0,0,"0056006500720069007A006F006E",7', Operator(0, 0, "Verizon", 7)),
        ('+COPS: 0,2,"003300310031003400380030"', Operator(0, 2, "311480")),
    ],
)
def test_cops_read(line: str, expected: Operator) -> None:
    assert parse_cops([line]) == expected


def test_cops_malformed() -> None:
    with pytest.raises(AtReplyError):
        parse_cops([])
    with pytest.raises(AtReplyError):
        parse_cops(['+COPS: x,0,"A"'])


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # TS 27.007 §8.65, recorded on a Pycom FiPy (Sequans): AT+CPINR.
        (
            [
                "+CPINR: SIM PIN,3,3",
                "+CPINR: SIM PUK,10,10",
                "+CPINR: SIM PIN2,3,3",
                "+CPINR: SIM PUK2,10,10",
            ],
            PinAttempts(3, 10),
        ),
        # The code quoted, and one code asked alone (AT+CPINR="SIM PIN").
        (['+CPINR: "SIM PIN",2,3'], PinAttempts(2, None)),
        # Quectel BG95 AT+QPINC?: "SC" is the SIM PIN and its PUK, "P2" PIN2.
        (['+QPINC: "SC",3,10', '+QPINC: "P2",3,10'], PinAttempts(3, 10)),
        # Huawei E1750/EM770 AT^CPIN?: <code>,[<times>],<puk>,<pin>,<puk2>,<pin2>.
        (["^CPIN: SIM PIN,3,10,3,10,3"], PinAttempts(3, 10)),
        (["^CPIN: READY,,10,3,10,3"], PinAttempts(3, 10)),
        (["^CPIN: SIM PUK,9,9,0,10,3"], PinAttempts(0, 9)),
        # SIMCom AT+SPIC: <pin>,<puk>,<pin2>,<puk2> (a SIM800 test fixture), and the short
        # form of older firmware.
        (["+SPIC: 3,10,0,10"], PinAttempts(3, 10)),
        (["+SPIC: 1"], PinAttempts(1, None)),
    ],
)
def test_pin_attempts(lines: list[str], expected: PinAttempts) -> None:
    assert parse_pin_attempts(lines) == expected


def test_pin_attempts_unknown() -> None:
    assert parse_pin_attempts([]) is None
    assert parse_pin_attempts(["+CPINR: SIM PIN2,3,3"]) is None  # not the SIM's own PIN
    assert parse_pin_attempts(['+QPINC: "P2",3,10']) is None


def test_cnum_and_text() -> None:
    assert parse_cnum(['+CNUM: "Own","+15551234567",145', '+CNUM: "",,129']) == ["+15551234567"]
    assert parse_cnum([]) == []
    # python-gsmmodem test_manufacturer / test_model: bare replies; some add the prefix.
    assert parse_text(["huawei"], "+CGMI:") == "huawei"
    assert parse_text(['+CGMM: "K3715"'], "+CGMM:") == "K3715"
    assert parse_text(["SIMCOM_Ltd", "SIMCOM_SIM800"], "+CGMI:") == "SIMCOM_Ltd SIMCOM_SIM800"


def test_fields() -> None:
    assert fields('"SM",3,,25') == ["SM", "3", "", "25"]
    assert fields('1,1,"Smith, J",25') == ["1", "1", "Smith, J", "25"]
    assert fields("") == [""]


def test_cmgr_empty_slot() -> None:
    # ../shared/docs/gsm-at-pdu.md §3: an empty slot answers OK alone.
    assert parse_cmgr([]) is None


def test_cmgr_empty_slot_siemens_mc35() -> None:
    # Siemens MC35(i) answers AT+CMGR on an empty slot with "+CMGR: 0,,0" and OK, no PDU line
    # (gammu libgammu/phone/at/at-sms.c, ATGEN_ReplyGetSMSMessage: "Siemens MC35 (only ?)",
    # returns ERR_EMPTY). A TPDU <length> of 0 is no message: the slot is empty (None, as the
    # docstring promises), not a malformed reply.
    assert parse_cmgr(["+CMGR: 0,,0"]) is None


# --- Error paths: AtReplyError, which is also a ValueError ----------------------------------

ERRORS: Final[list[tuple[Callable[..., object], tuple[Any, ...], str]]] = [
    (parse_cmgl, (["+CMGL: 1,1,,25"],), "AT+CMGL"),  # the PDU line is missing
    (parse_cmgl, (["+CMGL: 1,1,,25", "+CMGL: 2,1,,25", "00"],), "AT+CMGL"),
    (parse_cmgl, (["+CMGL: 1", "00"],), "AT+CMGL"),
    (parse_cmgl, (["+CMGL: x,1,,25", "00"],), "AT+CMGL"),
    (parse_cmgl, (["+CMGL: 1,1,,zz", "00"],), "AT+CMGL"),
    (parse_cmgl, (['+CMGL: 1,"REC READ","+1555",,"24/01/01,12:00:00+00"', "Hi"],), "AT+CMGL"),
    (parse_cmgr, (["+CMGR: 0,,24"],), "AT+CMGR"),
    (parse_cmgr, (["+CMGR: 0,,xx", "00"],), "AT+CMGR"),
    (parse_cmgs, ([],), "AT+CMGS"),
    (parse_cmgs, (["+CMGS: abc"],), "AT+CMGS"),
    (parse_cmgs, (["+CMGS: 256"],), "AT+CMGS"),
    (parse_cmgs, (["+CMGS: -1"],), "AT+CMGS"),
    (parse_cpms_usage, ([],), "AT+CPMS"),
    (parse_cpms_usage, (['+CPMS: "SM",3'],), "AT+CPMS"),
    (parse_cpms_usage, (['+CPMS: "SM"'],), "AT+CPMS"),
    (parse_cpms_read, ([],), "AT+CPMS?"),
    (parse_cpms_read, (["+CPMS: 0,30,0,30,0,30"],), "AT+CPMS?"),  # a set's reply: no names
    (parse_cpms_read, (['+CPMS: "SM",3,25,"ME",1'],), "AT+CPMS?"),
    (parse_cnmi_test, ([],), "AT+CNMI=?"),
    (parse_cnmi_test, (["+CNMI: (a-b)"],), "AT+CNMI=?"),
    (parse_cnmi_test, (["+CNMI: (1-x),(0)"],), "AT+CNMI=?"),
    (parse_cnmi, ([],), "AT+CNMI?"),
    (parse_cnmi, (["+CNMI: 2,1,0"],), "AT+CNMI?"),
    (parse_cnmi, (["+CNMI: 2,x,0,1,0"],), "AT+CNMI?"),
    (parse_csms, ([],), "AT+CSMS"),
    (parse_csms, (["+CSMS: 1,1"],), "AT+CSMS"),
    (parse_csms, (["+CSMS: 1,x,1"],), "AT+CSMS"),
    (parse_cpin, ([],), "AT+CPIN?"),
    (parse_cpin, (["OK"],), "AT+CPIN?"),
    (parse_csq, ([],), "AT+CSQ"),
    (parse_csq, (["+CSQ: 18"],), "AT+CSQ"),
    (parse_csq, (["+CSQ: x,99"],), "AT+CSQ"),
    (parse_registration, ([],), "AT+CREG?"),
    (parse_registration, (["+CREG: 1"],), "AT+CREG?"),  # the URC form is not a query reply
    (parse_registration, (["+CREG: 0,x"],), "AT+CREG?"),
    (parse_registration, (["+CREG: 0,1"], "+CEREG:"), "AT+CEREG?"),
    (parse_registration_urc, ("x",), "+CREG"),
    (parse_registration_urc, ("",), "+CREG"),
    (parse_storage_urc, ('"SM"',), "+CMTI"),
    (parse_storage_urc, ('"SM",x',), "+CMTI"),
    (parse_storage_urc, ("",), "+CMTI"),
    (parse_pdu_urc_length, ("",), "+CMT"),
    (parse_pdu_urc_length, (",x",), "+CMT"),
]


@pytest.mark.parametrize(
    ("parser", "args", "command"),
    ERRORS,
    ids=[f"{getattr(parser, '__name__', 'parser')}-{n}" for n, (parser, _, _) in enumerate(ERRORS)],
)
def test_reply_errors(parser: Callable[..., object], args: tuple[Any, ...], command: str) -> None:
    with pytest.raises(AtReplyError) as error:
        parser(*args)
    assert isinstance(error.value, ValueError)
    assert error.value.command == command


def test_reply_error_keeps_the_lines() -> None:
    lines = ("+CMGL: 1,1,,25",)
    with pytest.raises(AtReplyError) as error:
        parse_cmgl(lines)
    assert error.value.lines == lines


# --- Coverage of the corpus ------------------------------------------------------------------


def test_every_vector_is_handled() -> None:
    assert len(VECTORS) == 76
    assert {vector["kind"] for vector in VECTORS.values()} == {"at_transcript"}
    assert all(vector["device"] for vector in VECTORS.values())
    assert set(VECTORS) - HANDLED == set()


# --- +CUSD (TS 27.007 §7.15), as real modems print it -----------------------------------------

CUSD_LINES: Final = [
    # python-gsmmodem test_modem.py test_sendUssd: plain text in the TE character set.
    ('0,"Available Balance: R 96.45 .",15', False, Cusd(0, "Available Balance: R 96.45 .", 15)),
    ('1,"Hallo daar",15', False, Cusd(1, "Hallo daar", 15)),
    ('2,"Totsiens",15', False, Cusd(2, "Totsiens", 15)),
    # A SIM900 balance answer with dcs 64 (0x40: general data coding, GSM 7-bit).
    (
        '0,"Your account balance is 49.10 USD and will expire on 04/03/16.",64',
        False,
        Cusd(0, "Your account balance is 49.10 USD and will expire on 04/03/16.", 64),
    ),
    # UCS-2 as hexadecimal, dcs 72 (StackOverflow 23102775, a Russian operator), on any modem.
    ('0,"0421043F0430044104380431043E",72', False, Cusd(0, "Спасибо", 72)),
    ('0,"0421043F0430044104380431043E",72', True, Cusd(0, "Спасибо", 72)),
    # Huawei packed GSM 7-bit hex, with a space before <dcs> (MikroTik LTE manual).
    ('0,"EBB79B1E0685E9ECF4BADE9E03", 0', True, Cusd(0, "konta atlikums", 0)),
    # "+CUSD: 2" alone (a network that ended the session), "+CUSD: 4" (Airtel: not supported).
    ("2", False, Cusd(2)),
    ("4", False, Cusd(4)),
    # A modem that converted UCS-2 to the TE character set already: the text as it is.
    ('0,"Balance 5",72', False, Cusd(0, "Balance 5", 72)),
    # No <dcs>: the default, 15.
    ('0,"Hi"', False, Cusd(0, "Hi", None)),
]


@pytest.mark.parametrize(("value", "packed", "expected"), CUSD_LINES)
def test_parse_cusd(value: str, packed: bool, expected: Cusd) -> None:
    answer = parse_cusd(value, packed=packed)
    assert (answer.m, answer.text, answer.dcs) == (expected.m, expected.text, expected.dcs)


def test_parse_cusd_keeps_the_string_as_printed() -> None:
    assert parse_cusd('0,"EBB79B1E0685E9ECF4BADE9E03", 0', packed=True).raw == (
        "EBB79B1E0685E9ECF4BADE9E03"
    )


def test_parse_cusd_refuses_what_is_no_cusd() -> None:
    with pytest.raises(AtReplyError):
        parse_cusd("(0-2)")
