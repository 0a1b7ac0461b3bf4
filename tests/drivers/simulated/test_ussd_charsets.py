"""USSD strings in the TE character set (TS 27.007 §7.15 with AT+CSCS, §5.5), byte for byte:
a GSM 7-bit ``<str>`` is read and printed in the set the host chose, as gammu relies on (it
sets "UCS2" and sends ``*100#`` as UCS-2 hex); an answer the set cannot show comes in UCS-2."""

from __future__ import annotations

import asyncio

import pytest

from drivers.at.transport import Link
from drivers.simulated import SimulatedModem
from drivers.simulated.ussd import UssdRule
from tests.drivers.simulated.test_voice_hangup import answer, started
from tests.drivers.simulator_rig import WAIT

BALANCE = "Your balance is 12.34 EUR. Valid until 31.12.2026."


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


async def ask(sim: SimulatedModem, host: Link, charset: str, string: str) -> bytes:
    """The ``+CUSD`` line that answers ``string``, sent with the TE character set ``charset``."""
    assert await answer(host, f'AT+CSCS="{charset}"'.encode()) == b"\r\nOK\r\n"
    assert await answer(host, f'AT+CUSD=1,"{string}",15'.encode()) == b"\r\nOK\r\n"
    data = b""
    async with asyncio.timeout(WAIT):
        while b"+CUSD: " not in data or not data.endswith(b"\r\n"):
            chunk = await host.read()
            assert chunk, f"the link closed after {data!r}"
            data += chunk
    return data


async def test_a_request_and_its_answer_in_ucs2() -> None:
    sim, host = await started("generic")
    assert ucs2("*100#") == "002A0031003000300023"
    said = await ask(sim, host, "UCS2", "002A0031003000300023")
    assert said == f'\r\n+CUSD: 0,"{ucs2(BALANCE)}",15\r\n'.encode()
    assert sim.ussd.requests == ["*100#"]
    await host.close()


GREETING = "Gr\u00fc\u00dfe @ caf\u00e9"  # in the GSM alphabet, not in IRA (ASCII)


@pytest.mark.parametrize(
    ("charset", "line"),
    [
        # The septet values, one byte each: ü 0x7E, ß 0x1E, @ 0x00, é 0x05 (TS 23.038 §6.2.1).
        ("GSM", b'+CUSD: 0,"Gr\x7e\x1ee \x00 caf\x05",15'),
        ("8859-1", b'+CUSD: 0,"Gr\xfc\xdfe @ caf\xe9",15'),
        ("UCS2", f'+CUSD: 0,"{ucs2(GREETING)}",15'.encode()),
        # IRA cannot show it: the answer comes in UCS-2, dcs 72.
        ("IRA", f'+CUSD: 0,"{ucs2(GREETING)}",72'.encode()),
    ],
)
async def test_an_answer_in_each_character_set(charset: str, line: bytes) -> None:
    sim, host = await started("generic")
    sim.ussd.set_rule("*9#", UssdRule(GREETING))
    said = await ask(sim, host, charset, ucs2("*9#") if charset == "UCS2" else "*9#")
    assert said == b"\r\n" + line + b"\r\n"
    assert sim.ussd.requests == ["*9#"]
    await host.close()


async def test_a_request_not_in_the_character_set_is_refused() -> None:
    sim, host = await started("generic")
    assert await answer(host, b'AT+CSCS="UCS2"') == b"\r\nOK\r\n"
    assert await answer(host, b'AT+CUSD=1,"*100#",15') == b"\r\nERROR\r\n"
    assert sim.ussd.requests == []
    await host.close()
