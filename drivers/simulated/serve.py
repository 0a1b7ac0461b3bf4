"""Serving a simulated modem where other software can open it: a pty or a TCP port.

A pty opens exactly like a serial device (pyserial, minicom, gammu, ModemManager...). Its path
is a symbolic link to the pseudo-terminal, so that "unplugging" (closing the pty) and "plugging
back" (a new pty behind the same link) look to the host like a USB modem coming and going.

A pty has no line speed of its own, but it keeps the one the host sets (pyserial sets it on
open): termios calls on the master act on the slave's settings, so the simulator reads what
the host chose. A modem served with a fixed ``baud`` models one on a UART that does not
autobaud (a GPIO HAT set with ``AT+IPR``): what the host sends at any other speed reaches it as
noise, no command it can read, so it answers nothing; the noise stays in its command line, and
the first command sent at the right speed after it is answered ``ERROR``, as on a real line.
The speed is read as the modem reads the bytes, at once: a host that changes speed right after
writing, before anything could answer, may be heard at the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import termios
import tty
from pathlib import Path
from typing import Final

from drivers.at.transport import READ_SIZE, StreamLink
from drivers.errors import ModemLost, TransportError
from drivers.simulated.modem import SimulatedModem

_HANGUP_ERRORS: Final = (errno.EIO, errno.EBADF)
# What a UART set to another speed than the sender's makes of the bytes: framing errors and
# stray bits, never a command nor a line end (modelled as one 0xFF for each byte sent).
_NOISE: Final = b"\xff"


class FdLink:
    """A :class:`~drivers.at.transport.Link` over the master side of a pty."""

    def __init__(self, fd: int, name: str, speed: int | None = None) -> None:
        self.name = name
        self._fd = fd
        self._speed = speed  # termios B… constant the host must send at; None: any
        os.set_blocking(fd, False)
        self._closed = False
        self._waiting: asyncio.Future[None] | None = None

    async def read(self) -> bytes:
        loop = asyncio.get_running_loop()
        while not self._closed:
            try:
                data = os.read(self._fd, READ_SIZE)
                if data and not self._heard():
                    return _NOISE * len(data)  # sent at another speed
                return data
            except BlockingIOError:
                pass
            except OSError as exc:
                if exc.errno in _HANGUP_ERRORS:
                    return b""
                raise ModemLost(f"{self.name}: {exc}") from exc
            ready = self._waiting = loop.create_future()
            loop.add_reader(self._fd, _wake, ready)
            try:
                await ready
            finally:
                self._waiting = None
                if not self._closed:
                    loop.remove_reader(self._fd)
        return b""

    def _heard(self) -> bool:
        """Whether the host sends at the modem's speed (its output speed, as it last set it)."""
        if self._speed is None:
            return True
        try:
            return bool(termios.tcgetattr(self._fd)[5] == self._speed)
        except termios.error:
            return True  # no settings to read: nothing to tell the speeds apart by

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        loop = asyncio.get_running_loop()
        while view and not self._closed:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(self._fd, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_writer(self._fd)
            except OSError as exc:
                raise ModemLost(f"{self.name}: {exc}") from exc
        if self._closed:
            raise ModemLost(f"{self.name}: closed")

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            # A read waiting for the fd would never wake once it is closed: end it first.
            asyncio.get_running_loop().remove_reader(self._fd)
            if self._waiting is not None:
                _wake(self._waiting)
            with contextlib.suppress(OSError):
                os.close(self._fd)


def line_speed(baud: int) -> int:
    """The termios constant for ``baud`` bit/s; :class:`TransportError` when there is none."""
    speed = getattr(termios, f"B{baud}", None) if baud > 0 else None
    if not isinstance(speed, int):
        raise TransportError(f"{baud} is not a line speed a serial port can be set to")
    return speed


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PtyServer:
    """Serves ``modem`` on a pty whose path is the symbolic link ``path``; with ``baud``, the
    modem hears only a host that set that line speed (see above)."""

    def __init__(self, modem: SimulatedModem, path: str | Path, baud: int | None = None) -> None:
        self.modem = modem
        self.path = Path(path)
        self.baud = baud
        self._speed = None if baud is None else line_speed(baud)
        self.device = ""
        self._slave = -1
        self._link: FdLink | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create the pty (again, after :meth:`unplug`) and start answering on it."""
        master, self._slave = os.openpty()
        # Raw mode, so the line discipline neither echoes nor rewrites CR/LF before the host
        # opens the device (pyserial sets raw mode too when it does).
        tty.setraw(self._slave)
        tty.setraw(master)
        self.device = os.ttyname(self._slave)
        if self.path.is_symlink() or self.path.exists():
            self.path.unlink()
        try:
            self.path.symlink_to(self.device)
        except OSError as exc:
            os.close(master)
            os.close(self._slave)
            raise TransportError(f"cannot create {self.path}: {exc}") from exc
        self._link = FdLink(master, str(self.path), self._speed)
        self._task = self.modem.start(self._link)

    async def unplug(self) -> None:
        """As if the USB modem were pulled out: the device disappears under the host."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._link is not None:
            await self._link.close()
        if self._slave >= 0:
            with contextlib.suppress(OSError):
                os.close(self._slave)
            self._slave = -1
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def close(self) -> None:
        await self.unplug()


class TcpServer:
    """Serves ``modem`` on a TCP port, one connection at a time, as ser2net would."""

    def __init__(self, modem: SimulatedModem, host: str, port: int) -> None:
        self.modem = modem
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._current: StreamLink | None = None

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._connected, self.host, self.port)
        except OSError as exc:
            raise TransportError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        sockets = self._server.sockets
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._current is not None:
            await self._current.close()  # a new client takes the port over
        link = StreamLink(f"tcp://{self.host}:{self.port}", reader, writer)
        self._current = link
        try:
            await self.modem.serve(link)
        finally:
            await link.close()
            if self._current is link:
                self._current = None

    async def close(self) -> None:
        if self._current is not None:
            await self._current.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
