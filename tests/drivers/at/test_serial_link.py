"""Writes to a serial port (a real pty): straight to the port when it takes them, and the
rest through pyserial-asyncio's transport, in order (:meth:`StreamLink.write`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import AsyncIterator

import pytest

from drivers.at.transport import StreamLink, open_serial
from drivers.errors import ModemLost


@contextlib.asynccontextmanager
async def _pty_link() -> AsyncIterator[tuple[StreamLink, int]]:
    """A link on a pty's device end, and the pty's other end (a modem's side) as a raw fd."""
    controller, device = os.openpty()
    tty.setraw(device)  # no echo, no line editing: the bytes as written
    os.set_blocking(controller, False)
    link = await open_serial(os.ttyname(device))
    try:
        yield link, controller
    finally:
        await link.close()
        os.close(device)
        os.close(controller)


async def _read_exactly(fd: int, size: int) -> bytes:
    """What the other end reads of ``size`` bytes, as it arrives (awaiting readability)."""
    loop = asyncio.get_running_loop()
    got = bytearray()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)
    try:
        async with asyncio.timeout(10):
            while len(got) < size:
                await readable.wait()
                readable.clear()
                with contextlib.suppress(BlockingIOError):
                    got += os.read(fd, 65536)
    finally:
        loop.remove_reader(fd)
    return bytes(got)


async def test_a_command_reaches_the_port_before_the_write_returns() -> None:
    async with _pty_link() as (link, controller):
        await link.write(b"AT+CMGS=23\r")
        # Written at once, not at the loop's next turn: readable now, without awaiting.
        assert os.read(controller, 100) == b"AT+CMGS=23\r"


async def test_what_the_port_cannot_take_at_once_follows_in_order() -> None:
    async with _pty_link() as (link, controller):
        big = bytes(range(256)) * 1024  # 256 KiB: more than a pty holds unread
        first = asyncio.create_task(link.write(big))
        await asyncio.sleep(0)  # the first write has filled the pty and left the rest queued
        second = asyncio.create_task(link.write(b"\x1a"))  # must come after all of it
        received = await _read_exactly(controller, len(big) + 1)
        await asyncio.gather(first, second)
        assert received == big + b"\x1a"


async def test_a_closed_link_refuses_a_write() -> None:
    async with _pty_link() as (link, _):
        await link.close()
        with pytest.raises(ModemLost):
            await link.write(b"AT\r")
