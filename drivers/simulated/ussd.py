"""The simulated network's USSD service, as one modem reaches it (TS 27.007 §7.15, TS 22.090).

Each request string has a :class:`UssdRule`: the answer, whether it is a menu waiting for a
reply (``<m>`` 1, each reply with its own rule), ends the session from the network's side
(``<m>`` 2), comes in UCS-2, or never comes. ``AT+CUSD=1,"<str>",<dcs>`` is answered OK,
then the answer follows as the unsolicited ``+CUSD: <m>,"<str>",<dcs>`` (the peer holds it
until the OK is written: never inside another command's response). A GSM 7-bit ``<str>`` is
in the TE character set of ``AT+CSCS`` both ways (§7.15: gammu sets "UCS2" and sends
``*100#`` as ``002A0031003000300023``), a UCS-2 one is the hex of its octets; unless the
personality's ``ussd`` quirk says otherwise (:func:`request_text`, :func:`answer_line`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from drivers.codec import gsm7, ussd
from drivers.simulated.charsets import from_te, to_te
from drivers.simulated.state import CommandFailed

# The "ussd" quirk of a personality: how the modem prints a GSM 7-bit USSD string.
TEXT: Final = "text"  # in the TE character set (AT+CSCS), as TS 27.007 §7.15 says (most modems)
PACKED: Final = "packed"  # hex of the packed septets, and wants requests so (Huawei E1752)
UCS2: Final = "ucs2"  # its network answers in UCS-2, dcs 72 (as Cyrillic operators do)


@dataclass(frozen=True, slots=True)
class UssdRule:
    """What the network answers to one string. ``m``: 0 done, 1 a menu (``menu`` has the rule
    for each reply; any other reply ends the session), 2 the network ends the session."""

    answer: str = ""
    m: int = 0
    menu: Mapping[str, UssdRule] = field(default_factory=dict)
    ucs2: bool = False  # sent in UCS-2 (dcs 72); so is any answer GSM 7-bit cannot carry
    silent: bool = False  # no answer ever comes (the request times out)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> UssdRule:
        """A rule from the JSON of the control interface (``answer``, ``m``, ``menu``,
        ``ucs2``, ``silent``); ``ValueError`` for a bad one."""
        unknown = set(body) - {"answer", "m", "menu", "ucs2", "silent", "code"}
        if unknown:
            raise ValueError(f"unknown USSD rule field(s): {', '.join(sorted(unknown))}")
        answer, m, menu = body.get("answer", ""), body.get("m", 0), body.get("menu", {})
        ucs2, silent = body.get("ucs2", False), body.get("silent", False)
        if not isinstance(answer, str) or len(answer) > 182 or '"' in answer:
            raise ValueError("'answer' must be a text of at most 182 characters, no quote")
        if type(m) is not int or m not in (0, 1, 2):
            raise ValueError("'m' must be 0 (done), 1 (menu) or 2 (ended by the network)")
        if type(ucs2) is not bool or type(silent) is not bool:
            raise ValueError("'ucs2' and 'silent' must be booleans")
        if not isinstance(menu, dict) or not all(isinstance(v, dict) for v in menu.values()):
            raise ValueError("'menu' must map each reply to a rule")
        choices = {str(reply): cls.from_json(rule) for reply, rule in menu.items()}
        return cls(answer, m, choices, ucs2, silent)


# What `make run` and a bare `smsgw simulate` answer: a balance, and a menu.
DEFAULT_RULES: Final = {
    "*100#": UssdRule("Your balance is 12.34 EUR. Valid until 31.12.2026."),
    "*101#": UssdRule(
        "1. Balance\n2. Bundles",
        m=1,
        menu={
            "1": UssdRule("Your balance is 12.34 EUR."),
            "2": UssdRule(
                "1. 1 GB for 5 EUR\n2. 5 GB for 15 EUR",
                m=1,
                menu={"1": UssdRule("1 GB added."), "2": UssdRule("5 GB added.")},
            ),
        },
    ),
}
_UNKNOWN: Final = UssdRule("Unknown service code.", m=2)
_INVALID: Final = UssdRule("Invalid choice.", m=2)


class UssdService:
    """The USSD rules a modem's network follows, and the menu it has open."""

    def __init__(self) -> None:
        self.rules: dict[str, UssdRule] = dict(DEFAULT_RULES)
        self.open: UssdRule | None = None  # the menu waiting for a reply
        self.requests: list[str] = []  # every string received, decoded

    def set_rule(self, code: str, rule: UssdRule) -> None:
        self.rules[code] = rule

    def request(self, text: str) -> UssdRule:
        """The rule that answers ``text``: a reply to the open menu, or a new code."""
        self.requests.append(text)
        if self.open is not None:
            rule = self.open.menu.get(text, _INVALID)
        else:
            rule = self.rules.get(text, _UNKNOWN)
        self.open = rule if rule.m == 1 and not rule.silent else None
        return rule

    def cancel(self) -> None:
        self.open = None


def request_text(string: str, coding: str, charset: str) -> str | None:
    """The text of the ``<str>`` of ``AT+CUSD=1``, typed in the TE character set
    ``charset``; ``None`` when this modem cannot read it (not in that set, or a ``packed`` one
    given anything but packed hex)."""
    if coding != PACKED:
        try:
            return from_te(string, charset)
        except CommandFailed:
            return None
    try:
        return ussd.unpack(bytes.fromhex(string))
    except ValueError:
        return None


def answer_line(rule: UssdRule, coding: str, charset: str) -> str:
    """The ``+CUSD`` line that carries ``rule``'s answer, its text in the TE character set
    ``charset`` when it is GSM 7-bit."""
    # GSM 7-bit (dcs 15) when the alphabet has the answer and, printed as text, the TE
    # character set too (IRA is ASCII, T.50; 8859-1 Latin-1); UCS-2 (dcs 72) otherwise.
    plain = gsm7.can_encode(rule.answer) and (coding != TEXT or _shown(rule.answer, charset))
    if rule.ucs2 or coding == UCS2 or not plain:
        text, dcs = gsm7.encode_ucs2(rule.answer).hex().upper(), ussd.UCS2_DCS
    elif coding == PACKED:
        text, dcs = ussd.pack(rule.answer).hex().upper(), ussd.DEFAULT_DCS
    else:
        text, dcs = to_te(rule.answer, charset), ussd.DEFAULT_DCS
    return f'+CUSD: {rule.m},"{text}",{dcs}'


def _shown(text: str, charset: str) -> bool:
    """Whether the TE character set ``charset`` has every character of ``text``."""
    if charset == "IRA":
        return text.isascii()
    if charset == "8859-1":
        return all(ord(char) < 0x100 for char in text)
    return True  # GSM has what gsm7 encodes; UCS2 has everything
