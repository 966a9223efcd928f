"""Drawing dense series: the per-pixel min/max envelope keeps every bin's extremes (a one-sample
spike survives), and the daily aggregates of long runs match per-day arithmetic by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.report import style

BINS = 100
PER_BIN = 100


def _bin_of(positions: np.ndarray) -> np.ndarray:
    return positions // PER_BIN


def test_envelope_keeps_each_bins_lowest_and_highest_value():
    rng = np.random.default_rng(7)
    y = rng.normal(size=BINS * PER_BIN)
    keep = style.envelope_indices(y, BINS)
    expected_max = y.reshape(BINS, PER_BIN).max(axis=1)
    expected_min = y.reshape(BINS, PER_BIN).min(axis=1)
    bins_of_kept = _bin_of(keep)
    for b in range(BINS):
        kept = y[keep[bins_of_kept == b]]
        assert kept.max() == expected_max[b]
        assert kept.min() == expected_min[b]
    # two per bin at most, plus the first and the last sample
    assert len(keep) <= 2 * BINS + 2
    assert keep[0] == 0 and keep[-1] == len(y) - 1
    assert np.all(np.diff(keep) > 0)  # in time order, no sample twice


def test_a_single_sample_spike_and_dip_survive():
    y = np.zeros(86_400)
    y[12_345] = 500.0  # one second of 500 kW in a day of zeros
    y[70_001] = -40.0
    keep = style.envelope_indices(y, 1080)
    assert 12_345 in keep and 70_001 in keep
    assert y[keep].max() == 500.0 and y[keep].min() == -40.0
    assert len(keep) <= 2 * 1080 + 2


def test_short_series_are_drawn_point_for_point():
    y = np.arange(200.0)
    assert np.array_equal(style.envelope_indices(y, BINS), np.arange(200))
    x = np.arange(200.0)
    x_out, y_out = style.thin(x, y, bins=BINS)
    assert x_out is x and y_out is y


def test_uneven_length_keeps_global_extremes_and_ends():
    rng = np.random.default_rng(3)
    y = rng.uniform(0, 1, size=10_007)
    y[10_006] = 2.0  # the very last sample is the highest
    y[5] = -1.0
    keep = style.envelope_indices(y, BINS)
    assert keep[-1] == 10_006 and 5 in keep
    assert np.all((keep >= 0) & (keep < len(y)))
    assert len(keep) <= 2 * BINS + 2


def test_nan_is_skipped_in_a_bin_and_an_all_nan_bin_keeps_the_gap():
    y = np.ones(BINS * PER_BIN)
    y[0:PER_BIN] = np.nan  # bin 0: no data at all
    y[PER_BIN : PER_BIN + 10] = np.nan  # bin 1: partly missing, its peak after the gap
    y[PER_BIN + 50] = 9.0
    keep = style.envelope_indices(y, BINS)
    assert np.isnan(y[keep[_bin_of(keep) == 0]]).any()
    bin1 = y[keep[_bin_of(keep) == 1]]
    assert not np.isnan(bin1).any() and bin1.max() == 9.0


def test_dense_line_is_drawn_through_its_envelope():
    fig, (ax,) = style.figure(1)
    index = pd.date_range("2030-06-01", periods=86_400, freq="s", tz="Asia/Tokyo")
    y = np.zeros(len(index))
    y[40_000] = 123.0
    style.line(ax, index, y, color="k")
    (drawn,) = ax.get_lines()
    assert len(drawn.get_ydata()) <= 2 * style.FIGURE_PX + 2
    assert max(drawn.get_ydata()) == 123.0


def _hours(start: str, hours: int, tz: str) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=hours, freq="h", tz=tz)


@pytest.mark.parametrize("how", ["mean", "min", "max", "sum"])
def test_daily_reductions_match_hand_arithmetic(how):
    index = _hours("2030-01-01", 72, "Asia/Tokyo")
    values = np.concatenate([np.arange(24.0), 10.0 * np.ones(24), np.full(24, np.nan)])
    values[30] = np.nan  # day 2 has a missing hour
    values[31] = 34.0
    series = pd.Series(values, index=index)
    got = style.daily(series, how)
    day1 = np.arange(24.0)  # 0..23: mean 11.5, sum 276
    day2 = np.array([10.0] * 22 + [34.0])  # 24 h minus the missing one, one hour at 34
    expected = {
        "mean": [day1.sum() / 24, day2.sum() / 23, np.nan],
        "min": [0.0, 10.0, np.nan],
        "max": [23.0, 34.0, np.nan],
        "sum": [276.0, 10.0 * 22 + 34.0, 0.0],  # an all-missing day sums to 0 (as pandas)
    }[how]
    assert list(got.index.strftime("%Y-%m-%d")) == ["2030-01-01", "2030-01-02", "2030-01-03"]
    assert str(got.index.tz) == "Asia/Tokyo"
    np.testing.assert_allclose(got.to_numpy(), expected, equal_nan=True)


def test_daily_bins_follow_the_local_day_across_a_clock_change():
    # Europe/Berlin moves to summer time on Sunday 2030-03-31: that local day has 23 hours.
    index = _hours("2030-03-30", 24 + 23 + 24, "Europe/Berlin")
    series = pd.Series(np.ones(len(index)), index=index)
    got = style.daily(series, "sum")
    assert got.to_numpy().tolist() == [24.0, 23.0, 24.0]


def test_daily_of_an_unordered_index_still_groups_by_day():
    index = _hours("2030-01-01", 48, "UTC")[::-1]  # newest first
    series = pd.Series(np.arange(48.0)[::-1], index=index)  # hour k of the run holds k
    got = style.daily(series, "max")
    assert got.to_numpy().tolist() == [23.0, 47.0]


def test_daily_other_reductions_go_through_pandas():
    index = _hours("2030-01-01", 48, "Asia/Tokyo")
    values = np.concatenate([np.arange(24.0), [10.0] * 23 + [34.0]])
    got = style.daily(pd.Series(values, index=index), "median")
    assert got.to_numpy().tolist() == [11.5, 10.0]  # middle of 0..23; 23 tens and one 34
