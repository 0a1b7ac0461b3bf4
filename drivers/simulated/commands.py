"""The AT commands a simulated modem answers (all but AT+CMGS, which needs the prompt); the
network registration (:mod:`drivers.simulated.registration`) and the SIM's lock
(:mod:`drivers.simulated.sim`) are families of their own.

Each handler takes the modem, the command name as written (``+CPMS`` for set/test, ``+CPMS?``
for read), the argument after ``=`` (upper-cased; ``?`` for a test command) and the original
text, and returns the information lines of its reply or raises :class:`CommandFailed`.
Reply formats follow TS 27.007 and TS 27.005 as real modems print them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from drivers.at.replies import fields
from drivers.codec.pdu.fields import toa_of
from drivers.simulated.calls import VHU_MODES
from drivers.simulated.state import CommandFailed, digits
from drivers.simulated.ussd import answer_line, request_text

if TYPE_CHECKING:
    from drivers.simulated.modem import SimulatedModem

Handler = Callable[["SimulatedModem", str, str, str], list[str]]
HANDLERS: dict[str, Handler] = {}

_NOT_ALLOWED: Final = CommandFailed("CME", 3)
_CMS_NO_ACK_EXPECTED: Final = 340


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = handler
        return handler

    return register


def integers(argument: str, family: str = "CME") -> list[int]:
    values = []
    for raw_part in argument.split(","):
        part = raw_part.strip()
        if not part:
            values.append(-1)
        elif digits(part):
            values.append(int(part))
        else:
            raise CommandFailed(family, 4 if family == "CME" else 303)
    return values


def _quoted(argument: str) -> list[str]:
    return [value.strip().strip('"') for value in argument.split(",")]


def needs_sim(modem: SimulatedModem) -> None:
    if not (modem.sim_inserted and modem.pin_entered):
        raise CommandFailed("CMS", 311)


# --- identity ----------------------------------------------------------------------------------


@handles("+CGMI", "+GMI")
def _manufacturer(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    return [modem.personality.manufacturer]


@handles("+CGMM", "+GMM")
def _model(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    return [modem.personality.model]


@handles("+CGMR", "+GMR")
def _revision(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    return [modem.personality.revision]


@handles("+CGSN", "+GSN")
def _imei(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    return [modem.imei]


@handles("+CIMI")
def _imsi(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if not modem.sim_inserted:
        raise CommandFailed("CME", 10)
    if not modem.pin_entered:
        raise CommandFailed("CME", 11)
    return [modem.imsi]


@handles("+CNUM")
def _own_numbers(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    return [f'+CNUM: "","{number}",{toa_of(number)}' for number in modem.numbers]


@handles("+CMEE")
def _cmee(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if name.endswith("?"):
        return [f"+CMEE: {modem.cmee}"]
    if argument == "?":
        return ["+CMEE: (0-2)"]
    (value,) = integers(argument)
    if value not in (0, 1, 2):
        raise CommandFailed("CME", 4)
    modem.cmee = value
    return []


@handles("^CURC")
def _curc(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # Huawei: AT^CURC=0 stops the periodic ^RSSI/^MODE/^BOOT lines.
    if not modem.personality.caret_spam:
        raise CommandFailed()
    modem.caret_reports = argument.strip() != "0"
    return []


@handles("+QINDCFG")
def _qindcfg(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # Quectel EC2x manual, AT+QINDCFG=<urctype>[,<enable>[,<savetonvram>]]: only "smsfull"
    # matters here (whether +QIND: "smsfull",<storage> is sent).
    if not modem.personality.memory_full_off:
        raise CommandFailed()
    values = _quoted(argument)
    if values[0].lower() != "smsfull":
        return []
    if len(values) == 1:
        return [f'+QINDCFG: "smsfull",{int(modem.memory_full_on)}']
    enable = values[1]
    if enable not in ("0", "1"):
        raise CommandFailed("CME", 3)
    modem.memory_full_on = enable == "1"
    return []


@handles("+CSCS")
def _cscs(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §5.5; gammu refuses a modem that does not list its character sets.
    if name.endswith("?"):
        return [f'+CSCS: "{modem.charset}"']
    if argument == "?":
        return ['+CSCS: ("IRA","GSM","UCS2","8859-1")']
    wanted = argument.strip().strip('"')
    if wanted not in ("IRA", "GSM", "UCS2", "8859-1"):
        raise CommandFailed("CME", 4)
    modem.charset = wanted
    return []


@handles("+CFUN")
def _cfun(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if name.endswith("?"):
        return ["+CFUN: 1"]
    if argument == "?":
        return ["+CFUN: (0,1,4),(0,1)"]
    return []


@handles("+CGATT")
def _cgatt(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if name.endswith("?"):
        return [f"+CGATT: {int(modem.registration in (1, 5))}"]
    if argument == "?":
        return ["+CGATT: (0,1)"]
    return []


@handles("+CMMS")
def _cmms(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.005 §3.5.6: keep the link to the SC open between messages.
    if name.endswith("?"):
        return [f"+CMMS: {modem.cmms}"]
    if argument == "?":
        return ["+CMMS: (0-2)"]
    (value,) = integers(argument, "CMS")
    if value not in (0, 1, 2):
        raise CommandFailed("CMS", 303)
    modem.cmms = value
    return []


@handles("+CUSD")
def _cusd(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §7.15: AT+CUSD=[<n>[,<str>[,<dcs>]]]; n=2 cancels the session. The answer
    # comes as an unsolicited +CUSD after the OK (the peer holds it while the command runs).
    if name.endswith("?"):
        return [f"+CUSD: {modem.cusd}"]
    if argument == "?":
        return ["+CUSD: (0-2)"]
    parts = fields(original.partition("=")[2])  # a reply may hold a comma, inside its quotes
    if not digits(parts[0]) or int(parts[0]) not in (0, 1, 2) or len(parts) > 3:
        raise CommandFailed("CME", 4)
    modem.cusd = int(parts[0])
    if modem.cusd == 2:
        modem.ussd.cancel()
        return []
    if len(parts) < 2 or not parts[1]:
        return []
    text = request_text(parts[1], modem.personality.ussd, modem.charset)
    if text is None:
        raise CommandFailed()  # not in the TE character set (a Huawei: not packed hex)
    if modem.registration not in (1, 5):
        raise CommandFailed("CME", 30)  # no network service
    rule = modem.ussd.request(text)
    if not rule.silent:
        modem.answer_ussd(answer_line(rule, modem.personality.ussd, modem.charset))
    return []


@handles("+CBC")
def _cbc(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    return ["+CBC: 0,100,4200"]  # powered from USB, full


# --- calls (drivers.simulated.calls) ------------------------------------------------------------


def _switch(argument: str) -> bool:
    """A 0/1 setting's new value (``AT+CLIP=1``); +CME ERROR: 4 for anything else."""
    (value,) = integers(argument)
    if value not in (0, 1):
        raise CommandFailed("CME", 4)
    return value == 1


