"""What a :class:`~drivers.modem.driver.GsmModem` is told (:class:`ModemSettings`) and what it
learns of the modem while initialising it (:class:`ModemInfo`)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.at.replies import Registration
from drivers.modem.network import Network, SimState


@dataclass(frozen=True, slots=True)
class ModemSettings:
    pin: str | None = None
    # The SIM refused ``pin`` before (PinRejected): it is not sent again, as each wrong try
    # brings the SIM closer to wanting its PUK (TS 27.007 §8.3).
    pin_rejected: bool = False
    storage: str | None = None  # override the storage chosen from AT+CPMS=?
    # The SMSC to send through (AT+CSCA, TS 27.005 §3.3.1), set when the SIM's differs;
    # None: the SIM's own.
    smsc: str | None = None
    sim_busy_retries: int = 20
    sim_busy_delay: float = 1.0
    # Bringing the modem to command state (GsmModem.command_state): rounds of ESC, a pause in
    # which what the modem says is dropped (none in the first round, escape_pause seconds after
    # a stale answer or none), and the probe with wake_timeout for its answer, until
    # wake_attempts probes went unanswered or were answered from before (an autobauding SIM800
    # ignores the first). Modems answer at once (Quectel UGxx, Telit manuals: the ESC is
    # "acknowledged with OK"): the pause covers a slow line; a reply later still is recognised.
    wake_attempts: int = 3
    wake_timeout: float = 2.0
    escape_pause: float = 0.2
    # How long to wait for the OK that old Wavecom firmware never sends after +CPIN: READY.
    cpin_quirk_timeout: float = 2.0


@dataclass(frozen=True, slots=True)
class Identity:
    manufacturer: str
    model: str
    revision: str
    imei: str
    imsi: str | None
    numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModemInfo:
    identity: Identity
    profile: str
    storage: str
    report_storage: str | None
    storages: tuple[str, ...]  # every storage AT+CMGL can list (SM, ME, SR...)
    cnmi: tuple[int, int, int, int, int]
    smsc: str | None
    registration: Registration | None
    rssi: int | None
    sim: SimState | None = None
    network: Network | None = None  # at initialisation
    # AT+CSMS=1 in effect: each +CMT/+CDS waits for AT+CNMA (with cnmi's ds=1, status reports
    # come routed and are acknowledged once committed).
    acknowledged: bool = False
