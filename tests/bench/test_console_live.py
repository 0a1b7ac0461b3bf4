"""The live consoles benchmark's own arithmetic (:mod:`bench.console_live`); the benchmark
itself is run by hand."""

from __future__ import annotations

import pytest

from bench.console_live import Sample, _arguments, median_rss_mib, slope, tail_minutes


def samples(rss_mib: list[float], every_s: float = 10.0) -> list[Sample]:
    return [Sample(i * every_s, round(mib * 1024), None) for i, mib in enumerate(rss_mib)]


def test_a_flat_series_has_no_slope_and_no_noise() -> None:
    fit = slope(samples([50.0] * 30), since=0)
    assert fit is not None
    assert fit.mib_per_minute == pytest.approx(0.0)
    assert fit.residual_mib == pytest.approx(0.0)
    assert fit.samples == 30


def test_a_leak_of_one_mib_a_minute_is_read_as_such() -> None:
    # A sample every 10 s: 1/6 MiB more each.
    fit = slope(samples([40 + i / 6 for i in range(30)]), since=0)
    assert fit is not None
    assert fit.mib_per_minute == pytest.approx(1.0, abs=0.01)


def test_only_the_samples_since_the_start_of_the_window_count() -> None:
    # Growth in the first minute (the allocator settling), flat after.
    series = samples([40, 42, 44, 46, 48, 50] + [50.0] * 30)
    fit = slope(series, since=60)
    assert fit is not None
    assert fit.mib_per_minute == pytest.approx(0.0)


def test_too_few_samples_have_no_slope() -> None:
    assert slope(samples([50.0, 51.0]), since=0) is None


def test_the_before_figure_is_the_median_of_its_window() -> None:
    series = samples([40, 50, 47, 48, 90])  # at 0, 10, 20, 30, 40 s
    assert median_rss_mib(series, 10, 30) == pytest.approx(48.0)
    with pytest.raises(ValueError, match="no sample"):
        median_rss_mib(series, 100, 200)


def test_the_slope_is_read_over_the_second_half_five_minutes_at_most() -> None:
    assert tail_minutes(10) == 5
    assert tail_minutes(3) == 1.5
    assert tail_minutes(30) == 5


@pytest.mark.parametrize("argv", [["--streams", "65"], ["--streams", "0"], ["--minutes", "0.5"]])
def test_arguments_out_of_range_are_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _arguments(argv)
    assert exited.value.code == 2
    assert "--" in capsys.readouterr().err
