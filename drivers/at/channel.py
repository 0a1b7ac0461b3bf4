"""One AT command in flight over a :class:`~drivers.at.transport.Link`, and the URCs around it.

The channel owns the only reader of the link. It feeds an :class:`~drivers.at.parse.AtParser`,
completes the waiting command with its :class:`~drivers.at.parse.Response`, and hands every
unsolicited result code to its subscribers, even those arriving in the middle of a reply.
The waiter is registered before the command is written, so a fast modem cannot answer into
the void. When the link ends, the command in flight fails with :class:`ModemLost` at once
instead of waiting for its timeout. :meth:`AtChannel.escape` gets a modem out of the ``> ``
prompt a previous host left it in, and drops what it says meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from drivers.at.parse import (
    AtParser,
    Garbage,
    Prompt,
    Response,
    ResultKind,
    Stray,
    Unsolicited,
)
from drivers.at.transport import Link
from drivers.errors import (
    AtCommandError,
    AtTimeout,
    CmeError,
    CmsError,
    DriverError,
    ModemLost,
)

log = logging.getLogger(__name__)

CTRL_Z: Final = b"\x1a"  # TS 27.005 §3.5.1: ends the PDU after the prompt
ESC: Final = b"\x1b"  # ... and aborts the send
_ABORT_GRACE: Final = 2.0  # seconds to wait for the OK that acknowledges an abort


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait for a final result code.

    ``submit`` covers ``AT+CMGS`` after the PDU is written: vendor manuals quote up to 120 s.
    """

    default: float = 10.0
    prompt: float = 10.0
    submit: float = 120.0


UrcCallback = Callable[[Unsolicited], None]
Data = str | Callable[[], Awaitable[str]]  # what follows a prompt, or who decides it then
LostCallback = Callable[[ModemLost], None]
ResponseCallback = Callable[[Response], None]


def raise_for_result(response: Response) -> Response:
    """Return an OK response; raise the typed error for any other final result code."""
    result = response.result
    if result.ok:
        return response
    if result.kind is ResultKind.CME_ERROR:
        raise CmeError(response.command, result.line, result.code, result.text, response.lines)
    if result.kind is ResultKind.CMS_ERROR:
        raise CmsError(response.command, result.line, result.code, result.text, response.lines)
    raise AtCommandError(response.command, result.line, response.lines)


