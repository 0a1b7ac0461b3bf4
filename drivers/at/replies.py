"""Pure parsers for the replies and unsolicited codes the driver uses (TS 27.005, TS 27.007).

Each takes the reply lines of a :class:`~drivers.at.parse.Response` (or the value of an
:class:`~drivers.at.parse.Unsolicited`) and returns plain values. They accept the vendor
variants recorded from real modems (tests/drivers/at/test_at_replies.py names each device) and
raise :class:`~drivers.errors.AtReplyError` for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from drivers.codec import Alphabet, ussd
from drivers.errors import AtReplyError

Lines = Sequence[str]

_PDU_ON_HEADER: Final = re.compile(r"^(.*\d)\s+([0-9A-Fa-f]{2,})$")
_GROUP: Final = re.compile(r"\(([^)]*)\)")
_MEMORY: Final = re.compile(r"[A-Z][A-Z0-9_]*")
_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{2})+")  # octets as hexadecimal


@dataclass(frozen=True, slots=True)
class StoredPdu:
    """One message from ``+CMGL`` or ``+CMGR``: ``index`` is ``None`` for ``+CMGR``.

    ``stat`` (TS 27.005 §3.1, PDU mode): 0 received unread, 1 received read, 2 stored unsent,
    3 stored sent; ``None`` when the modem left it out (ZTE). ``length`` is the TPDU length.
    """

    index: int | None
    stat: int | None
    length: int
    pdu: str


def fields(value: str) -> list[str]:
    """Comma-separated fields, quotes removed: ``'"SM",3,,25'`` -> ``['SM', '3', '', '25']``."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    out.append("".join(current).strip())
    return out


def _value(line: str, prefix: str) -> str:
    return line[len(prefix) :].strip()


def _find(lines: Lines, prefix: str) -> str | None:
    for line in lines:
        if line.upper().startswith(prefix):
            return _value(line, prefix)
    return None


def _require(lines: Lines, prefix: str, command: str) -> str:
    value = _find(lines, prefix)
    if value is None:
        raise AtReplyError(command, f"no {prefix} line in the reply", tuple(lines))
    return value