@handles("+CLIP")
def _clip(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §7.6: +CLIP: <n>,<m>; <m> 1: CLIP is provisioned by the network.
    if name.endswith("?"):
        return [f"+CLIP: {int(modem.clip)},1"]
    if argument == "?":
        return ["+CLIP: (0,1)"]
    modem.clip = _switch(argument)
    return []


@handles("+CRC")
def _crc(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §6.11: +CRING: <type> instead of RING.
    if name.endswith("?"):
        return [f"+CRC: {int(modem.crc)}"]
    if argument == "?":
        return ["+CRC: (0,1)"]
    modem.crc = _switch(argument)
    return []


@handles("+CHUP")
def _chup(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §6.5: hang up the call; OK with no call too, as modems answer.
    if argument != "?":
        modem.calls.hang_up("AT+CHUP")
    return []


@handles("+CVHU")
def _cvhu(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    # TS 27.007 §6.20 voice hang-up control: whether ATH ends a call (Calls.hang_up).
    if name.endswith("?"):
        return [f"+CVHU: {modem.cvhu}"]
    if argument == "?":
        return ["+CVHU: (0-2)"]
    modes = integers(argument)
    if len(modes) != 1 or modes[0] not in VHU_MODES:
        raise CommandFailed("CME", 4)
    modem.cvhu = modes[0]
    return []


@handles("+CLCC")
def _clcc(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    return [] if argument == "?" else modem.calls.clcc()


# --- message service settings --------------------------------------------------------------------


@handles("+CMGF")
def _cmgf(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if name.endswith("?"):
        return [f"+CMGF: {modem.cmgf}"]
    if argument == "?":
        return ["+CMGF: (0,1)"]
    (value,) = integers(argument, "CMS")
    if value not in (0, 1):
        raise CommandFailed("CMS", 303)
    modem.cmgf = value
    return []


@handles("+CSMS")
def _csms(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if name.endswith("?"):
        return [f"+CSMS: {modem.csms},1,1,1"]
    if argument == "?":
        return ["+CSMS: (0,1)"]
    (value,) = integers(argument, "CMS")
    personality = modem.personality
    if (
        value not in (0, 1)
        or (value == 0 and personality.phase2_plus_only)
        or (value == 1 and personality.phase2_only)
    ):
        raise CommandFailed("CMS", 303)
    modem.csms = value
    return ["+CSMS: 1,1,1"]


@handles("+CPMS")
def _cpms(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    names = list(modem.storages)
    if argument == "?":
        readable = ",".join(f'"{n}"' for n in names)
        writable = ",".join(f'"{n}"' for n in names if n != "SR")
        return [f"+CPMS: ({readable}),({writable}),({writable})"]
    if name.endswith("?"):
        parts = [
            f'"{memory}",{len(modem.storages[memory].slots)},{modem.storages[memory].capacity}'
            for memory in modem.mem
        ]
        return ["+CPMS: " + ",".join(parts)]
    needs_sim(modem)
    wanted = [memory for memory in _quoted(argument) if memory]
    if not wanted or len(wanted) > 3 or any(memory not in modem.storages for memory in wanted):
        raise CommandFailed("CMS", 302)
    if any(memory == "SR" for memory in wanted[1:]):
        raise CommandFailed("CMS", 302)  # SR is for reading reports only (<mem1>)
    modem.mem[: len(wanted)] = wanted
    usage = [f"{len(modem.storages[m].slots)},{modem.storages[m].capacity}" for m in modem.mem]
    modem.release_held()
    return ["+CPMS: " + ",".join(usage)]


@handles("+CNMI")
def _cnmi(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if argument == "?":
        return [f"+CNMI: {modem.personality.cnmi_test}"]
    if name.endswith("?"):
        return ["+CNMI: " + ",".join(map(str, modem.cnmi))]
    values = integers(argument, "CMS")
    merged = [v if v >= 0 else old for v, old in zip(values + [-1] * 5, modem.cnmi, strict=False)]
    mode, mt, bm, ds, bfr = merged[:5]
    allowed = _ranges(modem.personality.cnmi_test)
    if any(value not in allowed[i] for i, value in enumerate((mode, mt, bm, ds, bfr))):
        raise CommandFailed("CMS", 303)
    if ds == 1 and modem.personality.refuses_ds1:
        raise CommandFailed("CMS", 303)  # listed by AT+CNMI=?, refused all the same
    modem.cnmi = (mode, mt, bm, ds, bfr)
    modem.notifications_set()
    return []


def _ranges(test: str) -> list[set[int]]:
    groups = re.findall(r"\(([^)]*)\)", test)
    out = []
    for group in groups:
        values: set[int] = set()
        for item in group.split(","):
            low, _, high = item.partition("-")
            values.update(range(int(low), int(high or low) + 1))
        out.append(values)
    return out


@handles("+CNMA")
def _cnma(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if not modem.acknowledged():
        raise CommandFailed("CMS", _CMS_NO_ACK_EXPECTED)
    return []


@handles("+CSCA")
def _csca(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    if name.endswith("?"):
        if not modem.smsc:
            raise CommandFailed("CMS", 330)
        return [f'+CSCA: "{modem.smsc}",{toa_of(modem.smsc)}']
    modem.smsc = _quoted(original.partition("=")[2])[0]
    return []


# --- signal ------------------------------------------------------------------------------------


@handles("+CSQ")
def _csq(modem: SimulatedModem, name: str, argument: str, original: str) -> list[str]:
    return [f"+CSQ: {modem.rssi},99"]
