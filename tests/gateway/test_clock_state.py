"""The system clock's state (issue 20): the reader on a real flag file and an injected
``adjtimex``, never crashing; the watcher on an injected wall and monotonic clock, driven check
by check (no sleeps): a forward jump of three days, a backward jump of an hour, drift under
the tolerance ignored, a change of state logged once."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.cli.client import _clock
from gateway.clock_state import (
    STA_UNSYNC,
    TIME_ERROR,
    ClockJump,
    ClockState,
    ClockWatcher,
    clock_json,
    kernel_adjtimex,
    read_synchronised,
)
from gateway.tasks import Tasks
from tests.fakes.clock import T0, Clock

TIME_OK = 0  # adjtimex(2): "clock synchronized, no leap second adjustment pending"
STA_PLL = 0x0001  # a status flag an NTP client sets, not STA_UNSYNC


class Monotonic:
    """CLOCK_MONOTONIC as the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def adjtimex_says(result: int, status: int) -> tuple[int, int]:
    return result, status


def broken_adjtimex() -> tuple[int, int]:
    raise OSError(1, "Operation not permitted")


def no_adjtimex() -> tuple[int, int]:
    raise AttributeError("the C library has no adjtimex")


# --- the reader --------------------------------------------------------------------------------


def test_timesyncd_flag_present_is_synchronised(tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    flag.touch()
    # The flag decides: adjtimex is not asked (it would say otherwise here).
    assert read_synchronised(flag, lambda: adjtimex_says(TIME_ERROR, STA_UNSYNC)) == (
        True,
        "timesyncd",
    )


@pytest.mark.parametrize(
    ("result", "status", "synchronised"),
    [
        (TIME_OK, 0, True),
        (TIME_OK, STA_PLL, True),
        (TIME_ERROR, 0, False),  # the return value alone says so
        (TIME_OK, STA_UNSYNC, False),  # the status flag alone says so
        (TIME_ERROR, STA_UNSYNC | STA_PLL, False),
    ],
)
def test_without_the_flag_the_kernel_says(
    tmp_path: Path, result: int, status: int, synchronised: bool
) -> None:
    absent = tmp_path / "synchronized"
    assert read_synchronised(absent, lambda: adjtimex_says(result, status)) == (
        synchronised,
        "adjtimex",
    )


@pytest.mark.parametrize("adjtimex", [broken_adjtimex, no_adjtimex])
def test_an_adjtimex_that_fails_is_unknown_not_a_crash(tmp_path: Path, adjtimex: object) -> None:
    assert callable(adjtimex)
    assert read_synchronised(tmp_path / "synchronized", adjtimex) == (None, "unknown")


def test_a_flag_that_cannot_be_looked_at_falls_back_to_the_kernel(tmp_path: Path) -> None:
    # A path through a regular file: stat() fails with ENOTDIR, which exists() swallows; a
    # name too long for the file system raises (ENAMETOOLONG) on some Pythons: both must end
    # at adjtimex.
    blocker = tmp_path / "file"
    blocker.touch()
    for flag in (blocker / "synchronized", tmp_path / ("x" * 5000)):
        assert read_synchronised(flag, lambda: adjtimex_says(TIME_OK, 0)) == (True, "adjtimex")


def test_the_real_kernel_answers_without_privilege() -> None:
    # Read-only (modes 0): any user may ask, and the answer is a clock state (adjtimex(2):
    # TIME_OK 0 ... TIME_ERROR 5).
    result, status = kernel_adjtimex()
    assert 0 <= result <= TIME_ERROR
    assert status >= 0


# --- the watcher -------------------------------------------------------------------------------


class Rig:
    def __init__(self, synchronised: bool | None = False, source: str = "adjtimex") -> None:
        self.wall = Clock(T0)
        self.monotonic = Monotonic()
        self.reading: tuple[bool | None, str] = (synchronised, source)
        self.watcher = ClockWatcher(
            Tasks(),
            wall=self.wall,
            monotonic=self.monotonic,
            read=lambda: self.reading,
        )
        self.jumps: list[ClockJump] = []
        self.watcher.on_jump.subscribe(self.jumps.append)

    def elapse(self, seconds: float, *, wall_moves: float | None = None) -> None:
        """``seconds`` pass (monotonic); the wall clock moves by ``wall_moves`` (as much)."""
        self.monotonic.now += seconds
        self.wall.advance(seconds if wall_moves is None else wall_moves)


def test_a_forward_jump_of_three_days_is_logged_counted_remembered_and_announced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = Rig()
    rig.watcher.check()
    three_days = timedelta(days=3).total_seconds()
    rig.elapse(30, wall_moves=30 + three_days)  # NTP answered: fake-hwclock was 3 days behind
    with caplog.at_level(logging.WARNING, logger="gateway.clock_state"):
        rig.watcher.check()
    jump = ClockJump(T0 + timedelta(seconds=30 + three_days), three_days)
    assert rig.jumps == [jump]
    assert rig.watcher.last_jump == jump
    assert rig.watcher.jumps == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "the system clock jumped forward by 259200.0 s (now 2026-03-04T12:35:26+00:00)"
    ]
    # Once: the next check, with both clocks in step again, finds nothing new.
    rig.elapse(30)
    rig.watcher.check()
    assert rig.watcher.jumps == 1 and len(rig.jumps) == 1


