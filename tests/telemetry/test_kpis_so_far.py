"""KPIs so far, step by step: hand arithmetic, and the same push-up/down as the summary's KPI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.metrics.flexibility import WindowShiftSoFar, window_shift_kwh_per_ev_day
from twin.telemetry.kpis_so_far import KPI_SO_FAR_DOC, KpisSoFar

UP, DOWN = (10 * 3600, 14 * 3600), (16 * 3600, 20 * 3600)
GRID = {
    "grid.vm_min_pu": 0.97,
    "grid.vm_max_pu": 1.02,
    "grid.line_loading_max_pct": 40.0,
    "grid.trafo_loading_max_pct": 55.0,
}


def test_nothing_accounted_yet():
    values = KpisSoFar(UP, DOWN, 900, 4).values()
    assert list(values) == list(KPI_SO_FAR_DOC)
    assert values["push_up_kwh_per_ev"] == 0.0 and values["push_down_kwh_per_ev"] == 0.0
    assert values["steps"] == 0 and values["energy_kwh"] == 0.0
    for key in ("peak_fleet_kw", "min_bus_voltage_pu", "max_line_loading_pct"):
        assert values[key] is None  # not seen yet: null, not +-inf


def test_three_steps_by_hand():
    k = KpisSoFar(UP, DOWN, 900, 4)
    k.add(10 * 3600, 10.0, 4.0, GRID)  # push-up: (10 - 4) kW * 0.25 h = 1.5 kWh
    k.add(14 * 3600, 100.0, 0.0, GRID)  # 14:00 is outside [10:00, 14:00): no push-up
    row = {"grid.vm_min_pu": math.nan, "grid.line_loading_max_pct": 80.0}  # NaN, missing
    k.add(17 * 3600, 2.0, 10.0, row)  # push-down: (10 - 2) kW * 0.25 h = 2 kWh
    v = k.values()
    assert v["push_up_kwh_per_ev"] == pytest.approx(1.5 / 4)
    assert v["push_down_kwh_per_ev"] == pytest.approx(2.0 / 4)
    assert v["energy_kwh"] == pytest.approx((10 + 100 + 2) * 0.25)
    assert v["baseline_energy_kwh"] == pytest.approx((4 + 0 + 10) * 0.25)
    assert v["peak_fleet_kw"] == 100.0
    assert v["min_bus_voltage_pu"] == 0.97 and v["max_bus_voltage_pu"] == 1.02
    assert v["max_line_loading_pct"] == 80.0 and v["max_trafo_loading_pct"] == 55.0
    assert v["steps"] == 3


def test_a_window_across_midnight():
    shift = WindowShiftSoFar((22 * 3600, 2 * 3600), 900, 1, +1)
    for sod in (23 * 3600, 3600, 2 * 3600, 12 * 3600):  # in, in, out (end exclusive), out
        shift.add(5.0, 1.0, sod)
    assert shift.kwh == pytest.approx(2 * 4.0 * 0.25)


def test_push_down_counts_the_baseline_above_the_fleet_and_no_evs_shift_nothing():
    down = WindowShiftSoFar(DOWN, 3600, 2, -1)
    down.add(1.0, 7.0, 18 * 3600)
    assert down.kwh == pytest.approx(6.0) and down.kwh_per_ev == pytest.approx(3.0)
    assert WindowShiftSoFar(DOWN, 3600, 0, -1).kwh_per_ev == 0.0


def test_a_day_so_far_equals_the_summary_kpi():
    """Over one whole day the running sum is the summary's push-up/down KPI (per EV and day)."""
    rng = np.random.default_rng(7)
    sod = np.arange(96) * 900
    p_ctrl, p_base = rng.uniform(-50, 300, 96), rng.uniform(0, 250, 96)
    k = KpisSoFar(UP, DOWN, 900, 300)
    for s, p, pb in zip(sod, p_ctrl, p_base, strict=True):
        k.add(int(s), float(p), float(pb), {})
    in_up = (sod >= 36000) & (sod < 50400)  # steps 40..55
    in_down = (sod >= 57600) & (sod < 72000)  # steps 64..79
    assert in_up.sum() == 16 and in_down.sum() == 16
    expected_up = float((p_ctrl - p_base)[in_up].sum()) * 0.25 / 300
    expected_down = float((p_base - p_ctrl)[in_down].sum()) * 0.25 / 300
    v = k.values()
    assert v["push_up_kwh_per_ev"] == pytest.approx(expected_up, rel=1e-12)
    assert v["push_down_kwh_per_ev"] == pytest.approx(expected_down, rel=1e-12)
    summary_up = window_shift_kwh_per_ev_day(p_ctrl, p_base, sod, UP, 900, 300, +1)
    summary_down = window_shift_kwh_per_ev_day(p_ctrl, p_base, sod, DOWN, 900, 300, -1)
    assert v["push_up_kwh_per_ev"] == pytest.approx(summary_up, rel=1e-12)
    assert v["push_down_kwh_per_ev"] == pytest.approx(summary_down, rel=1e-12)
