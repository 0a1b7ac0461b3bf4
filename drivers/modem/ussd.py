"""USSD (TS 27.007 §7.15, ``AT+CUSD``): a request, and the network's answer when it comes.

``AT+CUSD=1,"<str>",15`` asks; the modem says OK at once, and the answer arrives later as the
unsolicited ``+CUSD: <m>,"<str>",<dcs>``, seconds later (some firmware prints it before its
OK, as a line of the reply: both are taken). While ``<m>`` is 1 the network waits for a reply,
sent the same way; ``AT+CUSD=2`` ends the session. One request at a time per modem: an answer
cannot say which request it is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from drivers.at import replies
from drivers.at.channel import AtChannel
from drivers.at.parse import Unsolicited
from drivers.codec import gsm7, ussd
from drivers.errors import AtReplyError, DriverError, ModemLost

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 30.0  # seconds for the network's answer (networks give up at ~30 s)
_PREFIX: Final = "+CUSD:"


class UssdState(StrEnum):
    """Where a session stands after an answer: TS 27.007 §7.15 ``<m>``, or no answer at all."""

    DONE = "done"  # 0: no further user action required
    ACTION_REQUIRED = "action_required"  # 1: a menu, the network waits for a reply
    NETWORK_CANCELLED = "network_cancelled"  # 2: USSD terminated by the network
    OTHER_CLIENT = "other_client"  # 3: another local client has responded
    NOT_SUPPORTED = "not_supported"  # 4: operation not supported
    TIMED_OUT = "timed_out"  # 5: network time out; or no answer in time (the session ended)


_STATES: Final = tuple(UssdState)


@dataclass(frozen=True, slots=True)
class UssdAnswer:
    """The network's answer: its ``state``, its ``text`` decoded (``None`` when there is none)
    and the CBS data coding scheme it came in (TS 23.038 §5)."""

    state: UssdState
    text: str | None = None
    dcs: int | None = None

    @property
    def open(self) -> bool:
        """Whether the network waits for a reply."""
        return self.state is UssdState.ACTION_REQUIRED


def check_ussd_request(text: str) -> None:
    """Raise ``ValueError`` for a string no USSD request can carry: empty, longer than 182
    characters (160 octets packed, TS 23.038 §6.1.2.3), or with a character that is not
    printable ASCII in the GSM 7-bit alphabet (a backtick is not), or is a quote. The command
    line is ASCII (V.250 §5.1), its string in the TE character set ("IRA" or "GSM" alike for
    these) or packed GSM 7-bit, and a quote would end it."""
    if not text or len(text) > 182:
        raise ValueError("a USSD string has 1 to 182 characters")
    printable = all(" " <= char <= "~" for char in text)
    if '"' in text or not printable or not gsm7.can_encode(text):
        raise ValueError(f"{text!r} has characters a USSD string cannot carry")


class UssdSessions:
    """A modem's USSD: its requests one at a time, and the answers they wait for."""

    def __init__(self, channel: AtChannel, packed: Callable[[], bool]) -> None:
        self.channel = channel
        self._packed = packed  # the vendor profile's ussd_packed, known once identified
        self._lock = asyncio.Lock()
        self._answer: asyncio.Future[replies.Cusd] | None = None
        channel.subscribe(self._on_urc)
        channel.on_lost(self._on_lost)

    async def request(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> UssdAnswer:
        """Send ``text`` (a code like ``*100#``, or the reply to a menu) and return the answer.
        No answer within ``timeout`` seconds is :attr:`UssdState.TIMED_OUT`, and the session
        is ended (``AT+CUSD=2``) so that a late answer cannot be taken for the next one's."""
        check_ussd_request(text)
        async with self._lock:
            answer = self._answer = asyncio.get_running_loop().create_future()
            try:
                reply = await self.channel.command(self._command(text), timeout)
                for line in reply.lines:
                    if line.upper().startswith(_PREFIX):
                        self._answered(line[len(_PREFIX) :].strip())
                try:
                    async with asyncio.timeout(timeout):
                        cusd = await answer
                except TimeoutError:
                    log.info("%s: no USSD answer to %r in %g s", self.channel.name, text, timeout)
                    await self._end()
                    return UssdAnswer(UssdState.TIMED_OUT)
            finally:
                self._answer = None
        state = _STATES[cusd.m] if 0 <= cusd.m < len(_STATES) else UssdState.NOT_SUPPORTED
        return UssdAnswer(state, cusd.text, cusd.dcs)

    async def cancel(self) -> None:
        """``AT+CUSD=2``: end the session (a menu left open)."""
        async with self._lock:
            await self.channel.command("AT+CUSD=2")

    def _command(self, text: str) -> str:
        if self._packed():
            # Huawei E1550/E1752: the string as the hex of its packed septets (gammu, and
            # huawei-ussd.pl: AT+CUSD=1,"AA180C3602",15 for *100#); plain text is refused.
            text = ussd.pack(text).hex().upper()
        return f'AT+CUSD=1,"{text}",{ussd.DEFAULT_DCS}'

    async def _end(self) -> None:
        with contextlib.suppress(DriverError):
            await self.channel.command("AT+CUSD=2")

    def _on_urc(self, urc: Unsolicited) -> None:
        if urc.name.upper() != _PREFIX[:-1]:
            return
        self._answered(urc.value)

    def _answered(self, value: str) -> None:
        """A ``+CUSD:`` line's value: the answer awaited, unless none is or it is malformed."""
        answer = self._answer
        if answer is None or answer.done():
            log.info("%s: USSD answer nobody waits for: +CUSD: %s", self.channel.name, value)
            return
        try:
            cusd = replies.parse_cusd(value, packed=self._packed())
        except AtReplyError as exc:  # a malformed one is logged, not an answer
            log.warning("%s: %s", self.channel.name, exc)
            return
        answer.set_result(cusd)

    def _on_lost(self, reason: ModemLost) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_exception(ModemLost(str(reason)))
