"""The pieces of the dashboard's tabs: long-run downsampling and the violations table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.dashboard import tables
from twin.dashboard.charts import downsample_extreme


def test_a_year_is_drawn_from_at_most_the_point_budget_and_keeps_its_one_step_peak():
    index = pd.date_range("2025-01-01", periods=35_040, freq="15min", tz="Asia/Tokyo")
    values = pd.Series(1.0, index=index)
    values.iloc[12_345] = 1.09  # one step over the band
    values.iloc[20_000] = 0.91
    high = downsample_extreme(values, "max", points=2000)
    low = downsample_extreme(values, "min", points=2000)
    assert len(high) <= 2000 and len(low) <= 2000
    assert high.max() == 1.09 and low.min() == 0.91
    # ceil(35040 / 2000) = 18 steps per bucket: the peak's bucket starts at step 12,330
    assert high.idxmax() == index[(12_345 // 18) * 18]
    assert high.index.is_monotonic_increasing


def test_a_short_series_is_not_touched():
    s = pd.Series(np.arange(10.0))
    assert downsample_extreme(s, "max") is s


def test_violations_table_has_controlled_baseline_and_their_difference():
    block = {
        "controlled": {"element_hours": {"bus_overvoltage": 2.5}},
        "baseline": {"element_hours": {"bus_overvoltage": 10.0}},
    }
    frame = tables.violations(block)
    row = frame.iloc[0]
    assert "bus overvoltage" in row[""] and row["unit"] == "h"
    assert float(row["controlled"]) == 2.5 and float(row["baseline (uncontrolled)"]) == 10.0
    assert float(row["controlled - baseline"]) == pytest.approx(2.5 - 10.0)


def test_voltage_band_draws_the_baseline_grid_dotted_when_the_run_has_it():
    from twin.dashboard.charts import voltage_band_figure
    from twin.dashboard.history import History, baseline_series
    from twin.dashboard.view import Timeline

    index = pd.date_range("2025-06-04", periods=4, freq="15min", tz="Asia/Tokyo")
    main = pd.DataFrame(
        {
            "vm_min_pu": [0.99] * 4,
            "vm_max_pu": [1.03] * 4,
            baseline_series("vm_max_pu"): [1.07] * 4,
        },
        index=index,
    )
    fig = voltage_band_figure(History(main=main), Timeline("Asia/Tokyo", {}, index[-1]))
    assert fig is not None
    dotted = [t for t in fig.data if t.line.dash == "dot"]
    assert [t.name for t in dotted] == ["highest bus voltage, baseline"]
    assert list(dotted[0].y) == [1.07] * 4
