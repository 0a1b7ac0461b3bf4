"""How full each message storage of one modem is thought to be, and when to empty it early.

A storage that fills loses what arrives next: the network is told "memory capacity exceeded"
and keeps it for later (TS 23.040 §3.3), or, on modems and emulators that drop it, it is gone
(issue 17: an emulator lost 4-44 of 200 reports arriving within two seconds into 30 slots).
So the receiver learns each storage's (used, total) from ``AT+CPMS?`` when a modem connects,
raises ``used`` with each ``+CMTI``/``+CDSI`` (the index is a free hint: modems store in the
lowest free slot, so an index near the capacity means a storage nearly full whatever was
announced), and sets it to what a listing left there. Past :data:`THRESHOLD` of its capacity
a storage is swept at once, not at the next announcement or the slow safety sweep: URCs that
a modem discarded while the link was busy (``AT+CNMI`` mode 1, TS 27.005 §3.4.1) or never
sent leave no other trace.
"""

from __future__ import annotations

from typing import Final

THRESHOLD: Final = 0.5  # of a storage's capacity: swept at once beyond it


class StorageWatch:
    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self._usage: dict[str, tuple[int, int]] = {}  # storage: (used, total)

    @property
    def usage(self) -> dict[str, tuple[int, int]]:
        """(used, total) of each storage asked about (total 0: the modem did not say)."""
        return dict(self._usage)

    def learned(self, storage: str, used: int, total: int) -> None:
        """``AT+CPMS?`` said so."""
        self._usage[storage] = (used, total)

    def stored(self, storage: str, index: int) -> bool:
        """One more in ``storage``, at ``index``; returns whether it is now past the
        threshold. An index counted from 0 or 1 (it varies by vendor) is taken as the
        fuller of the two: sweeping a little early costs one listing."""
        used, total = self._usage.get(storage, (0, 0))
        if total <= 0:
            return False
        used = min(total, max(used + 1, index + 1))
        self._usage[storage] = (used, total)
        return used >= self.threshold * total

    def listed(self, storage: str, left: int) -> None:
        """A listing took what it could; ``left`` are still there (stored for sending)."""
        known = self._usage.get(storage)
        if known is not None:
            self._usage[storage] = (left, known[1])
