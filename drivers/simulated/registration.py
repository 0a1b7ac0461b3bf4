"""The network registration commands of a simulated modem: ``+CREG``/``+CEREG``/``+CGREG``
(TS 27.007 §7.2, §10.1.19, §10.1.22) and ``+COPS`` (§7.3).

The modem is on :class:`~drivers.simulated.state.ServingNetwork` when its ``registration`` is 1
(home) or 5 (roaming); the controls change either (``SimulatedModem.set_registration``,
``set_operator``, ``set_cell``), and the reports ``AT+CREG=1`` or ``=2`` asked for follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from drivers.simulated.commands import handles, integers
from drivers.simulated.state import CommandFailed

if TYPE_CHECKING:
    from drivers.simulated.modem import SimulatedModem

_REGISTERED: Final = (1, 5)
# TS 27.007 §7.3 <mode>: 0 automatic, 3 only sets the <format> of the read command.
_AUTOMATIC: Final = 0
_SET_FORMAT: Final = 3


def registration_value(modem: SimulatedModem, mode: int) -> str:
    """``<stat>[,<lac>,<ci>,<AcT>]``: what ``+CREG:`` says after its <n> (the read) or alone
    (the report); the location only with n=2 and on a network (§7.2)."""
    if mode == 2 and modem.registration in _REGISTERED:
        serving = modem.serving
        return f'{modem.registration},"{serving.lac}","{serving.ci}",{serving.act}'
    return str(modem.registration)


@handles("+CREG", "+CEREG", "+CGREG")
def _registration(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    command = name.rstrip("?")
    if name.endswith("?"):
        mode = modem.creg if command == "+CREG" else modem.cereg
        return [f"{command}: {mode},{registration_value(modem, mode)}"]
    if argument == "?":
        return [f"{command}: (0-2)"]
    (value,) = integers(argument)
    if value not in (0, 1, 2):
        raise CommandFailed("CME", 4)
    if command == "+CREG":
        modem.creg = value
    else:
        modem.cereg = value
    return []


@handles("+COPS")
def _cops(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    serving = modem.serving
    if name.endswith("?"):
        if modem.registration not in _REGISTERED:
            return [f"+COPS: {_AUTOMATIC}"]
        operator = (serving.long_name, serving.short_name, serving.code)[modem.cops_format]
        return [f'+COPS: {_AUTOMATIC},{modem.cops_format},"{operator}",{serving.act}']
    if argument == "?":
        # <stat> 2: the current operator (§7.3); then the modes and formats supported.
        listed = f'"{serving.long_name}","{serving.short_name}","{serving.code}"'
        return [f"+COPS: (2,{listed},{serving.act}),,(0,3),(0-2)"]
    values = integers(argument)
    if values[0] == _SET_FORMAT and len(values) >= 2:
        if values[1] not in (0, 1, 2):
            raise CommandFailed("CME", 4)
        modem.cops_format = values[1]
        return []
    if values[0] == _AUTOMATIC:
        return []  # already automatic
    raise CommandFailed("CME", 3)  # manual selection and deregistration are not simulated
