"""The link side of a simulated modem: what the host types, and what the modem writes back.

An :class:`AtPeer` reads its link byte by byte, as a modem's UART does: it echoes what is typed
(while echo is on), edits the command line (V.250 S5), ends it at CR (S3), and after the ``> ``
prompt takes the PDU up to Ctrl-Z, or ESC, which aborts (TS 27.005 §3.5.1); each line, PDU or
abort goes to :meth:`AtPeer._entered`, which the modem implements. It writes information lines
and final result codes (``+CMS ERROR``/``+CME ERROR`` numeric or verbose, as ``AT+CMEE`` says),
and unsolicited result codes, held back while the host holds the link (``AT+CNMI`` mode 2).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Final

from drivers.errors import ModemLost
from drivers.simulated.state import CommandFailed, Faults, NoFinalResult

if TYPE_CHECKING:
    from drivers.at.transport import Link

CTRL_Z: Final = 0x1A
_BACKSPACE: Final = 0x08
ESC: Final = 0x1B

# TS 27.005 §3.2.5 and TS 27.007 §9.2 verbose texts for AT+CMEE=2.
_CMS_TEXT: Final = {
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    314: "SIM busy",
    321: "invalid memory index",
    322: "memory full",
    331: "no network service",
    340: "no +CNMA acknowledgement expected",
    500: "unknown error",
}
_CME_TEXT: Final = {3: "operation not allowed", 4: "operation not supported", 14: "SIM busy"}


def chained(text: str) -> list[str]:
    """The commands of one line: ``+CMEE=1;+CREG=2`` -> ``["+CMEE=1", "+CREG=2"]``."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()] or [""]


class Typing:
    """What the host has typed so far: a command line, or the PDU after the ``>`` prompt."""

    def __init__(self) -> None:
        self.line = bytearray()
        self.data_mode = False

    def feed(self, byte: int) -> tuple[str, str] | None:
        """A completed ("command", line), ("data", pdu) or ("escape", ""), or ``None``."""
        if self.data_mode and byte in (CTRL_Z, ESC):
            self.data_mode = False
            # A text (text mode) is kept as typed, spaces included; a PDU is read as hex.
            text = self._take(strip=False)
            return ("data", text) if byte == CTRL_Z else ("escape", "")
        if self.data_mode or byte >= 0x20:
            self.line.append(byte)
        elif byte == _BACKSPACE:  # V.250 S5: editing the command line
            del self.line[-1:]
        elif byte == 0x0D:  # V.250 S3 ends the command line; other controls are ignored
            text = self._take()
            return ("command", text) if text else None
        return None

    def _take(self, strip: bool = True) -> str:
        text = self.line.decode("latin-1")
        self.line.clear()
        return text.strip() if strip else text


