"""What a step's snapshot says, without sockets: rows in, header fields out (hand arithmetic)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from telemetry_support import FLEETS, detail, fake_fleets, make_row

from twin.catalog import load_scenario
from twin.config import DEFAULT_SCENARIO
from twin.ems.services.flexibility_windows import FlexibilityWindowsSpec
from twin.results import columns as col
from twin.telemetry import wire
from twin.telemetry.snapshot import StepContent, final_block, soc_histogram

IDS = {"bus": [0, 2, 4], "line": [10, 11], "trafo": [7]}


def content_for(tmp_path, scenario=None, ids=IDS, **kw) -> StepContent:
    return StepContent(
        scenario or load_scenario(DEFAULT_SCENARIO), fake_fleets(), ids, tmp_path, **kw
    )


def meta_of(content: StepContent) -> dict:
    import json

    assert content.meta is not None
    return json.loads(content.meta)


def test_soc_histogram_bins_tenths_and_counts_full_in_the_last_bin():
    soc = np.array([0.0, 0.099, 0.1, 0.55, 0.999, 1.0])
    plugged = np.array([True, False, True, False, True, True])
    all_evs, plugged_evs = soc_histogram(soc, plugged)
    assert all_evs == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert plugged_evs == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]


def test_final_block_keeps_scalar_kpis_and_makes_them_json_safe():
    summary = {
        "status": "interrupted",
        "wall_time_s": 3.0,
        "kpis": {"a_kwh": 1.5, "b_kw": math.nan, "steps": 3, "note": "x", "per_fleet": {"f": {}}},
        "scenario": "default",
    }
    assert final_block(summary) == {
        "status": "interrupted",
        "wall_time_s": 3.0,
        "kpis": {"a_kwh": 1.5, "b_kw": None, "steps": 3, "note": "x"},
    }
    assert final_block({"status": "failed"}) == {
        "status": "failed",
        "wall_time_s": None,
        "kpis": {},
    }
    assert final_block(None) == {"status": "unknown"}


def test_a_step_in_the_push_up_window(tmp_path):
    c = content_for(tmp_path)
    extra = {"ems.feasible_lo_kw": -20.0, "ems.feasible_hi_kw": math.nan}
    step = c.account(
        make_row(10 * 3600, (100.0, 20.0, 30.0), (40.0, 20.0, 10.0), **extra), detail()
    )
    h = c.content(step)
    assert list(h) == [
        "time",
        "time_local",
        "time_s",
        "progress",
        "total",
        "fleets",
        "ems",
        "signals",
        "frequency",
        "grid",
        "kpis_so_far",
        "hil",
        "violations",
    ]
    assert h["time"] == "2025-06-04T01:00:00+00:00"  # 10:00 in Tokyo (UTC+9)
    assert h["time_local"] == "2025-06-04T10:00:00+09:00"
    assert h["progress"] == pytest.approx((36000 + 900) / 86400)
    assert h["total"] == {
        "p_kw": 150.0,
        "baseline_p_kw": 70.0,
        "target_kw": 150.0,
        "plugged_count": 6,
    }
    assert h["fleets"]["households"] == {
        "p_kw": 30.0,
        "baseline_p_kw": 10.0,
        "plugged_count": 2.0,
        "soc_mean": 0.5,
        "soc_min": 0.05,
        "soc_hist": [1, 0, 0, 0, 0, 1, 0, 0, 0, 1],  # SOC 0.05, 0.55, 1.0
        "soc_hist_plugged": [1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    }
    assert h["ems"] == {
        "target_kw": 150.0,
        "feasible_lo_kw": -20.0,
        "feasible_hi_kw": None,
        "contributions_kw": {"smart_charging": 1.5, "flexibility_windows": -0.5},
    }
    assert h["signals"] == {"price_per_kwh": 0.32}
    assert h["frequency"] is None and h["hil"] is None
    assert h["grid"] == {
        "vm_min_pu": 0.97,
        "vm_max_pu": 1.02,
        "line_loading_max_pct": 40.0,
        "trafo_loading_max_pct": 55.0,
    }
    # (150 - 70) kW for 0.25 h over the default scenario's 300 EVs
    assert h["kpis_so_far"]["push_up_kwh_per_ev"] == pytest.approx(80 * 0.25 / 300)
    assert h["kpis_so_far"]["steps"] == 1


def test_history_series_and_row(tmp_path):
    c = content_for(tmp_path)
    c.account(make_row(10 * 3600, (100.0, 20.0, 30.0), (40.0, 20.0, 10.0)), detail())
    assert meta_of(c)["history_series"] == [
        "time_s",
        "p_kw",
        "baseline_p_kw",
        "target_kw",
        "plugged_count",
        "fleet.commuters.p_kw",
        "fleet.business.p_kw",
        "fleet.households.p_kw",
        "contribution.smart_charging_kw",
        "contribution.flexibility_windows_kw",
        "vm_min_pu",
        "vm_max_pu",
        "line_loading_max_pct",
        "trafo_loading_max_pct",
        "trafo_loading_pct.7",
    ]
    assert c.history is not None
    row = c.history.block()[-1].tolist()
    assert row == [36000, 150, 70, 150, 6, 100, 20, 30, 1.5, -0.5, 0.97, 1.02, 40, 55, 55]
    # a transformer array of the wrong length is not misread: NaN instead
    c.account(make_row(900, (0, 0, 0), (0, 0, 0)), {"trafo_loading_pct": np.array([1.0, 2.0])})
    assert math.isnan(c.history.block()[-1][-1])


def test_many_transformers_are_left_out_of_the_history(tmp_path):
    ids = {"bus": [0], "line": [], "trafo": list(range(9))}
    c = content_for(tmp_path, ids=ids)
    c.account(make_row(0, (1, 1, 1), (1, 1, 1)), {})
    series = meta_of(c)["history_series"]
    assert not any(s.startswith("trafo_loading_pct.") for s in series)
    assert meta_of(c)["ids"]["trafo"] == [str(i) for i in range(9)]


def test_missing_or_nan_fleet_power_counts_as_zero(tmp_path):
    c = content_for(tmp_path)
    row = make_row(0, (math.nan, 5.0, 0.0), (1.0, 2.0, 3.0))
    del row["households.p_kw"]
    step = c.account(row, {})
    assert step.total["p_kw"] == 5.0 and step.total["baseline_p_kw"] == 6.0


def test_frequency_comes_from_the_hz_signal(tmp_path):
    c = content_for(tmp_path)
    step = c.account(
        make_row(0, (10.0, 0.0, 0.0), (25.0, 0.0, 0.0), **{"signal.grid_hz": 49.9}), {}
    )
    assert step.frequency == {"frequency_hz": 49.9, "response_kw": -15.0}
    both = {"signal.grid_hz": 49.9, "signal.frequency_hz": 50.1}
    c = content_for(tmp_path)
    step = c.account(make_row(0, (1.0, 0.0, 0.0), (0.0, 0.0, 0.0), **both), {})
    assert step.frequency == {"frequency_hz": 50.1, "response_kw": 1.0}
    assert meta_of(c)["history_series"][-7:-5] == ["frequency_hz", "response_kw"]


def test_hil_block_merges_row_columns_and_the_runs_status(tmp_path):
    c = content_for(tmp_path)
    row = make_row(0, (0, 0, 0), (0, 0, 0), **{"hil.10.0.0.5:502.power_kw": 7.0})
    step = c.account(row, {})
    status = {"chargers": {"10.0.0.5:502": {"status": "online", "energy_kwh": math.inf}}}
    assert c.content(step, status)["hil"] == {
        "chargers": {"10.0.0.5:502": {"power_kw": 7.0, "status": "online", "energy_kwh": None}},
        "step_lateness_s": None,
    }
    # no HIL columns but a run with a hardware loop (nothing read yet): an empty block, not null
    c = content_for(tmp_path)
    step = c.account(make_row(0, (0, 0, 0), (0, 0, 0)), {})
    assert c.content(step, {"chargers": {}, "step_lateness_s": 0.5})["hil"] == {
        "chargers": {},
        "step_lateness_s": 0.5,
    }


def test_windows_come_from_the_scenarios_flexibility_windows_spec(tmp_path):
    services = [
        {"type": "smart_charging", "order": 0},
        {
            "type": "flexibility_windows",
            "order": 10,
            "push_up": {"start": "22:00", "end": "02:00"},
            "push_down": None,  # switched off here: measured over the spec's default window
        },
    ]
    sc = load_scenario(DEFAULT_SCENARIO, {"ems.services": services})
    c = content_for(tmp_path, scenario=sc)
    step = None
    for hour, p in ((23, 40.0), (1, 20.0), (12, 99.0)):  # 23:00 and 01:00 are in, noon is out
        step = c.account(make_row(hour * 3600, (p, 0.0, 0.0), (10.0, 0.0, 0.0)), {})
    default_down = FlexibilityWindowsSpec(type="flexibility_windows").push_down
    assert default_down is not None
    assert meta_of(c)["windows"] == {
        "push_up": [22 * 3600, 2 * 3600],
        "push_down": list(default_down.seconds),
    }
    assert c.content(step)["kpis_so_far"]["push_up_kwh_per_ev"] == pytest.approx(
        (30.0 + 10.0) * 0.25 / 300
    )


def test_without_flexibility_windows_the_specs_defaults_are_measured(tmp_path):
    sc = load_scenario(DEFAULT_SCENARIO, {"ems.services": [{"type": "smart_charging", "order": 0}]})
    c = content_for(tmp_path, scenario=sc)
    c.account(make_row(0, (0, 0, 0), (0, 0, 0)), {})
    spec = FlexibilityWindowsSpec(type="flexibility_windows")
    assert spec.push_up is not None and spec.push_down is not None
    assert meta_of(c)["windows"] == {
        "push_up": list(spec.push_up.seconds),
        "push_down": list(spec.push_down.seconds),
    }


def test_meta_describes_the_run(tmp_path):
    c = content_for(tmp_path)
    assert c.meta is None  # learnt from the first row
    c.account(make_row(0, (0, 0, 0), (0, 0, 0)), {})
    meta = meta_of(c)
    assert meta["scenario"] == "default" and meta["timezone"] == "Asia/Tokyo"
    assert meta["start"] == "2025-06-04T00:00:00+09:00"
    assert (meta["step_s"], meta["duration_s"], meta["ev_count"]) == (900, 86400, 300)
    assert meta["fleets"] == {"commuters": 120, "business": 40, "households": 140}
    assert meta["soc_bins"] == pytest.approx([i / 10 for i in range(11)])
    assert meta["ids"] == {"bus": ["0", "2", "4"], "line": ["10", "11"], "trafo": ["7"]}
    assert meta["out_dir"] == str(tmp_path.resolve())
    assert list(meta["fleets"]) == list(FLEETS)


def test_history_grid_series_are_grid_quantities():
    assert set(wire.HISTORY_GRID) <= set(col.GRID_QUANTITIES)
