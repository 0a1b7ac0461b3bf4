"""What a host may ask of a modem: the :class:`Modem` protocol the gateway types against.

:class:`~drivers.modem.driver.GsmModem` is the one implementation (any link, any vendor, a
simulated modem too); a host gets one from :func:`drivers.open_modem`. The protocol is exactly
what the gateway uses, so that a fake for its tests, or another driver, knows what to provide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from drivers.at.channel import Data
from drivers.at.replies import Registration
from drivers.errors import ModemLost
from drivers.modem.events import E
from drivers.modem.info import ModemInfo
from drivers.modem.network import Network, SimState
from drivers.modem.storage import StoredMessage
from drivers.modem.ussd import UssdAnswer


class Modem(Protocol):
    """One modem, its link open. Until :meth:`initialize` it has said nothing of itself.

    Commands raise the errors of :mod:`drivers.errors`: :class:`~drivers.errors.AtTimeout`
    when it does not answer, :class:`~drivers.errors.ModemLost` once its link is gone, an
    :class:`~drivers.errors.AtCommandError` (``CmsError``, ``CmeError``) when it refuses.
    """

    @property
    def info(self) -> ModemInfo | None:
        """What :meth:`initialize` learnt of it (``None`` before)."""

    @property
    def lost(self) -> ModemLost | None:
        """Why its link ended, once it has."""

    @property
    def sim(self) -> SimState | None:
        """What its SIM's lock was last found to be, during :meth:`initialize`: set when the
        initialisation fails for it too (a PIN needed, no SIM)."""

    @property
    def soft_reset_safe(self) -> bool:
        """Whether :meth:`soft_reset` brings it back on the same port (its vendor's profile)."""

    def subscribe(self, kind: type[E], callback: Callable[[E], None]) -> Callable[[], None]:
        """Call ``callback`` for each event of type ``kind`` (:mod:`drivers.modem.events`);
        returns the unsubscribe. A callback that raises is logged, nothing more."""

    async def initialize(self) -> ModemInfo:
        """Bring it to a known state (command state, PDU mode, storage, notifications) and
        identify it; again on the same link after it misbehaved."""

    async def soft_reset(self, timeout: float) -> None:
        """``AT+CFUN=1,1`` in command state (TS 27.007 §8.2): it restarts."""

    async def acknowledge(self) -> None:
        """``AT+CNMA`` for the routed message or report that ``needs_ack`` (TS 27.005 §3.4.4)."""

    async def renotify(self) -> bool:
        """Set the chosen ``AT+CNMI`` again if the modem turned it off; whether it had to."""

    async def send_pdu(self, pdu: Data, tpdu_length: int) -> int:
        """Send one SMS-SUBMIT (``AT+CMGS``); returns its TP-MR. ``pdu`` may be a coroutine
        function deciding the PDU at the ``>`` prompt, or (raising) that nothing is sent: the
        send is then aborted with ESC."""

    async def hang_up(self) -> None:
        """End the call ringing now (an :class:`~drivers.modem.events.IncomingCall`) with the
        vendor's command, ``ATH`` or ``AT+CHUP``; it waits its turn, as every command does."""

    async def signal(self) -> tuple[int, int]:
        """``AT+CSQ``: (rssi, ber); see :func:`drivers.rssi_dbm`."""

    async def registration(self) -> Registration:
        """The better of ``AT+CREG?`` and ``AT+CEREG?``."""

    async def ussd(self, text: str, timeout: float = ...) -> UssdAnswer:
        """Send a USSD string (``AT+CUSD=1``, TS 27.007 §7.15): a code like ``*100#``, or the
        reply to a menu; returns the network's answer, or :attr:`UssdState.TIMED_OUT
        <drivers.modem.ussd.UssdState.TIMED_OUT>` after ``timeout`` seconds without one.
        ``ValueError`` for a string no request can carry."""

    async def ussd_cancel(self) -> None:
        """``AT+CUSD=2``: end the USSD session (a menu left open)."""

    async def network(self, registration: Registration | None = None) -> Network:
        """The operator (``AT+COPS``: long name, numeric code, AcT) on top of ``registration``
        (:meth:`registration`'s when not given): :class:`~drivers.modem.network.Network`."""

    async def list_messages(self, storage: str, stat: int = 4) -> list[StoredMessage]:
        """``AT+CMGL=<stat>`` on ``storage`` (4: all messages, read or not)."""

    async def read_message(self, storage: str, index: int) -> StoredMessage | None:
        """``AT+CMGR=<index>`` on ``storage``; ``None`` for an empty slot."""

    async def delete_message(self, storage: str, index: int) -> None:
        """``AT+CMGD=<index>`` on ``storage``."""

    async def storage_usage(self, storage: str) -> tuple[int, int]:
        """(used, total) of ``storage``."""

    async def storage_usages(self) -> dict[str, tuple[int, int]]:
        """(used, total) of every storage it lists (``AT+CPMS?``), by name."""

    async def close(self) -> None:
        """Close its link; closing twice is harmless."""
