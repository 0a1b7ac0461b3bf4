"""What a modem says of the network it is on (:class:`Network`), and of its SIM's lock
(:class:`SimState`).

The operator is asked twice (TS 27.007 §7.3): ``AT+COPS=3,0`` makes ``AT+COPS?`` give the long
alphanumeric name, ``AT+COPS=3,2`` the numeric MCC and MNC. ``AT+COPS=3,<format>`` only sets the
format, it never starts a network selection, so it is safe on a registered modem.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Final

from drivers.at import replies
from drivers.at.channel import AtChannel
from drivers.at.replies import Operator, PinAttempts, Registration
from drivers.errors import AtCommandError, AtReplyError, AtTimeout

# TS 27.007 §7.3 <format>
_LONG = 0
_NUMERIC = 2


@dataclass(frozen=True, slots=True)
class Network:
    """The network the modem is registered on, at one reading.

    ``operator`` is the long name and ``code`` the MCC and MNC (``"00101"``), ``None`` where
    the modem did not say; ``technology`` names ``act``, the TS 27.007 §7.3 <AcT>; ``stat`` is
    the registration's (+CREG/+CEREG, TS 27.007 §7.2: 1 home, 5 roaming), ``lac`` and ``ci``
    the location area (or tracking area) and cell, hex as the modem gives them, where it does.
    """

    operator: str | None
    code: str | None
    act: int | None
    technology: str | None
    stat: int
    registered: bool
    roaming: bool
    lac: str | None
    ci: str | None


@dataclass(frozen=True, slots=True)
class SimState:
    """The SIM's lock: ``state`` is ``ready``, ``missing`` (``+CME ERROR: 10``),
    ``pin_required`` or ``puk_required`` (``+CPIN: SIM PIN``/``SIM PUK``, TS 27.007 §8.3), or
    another code of ``AT+CPIN?`` in lower case (``ph-sim_pin``); the tries left where the
    vendor's command says (:attr:`~drivers.modem.quirks.VendorProfile.pin_counter`)."""

    state: str
    pin_attempts: int | None = None
    puk_attempts: int | None = None

    def describe(self) -> str:
        """``"pin_required (2 PIN attempts left, 10 PUK attempts left)"``."""
        left = [
            f"{count} {code} attempt{'s' if count != 1 else ''} left"
            for code, count in (("PIN", self.pin_attempts), ("PUK", self.puk_attempts))
            if count is not None
        ]
        return f"{self.state} ({', '.join(left)})" if left else self.state


_STATES: Final = {"READY": "ready", "SIM PIN": "pin_required", "SIM PUK": "puk_required"}
MISSING: Final = "missing"


def state_name(code: str) -> str:
    """The :attr:`SimState.state` for a ``+CPIN:`` code."""
    return _STATES.get(code, code.lower().replace(" ", "_"))


async def _operator(channel: AtChannel, form: int) -> Operator | None:
    try:
        await channel.command(f"AT+COPS=3,{form}")
        return replies.parse_cops((await channel.command("AT+COPS?")).lines)
    except (AtCommandError, AtReplyError):
        return None


async def read_network(channel: AtChannel, registration: Registration) -> Network:
    """The operator (numeric code, then long name) on top of ``registration``; a modem that
    refuses ``AT+COPS`` leaves them unknown. The long format is asked last: it is the default
    (§7.3), which other software on the port expects."""
    numeric = await _operator(channel, _NUMERIC)
    named = await _operator(channel, _LONG)
    act = next(
        (item.act for item in (named, numeric) if item is not None and item.act is not None),
        registration.act,
    )
    return Network(
        operator=named.name if named is not None and named.format == _LONG else None,
        code=numeric.name if numeric is not None and numeric.format == _NUMERIC else None,
        act=act,
        technology=replies.technology_name(act),
        stat=registration.stat,
        registered=registration.registered,
        roaming=registration.roaming,
        lac=registration.lac,
        ci=registration.ci,
    )


async def pin_attempts(channel: AtChannel, command: str | None) -> PinAttempts | None:
    """The tries left, asked with the vendor's ``command`` (``None``: it has none)."""
    if command is None:
        return None
    with contextlib.suppress(AtCommandError, AtReplyError, AtTimeout):
        return replies.parse_pin_attempts((await channel.command(command)).lines)
    return None


async def sim_state(channel: AtChannel, state: str, command: str | None) -> SimState:
    """``state`` (a :attr:`SimState.state`) with the tries left."""
    attempts = await pin_attempts(channel, command)
    if attempts is None:
        return SimState(state)
    return SimState(state, attempts.pin, attempts.puk)