def test_a_backward_jump_of_an_hour() -> None:
    rig = Rig()
    rig.watcher.check()
    rig.elapse(30, wall_moves=30 - 3600)
    rig.watcher.check()
    assert rig.jumps == [ClockJump(T0 + timedelta(seconds=30 - 3600), -3600.0)]
    # Not synchronised since the first look, told by the clock as it reads now.
    assert rig.watcher.state == ClockState(False, "adjtimex", T0 - timedelta(hours=1))
    assert clock_json(rig.watcher)["last_jump"] == {
        "at": "2026-03-01T11:35:26.789000+00:00",
        "seconds": -3600.0,
    }


def test_drift_under_the_tolerance_is_ignored() -> None:
    rig = Rig()
    rig.watcher.check()
    for wall in (31.9, 28.1, 30.0):  # NTP slewing the clock, never more than 2 s per look
        rig.elapse(30, wall_moves=wall)
        rig.watcher.check()
    assert rig.jumps == [] and rig.watcher.jumps == 0 and rig.watcher.last_jump is None


def test_a_change_of_state_is_logged_once_with_when_it_began(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = Rig(synchronised=False)
    with caplog.at_level(logging.INFO, logger="gateway.clock_state"):
        rig.watcher.check()
        assert rig.watcher.state == ClockState(False, "adjtimex", T0)
        rig.elapse(30)
        rig.watcher.check()  # the same: nothing said
        rig.reading = (True, "timesyncd")
        rig.elapse(30)
        rig.watcher.check()
        rig.elapse(30)
        rig.watcher.check()
    assert rig.watcher.state == ClockState(True, "timesyncd", T0 + timedelta(seconds=60))
    assert [r.getMessage() for r in caplog.records] == [
        "system clock: NOT synchronised (adjtimex) since 2026-03-01T12:34:56+00:00",
        "system clock: synchronised (timesyncd) since 2026-03-01T12:35:56+00:00",
    ]


def test_a_failing_listener_does_not_stop_the_watcher() -> None:
    rig = Rig()

    def broken(_jump: ClockJump) -> None:
        raise RuntimeError("a later slice's bug")

    rig.watcher.on_jump.subscribe(broken)
    rig.watcher.check()
    rig.elapse(30, wall_moves=-30)
    rig.watcher.check()
    assert rig.watcher.jumps == 1
    assert rig.jumps == [ClockJump(T0 - timedelta(seconds=30), -60.0)]
    rig.elapse(30, wall_moves=90)  # and it goes on looking
    rig.watcher.check()
    assert rig.watcher.jumps == 2


def test_before_its_first_look_and_without_a_watcher_all_is_unknown() -> None:
    unknown = {"synchronised": None, "source": "unknown", "since": None, "last_jump": None}
    assert clock_json(None) == unknown
    assert clock_json(Rig().watcher) == unknown


async def test_the_task_looks_at_start_and_when_woken() -> None:
    rig = Rig(synchronised=True, source="timesyncd")
    looked = asyncio.Event()
    read = rig.watcher.read

    def reading() -> tuple[bool | None, str]:
        looked.set()
        return read()

    rig.watcher.read = reading
    rig.watcher.start()
    try:
        async with asyncio.timeout(5):
            await looked.wait()
        assert rig.watcher.state.synchronised is True
        looked.clear()
        rig.elapse(30, wall_moves=3600)
        rig.watcher.wake()  # as its timer would fire
        async with asyncio.timeout(5):
            await looked.wait()
        assert rig.watcher.jumps == 1
    finally:
        await rig.watcher.stop()


@pytest.mark.parametrize(
    ("clock", "line"),
    [
        (
            {
                "synchronised": False,
                "source": "adjtimex",
                "since": "2026-03-04T12:35:26+00:00",
                "last_jump": {"at": "2026-03-04T12:35:26+00:00", "seconds": 259200.0},
            },
            "clock: NOT synchronised (adjtimex) since 2026-03-04T12:35:26+00:00; "
            "last jump +259200 s at 2026-03-04T12:35:26+00:00",
        ),
        (
            {"synchronised": True, "source": "timesyncd", "since": None, "last_jump": None},
            "clock: synchronised (timesyncd)",
        ),
        (
            {"synchronised": None, "source": "unknown", "since": None, "last_jump": None},
            "clock: state unknown",
        ),
        (None, "clock: not reported (an older gateway?)"),
        ({"synchronised": "yes", "last_jump": {"seconds": "x"}}, "clock: state unknown"),
    ],
)
def test_smsgw_modems_says_it_in_one_line(clock: object, line: str) -> None:
    assert _clock(clock) == line
