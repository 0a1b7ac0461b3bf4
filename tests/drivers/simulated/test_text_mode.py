"""Text mode (TS 27.005 §3, ``AT+CMGF=1``) and the stored-message commands ``AT+CMGW`` and
``AT+CMSS`` in both modes, on the line as a host sees them (what AT software other than the
gateway, such as python-gsmmodem's ``smsTextMode``, relies on)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drivers.at.transport import Link, pipe
from drivers.simulated import SimulatedModem, SimulatedNetwork
from tests.drivers.simulated.test_simulated import read_until
from tests.drivers.simulator_rig import HANDSET, ME, parts

NOW = datetime(2026, 12, 7, 13, 40, 5, tzinfo=UTC)
SCTS = '"26/12/07,13:40:05+00"'
CTRL_Z = b"\x1a"


async def host_of(*setup: bytes) -> tuple[SimulatedModem, SimulatedNetwork, Link]:
    """A modem reporting at once, its network on a fixed clock, and a host that sent
    ``setup`` (each answered OK) with echo off."""
    sim = SimulatedModem([ME], report_delay=0.0)
    network = SimulatedNetwork(clock=lambda: NOW)
    network.attach(sim, ME)
    host, device = pipe()
    sim.start(device)
    for command in (b"ATE0", *setup):
        await host.write(command + b"\r")
        assert (await read_until(host, b"OK\r\n")).endswith(b"\r\nOK\r\n")
    return sim, network, host


async def ask(host: Link, command: bytes, end: bytes = b"OK\r\n") -> bytes:
    await host.write(command + b"\r")
    return await read_until(host, end)


async def test_a_text_is_sent_and_its_report_routed_in_text_mode() -> None:
    _, network, host = await host_of(b"AT+CMGF=1", b"AT+CSMP=49,167,0,0", b"AT+CNMI=2,1,0,1,0")
    assert await ask(host, b"AT+CMGF?") == b"\r\n+CMGF: 1\r\n\r\nOK\r\n"
    assert await ask(host, b"AT+CSMP?") == b"\r\n+CSMP: 49,167,0,0\r\n\r\nOK\r\n"
    assert await ask(host, f'AT+CMGS="{HANDSET}"'.encode(), b"> ") == b"\r\n> "
    await host.write(b" Hello in text mode " + CTRL_Z)  # spaces are part of a text
    # TS 27.005 §3.4.1 +CDS: <fo>,<mr>,<ra>,<tora>,<scts>,<dt>,<st>, after the send's OK.
    report = f'\r\n+CDS: 6,0,"{HANDSET}",145,{SCTS},{SCTS},0\r\n'.encode()
    assert await read_until(host, report) == b"\r\n+CMGS: 0\r\n\r\nOK\r\n" + report
    (submission,) = network.submissions
    assert (submission.destination, submission.submit.text) == (HANDSET, " Hello in text mode ")
    assert submission.submit.status_report_request  # AT+CSMP's first octet 49 asks for one
    assert submission.submit.validity is not None


async def test_a_ucs2_text_is_typed_in_hexadecimal() -> None:
    # TS 27.005 §3.1 <data>: with a UCS-2 <dcs> (AT+CSMP's 8), the text is typed as hex.
    _, network, host = await host_of(b"AT+CMGF=1", b"AT+CSMP=17,167,0,8")
    await ask(host, f'AT+CMGS="{HANDSET}"'.encode(), b"> ")
    await host.write("Привет €".encode("utf-16-be").hex().encode() + CTRL_Z)
    assert await read_until(host, b"OK\r\n") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert network.submissions[0].submit.text == "Привет €"


async def test_in_the_ucs2_character_set_addresses_and_texts_are_hexadecimal() -> None:
    # TS 27.007 §5.5: AT+CSCS="UCS2" writes each character as four hex digits, both ways.
    _, network, host = await host_of(b"AT+CMGF=1", b'AT+CSCS="UCS2"', b"AT+CNMI=2,2,0,0,0")
    hex_number = HANDSET.encode("utf-16-be").hex().upper()
    await ask(host, f'AT+CMGS="{hex_number}"'.encode(), b"> ")
    await host.write("Hi £".encode("utf-16-be").hex().encode() + CTRL_Z)
    assert await read_until(host, b"OK\r\n") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    (submission,) = network.submissions
    assert (submission.destination, submission.submit.text) == (HANDSET, "Hi £")
    assert submission.submit.dcs.raw == 0  # GSM 7-bit on the air: AT+CSMP's <dcs>
    network.inject(ME, HANDSET, "Zurück")
    text = "Zurück".encode("utf-16-be").hex().upper()
    cmt = f'\r\n+CMT: "{hex_number}",,{SCTS}\r\n\r\n{text}\r\n'.encode()
    assert await read_until(host, cmt) == cmt


async def test_messages_arrive_routed_and_stored_in_text_mode() -> None:
    _, network, host = await host_of(b"AT+CMGF=1", b"AT+CNMI=2,2,0,0,0")
    network.inject(ME, HANDSET, "Routed to you")
    cmt = f'\r\n+CMT: "{HANDSET}",,{SCTS}\r\n\r\nRouted to you\r\n'.encode()
    assert await read_until(host, cmt) == cmt
    await ask(host, b"AT+CSDH=1;+CNMI=2,1,0,0,0")
    network.inject(ME, HANDSET, "Stored for you")
    assert await read_until(host, b'+CMTI: "SM",1\r\n') == b'\r\n+CMTI: "SM",1\r\n'
    assert (
        await ask(host, b'AT+CMGL="ALL"')
        == (
            f'\r\n+CMGL: 1,"REC UNREAD","{HANDSET}",,{SCTS},145,4,0,0,"+15550000000",145,14\r\n'
            "\r\nStored for you\r\n\r\nOK\r\n"
        ).encode()
    )
    await ask(host, b"AT+CSDH=0")
    assert (
        await ask(host, b"AT+CMGR=1")
        == (
            f'\r\n+CMGR: "REC READ","{HANDSET}",,{SCTS}\r\n\r\nStored for you\r\n\r\nOK\r\n'
        ).encode()
    )
    assert await ask(host, b"AT+CMGL=4", b"ERROR\r\n") == b"\r\nERROR\r\n"  # PDU-mode stat


async def test_a_text_written_to_storage_and_sent_from_it() -> None:
    sim, network, host = await host_of(b"AT+CMGF=1", b"AT+CMEE=1")
    assert await ask(host, b'AT+CMGW="+447700900999"', b"> ") == b"\r\n> "
    await host.write(b"Draft" + CTRL_Z)
    assert await read_until(host, b"OK\r\n") == b"\r\n+CMGW: 1\r\n\r\nOK\r\n"
    assert await ask(host, b"AT+CMSS=1") == b"\r\n+CMSS: 0\r\n\r\nOK\r\n"
    assert await ask(host, b'AT+CMSS=1,"+447700900555"') == b"\r\n+CMSS: 1\r\n\r\nOK\r\n"
    assert [(s.destination, s.submit.text) for s in network.submissions] == [
        ("+447700900999", "Draft"),
        ("+447700900555", "Draft"),
    ]
    assert await ask(host, b'AT+CMGL="STO SENT"') == (
        b'\r\n+CMGL: 1,"STO SENT","+447700900999",\r\n\r\nDraft\r\n\r\nOK\r\n'
    )
    assert await ask(host, b"AT+CMSS=9", b"\r\n+CMS ERROR: 321\r\n")
    assert sim.storages["SM"].slots[1].stat == 3


async def test_a_pdu_written_to_storage_and_sent_from_it() -> None:
    _, network, host = await host_of(b"AT+CMEE=1")
    ((pdu, length),) = parts("Stored PDU", report=False)
    assert await ask(host, f"AT+CMGW={length}".encode(), b"> ") == b"\r\n> "
    await host.write(pdu.encode() + CTRL_Z)
    assert await read_until(host, b"OK\r\n") == b"\r\n+CMGW: 1\r\n\r\nOK\r\n"
    listed = await ask(host, b"AT+CMGL=4")
    assert listed == f"\r\n+CMGL: 1,2,,{length}\r\n\r\n{pdu}\r\n\r\nOK\r\n".encode()
    assert await ask(host, b"AT+CMSS=1") == b"\r\n+CMSS: 0\r\n\r\nOK\r\n"
    assert [s.submit.text for s in network.submissions] == ["Stored PDU"]
    assert await ask(host, b'AT+CMGS="+1555"', b"\r\n+CMS ERROR: 305\r\n")  # text syntax


async def test_what_other_software_asks_before_it_trusts_a_modem() -> None:
    """+GCAP, +CLAC, phonebooks, cell broadcast and SIM files answer as on a real modem
    (TS 27.007 §8.11, §8.12, §8.18, §8.37; TS 27.005 §3.3.4), not ERROR."""
    sim, network, host = await host_of(b"AT+CMEE=1")
    assert await ask(host, b"AT+GCAP") == b"\r\n+GCAP: +CGSM\r\n\r\nOK\r\n"
    supported = (await ask(host, b"AT+CLAC")).split(b"\r\n")
    assert {b"AT+CMGS", b"AT+CMSS", b"AT+CSMP", b"AT+CRSM", b"ATE"} <= set(supported)
    assert await ask(host, b'AT+CPBS="ON"') == b"\r\nOK\r\n"
    assert await ask(host, b"AT+CPBS?") == b'\r\n+CPBS: "ON",1,250\r\n\r\nOK\r\n'
    assert await ask(host, b"AT+CPBR=1") == f'\r\n+CPBR: 1,"{ME}",145,""\r\n\r\nOK\r\n'.encode()
    assert await ask(host, b"AT+CSCB=0") == b"\r\nOK\r\n"
    assert await ask(host, b"AT+CSCB?") == b'\r\n+CSCB: 0,"",""\r\n\r\nOK\r\n'
    iccid = await ask(host, b"AT+CRSM=176,12258,0,0,10")
    assert iccid.startswith(b'\r\n+CRSM: 144,0,"98') and len(iccid.split(b'"')[1]) == 20
    network.inject(ME, HANDSET, "on the SIM")
    await read_until(host, b'+CMTI: "SM",1\r\n')
    record = (await ask(host, b"AT+CRSM=178,28476,1,4,176")).split(b'"')[1]
    assert record.startswith(b"03") and record.endswith(b"FF") and len(record) == 352
    assert await ask(host, b"AT+CRSM=176,28539,0,0,12") == b"\r\n+CRSM: 106,130\r\n\r\nOK\r\n"
    assert sim.phonebook == "ON"


@pytest.mark.parametrize(
    ("setup", "command"),
    [
        ((), b"AT+CMGR=\xb2"),
        ((), b"AT+CMGD=\xb2"),
        ((), b"AT+CMGL=\xb2"),
        ((), b"AT+CMGS=\xb2"),
        ((), b"AT+CMSS=\xb2"),
        ((), b"AT+CUSD=\xb2"),
        ((b"AT+CMGF=1",), b'AT+CMGS="+15550002002",\xb2'),
        ((b"AT+CMGF=1",), b"AT+CSMP=17,\xb2,0,0"),
    ],
)
async def test_a_digit_that_is_not_ascii_is_an_error_not_the_end_of_the_modem(
    setup: tuple[bytes, ...], command: bytes
) -> None:
    """Byte 0xB2 is "²" on the 8-bit line, a digit to str.isdigit() that int() refuses: the
    ValueError ended the simulated modem, which answered nothing more."""
    _, _, host = await host_of(*setup)
    await host.write(command + b"\r")
    assert b"ERROR" in await read_until(host, b"ERROR\r\n")
    assert await ask(host, b"AT") == b"\r\nOK\r\n"
