"""The per-modem guard: a part on the air and a USSD session, one at a time; a second
session refused, not queued. Each task runs until it blocks as soon as the loop turns once."""

from __future__ import annotations

import asyncio

import pytest

from gateway.modems.exclusive import Exclusive, UssdBusy


async def _turn() -> None:
    await asyncio.sleep(0)  # one turn of the loop: a task just made runs until it blocks


async def test_a_part_waits_for_a_session_and_a_session_for_a_part() -> None:
    guard = Exclusive()
    order: list[str] = []

    async def part(name: str) -> None:
        async with guard.part():
            order.append(name)

    async with guard.ussd():
        assert guard.ussd_running
        sending = asyncio.create_task(part("part"))
        await _turn()
        assert not sending.done()
        order.append("session over")
    await sending
    assert order == ["session over", "part"]

    async def session() -> None:
        async with guard.ussd():
            order.append("session")

    async with guard.part():
        asking = asyncio.create_task(session())
        await _turn()
        assert guard.ussd_running and not asking.done()
        order.append("part landed")
    await asking
    assert order[-2:] == ["part landed", "session"]
    assert not guard.ussd_running


async def test_a_second_session_is_refused_even_while_the_first_waits() -> None:
    guard = Exclusive()

    async def session() -> None:
        async with guard.ussd():
            pass

    async with guard.part():
        first = asyncio.create_task(session())
        await _turn()
        with pytest.raises(UssdBusy):
            await session()
    await first
    await session()  # once it ended, the next one runs
