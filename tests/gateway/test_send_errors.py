"""The +CMS ERROR table (../shared/docs/gsm-at-pdu.md §3.2): what each refusal of AT+CMGS
does to the message."""

from __future__ import annotations

import pytest

from gateway.domain.send_errors import Kind, Meaning, meaning

PERMANENT, TEMPORARY, LOCAL, DUPLICATE = Kind.PERMANENT, Kind.TEMPORARY, Kind.LOCAL, Kind.DUPLICATE


@pytest.mark.parametrize(
    ("code", "kind", "twilio"),
    [
        (1, PERMANENT, 30005),  # unassigned number
        (8, PERMANENT, 30004),  # operator determined barring
        (10, PERMANENT, 30004),  # call barred
        (21, PERMANENT, 30007),  # short message transfer rejected
        (27, TEMPORARY, 30003),  # destination out of service: back off
        (28, PERMANENT, 30005),
        (29, PERMANENT, 30008),
        (30, PERMANENT, 30005),
        (38, TEMPORARY, 30008),
        (41, TEMPORARY, 30008),
        (42, TEMPORARY, 30008),
        (47, TEMPORARY, 30008),
        (50, PERMANENT, 30008),  # no SMS on the plan, no credit
        (69, PERMANENT, 30008),
        (81, TEMPORARY, 30008),
        (95, PERMANENT, 30008),  # invalid message: our PDU
        (111, PERMANENT, 30008),
        (127, PERMANENT, 30008),
        (128, PERMANENT, 30008),  # TP-PID not supported
        (144, PERMANENT, 30008),  # TP-DCS not supported
        (176, PERMANENT, 30008),  # TPDU not supported
        (192, TEMPORARY, 30008),  # SC busy
        (193, PERMANENT, 30008),  # no SC subscription
        (194, TEMPORARY, 30008),
        (195, PERMANENT, 30005),  # invalid SME address
        (196, PERMANENT, 30004),  # destination SME barred
        (197, DUPLICATE, 30008),  # the SC has it already: sent
        (208, LOCAL, 30008),  # SIM SMS storage full
        (213, LOCAL, 30008),
        (255, TEMPORARY, 30008),  # unspecified: once more
        (300, LOCAL, 30008),  # ME failure
        (301, LOCAL, 30008),
        (302, LOCAL, 30008),  # operation not allowed: the modem's mode
        (304, PERMANENT, 30008),  # invalid PDU: sending it again changes nothing
        (305, LOCAL, 30008),  # text-mode syntax: the modem lost AT+CMGF=0
        (310, LOCAL, 30008),  # SIM not inserted
        (314, LOCAL, 30008),  # SIM busy
        (318, LOCAL, 30008),
        (320, LOCAL, 30008),
        (322, LOCAL, 30008),
        (330, LOCAL, 30008),  # SMSC address unknown
        (331, LOCAL, 30008),  # no network service: wait for registration
        (332, TEMPORARY, 30008),  # network timeout
        (500, TEMPORARY, 30008),  # SIM800's catch-all
        (513, TEMPORARY, 30008),  # manufacturer specific
    ],
)
def test_the_shared_table(code: int, kind: Kind, twilio: int) -> None:
    assert meaning(code) == Meaning(kind, twilio)


def test_a_plain_error_is_tried_again() -> None:
    assert meaning(None) == Meaning(TEMPORARY, 30008)
