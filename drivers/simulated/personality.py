"""How a simulated modem behaves: the quirks of real vendors, chosen by name.

Each personality reproduces what ../shared/docs/gsm-at-pdu.md §4 records of a real device, so
that the driver is tested against the awkward parts, not an idealised modem.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from drivers.simulated.ussd import PACKED, TEXT


@dataclass(frozen=True, slots=True)
class Personality:
    name: str = "generic"
    manufacturer: str = "smsgw"
    model: str = "Simulated GSM modem"
    revision: str = "smsgw-sim 1.0"
    # ATE0 is ignored: the modem echoes every command (SIM800 without AT&W after a reset).
    echo_locked: bool = False
    # Huawei: ^RSSI/^MODE/^BOOT lines before and inside replies until AT^CURC=0.
    caret_spam: bool = False
    # ZTE: +ZDONR/+ZPASR between AT+CMGS and the prompt, and again before +CMGS.
    urcs_in_submit: bool = False
    # Old Wavecom: AT+CPIN? is answered with +CPIN: READY and no OK.
    cpin_without_ok: bool = False
    # Qualcomm-based: AT+CNMI=? lists ds=1 but setting it fails.
    refuses_ds1: bool = False
    # Where status reports go with AT+CNMI ds=2 (Quectel EC25 announces "SM", others "SR").
    report_storage: str = "SR"
    cnmi_test: str = "(0-2),(0-3),(0,2),(0-2),(0,1)"
    storages: tuple[str, ...] = ("SM", "ME", "SR")
    # Phase 2+ only (AT+CSMS=0 refused): every +CMT/+CDS must be acknowledged with AT+CNMA.
    phase2_plus_only: bool = False
    # Phase 2 only (AT+CSMS=1 refused, +CMS ERROR: 303): the modem acknowledges every
    # +CMT/+CDS itself, so routed codes are lost if the host is not there to take them.
    phase2_only: bool = False
    # How ESC in the AT+CMGS prompt is acknowledged: OK (TS 27.005 §3.5.1; Quectel UGxx manual
    # §9.8 "Abortion is acknowledged with OK") or, with a code here, +CMS ERROR (an EC25-E
    # answered ESC with +CMS ERROR: 350, Quectel forums "How to send and receive SMS").
    abort_error: int | None = None
    # ATH is answered OK and an incoming call rings on: Huawei E1550 hangs up on ATH only
    # after AT+CVHU=0 (smslib issue #5), so its AT+CVHU <mode> (TS 27.007 §6.20) starts at 1
    # ("ATH ignored but OK response given"), others' at 0; AT+CHUP (§6.5) ends a call anyway.
    ath_ignored: bool = False
    # How USSD strings are printed (drivers/simulated/ussd.py): "text" in the TE character set
    # (TS 27.007 §7.15), "packed" as the hex of packed septets both ways (Huawei E1550/E1752,
    # gammu and huawei-ussd.pl), "ucs2" when its network answers in UCS-2, dcs 72 (a ZTE
    # stick as Russian operators sell them: StackOverflow 23102775's "+CUSD: 0,"0421...",72").
    ussd: str = TEXT
    # The command telling the PIN and PUK tries left (drivers/simulated/sim.py): TS 27.007
    # §8.65 +CPINR, or the vendor's own (Quectel +QPINC, Huawei ^CPIN).
    pin_counter: str = "+CPINR"
    # The first message index of each storage. TS 27.005 leaves the range to the ME (AT+CMGD=?
    # lists it); SIM records are numbered from 1 (TS 31.102 EF_SMS record numbers), which most
    # modems show as they are; others count from 0 (+CMTI: "SM",0 for the first message, as
    # users of SIMCom SIM7600 and Huawei E-series modems report).
    first_index: int = 1
    # TS 27.005 §3.4.1 AT+CNMI mode 3 ("link specific inband technique"): unsolicited result
    # codes are written at once, even inside another command's response. Off, they wait until
    # the response is over, as in mode 2 (the one the gateway selects).
    urcs_inband: bool = False
    # The code a storage that fills is announced with ({storage}: its name), none in TS 27.005:
    # Huawei ^SMMEMFULL (Balong firmware, asterisk chan_dongle), Quectel +QIND "smsfull" (EC2x
    # manual: off until AT+QINDCFG="smsfull",1, memory_full_off).
    memory_full_urc: str = ""
    memory_full_off: bool = False


GENERIC: Final = Personality()

PERSONALITIES: Final = {
    personality.name: personality
    for personality in (
        GENERIC,
        replace(GENERIC, name="echo", echo_locked=True),
        replace(
            GENERIC,
            name="huawei",
            manufacturer="huawei",
            model="E1752",
            revision="11.126.13.00.00",
            caret_spam=True,
            ath_ignored=True,
            ussd=PACKED,
            pin_counter="^CPIN",
            first_index=0,
            memory_full_urc='^SMMEMFULL: "{storage}"',
        ),
        replace(
            GENERIC,
            name="zte",
            manufacturer="ZTE CORPORATION",
            model="MF626",
            revision="BD_P673A2V1.0.0B09",
            urcs_in_submit=True,
            refuses_ds1=True,
            ussd="ucs2",
        ),
        replace(
            GENERIC,
            name="wavecom",
            manufacturer="WAVECOM MODEM",
            model="MULTIBAND  900E  1800",
            revision="641b09gg.Q2406B",
            cpin_without_ok=True,
        ),
        replace(
            GENERIC,
            name="quectel",
            manufacturer="Quectel",
            model="EC25",
            revision="EC25EFAR06A06M4G",
            refuses_ds1=True,
            report_storage="SM",
            pin_counter="+QPINC",
            memory_full_urc='+QIND: "smsfull","{storage}"',
            memory_full_off=True,
        ),
        replace(
            GENERIC,
            name="cds",  # reports only routed (+CDS): ds=2 not offered
            cnmi_test="(0-2),(0-3),(0,2),(0,1),(0,1)",
        ),
        replace(
            GENERIC,
            name="stored",  # reports only stored (+CDSI): ds=1 not offered
            cnmi_test="(0-2),(0-3),(0,2),(0,2),(0,1)",
        ),
        replace(
            GENERIC,
            name="inband",  # AT+CNMI mode 3 offered: URCs then come inside responses
            cnmi_test="(0-3),(0-3),(0,2),(0-2),(0,1)",
            urcs_inband=True,
        ),
        replace(
            GENERIC,
            name="routed",  # messages and reports only routed, acknowledged with AT+CNMA
            cnmi_test="(0-2),(0,2),(0),(0,1),(0,1)",
            phase2_plus_only=True,
        ),
    )
}


def personality(name: str) -> Personality:
    try:
        return PERSONALITIES[name]
    except KeyError:
        known = ", ".join(sorted(PERSONALITIES))
        raise KeyError(f"unknown personality {name!r}; known: {known}") from None