def _int(text: str, command: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise AtReplyError(command, f"{what} {text!r} is not a number") from None


# --- Messages --------------------------------------------------------------------------------


def _header_and_pdu(lines: Lines, at: int, prefix: str) -> tuple[list[str], str]:
    """The fields of a ``+CMGL:``/``+CMGR:`` header and its PDU.

    The PDU is normally the next line; some modems put it on the header line after a space
    (ModemManager test_cmgr_response_generic: ``+CMGR: 1,,147 0791...``).
    """
    value = _value(lines[at], prefix)
    same_line = _PDU_ON_HEADER.match(value)
    if same_line:
        return fields(same_line.group(1)), same_line.group(2)
    following = lines[at + 1] if at + 1 < len(lines) else ""
    if following.upper().startswith(prefix):
        following = ""
    return fields(value), following


def parse_cmgl(lines: Lines) -> list[StoredPdu]:
    """``+CMGL: <index>,<stat>,[<alpha>],<length>`` and the PDU line, for each message.

    Pantech leaves out the alpha field (``+CMGL: 17,3,35``); blank lines between entries are
    already gone. The length is always the last field.
    """
    out: list[StoredPdu] = []
    for at, line in enumerate(lines):
        if not line.upper().startswith("+CMGL:"):
            continue
        parts, pdu = _header_and_pdu(lines, at, "+CMGL:")
        if len(parts) < 2 or not pdu:
            raise AtReplyError("AT+CMGL", f"malformed entry {line!r}", tuple(lines))
        stat = parts[1]
        out.append(
            StoredPdu(
                _int(parts[0], "AT+CMGL", "index"),
                int(stat) if stat.isdigit() else None,
                _int(parts[-1], "AT+CMGL", "length"),
                pdu,
            )
        )
    return out


def parse_cmgr(lines: Lines) -> StoredPdu | None:
    """``+CMGR: [<stat>],[<alpha>],<length>`` and the PDU line; ``None`` for an empty slot.

    Variants seen on real modems: ``0,,24``, ``,,27`` (ZTE, no stat), ``0,"",50`` (Telit),
    ``0,23``, ``24`` (length only), ``4,1,,151`` (the index first, as in +CMGL: gammu
    at-sms/26.dump), the PDU on the header line, and ``0,,0`` for an empty slot (Siemens MC35,
    gammu at-sms.c).
    """
    for at, line in enumerate(lines):
        if line.upper().startswith("+CMGR:"):
            parts, pdu = _header_and_pdu(lines, at, "+CMGR:")
            length = _int(parts[-1], "AT+CMGR", "length")
            if length == 0 and not pdu:
                return None
            if not pdu:
                raise AtReplyError("AT+CMGR", "the PDU line is missing", tuple(lines))
            stat = parts[1] if len(parts) >= 4 else parts[0] if len(parts) > 1 else ""
            return StoredPdu(None, int(stat) if stat.isdigit() else None, length, pdu)
    return None


def parse_cmgs(lines: Lines) -> int:
    """The TP-MR of ``+CMGS: <mr>[,<scts>]`` (also ``+CMGS:123``, smslib CServiceTest)."""
    value = _require(lines, "+CMGS:", "AT+CMGS")
    reference = _int(fields(value)[0], "AT+CMGS", "message reference")
    if not 0 <= reference <= 255:
        raise AtReplyError("AT+CMGS", f"message reference {reference} is not 0..255")
    return reference


# --- Storage and notification settings -------------------------------------------------------

Memories = tuple[frozenset[str], frozenset[str], frozenset[str]]


def parse_cpms_test(lines: Lines) -> Memories:
    """The memories ``AT+CPMS=?`` offers for <mem1>, <mem2> and <mem3>.

    Real replies: ``("SM","ME"),("SM","ME"),("SM","ME")``; Huawei MU609 ``"ME","MT","SM"``
    (one flat list, meant for all three); Nokia ``(),(),()``; Samsung an empty ``+CPMS:``;
    gammu's generic dump ``(ME", "SR"), ("ME", "SR"), ("ME")`` with a quote missing.
    """
    value = _find(lines, "+CPMS:")
    if value is None:
        return frozenset(), frozenset(), frozenset()
    groups = _GROUP.findall(value)
    if not groups:
        flat = frozenset(_MEMORY.findall(value.upper()))
        return flat, flat, flat
    sets = [frozenset(_MEMORY.findall(group.upper())) for group in groups[:3]]
    while len(sets) < 3:
        sets.append(sets[-1])
    return sets[0], sets[1], sets[2]


def parse_cpms_usage(lines: Lines) -> list[tuple[int, int]]:
    """(used, total) for each memory, from ``AT+CPMS?`` or ``AT+CPMS=...`` replies."""
    value = _require(lines, "+CPMS:", "AT+CPMS")
    numbers = [part for part in fields(value) if part.isdigit()]
    if len(numbers) % 2 or not numbers:
        raise AtReplyError("AT+CPMS", f"cannot read memory usage from {value!r}")
    return [(int(numbers[i]), int(numbers[i + 1])) for i in range(0, len(numbers), 2)]


def parse_cpms_read(lines: Lines) -> list[tuple[str, int, int]]:
    """(memory, used, total) for each memory ``AT+CPMS?`` names, in its order: TS 27.005
    §3.2.2, ``+CPMS: <mem1>,<used1>,<total1>,<mem2>,<used2>,<total2>,<mem3>,<used3>,<total3>``
    (some firmware stops after <mem1> or <mem2>)."""
    value = _require(lines, "+CPMS:", "AT+CPMS?")
    parts = fields(value)
    if len(parts) % 3:
        raise AtReplyError("AT+CPMS?", f"cannot read the memories from {value!r}")
    memories = []
    for at in range(0, len(parts), 3):
        name, used, total = parts[at : at + 3]
        if not name.isalpha() or not used.isdigit() or not total.isdigit():
            raise AtReplyError("AT+CPMS?", f"cannot read the memories from {value!r}")
        memories.append((name.upper(), int(used), int(total)))
    return memories


def _ranges(text: str) -> frozenset[int]:
    values: set[int] = set()
    for raw_item in text.split(","):
        item = raw_item.strip()
        if not item:
            continue
        low, _, high = item.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise AtReplyError("AT+CNMI=?", f"cannot read the range {item!r}")
        values.update(range(int(low), int(high or low) + 1))
    return frozenset(values)


def parse_cnmi_test(lines: Lines) -> tuple[frozenset[int], ...]:
    """The values ``AT+CNMI=?`` allows for <mode>,<mt>,<bm>,<ds>,<bfr> (gammu at-cnmi dumps:
    ``(2),(0-1,3),(0,2),(0-1),(0)`` and ``+CNMI:(0-3),...`` without a space)."""
    value = _require(lines, "+CNMI:", "AT+CNMI=?")
    groups = _GROUP.findall(value)
    if not groups:
        groups = value.split(",")
    return tuple(_ranges(group) for group in groups)


def parse_cnmi(lines: Lines) -> tuple[int, ...]:
    """``+CNMI: <mode>,<mt>,<bm>,<ds>,<bfr>``: the notifications in effect (TS 27.005
    §3.4.1, the read command)."""
    parts = fields(_require(lines, "+CNMI:", "AT+CNMI?"))
    if len(parts) < 5:
        raise AtReplyError("AT+CNMI?", f"expected 5 fields, got {parts!r}")
    return tuple(_int(part, "AT+CNMI?", "setting") for part in parts)


def parse_csms(lines: Lines) -> tuple[int, int, int]:
    """``+CSMS: <mt>,<mo>,<bm>``: which message services the modem supports."""
    parts = fields(_require(lines, "+CSMS:", "AT+CSMS"))
    if len(parts) < 3:
        raise AtReplyError("AT+CSMS", f"expected 3 fields, got {parts!r}")
    mt, mo, bm = (_int(part, "AT+CSMS", "service") for part in parts[-3:])
    return mt, mo, bm


# --- SIM, network, identity ------------------------------------------------------------------


def parse_cpin(lines: Lines) -> str:
    """``+CPIN: READY`` -> ``"READY"``; also ``SIM PIN``, ``SIM PUK``, ``PH-SIM PIN``..."""
    return _require(lines, "+CPIN:", "AT+CPIN?").strip('"').upper()


def parse_csq(lines: Lines) -> tuple[int, int]:
    """``+CSQ: <rssi>,<ber>`` (TS 27.007 §8.5)."""
    parts = fields(_require(lines, "+CSQ:", "AT+CSQ"))
    if len(parts) < 2:
        raise AtReplyError("AT+CSQ", f"expected 2 fields, got {parts!r}")
    return _int(parts[0], "AT+CSQ", "rssi"), _int(parts[1], "AT+CSQ", "ber")


def rssi_dbm(rssi: int) -> int | None:
    """TS 27.007 §8.5: 0 is -113 dBm or less, 31 is -51 dBm or more, 99 not known."""
    return -113 + 2 * rssi if 0 <= rssi <= 31 else None


@dataclass(frozen=True, slots=True)
class Registration:
    """``+CREG``/``+CGREG``/``+CEREG`` (TS 27.007 §7.2, §10.1.19/22)."""

    stat: int
    lac: str | None = None
    ci: str | None = None
    act: int | None = None

    @property
    def registered(self) -> bool:
        # 1 home, 5 roaming, 6/7 "SMS only" home/roaming (E-UTRAN), 9/10 CSFB not preferred.
        return self.stat in (1, 5, 6, 7, 9, 10)

    @property
    def roaming(self) -> bool:
        # 5 roaming, 7 "SMS only" roaming, 10 roaming with CSFB not preferred (TS 27.007 §7.2).
        return self.stat in (5, 7, 10)


def _registration(parts: list[str], command: str) -> Registration:
    stat = _int(parts[0], command, "stat")
    lac = parts[1] or None if len(parts) > 1 else None
    ci = parts[2] or None if len(parts) > 2 else None
    act = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
    return Registration(stat, lac, ci, act)


def parse_registration(lines: Lines, prefix: str = "+CREG:") -> Registration:
    """The reply to ``AT+CREG?`` (or +CGREG/+CEREG): ``<n>,<stat>[,<lac>,<ci>[,<AcT>]]``."""
    parts = fields(_require(lines, prefix, f"AT{prefix[:-1]}?"))
    if len(parts) < 2:
        raise AtReplyError(f"AT{prefix[:-1]}?", f"expected <n>,<stat>, got {parts!r}")
    return _registration(parts[1:], f"AT{prefix[:-1]}?")


def parse_registration_urc(value: str) -> Registration:
    """The unsolicited form, without <n>: ``<stat>[,<lac>,<ci>[,<AcT>]]``."""
    return _registration(fields(value), "+CREG")


# TS 27.007 §7.3 <AcT>: the access technology of +COPS (and of +CREG/+CEREG's <AcT>).
TECHNOLOGIES: Final = (
    "GSM",
    "GSM Compact",
    "UTRAN",
    "EDGE",  # GSM w/EGPRS
    "HSDPA",  # UTRAN w/HSDPA
    "HSUPA",  # UTRAN w/HSUPA
    "HSPA",  # UTRAN w/HSDPA and HSUPA
    "LTE",  # E-UTRAN
    "EC-GSM-IoT",
    "NB-IoT",  # E-UTRAN (NB-S1 mode)
    "LTE (5GC)",  # E-UTRA connected to a 5GCN
    "NR (5GC)",  # NR connected to a 5GCN
    "NG-RAN",
    "EN-DC",  # E-UTRA-NR dual connectivity
)


def technology_name(act: int | None) -> str | None:
    """``7`` -> ``"LTE"``: the name of a TS 27.007 §7.3 <AcT> (``None`` when unknown)."""
    return TECHNOLOGIES[act] if act is not None and 0 <= act < len(TECHNOLOGIES) else None


@dataclass(frozen=True, slots=True)
class Operator:
    """``+COPS: <mode>[,<format>,<oper>[,<AcT>]]`` (TS 27.007 §7.3): ``format`` says what
    ``name`` is (0 long alphanumeric, 1 short alphanumeric, 2 numeric MCC and MNC); ``name``
    is ``None`` when the modem is registered on no network."""

    mode: int
    format: int | None = None
    name: str | None = None
    act: int | None = None


def parse_cops(lines: Lines) -> Operator:
    """The reply to ``AT+COPS?``; its format is the one ``AT+COPS=3,<format>`` set.

    Real replies (ModemManager test-modem-helpers.c cops_query_data): ``1,0,"CHINA MOBILE"``,
    ``1,0,"CHINA MOBILE",7``, ``1,2,"46000"``, ``1,2,"46000",7``; ``0`` alone when not
    registered. Huawei with ``AT+CSCS="UCS2"`` gives the name as UCS-2 hex (ModemManager
    normalize_operator_tests: ``0056006500720069007A006F006E`` is Verizon).
    """
    parts = fields(_require(lines, "+COPS:", "AT+COPS?"))
    mode = _int(parts[0], "AT+COPS?", "mode")
    if len(parts) < 3 or not parts[2]:
        return Operator(mode)
    form = _int(parts[1], "AT+COPS?", "format")
    act = _int(parts[3], "AT+COPS?", "AcT") if len(parts) > 3 and parts[3] else None
    return Operator(mode, form, _ucs2_hex(parts[2], str.isprintable), act)


def _ucs2_hex(text: str, accept: Callable[[str], bool]) -> str:
    """``text`` decoded when it is UCS-2 hex (Huawei with ``AT+CSCS="UCS2"``) whose text
    ``accept`` takes; as it is otherwise."""
    if len(text) >= 8 and len(text) % 4 == 0 and _HEX.fullmatch(text):
        decoded = bytes.fromhex(text).decode("utf-16-be", "replace")
        if accept(decoded):
            return decoded
    return text


@dataclass(frozen=True, slots=True)
class PinAttempts:
    """How many more tries the SIM allows for its PIN and its PUK (``None``: not said)."""

    pin: int | None
    puk: int | None


def _count(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def parse_pin_attempts(lines: Lines) -> PinAttempts | None:
    """The PIN and PUK tries left, from whichever command the modem's vendor answers; ``None``
    when no line of a known form is there.

    - ``+CPINR: <code>,<retries>[,<default>]``, one line per code (TS 27.007 §8.65; recorded
      on a Sequans modem: ``+CPINR: SIM PIN,3,3``, ``+CPINR: SIM PUK,10,10``);
    - Quectel ``AT+QPINC?``: ``+QPINC: "SC",<pin>,<puk>`` (and ``"P2"`` for PIN2; BG95);
    - Huawei ``AT^CPIN?``: ``^CPIN: <code>,[<times>],<puk>,<pin>,<puk2>,<pin2>``
      (``^CPIN: SIM PIN,3,10,3,10,3``, ``^CPIN: READY,,10,3,10,3``);
    - SIMCom ``AT+SPIC``: ``+SPIC: <pin>,<puk>,<pin2>,<puk2>`` (``+SPIC: 3,10,0,10``).
    """
    pin = puk = None
    found = False
    for line in lines:
        upper = line.upper()
        if upper.startswith("+CPINR:"):
            parts = fields(_value(line, "+CPINR:"))
            code = parts[0].upper()
            if len(parts) > 1 and code in ("SIM PIN", "SIM PUK"):
                found = True
                if code == "SIM PIN":
                    pin = _count(parts[1])
                else:
                    puk = _count(parts[1])
        elif upper.startswith("+QPINC:"):
            parts = fields(_value(line, "+QPINC:"))
            if parts[0].upper() == "SC" and len(parts) >= 3:
                found = True
                pin, puk = _count(parts[1]), _count(parts[2])
        elif upper.startswith("^CPIN:"):
            parts = fields(_value(line, "^CPIN:"))
            if len(parts) >= 4:
                found = True
                puk, pin = _count(parts[2]), _count(parts[3])
        elif upper.startswith("+SPIC:"):
            parts = fields(_value(line, "+SPIC:"))
            found = True
            pin = _count(parts[0])
            puk = _count(parts[1]) if len(parts) > 1 else None
    return PinAttempts(pin, puk) if found else None


def _ucs2_hex_number(text: str) -> str:
    # Some modems (Huawei with AT+CSCS="UCS2") report addresses as UCS-2 hex.
    return _ucs2_hex(text, lambda decoded: decoded.lstrip("+").isdigit())


def parse_csca(lines: Lines) -> tuple[str, int] | None:
    """``+CSCA: "+59899998932",145`` -> the SMSC number and its type; ``None`` if unset."""
    value = _find(lines, "+CSCA:")
    if value is None:
        return None
    parts = fields(value)
    number = _ucs2_hex_number(parts[0]) if parts else ""
    if not number:
        return None
    toa = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 145
    return number, toa


def parse_cnum(lines: Lines) -> list[str]:
    """Own numbers: ``+CNUM: [<alpha>],<number>,<type>`` lines (the SIM may hold none)."""
    numbers: list[str] = []
    for line in lines:
        if line.upper().startswith("+CNUM:"):
            parts = fields(_value(line, "+CNUM:"))
            if len(parts) >= 2 and parts[1]:
                numbers.append(_ucs2_hex_number(parts[1]))
    return numbers


def parse_text(lines: Lines, prefix: str) -> str:
    """Identity replies (``AT+CGMI`` ...): the text, with an optional ``+CGMI:`` prefix and
    quotes removed; several lines are joined with spaces."""
    texts = []
    for line in lines:
        text = _value(line, prefix) if line.upper().startswith(prefix) else line
        texts.append(text.strip().strip('"'))
    return " ".join(text for text in texts if text)


# --- Unsolicited result codes ----------------------------------------------------------------


def parse_storage_urc(value: str) -> tuple[str, int]:
    """``+CMTI``/``+CDSI`` value ``"SM",3`` -> ``("SM", 3)``."""
    parts = fields(value)
    if len(parts) < 2 or not parts[-1].isdigit():
        raise AtReplyError("+CMTI", f"cannot read memory and index from {value!r}")
    return parts[0].upper(), int(parts[-1])


def parse_pdu_urc_length(value: str) -> int:
    """The ``<length>`` of ``+CMT: [<alpha>],<length>`` or ``+CDS: <length>``."""
    parts = fields(value)
    if not parts or not parts[-1].isdigit():
        raise AtReplyError("+CMT", f"cannot read the length from {value!r}")
    return int(parts[-1])


def parse_clip(value: str) -> tuple[str | None, bool]:
    """``+CLIP: <number>,<type>[,<subaddr>,<satype>[,<alpha>[,<CLI validity>]]]`` (TS 27.007
    §7.6) -> (the caller's number, or ``None`` when not given; whether the caller withheld it:
    CLI validity 1). ``"+4866029",145,"",128,"",0`` -> ``("+4866029", False)``."""
    parts = fields(value)
    if len(parts) < 2:
        raise AtReplyError("+CLIP", f"cannot read a number and its type from {value!r}")
    number = _ucs2_hex_number(parts[0]) or None
    withheld = len(parts) > 5 and parts[5] == "1"
    return (None if withheld else number), withheld


# --- USSD ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cusd:
    """``+CUSD: <m>[,<str>[,<dcs>]]`` (TS 27.007 §7.15): ``m`` 0 no further action required,
    1 further action required (a menu awaits a reply), 2 terminated by the network, 3 another
    local client has responded, 4 operation not supported, 5 network time out. ``text`` is the
    string decoded (``None`` when the code carries none), ``dcs`` its CBS data coding scheme
    (TS 23.038 §5) and ``raw`` the string as the modem printed it."""

    m: int
    text: str | None = None
    dcs: int | None = None
    raw: str | None = None


def parse_cusd(value: str, *, packed: bool = False) -> Cusd:
    """The value of a ``+CUSD:`` line, its string decoded as its ``<dcs>`` says.

    TS 27.007 §7.15: a GSM 7-bit string comes in the TE character set (``AT+CSCS``), as text;
    8-bit and UCS-2 ones as hexadecimal octets (``+CUSD: 0,"0421043F...",72``). ``packed``
    modems (Huawei E1550/E1752, :attr:`~drivers.modem.quirks.VendorProfile.ussd_packed`)
    print a GSM 7-bit string as the hexadecimal of its packed septets instead
    (``+CUSD: 0,"EBB79B1E0685E9ECF4BADE9E03",0``). A string that is not hexadecimal where hex
    is due is taken as text: firmware that converted it to the TE character set already.
    """
    parts = fields(value)
    if not parts[0].isdigit():
        raise AtReplyError("+CUSD", f"cannot read <m> from {value!r}")
    m = int(parts[0])
    if len(parts) < 2:
        return Cusd(m)
    raw = parts[1]
    dcs_text = parts[2] if len(parts) > 2 else ""
    dcs = int(dcs_text) if dcs_text.isdigit() else None
    coding = ussd.DEFAULT_DCS if dcs is None else dcs
    gsm7 = ussd.alphabet(coding) is Alphabet.GSM7
    if (packed or not gsm7) and _HEX.fullmatch(raw):
        return Cusd(m, ussd.decode(bytes.fromhex(raw), coding), dcs, raw)
    return Cusd(m, ussd.language_removed(raw, coding) if gsm7 else raw, dcs, raw)
