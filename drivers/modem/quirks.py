"""Vendor quirks as data: one profile per family of modems, picked once from +CGMI/+CGMM.

Each entry names the devices it was seen on (../shared/docs/gsm-at-pdu.md §3-4, ModemManager's
plugins, python-gsmmodem's recorded fake modems). The driver reads the fields; it never tests a
vendor name itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class VendorProfile:
    name: str
    manufacturer: re.Pattern[str] | None = None
    model: re.Pattern[str] | None = None
    # Commands run after identification; errors are ignored (older firmware lacks some).
    init_commands: tuple[str, ...] = ()
    # Further unsolicited prefixes this vendor emits in the middle of replies.
    urc_prefixes: tuple[str, ...] = ()
    # Answers AT+CPIN? with +CPIN: READY and no final OK (old Wavecom firmware).
    cpin_without_ok: bool = False
    # Lists ds=1 in AT+CNMI=? but refuses it (Qualcomm-based: SIM7600, EC25, ZTE).
    refuses_ds1: bool = False
    # Status reports taken routed (AT+CNMI ds=1: +CDS) with AT+CSMS=1, so that each waits for
    # our AT+CNMA after the commit (TS 27.005 §3.4.4): two round trips (AT+CMGR, AT+CMGD) less
    # per part than stored ones (+CDSI), and nothing lost in a crash, as the network delivers
    # an unacknowledged report again. Off where the vendor refuses or mishandles ds=1.
    routes_reports: bool = True
    # Whether a soft reset (AT+CFUN=1,1) brings the modem back on the same port.
    soft_reset_safe: bool = False
    # What ends a ringing call: ATH (V.250 §6.3.6; SIM800, Quectel manuals) or AT+CHUP
    # (TS 27.007 §6.5).
    hang_up: str = "ATH"
    # USSD strings as the hex of packed GSM 7-bit septets, both ways (AT+CUSD=1,"AA180C3602",15
    # for *100#): Huawei E1550/E1752/E171 firmware (gammu's Huawei notes, huawei-ussd.pl).
    ussd_packed: bool = False
    # The command that tells the PIN and PUK tries left (drivers.at.replies.parse_pin_attempts
    # reads each vendor's answer): TS 27.007 §8.65 AT+CPINR unless the vendor has its own.
    pin_counter: str | None = "AT+CPINR"
    notes: str = ""

    def matches(self, manufacturer: str, model: str) -> bool:
        if self.manufacturer is None:
            return True
        if not self.manufacturer.search(manufacturer):
            return False
        return self.model is None or bool(self.model.search(model))


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


HUAWEI: Final = VendorProfile(
    "huawei",
    _re(r"huawei"),
    # ^RSSI, ^MODE, ^BOOT, ^DSFLOWRPT... every few seconds (gammu #111/#126/#138 logs);
    # ModemManager turns them off with AT^CURC=0. Lines starting with ^ are URCs anyway.
    init_commands=("AT^CURC=0",),
    # An E1550 answers ATH with OK and the call rings on (smslib issue #5: only after
    # AT+CVHU=0 does ATH hang up); AT+CHUP ends it.
    hang_up="AT+CHUP",
    ussd_packed=True,
    pin_counter="AT^CPIN?",  # ^CPIN: SIM PIN,3,10,3,10,3 (E1750/EM770 logs, ModemManager)
    notes="E1750/E1752/E173/E3372 stick firmware; PCUI port for SMS when ttyUSB0 runs PPP",
)
ZTE: Final = VendorProfile(
    "zte",
    _re(r"zte"),
    # +ZDONR/+ZPASR arrive between AT+CMGS and the prompt and before +CMGS (python-gsmmodem
    # test_sendSmsResponseMixedWithUnsolictedMessages); +ZUSIMR floods until AT+CPMS? (MM).
    urc_prefixes=("+ZDONR:", "+ZPASR:", "+ZUSIMR:", "+ZEND", "+ZSTR:"),
    refuses_ds1=True,
    routes_reports=False,
)
WAVECOM: Final = VendorProfile(
    "wavecom",
    _re(r"wavecom|sierra wireless.*wavecom"),
    urc_prefixes=("+WIND:",),
    cpin_without_ok=True,  # python-gsmmodem's Wavecom fake modem
)
QUECTEL: Final = VendorProfile(
    "quectel",
    _re(r"quectel"),
    # +QIND: "smsfull",<storage> when a storage fills is off by default (EC2x/EG9x AT
    # commands manual, AT+QINDCFG): the receiver empties a full storage at once on it.
    init_commands=('AT+QINDCFG="smsfull",1',),
    urc_prefixes=("+QIND:", "+QUSIM:", "+QSTK:"),
    refuses_ds1=True,  # Qualcomm-based EC25/EG25: status reports as +CDSI
    routes_reports=False,
    soft_reset_safe=True,
    pin_counter="AT+QPINC?",  # +QPINC: "SC",3,10 (EC25/BG95 AT manuals)
)
SIMCOM_QUALCOMM: Final = VendorProfile(
    "simcom-qualcomm",
    _re(r"simcom"),
    _re(r"sim7[0-9]{3}|sim8[0-9]{3}[a-z]"),
    urc_prefixes=("+CPSI:",),
    refuses_ds1=True,  # SIM7600 (Qualcomm MDM9x07)
    routes_reports=False,
    soft_reset_safe=True,
    pin_counter="AT+SPIC",  # +SPIC: 3,10,0,10
)
SIMCOM: Final = VendorProfile(
    "simcom",
    _re(r"simcom"),
    # SIM800/SIM900 boot lines (RDY, Call Ready, SMS Ready) are URCs in drivers.at.parse already.
    pin_counter="AT+SPIC",
    notes="SIM800/SIM900: 2G only; brown-outs reboot it (watch for RDY)",
)
GENERIC: Final = VendorProfile("generic")

PROFILES: Final = (HUAWEI, ZTE, WAVECOM, QUECTEL, SIMCOM_QUALCOMM, SIMCOM, GENERIC)


def profile_for(manufacturer: str, model: str) -> VendorProfile:
    """The first profile matching the identity the modem reported (GENERIC otherwise)."""
    return next(profile for profile in PROFILES if profile.matches(manufacturer, model))


def profile_named(name: str) -> VendorProfile:
    for profile in PROFILES:
        if profile.name == name:
            return profile
    raise KeyError(name)