class AtChannel:
    def __init__(
        self, link: Link, timeouts: Timeouts | None = None, parser: AtParser | None = None
    ) -> None:
        self.link = link
        self.timeouts = timeouts or Timeouts()
        self.parser = parser or AtParser()
        self.garbage_bytes = 0
        self._lock = asyncio.Lock()
        self._response: asyncio.Future[Response] | None = None
        self._prompt: asyncio.Future[None] | None = None
        self._subscribers: list[UrcCallback] = []
        self._lost_callbacks: list[LostCallback] = []
        self._response_callbacks: list[ResponseCallback] = []
        self._lost: ModemLost | None = None
        self._reader: asyncio.Task[None] | None = None
        self._unsynchronised = False
        self._discarded: list[str] | None = None  # while escape() drains: what was dropped

    @property
    def name(self) -> str:
        return self.link.name

    @property
    def lost(self) -> ModemLost | None:
        """Why the link ended, or ``None`` while it is up."""
        return self._lost

    def start(self) -> None:
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(
                self._read_loop(), name=f"at-reader {self.name}"
            )

    async def close(self) -> None:
        await self.link.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._set_lost(ModemLost(f"{self.name}: closed"))

    async def __aenter__(self) -> AtChannel:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def subscribe(self, callback: UrcCallback) -> Callable[[], None]:
        """Call ``callback`` for every unsolicited result code; returns the unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._remove(self._subscribers, callback)

    def on_lost(self, callback: LostCallback) -> Callable[[], None]:
        self._lost_callbacks.append(callback)
        return lambda: self._remove(self._lost_callbacks, callback)

    def on_response(self, callback: ResponseCallback) -> Callable[[], None]:
        """Call ``callback`` with every complete response, whatever its final result, before
        the command that asked is answered (what an error says of the modem, e.g. ``+CMS
        ERROR: 322`` memory full, matters whoever asked)."""
        self._response_callbacks.append(callback)
        return lambda: self._remove(self._response_callbacks, callback)

    @staticmethod
    def _remove(
        callbacks: list[UrcCallback] | list[LostCallback] | list[ResponseCallback],
        callback: object,
    ) -> None:
        with contextlib.suppress(ValueError):
            callbacks.remove(callback)  # type: ignore[arg-type]

    # --- commands ----------------------------------------------------------------------------

    async def command(self, command: str, timeout: float | None = None) -> Response:
        """Send ``command`` and return its OK response; raise the typed error otherwise."""
        return raise_for_result(await self.exchange(command, timeout))

    async def exchange(self, command: str, timeout: float | None = None) -> Response:
        """Send ``command`` and return its response whatever the final result code."""
        async with self._lock:
            await self._resynchronise()
            response = self._arm(command)
            await self._send(response, command.encode("ascii") + b"\r")
            return await self._wait(response, command, self._or(timeout, self.timeouts.default))

    async def submit(self, command: str, data: Data, timeout: float | None = None) -> Response:
        """``AT+CMGS``-style exchange: the command, the ``>`` prompt, ``data`` and Ctrl-Z.

        ``data`` is the text, or a coroutine function called once the prompt has come that
        returns it: the last moment to decide what is sent, or (raising) that nothing is.
        A final result before the prompt (``+CMS ERROR: 304``...) is raised as such. A prompt
        that never comes, a ``data`` that raises, or a caller that gives up before the data is
        written, is aborted with ESC so the modem is not left waiting for data.
        """
        async with self._lock:
            await self._resynchronise()
            response = self._arm(command, data if isinstance(data, str) else "")
            prompt = self._prompt = asyncio.get_running_loop().create_future()
            try:
                await self._send(response, command.encode("ascii") + b"\r")
                done, _ = await asyncio.wait(
                    (prompt, response),
                    timeout=self.timeouts.prompt,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if response in done:
                    return raise_for_result(response.result())
                if not done:
                    lines = self.parser.partial_lines
                    await self._abort(response)
                    raise AtTimeout(f"{command} (prompt)", self.timeouts.prompt, lines)
                prompt.result()  # raises ModemLost if the link ended instead
                text = data if isinstance(data, str) else await self._decide(response, data)
                await self._send(response, text.encode("ascii") + CTRL_Z)
            except asyncio.CancelledError:
                if not response.done():
                    await self._abort(response)
                raise
            finally:
                self._prompt = None
                if prompt.done() and not prompt.cancelled():
                    prompt.exception()  # retrieved: the response says what happened
            timeout = self._or(timeout, self.timeouts.submit)
            return raise_for_result(await self._wait(response, command, timeout))

    async def _decide(
        self, response: asyncio.Future[Response], data: Callable[[], Awaitable[str]]
    ) -> str:
        """The data to write at the prompt, from the caller; nothing at all if it raises."""
        try:
            text = await data()
        except BaseException:
            await self._abort(response)
            raise
        self.parser.sending(text)
        return text

    async def escape(self, pause: float) -> tuple[str, ...]:
        """Write ESC, then for ``pause`` seconds drop whatever the modem says; returns the
        lines dropped.

        ESC ends the PDU entry after the ``> `` of ``AT+CMGS`` without sending (TS 27.005
        §3.5.1); the modem acknowledges it with OK (Quectel UGxx, Telit manuals) or a
        ``+CMS ERROR``. A modem in command state ignores it: on a command line, control
        characters other than S3 (CR) and S5 (backspace) are ignored (V.250 §5.2). What comes
        meanwhile is from before and answers nothing asked now: that acknowledgement, the echo
        of what was typed into the prompt, a late ``+CMGS: <mr>`` and ``OK``, a ``> ``. Only
        unsolicited result codes the parser knows (``+CMTI``...) are passed on.
        """
        async with self._lock:
            if self._lost is not None:
                raise ModemLost(str(self._lost))
            self.parser.discard()
            self._unsynchronised = False  # what a throw-away AT would absorb, the pause drops
            self._discarded = []
            try:
                await self._write(ESC)
                await asyncio.sleep(pause)
            finally:
                discarded, self._discarded = self._discarded, None
                self.parser.discard()  # a partial line, e.g. the echo of PDU digits
            return tuple(discarded)

    @staticmethod
    def _or(timeout: float | None, default: float) -> float:
        return default if timeout is None else timeout

    def _arm(self, command: str, data: str | None = None) -> asyncio.Future[Response]:
        if self._lost is not None:
            raise ModemLost(str(self._lost))
        response: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._response = response
        self.parser.start(command, data=data)
        return response

    async def _send(self, response: asyncio.Future[Response], data: bytes) -> None:
        try:
            await self._write(data)
        except ModemLost:
            self._disarm(response)
            raise

    async def _write(self, data: bytes) -> None:
        try:
            await self.link.write(data)
        except ModemLost as exc:
            self._set_lost(exc)
            raise

    def _disarm(self, response: asyncio.Future[Response]) -> None:
        if response.done() and not response.cancelled():
            response.exception()  # the caller gets the error raised, not this future
        response.cancel()
        self._response = None
        self.parser.cancel()

    async def _wait(
        self, response: asyncio.Future[Response], command: str, timeout: float
    ) -> Response:
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that arrives as the reply does, and a stopping modem task would never end.
            async with asyncio.timeout(timeout):
                return await response
        except TimeoutError:
            lines = self.parser.partial_lines
            self.parser.cancel(abandon=True)
            # A late reply may still be on its way; make sure it cannot answer the next command.
            self._unsynchronised = True
            raise AtTimeout(command, timeout, lines) from None
        finally:
            self._response = None

    async def _abort(self, response: asyncio.Future[Response]) -> None:
        """ESC out of the prompt and wait (briefly) for the modem to acknowledge the abort.

        Modems answer the ESC with OK (Cinterion, Quectel manuals); left unread, that OK would
        be taken as the next command's reply.
        """
        self._disarm(response)
        acknowledgement = self._arm("<ESC>", data="")  # a late ">" is swallowed as the prompt
        try:
            await self._send(acknowledgement, ESC)
            async with asyncio.timeout(min(self.timeouts.prompt, _ABORT_GRACE)):
                await acknowledgement
        except (TimeoutError, ModemLost):
            self.parser.cancel(abandon=True)
            self._unsynchronised = True
        finally:
            self._disarm(acknowledgement)

    async def _resynchronise(self) -> None:
        """After a timeout, let any late final result complete a throw-away ``AT`` first."""
        if not self._unsynchronised or self._lost is not None:
            return
        self._unsynchronised = False
        probe = self._arm("AT")
        try:
            await self._send(probe, b"AT\r")
            async with asyncio.timeout(min(self.timeouts.default, _ABORT_GRACE)):
                await probe
        except (TimeoutError, ModemLost):
            self.parser.cancel(abandon=True)
        finally:
            self._disarm(probe)

    # --- reading -----------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.link.read()
                if not data:
                    raise ModemLost(f"{self.name}: end of file")
                for event in self.parser.feed(data):
                    self._dispatch(event)
        except ModemLost as exc:
            self._set_lost(exc)
        except DriverError as exc:  # a link that reports another failure is just as gone
            self._set_lost(ModemLost(f"{self.name}: {exc}"))

    def _dispatch(self, event: object) -> None:
        if self._discarded is not None and not self._passes_drain(event):
            return
        if isinstance(event, Response):
            for observer in list(self._response_callbacks):
                try:
                    observer(event)
                except Exception:  # as for a URC subscriber: the reader goes on
                    log.exception("%s: response observer failed on %r", self.name, event)
            if self._response is not None and not self._response.done():
                self._response.set_result(event)
        elif isinstance(event, Prompt):
            if self._prompt is not None and not self._prompt.done():
                self._prompt.set_result(None)
        elif isinstance(event, Unsolicited):
            for callback in list(self._subscribers):
                try:
                    callback(event)
                except Exception:  # one bad subscriber must not stop the reader
                    log.exception("%s: URC subscriber failed on %r", self.name, event.line)
        elif isinstance(event, Garbage):
            self.garbage_bytes += len(event.data)
            log.debug("%s: %d bytes of garbage", self.name, len(event.data))
        elif isinstance(event, Stray):
            log.debug("%s: stray %r with no command in flight", self.name, event.line)

    def _passes_drain(self, event: object) -> bool:
        """While :meth:`escape` drains: a known URC passes, anything else is dropped."""
        if isinstance(event, Unsolicited) and self.parser.known_urc(event.line):
            return True
        # No command is in flight: every line is a Stray or an Unsolicited (the parser takes
        # no prompt and completes no Response).
        if isinstance(event, Garbage):
            self.garbage_bytes += len(event.data)
        elif isinstance(event, Unsolicited | Stray) and self._discarded is not None:
            self._discarded.append(event.line)
        return False

    def _set_lost(self, reason: ModemLost) -> None:
        if self._lost is not None:
            return
        self._lost = reason
        for future in (self._response, self._prompt):
            if future is not None and not future.done():
                future.set_exception(ModemLost(str(reason)))
        for callback in list(self._lost_callbacks):
            try:
                callback(reason)
            except Exception:
                log.exception("%s: lost-link callback failed", self.name)
