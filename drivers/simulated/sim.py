"""The SIM of a simulated modem and its lock: ``+CPIN`` (TS 27.007 §8.3) and the commands that
tell the PIN and PUK tries left, each where its vendor has it (``Personality.pin_counter``):
``+CPINR`` (§8.65), Quectel ``+QPINC``, Huawei ``^CPIN``.

A wrong PIN uses a try; with none left the SIM wants its PUK (``+CPIN: SIM PUK``), which
``AT+CPIN="<puk>","<new pin>"`` enters; with no PUK tries left the SIM is blocked for good
(``+CME ERROR: 13``, SIM failure). A SIM taken out answers ``+CME ERROR: 10``.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Final

from drivers.simulated.commands import handles
from drivers.simulated.state import CommandFailed, NoFinalResult

if TYPE_CHECKING:
    from drivers.simulated.modem import SimulatedModem

PIN_TRIES: Final = 3
PUK_TRIES: Final = 10
# TS 27.007 §9.2.1 +CME ERROR codes.
_NOT_ALLOWED: Final = 3
_NOT_INSERTED: Final = 10
_FAILURE: Final = 13
_BUSY: Final = 14
_WRONG_PASSWORD: Final = 16


def lock_code(modem: SimulatedModem) -> str:
    """What ``AT+CPIN?`` answers: ``READY``, ``SIM PIN`` or ``SIM PUK``; raises for a SIM
    that is missing or blocked."""
    if not modem.sim_inserted:
        raise CommandFailed("CME", _NOT_INSERTED)
    if modem.pin_entered:
        return "READY"
    if modem.pin_attempts > 0:
        return "SIM PIN"
    if modem.puk_attempts > 0:
        return "SIM PUK"
    raise CommandFailed("CME", _FAILURE)


@handles("+CPIN")
def _cpin(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if modem.sim_busy_answers > 0:
        modem.sim_busy_answers -= 1
        raise CommandFailed("CME", _BUSY)  # SIM busy: right after boot
    code = lock_code(modem)
    if name.endswith("?"):
        if modem.personality.cpin_without_ok and code == "READY":
            raise NoFinalResult(f"+CPIN: {code}")
        return [f"+CPIN: {code}"]
    given = [value.strip().strip('"') for value in original.partition("=")[2].split(",")]
    if code == "READY":
        raise CommandFailed("CME", _NOT_ALLOWED)
    if code == "SIM PUK":
        if len(given) < 2 or given[0] != modem.puk:
            modem.puk_attempts -= 1
            raise CommandFailed("CME", _WRONG_PASSWORD)
        modem.pin = given[1]  # TS 27.007 §8.3: the PUK comes with the new PIN
        modem.puk_attempts = PUK_TRIES
    elif given[0] != modem.pin:
        modem.pin_attempts -= 1
        raise CommandFailed("CME", _WRONG_PASSWORD)
    modem.pin_attempts = PIN_TRIES
    modem.pin_entered = True
    return []


def _tries(modem: SimulatedModem) -> dict[str, tuple[int, int]]:
    """Tries left and the default, by code; PIN2 is never asked, so it has all its own."""
    return {
        "SIM PIN": (modem.pin_attempts, PIN_TRIES),
        "SIM PUK": (modem.puk_attempts, PUK_TRIES),
        "SIM PIN2": (PIN_TRIES, PIN_TRIES),
        "SIM PUK2": (PUK_TRIES, PUK_TRIES),
    }


def _counter(modem: SimulatedModem, name: str) -> None:
    """Only the vendor's own command is there; another answers ERROR (V.250 unknown)."""
    if modem.personality.pin_counter != name.rstrip("?"):
        raise CommandFailed()
    if not modem.sim_inserted:
        raise CommandFailed("CME", _NOT_INSERTED)


@handles("+CPINR")
def _cpinr(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §8.65: +CPINR[=<sel_code>], wildcards allowed ("SIM*"); one line per code.
    _counter(modem, name)
    if argument == "?":
        return []
    wanted = original.partition("=")[2].strip().strip('"').upper() or "*"
    return [
        f"+CPINR: {code},{left},{default}"
        for code, (left, default) in _tries(modem).items()
        if fnmatch.fnmatchcase(code, wanted)
    ]


@handles("+QPINC")
def _qpinc(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # Quectel: +QPINC: <facility>,<pin tries>,<puk tries>; "SC" the SIM PIN, "P2" PIN2.
    _counter(modem, name)
    if argument == "?":
        return ['+QPINC: ("SC","P2")']
    tries = _tries(modem)
    lines = {
        "SC": f'+QPINC: "SC",{tries["SIM PIN"][0]},{tries["SIM PUK"][0]}',
        "P2": f'+QPINC: "P2",{tries["SIM PIN2"][0]},{tries["SIM PUK2"][0]}',
    }
    if name.endswith("?"):
        return list(lines.values())
    facility = argument.strip().strip('"')
    if facility not in lines:
        raise CommandFailed("CME", 4)
    return [lines[facility]]


@handles("^CPIN")
def _huawei_cpin(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # Huawei: ^CPIN: <code>,[<times>],<puk_times>,<pin_times>,<puk2_times>,<pin2_times>;
    # <times> the tries left for what <code> asks, empty when READY.
    _counter(modem, name)
    if not name.endswith("?"):
        raise CommandFailed("CME", _NOT_ALLOWED)  # ^CPIN=<pin> is not simulated: use +CPIN
    code = lock_code(modem)
    tries = _tries(modem)
    times = str(tries[code][0]) if code in tries else ""
    counts = (tries["SIM PUK"][0], tries["SIM PIN"][0], tries["SIM PUK2"][0], tries["SIM PIN2"][0])
    return [f"^CPIN: {code},{times}," + ",".join(map(str, counts))]
