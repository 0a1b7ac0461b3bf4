"""The pool benchmark's own arithmetic (:mod:`bench.pool`); the benchmark itself is run by hand."""

from __future__ import annotations

import os
import tomllib
from datetime import UTC, datetime

import pytest

from bench.pool import (
    intervals,
    pace,
    paces,
    percentile,
    proportional_set_kib,
    sends,
    service_table,
)


def test_a_modem_that_loses_nothing_between_sends_keeps_the_networks_pace() -> None:
    assert pace([0.0, 1.5, 3.0, 4.5], 1.5) == pytest.approx(1.0)


def test_pace_is_the_latency_over_the_mean_interval_in_any_order() -> None:
    # 3 intervals over 4.53 s: 1.51 s each, 10 ms lost per send.
    assert pace([4.53, 0.0, 3.02, 1.51], 1.5) == pytest.approx(1.5 / 1.51)


def test_an_idle_gap_shows_as_a_lower_pace() -> None:
    assert pace([0.0, 1.5, 6.0], 1.5) == pytest.approx(0.5)


@pytest.mark.parametrize("stamps", [[], [3.0], [2.0, 2.0]])
def test_no_pace_without_two_distinct_sends(stamps: list[float]) -> None:
    assert pace(stamps, 1.5) is None


def _at(seconds: float) -> str:
    return datetime.fromtimestamp(1_800_000_000 + seconds, UTC).isoformat()


def test_sends_per_number_from_the_submissions_in_the_window_only() -> None:
    submissions = [
        {"from": "+1", "at": _at(0.0)},  # before the window
        {"from": "+1", "at": _at(13.0)},
        {"from": "+1", "at": _at(10.0)},
        {"from": "+1", "at": _at(11.5)},
        {"from": "+2", "at": _at(10.2)},
        {"from": "+2", "at": _at(13.2)},
        {"from": "+9", "at": _at(11.0)},  # not one of the pool's
        {"from": "+2", "at": _at(40.0)},  # after it
    ]
    start = 1_800_000_005.0
    stamps = sends(submissions, ["+1", "+2", "+3"], start, start + 15)
    assert stamps == {
        "+1": [start + 5, start + 6.5, start + 8],
        "+2": [start + 5.2, start + 8.2],
        "+3": [],
    }
    result = paces(stamps, 1.5)
    assert result["+1"] == pytest.approx(1.0)
    assert result["+2"] == pytest.approx(0.5)
    assert result["+3"] is None
    assert sorted(intervals(stamps)) == pytest.approx([1.5, 1.5, 3.0])


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(list(reversed(values)), 100) == 100.0
    assert percentile([], 99) == 0.0


def test_the_service_spreads_over_every_number_without_a_sticky_sender() -> None:
    table = tomllib.loads(service_table(["+1555", "+1556"], "http://127.0.0.1:1/sms"))
    (service,) = table["services"]
    assert service["numbers"] == ["+1555", "+1556"]
    assert service["sms_url"] == "http://127.0.0.1:1/sms"
    assert service["sticky_sender"] is False


def test_pss_of_this_process_or_none_where_the_kernel_has_no_rollup() -> None:
    pss = proportional_set_kib(os.getpid())
    assert pss is None or pss > 0
    assert proportional_set_kib(2**22 + 1) is None  # above pid_max's ceiling: no such process
