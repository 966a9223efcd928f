"""history_from_table: a results table into the chart series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.dashboard.history import (
    BASELINE_P_KW,
    FREQUENCY_HZ,
    MAX_TRAFO_SERIES,
    P_KW,
    RESPONSE_KW,
    TARGET_KW,
    history_from_table,
    local_times,
)
from twin.results.readers import read_table

TIMES = pd.date_range("2025-06-03 15:00", periods=3, freq="15min", tz="UTC")


def table(**extra: list[float]) -> pd.DataFrame:
    """Two fleets, a and b, three steps; extra columns as given."""
    return pd.DataFrame(
        {
            "time": TIMES,
            "a.p_kw": [10.0, 20.0, 30.0],
            "a.soc_mean": [0.5, 0.6, 0.7],
            "a.soc_min": [0.2, 0.25, 0.3],
            "a_baseline.p_kw": [1.0, 2.0, 3.0],
            "b.p_kw": [-5.0, 0.0, 5.0],
            "b_baseline.p_kw": [0.5, 0.5, 0.5],
            **extra,
        }
    )


def test_totals_are_the_sum_of_the_fleets_in_local_time():
    h = history_from_table(table(), "Asia/Tokyo")
    assert h.main[P_KW].tolist() == [5.0, 20.0, 35.0]
    assert h.main[BASELINE_P_KW].tolist() == [1.5, 2.5, 3.5]
    assert str(h.index.tz) == "Asia/Tokyo"
    assert h.index[0] == pd.Timestamp("2025-06-04 00:00", tz="Asia/Tokyo")  # UTC+9


def test_a_fleet_without_baseline_is_not_counted():
    h = history_from_table(table(**{"c.p_kw": [100.0, 100.0, 100.0]}), "UTC")
    assert h.main[P_KW].tolist() == [5.0, 20.0, 35.0]


def test_series_the_run_lacks_are_absent_not_zero():
    h = history_from_table(table(), "UTC")
    assert not h.has(TARGET_KW) and not h.has(FREQUENCY_HZ)
    assert h.at(TARGET_KW, 0) is None
    assert h.contributions.columns.empty and h.trafo_loading.columns.empty


def test_response_is_power_minus_baseline_when_there_is_a_frequency():
    h = history_from_table(table(**{"signal.frequency_hz": [50.0, 49.9, 50.1]}), "UTC")
    assert h.main[FREQUENCY_HZ].tolist() == [50.0, 49.9, 50.1]
    assert h.main[RESPONSE_KW].tolist() == [3.5, 17.5, 31.5]


def test_contributions_by_service_and_soc_in_percent():
    h = history_from_table(
        table(
            **{
                "ems.target_kw": [4.0, 4.0, 4.0],
                "ems.contribution.peak_shaving_kw": [1.0, -1.0, 0.0],
                "ems.contribution.fcr_kw": [0.5, 0.5, 0.5],
            }
        ),
        "UTC",
    )
    assert sorted(h.contributions.columns) == ["fcr", "peak_shaving"]
    assert h.contributions["peak_shaving"].tolist() == [1.0, -1.0, 0.0]
    assert h.main[TARGET_KW].tolist() == [4.0, 4.0, 4.0]
    assert h.soc_mean_pct["a"].tolist() == pytest.approx([50.0, 60.0, 70.0])
    assert h.soc_min_pct["a"].tolist() == pytest.approx([20.0, 25.0, 30.0])
    assert "b" not in h.soc_mean_pct  # b records no SOC


def test_per_transformer_series_only_for_few_transformers():
    few = pd.DataFrame({"time": TIMES, "0": [10.0, 20.0, 30.0], "1": [1.0, 2.0, 3.0]})
    h = history_from_table(table(), "UTC", few)
    assert list(h.trafo_loading.columns) == ["0", "1"]
    assert h.trafo_loading["1"].tolist() == [1.0, 2.0, 3.0]
    many = pd.DataFrame({"time": TIMES, **{str(k): [0.0] * 3 for k in range(MAX_TRAFO_SERIES + 1)}})
    assert history_from_table(table(), "UTC", many).trafo_loading.columns.empty
    short = few.iloc[:2]  # an interrupted run's detail table can lag the main table
    assert history_from_table(table(), "UTC", short).trafo_loading.columns.empty


def test_local_times_reads_naive_times_as_utc():
    naive = [pd.Timestamp("2025-01-01 00:00")]
    assert local_times(naive, "Europe/Berlin")[0].hour == 1


def test_a_real_run(finished_run):
    t = read_table(finished_run, "timeseries")
    h = history_from_table(t, "Asia/Tokyo")
    fleets = ("commuters", "business", "households")
    expected = np.sum([t[f"{f}.p_kw"].to_numpy() for f in fleets], axis=0)
    assert h.main[P_KW].to_numpy() == pytest.approx(expected)
    assert len(h.index) == len(t) == 8
    assert set(h.contributions.columns) >= {"flexibility_windows"}
