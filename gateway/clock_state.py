"""The system clock's state, and its jumps (issue 20, first slice).

A Raspberry Pi has no real-time clock: it boots with the time fake-hwclock saved at its last
shutdown and learns the real time from NTP when (if ever) the network answers, at which point
the wall clock jumps, by days perhaps. This module tells whether the clock is synchronised and
notices the jumps; it corrects nothing yet (the later slices of issue 20 will, hearing
:attr:`ClockWatcher.on_jump`).

Whether the clock is synchronised, in order:

- systemd-timesyncd's ``/run/systemd/timesync/synchronized``: created at its first
  synchronisation (systemd-timesyncd.service(8)), so present -> synchronised;
- else the kernel's ``adjtimex(2)`` in read-only mode (``modes`` 0): it returns
  ``TIME_ERROR`` (5) or sets ``STA_UNSYNC`` (0x0040) in ``status`` while the clock is not
  synchronised ("the system clock is not synchronized to a reliable server", adjtimex(2),
  RETURN VALUE), which any NTP client (chrony, ntpd, timesyncd) clears once it disciplines it;
- else unknown (no libc ``adjtimex``, or the call failed).

A jump is the wall clock advancing more or less than the monotonic clock (which no one sets:
clock_gettime(2), ``CLOCK_MONOTONIC``) between two checks, by more than :data:`JUMP_TOLERANCE`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import functools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from gateway.listeners import Listeners
from gateway.tasks import Loop, Tasks
from gateway.waiting import woken

log = logging.getLogger(__name__)

TIMESYNCD_FLAG: Final = Path("/run/systemd/timesync/synchronized")
TIME_ERROR: Final = 5  # adjtimex(2)'s return value: "clock not synchronized"
STA_UNSYNC: Final = 0x0040  # adjtimex(2)'s status flag: "clock unsynchronized"
CHECK_EVERY: Final = 30.0  # seconds between two looks at the clock
JUMP_TOLERANCE: Final = 2.0  # seconds the wall and monotonic clocks may disagree by (NTP slews)


class _Timex(ctypes.Structure):
    """The head of ``struct timex`` (<sys/timex.h>): the fields read, then room for the rest
    (the kernel writes the whole struct, about 200 bytes on 64-bit)."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 512),
    )


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, looked up once (find_library runs ldconfig: not every 30 s)."""
    name = ctypes.util.find_library("c")
    if name is None:
        raise OSError("no C library found")
    return ctypes.CDLL(name, use_errno=True)


def kernel_adjtimex() -> tuple[int, int]:
    """``adjtimex(2)`` in read-only mode (``modes`` 0, no privilege needed): its return value
    (the clock state, ``TIME_OK``... ``TIME_ERROR``) and ``status``. Raises :class:`OSError`
    where libc has no ``adjtimex`` or the call fails."""
    try:
        call = _libc().adjtimex
    except AttributeError:
        raise OSError("the C library has no adjtimex") from None
    timex = _Timex()  # zeroed: modes 0 reads without setting anything
    result = call(ctypes.byref(timex))
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return int(result), int(timex.status)


def read_synchronised(
    flag: Path = TIMESYNCD_FLAG,
    adjtimex: Callable[[], tuple[int, int]] = kernel_adjtimex,
) -> tuple[bool | None, str]:
    """Whether the system clock is synchronised (``None``: cannot tell) and who says so
    (``timesyncd``, ``adjtimex`` or ``unknown``). Never raises: an error is "unknown"."""
    try:
        if flag.exists():
            return True, "timesyncd"
    except OSError as exc:  # a /run we may not read: ask the kernel
        log.debug("cannot look at %s: %s", flag, exc)
    try:
        result, status = adjtimex()
    except Exception as exc:  # an odd libc: not knowing must never stop the gateway
        log.debug("adjtimex failed: %s", exc)
        return None, "unknown"
    return not (result == TIME_ERROR or status & STA_UNSYNC), "adjtimex"


@dataclass(frozen=True)
class ClockState:
    synchronised: bool | None  # None: unknown
    source: str  # who said: timesyncd, adjtimex, unknown
    since: datetime | None  # when this state began, as far as the gateway knows


@dataclass(frozen=True)
class ClockJump:
    at: datetime  # the wall time just after the jump (when it was noticed)
    seconds: float  # by how much: positive forward, negative backward


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ClockWatcher(Loop):
    """Looks at the clock every ``every`` seconds (:meth:`check`): its synchronised state
    (a change logged once) and any jump (logged, counted, remembered, announced on
    :attr:`on_jump`)."""

    def __init__(
        self,
        tasks: Tasks,
        *,
        wall: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        read: Callable[[], tuple[bool | None, str]] = read_synchronised,
        every: float = CHECK_EVERY,
        tolerance: float = JUMP_TOLERANCE,
    ) -> None:
        super().__init__(tasks, "clock")
        self.wall = wall
        self.monotonic = monotonic
        self.read = read
        self.every = every
        self.tolerance = tolerance
        self.state = ClockState(None, "unknown", None)  # until the first check
        self.last_jump: ClockJump | None = None
        self.jumps = 0
        self.on_jump: Listeners[[ClockJump]] = Listeners("clock jump")
        self._previous: tuple[datetime, float] | None = None  # wall, monotonic at the last check

    def check(self) -> None:
        """Look once: the state, and whether the wall clock jumped since the last look."""
        first = self._previous is None
        synchronised, source = self.read()
        wall, monotonic = self.wall(), self.monotonic()
        if self._previous is not None:
            last_wall, last_monotonic = self._previous
            drift = (wall - last_wall).total_seconds() - (monotonic - last_monotonic)
            if abs(drift) > self.tolerance:
                self._jumped(ClockJump(wall, drift))
        self._previous = wall, monotonic
        if first or (synchronised, source) != (self.state.synchronised, self.state.source):
            self.state = ClockState(synchronised, source, wall)
            log.info("system clock: %s", describe(self.state))

    def _jumped(self, jump: ClockJump) -> None:
        if self.state.since is not None:
            # When the state began, told by the clock as it reads now (a change of state at
            # this look sets it afresh).
            since = self.state.since + timedelta(seconds=jump.seconds)
            self.state = dataclasses.replace(self.state, since=since)
        self.jumps += 1
        self.last_jump = jump
        direction = "forward" if jump.seconds > 0 else "backward"
        log.warning(
            "the system clock jumped %s by %.1f s (now %s)",
            direction,
            abs(jump.seconds),
            jump.at.isoformat(timespec="seconds"),
        )
        self.on_jump.announce(jump)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self.check()
            await woken(self._wake, self.every)


def describe(state: ClockState) -> str:
    """One line: ``synchronised (timesyncd) since 2026-12-07T20:00:00+00:00``."""
    word = {True: "synchronised", False: "NOT synchronised", None: "unknown"}[state.synchronised]
    source = f" ({state.source})" if state.synchronised is not None else ""
    since = f" since {state.since.isoformat(timespec='seconds')}" if state.since else ""
    return f"{word}{source}{since}"


def clock_json(watcher: ClockWatcher | None) -> dict[str, object]:
    """``/healthz``'s ``clock`` object (all unknown without a watcher)."""
    state = watcher.state if watcher is not None else ClockState(None, "unknown", None)
    jump = watcher.last_jump if watcher is not None else None
    return {
        "synchronised": state.synchronised,
        "source": state.source,
        "since": state.since.isoformat() if state.since else None,
        "last_jump": (
            {"at": jump.at.isoformat(), "seconds": round(jump.seconds, 3)} if jump else None
        ),
    }