class AtPeer:
    """The link side of :class:`~drivers.simulated.modem.SimulatedModem` (its base class)."""

    def __init__(self) -> None:
        self.echo = True
        self.cmee = 0
        self.caret_reports = False  # Huawei: ^RSSI and ^MODE lines in replies and before URCs
        self.rssi = 20
        self.faults = Faults()
        self._link: Link | None = None
        self._typed = Typing()
        self._one_at_a_time = asyncio.Lock()
        self._awake = asyncio.Event()  # cleared while stalled (see stall())
        self._awake.set()
        self._busy = False
        self._pending_urcs: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # What :meth:`listen` waits for: (the bytes, what came of them so far, the future).
        self._listeners: list[tuple[bytes, bytearray, asyncio.Future[None]]] = []

    @property
    def data_mode(self) -> bool:
        """Whether the modem waits for a PDU (after ``AT+CMGS``) rather than a command."""
        return self._typed.data_mode

    async def _entered(self, kind: str, text: str) -> None:
        """A completed ("command", line), ("data", pdu) or ("escape", "")."""
        raise NotImplementedError

    def listen(self, text: str) -> asyncio.Future[None]:
        """A future done once ``text`` reaches the modem's wire from now on, whatever the
        modem then does with it (a hung modem drops it, a stalled one leaves it unread): a
        test's way to know that the host sent a command to a modem that does not answer."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._listeners.append((text.encode("latin-1"), bytearray(), future))
        return future

    def _listened(self, chunk: bytes) -> None:
        for item in list(self._listeners):
            wanted, seen, future = item
            seen += chunk
            if wanted in seen or future.done():
                self._listeners.remove(item)
                if not future.done():
                    future.set_result(None)
            else:
                del seen[: -len(wanted)]  # enough to find it across two chunks

    # --- serving a link ----------------------------------------------------------------------

    async def serve(self, link: Link) -> None:
        """Answer on ``link`` until it closes. What was typed before, on this link or an
        earlier one, stays typed: the modem does not know that the host has changed."""
        self._link = link
        try:
            while chunk := await link.read():
                self._listened(chunk)
                await self._awake.wait()  # stalled: what comes waits, as in a UART's buffer
                if self.faults.hung:
                    continue
                # One command at a time, as over one UART: a new link's bytes wait until the
                # command taken on an earlier one (a PDU being sent) has been answered.
                async with self._one_at_a_time:
                    await self._consume(chunk)
        except ModemLost:
            return
        finally:
            if self._link is link:
                self._link = None

    async def _consume(self, chunk: bytes) -> None:
        echo = bytearray()
        for byte in chunk:
            if self.echo:
                echo.append(byte)
            entered = self._typed.feed(byte)
            if entered is None:
                continue
            # The link is the command's from its echo to its final result code.
            self._busy = True
            try:
                await self._flush(echo)
                await self._entered(*entered)
            finally:
                self._busy = False
            await self._release_urcs()
        await self._flush(echo)

    def start(self, link: Link) -> asyncio.Task[None]:
        """Serve ``link`` in the background."""
        task = asyncio.get_running_loop().create_task(self.serve(link), name="simulated modem")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _flush(self, echo: bytearray) -> None:
        if echo:
            await self._write(echo.decode("latin-1"))
            echo.clear()

    async def _write(self, text: str) -> None:
        if self._link is not None:
            with contextlib.suppress(ModemLost):
                await self._link.write(text.encode("latin-1"))

    async def _respond(self, lines: list[str], final: str = "OK") -> None:
        body = "".join(f"\r\n{line}\r\n" for line in lines)
        if self.caret_reports:
            body += f"\r\n^RSSI:{self.rssi}\r\n"  # Huawei: status lines land inside replies
        await self._write(body + f"\r\n{final}\r\n")

    async def _error(self, error: CommandFailed) -> None:
        if isinstance(error, NoFinalResult):
            await self._write(f"\r\n{error.line}\r\n")
            return
        if self.cmee == 0 or not error.family:
            await self._respond([], "ERROR")
            return
        texts = _CMS_TEXT if error.family == "CMS" else _CME_TEXT
        detail = str(error.code) if self.cmee == 1 else texts.get(error.code, "unknown error")
        await self._respond([], f"+{error.family} ERROR: {detail}")

    # --- unsolicited result codes ------------------------------------------------------------

    @property
    def link_reserved(self) -> bool:
        """Whether the host holds the link: a command line being typed, a command running
        until its final result code, or the data mode after ``AT+CMGS``'s prompt."""
        return self._busy or self._typed.data_mode or bool(self._typed.line)

    def _urcs_inband(self) -> bool:
        """Whether unsolicited result codes go out even while the link is reserved."""
        return False

    def _urc(self, *lines: str) -> None:
        text = "".join(f"\r\n{line}\r\n" for line in lines)
        if self.caret_reports:
            text = "\r\n^MODE:5,4\r\n" + text
        if self._held():
            self._pending_urcs.append(text)
        else:
            self._spawn(self._write_urc(text))

    def _held(self) -> bool:
        """TS 27.005 §3.4.1 AT+CNMI mode 2: URCs are buffered while the link is reserved and
        flushed after (mode 1 would discard them; kept too, as the SC would send them again);
        mode 3 writes them at once."""
        return self.link_reserved and not self._urcs_inband()

    async def _write_urc(self, text: str) -> None:
        if self._held():  # a command came in before this write's turn
            self._pending_urcs.append(text)
        else:
            await self._write(text)

    def _spawn(self, coroutine: object) -> None:
        async def run() -> None:
            await coroutine  # type: ignore[misc]

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release_urcs(self) -> None:
        """Write what came while the link was reserved, once it no longer is (after the
        ``> `` prompt only once its PDU, or its abort, is answered)."""
        if self.link_reserved:
            return
        pending, self._pending_urcs = self._pending_urcs, []
        if pending:
            await self._write("".join(pending))
