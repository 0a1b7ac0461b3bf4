"""Incoming calls through python-gsmmodem-new against ``smsgw simulate --pty``: its
``incomingCallCallbackFunc`` on each ring with the caller's number (it turns on ``AT+CLIP=1``
and ``AT+CRC=1`` itself), and ``IncomingCall.hangup()`` (``ATH``) ending the call.

At connect python-gsmmodem sends ``AT+CVHU=0`` (TS 27.007 §6.20: ATH hangs up) and ignores
the answer; that is what makes ``ATH`` work on a Huawei stick, which ignores it otherwise
(smslib issue #5). The calls ring only when the test says (``"interval": 0``, then
``POST /ring``): nothing waits for a cadence.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.foreign.conftest import HANDSET, Connected, Simulator


def ended(simulator: Simulator) -> list[Any]:
    state = simulator.get("/state")
    assert state["call"] is None  # no call rings any more
    return [call["ended_by"] for call in state["calls_ended"]]


@pytest.mark.parametrize("personality", ["generic", "huawei"])
def test_a_call_rings_and_is_hung_up(gsm_modem: Connected, personality: str) -> None:
    modem, simulator = gsm_modem.modem, gsm_modem.simulator
    if personality == "huawei":
        # Its ^MODE/^RSSI status lines off, as a Huawei user must: see the test below.
        modem.write("AT^CURC=0")
    # The voice hang-up mode python-gsmmodem set: 0, ATH hangs up (a Huawei starts at 1).
    assert modem.write("AT+CVHU?") == ["+CVHU: 0", "OK"]
    simulator.post("/call", {"from": HANDSET, "interval": 0})
    call = gsm_modem.next_ring()
    assert (call.number, call.ringing, call.ringCount) == (HANDSET, True, 1)
    assert call.type == 0  # +CRING: VOICE
    assert simulator.post("/ring") == {"rang": True}
    again = gsm_modem.next_ring()
    assert again is call  # the same call, by its number
    assert call.ringCount == 2
    call.hangup()  # ATH, answered OK once the call is over
    assert ended(simulator) == ["ATH"]
    assert modem.activeCalls == {}
    assert simulator.post("/ring") == {"rang": False}


def test_a_withheld_number(gsm_modem: Connected) -> None:
    gsm_modem.simulator.post("/call", {"withheld": True, "interval": 0})
    call = gsm_modem.next_ring()
    # +CLIP: "",128,"",128,"",1: python-gsmmodem's pattern wants digits, so no number.
    assert (call.number, call.ringing) == (None, True)
    call.hangup()
    assert ended(gsm_modem.simulator) == ["ATH"]


def test_a_caller_who_gives_up(gsm_modem: Connected) -> None:
    """python-gsmmodem has no handler for an incoming call ended by the caller (NO CARRIER
    is no notification it knows): its call stays listed until its user hangs up, which the
    modem answers OK with no call left to end."""
    modem, simulator = gsm_modem.modem, gsm_modem.simulator
    simulator.post("/call", {"from": HANDSET, "interval": 0})
    call = gsm_modem.next_ring()
    assert simulator.post("/give-up", {"no_carrier": True}) == {"ended": True}
    assert ended(simulator) == ["caller"]
    assert call.ringing and list(modem.activeCalls.values()) == [call]
    call.hangup()
    assert modem.activeCalls == {}
    assert ended(simulator) == ["caller"]
    assert simulator.get("/commands")[-1] == "ATH"


@pytest.mark.parametrize("personality", ["huawei"])
def test_a_huawei_status_line_hides_the_caller_from_python_gsmmodem(gsm_modem: Connected) -> None:
    """Until ``AT^CURC=0`` a Huawei stick prints ``^MODE:5,4`` before its unsolicited codes.
    python-gsmmodem takes the first line of a notification holding ``RING`` for the RING
    itself and the next for the ``+CLIP``: here the status line and the ``+CRING``, so the
    call comes without its number (a python-gsmmodem limitation). Hanging up still works."""
    gsm_modem.simulator.post("/call", {"from": HANDSET, "interval": 0})
    call = gsm_modem.next_ring()
    assert (call.number, call.ringing) == (None, True)
    call.hangup()
    assert ended(gsm_modem.simulator) == ["ATH"]
