"""Byte links to a modem: a serial port (or pty), a TCP connection, or an in-memory pipe.

Everything above this module talks to a :class:`Link` and does not know which one it has.
This is the only module that imports pyserial, and only when a serial port is opened: a gateway
whose modems are reached over TCP or simulated never loads it (start-up and memory, issue 17).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Final, Protocol
from urllib.parse import urlsplit

from drivers.errors import ModemLost, TransportError

READ_SIZE: Final = 4096


class Link(Protocol):
    """A duplex byte stream to a modem."""

    name: str

    async def read(self) -> bytes:
        """Wait for data; ``b""`` once the other end has closed. Raises :class:`ModemLost`."""

    async def write(self, data: bytes) -> None:
        """Send ``data``; raises :class:`ModemLost` when the link is gone."""

    async def close(self) -> None:
        """Close the link; reads then return ``b""``. Closing twice is harmless."""


class StreamLink:
    """A :class:`Link` over asyncio streams (serial ports through pyserial-asyncio, TCP).

    pyserial's ``SerialException`` is an ``OSError`` (``IOError``), so ``OSError`` is what a
    lost link raises whichever it is.
    """

    def __init__(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.name = name
        self._reader = reader
        self._writer = writer

    async def read(self) -> bytes:
        try:
            return await self._reader.read(READ_SIZE)
        except OSError as exc:
            raise ModemLost(f"{self.name}: {exc}") from exc

    async def write(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise ModemLost(f"{self.name}: the link is closed")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as exc:
            raise ModemLost(f"{self.name}: {exc}") from exc

    async def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


async def open_serial(path: str, baudrate: int = 115200, rtscts: bool = False) -> StreamLink:
    """Open a serial device (``/dev/ttyUSB2``, ``/dev/serial/by-id/...``, or a pty)."""
    import serial  # noqa: PLC0415 (pyserial only where a serial port is opened: see above)
    import serial_asyncio  # noqa: PLC0415

    try:
        reader, writer = await serial_asyncio.open_serial_connection(
            url=path, baudrate=baudrate, rtscts=rtscts
        )
    except (OSError, serial.SerialException, ValueError) as exc:
        raise TransportError(f"cannot open {path}: {exc}") from exc
    return StreamLink(path, reader, writer)


async def open_tcp(host: str, port: int) -> StreamLink:
    """Connect to a modem shared over TCP (e.g. by ser2net)."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        raise TransportError(f"cannot connect to {host}:{port}: {exc}") from exc
    return StreamLink(f"tcp://{host}:{port}", reader, writer)


def parse_tcp_url(url: str) -> tuple[str, int]:
    """``tcp://host:port`` -> (host, port); raises :class:`TransportError` when malformed."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise TransportError(f"{url}: {exc}") from None
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise TransportError(f"{url}: expected tcp://HOST:PORT")
    return parts.hostname, port


async def open_link(port: str, baudrate: int = 115200, rtscts: bool = False) -> StreamLink:
    """``tcp://host:port`` opens a TCP connection; anything else is a serial device path."""
    if port.startswith("tcp://"):
        return await open_tcp(*parse_tcp_url(port))
    return await open_serial(port, baudrate, rtscts)


# --- In-memory pipe --------------------------------------------------------------------------

Manipulator = Callable[[bytes], Iterable[bytes]]
"""Rewrites what one end writes into the chunks the other end reads: split it, corrupt it,
drop it. Chunks are delivered in order, each as a separate read."""


class PipeEnd:
    """One end of :func:`pipe`. ``manipulator`` applies to what this end writes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.manipulator: Manipulator | None = None
        self.delay_chunks = 0
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._peer: PipeEnd | None = None
        self._closed = False
        # Why the link failed. A new ModemLost is raised each time: one instance raised again
        # and again would gather every raise's frames in its traceback.
        self._failure: str | None = None

    async def read(self) -> bytes:
        if self._failure is not None:
            raise ModemLost(self._failure)
        if self._closed and self._inbox.empty():
            return b""
        chunk = await self._inbox.get()
        if chunk is None:
            self._closed = True
            if self._failure is not None:
                raise ModemLost(self._failure)
            return b""
        return chunk

    async def write(self, data: bytes) -> None:
        peer = self._peer
        if self._failure is not None:
            raise ModemLost(self._failure)
        if self._closed or peer is None or peer._closed:
            raise ModemLost(f"{self.name}: the link is closed")
        chunks = list(self.manipulator(data)) if self.manipulator else [data]
        for chunk in chunks:
            for _ in range(self.delay_chunks):
                # Let the reader run between chunks: bytes trickle in as from a slow UART.
                await asyncio.sleep(0)
            if chunk:
                peer._inbox.put_nowait(chunk)

    async def close(self) -> None:
        """Close both directions, as pulling the cable would."""
        for end in (self, self._peer):
            if end is not None and not end._closed:
                end._closed = True
                end._inbox.put_nowait(None)

    def fail(self, reason: str) -> None:
        """Make the next read on this end fail with an I/O error (``ModemLost``)."""
        self._failure = f"{self.name}: {reason}"
        self._inbox.put_nowait(None)


def pipe(a_name: str = "host", b_name: str = "modem") -> tuple[PipeEnd, PipeEnd]:
    """Two connected in-memory link ends, e.g. the driver's and a simulated modem's."""
    a, b = PipeEnd(a_name), PipeEnd(b_name)
    a._peer, b._peer = b, a
    return a, b


def split_every(size: int) -> Manipulator:
    """A manipulator that delivers writes ``size`` bytes at a time (1: byte by byte)."""

    def manipulate(data: bytes) -> Iterable[bytes]:
        return [data[index : index + size] for index in range(0, len(data), size)]

    return manipulate
