"""USSD through python-gsmmodem-new against ``smsgw simulate --pty`` (TS 27.007 §7.15): a
balance, a menu walked with ``Ussd.reply``, a session cancelled, a UCS-2 answer, and the Huawei
personality, whose strings are packed hex both ways.

python-gsmmodem sends ``AT+CUSD=1,"<str>",15`` and hands back the ``<str>`` of the ``+CUSD``
that follows as it was printed: it neither reads ``<dcs>`` nor decodes the string. A UCS-2
answer (dcs 72) reaches its user as hex; the tests decode it with python-gsmmodem's own
``gsmmodem.pdu`` functions, as its user would have to.
"""

from __future__ import annotations

import pytest
from gsmmodem.exceptions import CommandError, InvalidStateException
from gsmmodem.pdu import decodeGsm7, decodeUcs2, encodeGsm7, packSeptets, unpackSeptets

from tests.foreign.conftest import WAIT, Connected

BALANCE = "Your balance is 12.34 EUR. Valid until 31.12.2026."  # the default rule for *100#


def test_the_balance(gsm_modem: Connected) -> None:
    answer = gsm_modem.modem.sendUssd("*100#", responseTimeout=WAIT)
    assert answer.message == BALANCE
    assert not answer.sessionActive  # <m> 0: no further action
    state = gsm_modem.simulator.get("/state")
    assert state["ussd"] == {"requests": ["*100#"], "menu_open": False}
    with pytest.raises(InvalidStateException):
        answer.reply("1")  # python-gsmmodem refuses to reply to a finished session


def test_a_menu_walked_with_replies(gsm_modem: Connected) -> None:
    menu = gsm_modem.modem.sendUssd("*101#", responseTimeout=WAIT)
    # The menu's lines are split by a bare LF inside the quotes: one line on the wire.
    assert menu.message == "1. Balance\n2. Bundles"
    assert menu.sessionActive  # <m> 1: the network waits for a reply
    bundles = menu.reply("2")
    assert bundles.message == "1. 1 GB for 5 EUR\n2. 5 GB for 15 EUR"
    assert bundles.sessionActive
    done = bundles.reply("1")
    assert (done.message, done.sessionActive) == ("1 GB added.", False)
    state = gsm_modem.simulator.get("/state")
    assert state["ussd"] == {"requests": ["*101#", "2", "1"], "menu_open": False}


def test_a_menu_cancelled(gsm_modem: Connected) -> None:
    simulator = gsm_modem.simulator
    menu = gsm_modem.modem.sendUssd("*101#", responseTimeout=WAIT)
    assert menu.sessionActive
    assert simulator.get("/state")["ussd"]["menu_open"]
    menu.cancel()  # AT+CUSD=2, answered OK
    assert simulator.get("/commands")[-1] == "AT+CUSD=2"
    assert not simulator.get("/state")["ussd"]["menu_open"]
    # The menu is gone: "1" is now a code of its own, which the network does not know.
    unknown = gsm_modem.modem.sendUssd("1", responseTimeout=WAIT)
    assert (unknown.message, unknown.sessionActive) == ("Unknown service code.", False)


def test_a_ucs2_answer(gsm_modem: Connected) -> None:
    text = "Баланс: 100 руб."
    gsm_modem.simulator.post("/ussd", {"code": "*102#", "answer": text, "ucs2": True})
    answer = gsm_modem.modem.sendUssd("*102#", responseTimeout=WAIT)
    # +CUSD: 0,"0411043004...",72: python-gsmmodem hands over the hex as printed.
    assert answer.message == text.encode("utf-16-be").hex().upper()
    octets = bytes.fromhex(answer.message)
    assert decodeUcs2(iter(octets), len(octets)) == text
    assert not answer.sessionActive


def packed(text: str) -> str:
    """``text`` as an E1752 wants and prints it: the hex of its packed GSM 7-bit septets, made
    with python-gsmmodem's own functions."""
    return bytes(packSeptets(encodeGsm7(text))).hex().upper()


def unpacked(string: str) -> str:
    return str(decodeGsm7(unpackSeptets(bytearray.fromhex(string))))


@pytest.mark.parametrize("personality", ["huawei"])
def test_the_huawei_wants_packed_strings(gsm_modem: Connected) -> None:
    """python-gsmmodem sends the string as given, in plain text: a Huawei E1752 refuses that
    (ERROR), which is a python-gsmmodem limitation. Its user can pack the string (and unpack
    the answer) themselves: the stick then answers in packed hex, as gammu and huawei-ussd.pl
    expect of it."""
    modem = gsm_modem.modem
    with pytest.raises(CommandError):
        modem.sendUssd("*100#", responseTimeout=WAIT)
    assert gsm_modem.simulator.get("/state")["ussd"]["requests"] == []
    answer = modem.sendUssd(packed("*100#"), responseTimeout=WAIT)
    assert unpacked(answer.message) == BALANCE
    assert not answer.sessionActive
    menu = modem.sendUssd(packed("*101#"), responseTimeout=WAIT)
    assert (unpacked(menu.message), menu.sessionActive) == ("1. Balance\n2. Bundles", True)
    done = menu.reply(packed("1"))
    assert (unpacked(done.message), done.sessionActive) == ("Your balance is 12.34 EUR.", False)
