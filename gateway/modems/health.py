"""What a modem's health check reads, and what registration means for sending.

A check asks for the signal (``AT+CSQ``), the registration (``AT+CREG?``, then ``AT+CEREG?``),
the operator (``AT+COPS``, twice: its name and its code) and how full each message storage is
(``AT+CPMS?``: SM, ME, SR... every one the modem lists). A modem that does not answer it is not
healthy, whatever it said before: the supervisor (:mod:`gateway.modems.supervisor`) recovers it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from drivers import AtCommandError, AtReplyError, Modem, Network, Registration


@dataclass(frozen=True, slots=True)
class StorageUse:
    """How full one message storage was (``AT+CPMS?``)."""

    storage: str
    used: int
    total: int


@dataclass(frozen=True, slots=True)
class ModemHealth:
    checked_at: datetime
    rssi: int | None  # AT+CSQ <rssi>: 0..31, 99 unknown
    registration: Registration | None  # the better of +CREG and +CEREG
    storage: str | None
    storage_used: int | None
    storage_total: int | None
    network: Network | None = None  # the operator, technology, roaming and cell
    # Every storage the modem lists, the one above too (a storage of reports, SR, fills
    # without the main one saying so: issue 17).
    storages: tuple[StorageUse, ...] = ()


async def check(modem: Modem, now: datetime) -> ModemHealth:
    """Read the modem's state. A command the modem refuses (``ERROR``, a reply it garbles)
    leaves that reading unknown; one it does not answer raises (AtTimeout, ModemLost)."""
    rssi = registration = network = used = total = None
    with contextlib.suppress(AtCommandError, AtReplyError):
        rssi = (await modem.signal())[0]
    with contextlib.suppress(AtCommandError, AtReplyError):
        registration = await modem.registration()
    if registration is not None:
        network = await modem.network(registration)  # the registration is not asked again
    # A missed AT+CNMA turns +CMTI/+CDS off (TS 27.005 §3.4.1: <mt> and <ds> set to 0):
    # otherwise nothing would say so until the slow storage sweep.
    await modem.renotify()
    storage = modem.info.storage if modem.info else None
    usages = await modem.storage_usages()
    if storage is not None and storage in usages:
        used, total = usages[storage]
    storages = tuple(StorageUse(name, *usages[name]) for name in sorted(usages))
    return ModemHealth(now, rssi, registration, storage, used, total, network, storages)


class RegistrationTracker:
    """Whether the modem can send: registered on any network it reports on; and whether it
    roams (every network it is registered on is a visited one: TS 27.007 §7.2 <stat> 5).

    An LTE modem may report ``+CREG: 0`` (no circuit-switched network) while ``+CEREG: 1``:
    SMS still goes (over SGs or IMS), so the modem has service when any source says so. A poll
    (at initialisation, at each health check) gives the best of both at once; reports after it
    count from then on. Before either, the modem is assumed to have service: the first send
    will tell. A report of no service is best confirmed with a poll (the supervisor does).
    """

    def __init__(self) -> None:
        self._reports: dict[str, Registration] = {}
        self._polled: Registration | None = None

    def update(self, source: str, registration: Registration) -> bool:
        """Record one report (``+CREG``, ``+CEREG``...); returns whether there is service."""
        self._reports[source] = registration
        return self.registered

    def polled(self, registration: Registration) -> None:
        """The answer to a poll replaces what reports said."""
        self._reports = {}
        self._polled = registration

    def _latest(self) -> list[Registration]:
        return list(self._reports.values()) or ([self._polled] if self._polled else [])

    @property
    def registered(self) -> bool:
        latest = self._latest()
        return any(item.registered for item in latest) if latest else True

    @property
    def roaming(self) -> bool:
        registered = [item for item in self._latest() if item.registered]
        return bool(registered) and all(item.roaming for item in registered)
