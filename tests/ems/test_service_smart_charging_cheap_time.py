"""Smart charging spreads a session's energy over the cheap time before its departure (the
tariff, known ahead), not over all the time left: a car out at 18:00 is full when the 00:00-07:00
cheap hours end; a car out on Monday morning spreads over the three nights before."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.smart_charging import SmartCharging, cheap_hours_before
from twin.signals.scenario_signals import CHEAP_CUMULATIVE_FORECAST, cheap_cumulative_s

HOUR = 3600.0


def test_cumulative_cheap_time_by_hand():
    quantile = np.array([0.3, 0.3, 0.9, 0.2, 0.5])
    assert cheap_cumulative_s(quantile, 0.34, 900.0).tolist() == [0, 900, 1800, 1800, 2700, 2700]


def _tou_days(days: int) -> np.ndarray:
    """Hourly TOU: cheap 00-07 and 23-24 every day -> cumulative cheap seconds."""
    hour = np.arange(24 * days) % 24
    quantile = np.where((hour < 7) | (hour >= 23), 0.33, 1.0)
    return cheap_cumulative_s(quantile, 0.34, HOUR)


def _car(depart_h: float, days: int = 1, now_h: int = 0):
    """A car at `now_h` needing (0.9 - 0.7) x 60 kWh = 12 kWh by `depart_h` (hourly steps)."""
    ctx = make_ctx(
        [0.0],
        [6.0],
        soc=0.7,
        battery_kwh=60.0,
        dt_s=HOUR,
        time_s=int(now_h * HOUR),
        signals={"price_quantile": 0.33},
    )
    return dataclasses.replace(
        ctx,
        depart_s=np.array([depart_h * HOUR]),
        step_index=now_h,
        forecast={CHEAP_CUMULATIVE_FORECAST: _tou_days(days)},
    )


def test_a_car_leaving_after_the_cheap_hours_charges_all_of_it_in_them():
    ctx = _car(18.0)
    assert cheap_hours_before(ctx, CHEAP_CUMULATIVE_FORECAST).tolist() == [7.0]
    plan = SmartCharging().apply(ctx, plan_at(0.0, 1, {}))
    assert plan.target_kw == pytest.approx(12.0 / 7.0)  # all 12 kWh by 07:00
    # without the forecast the rule spreads over the 18 h left
    old = dataclasses.replace(ctx, forecast={})
    assert SmartCharging().apply(old, plan_at(0.0, 1, {})).target_kw == pytest.approx(12.0 / 18)


def test_a_weekend_car_spreads_over_every_night_before_it_leaves():
    # Saturday 00:00, out on Monday 07:00 (55 h): cheap 0-7, 23-24, 0-7, 23-24, 0-7 = 23 h
    ctx = _car(55.0, days=3)
    assert cheap_hours_before(ctx, CHEAP_CUMULATIVE_FORECAST).tolist() == [23.0]
    assert SmartCharging().apply(ctx, plan_at(0.0, 1, {})).target_kw == pytest.approx(12.0 / 23)


def test_a_departure_after_the_run_counts_the_last_days_share():
    # a one-day run seen at 23:00, out at 07:00 next day: 1 h in the run + 7 h x (8/24)
    ctx = _car(31.0, now_h=23)
    assert cheap_hours_before(ctx, CHEAP_CUMULATIVE_FORECAST) == pytest.approx([1.0 + 7 * 8 / 24])


def test_a_car_leaving_inside_the_cheap_hours_spreads_to_its_departure():
    ctx = _car(4.0)
    assert SmartCharging().apply(ctx, plan_at(0.0, 1, {})).target_kw == pytest.approx(3.0)


def test_the_push_up_window_counts_as_charging_time_ahead():
    # default.yaml: TOU cheap 00-07 and 23-24 (8 h) and a 10-14 push-up window (4 h)
    from tests.conftest import ROOT
    from twin.catalog import load_scenario
    from twin.signals.scenario_signals import build_signal_series, ems_forecasts

    scenario = load_scenario(ROOT / "scenarios" / "default.yaml")
    cumulative = ems_forecasts(scenario, build_signal_series(scenario))[CHEAP_CUMULATIVE_FORECAST]
    assert cumulative.size == scenario.n_steps + 1
    assert cumulative[-1] == pytest.approx(12 * HOUR)
    at = int(10 * HOUR // scenario.step)  # 10:00 to 14:00 adds 4 h
    assert cumulative[at + 16] - cumulative[at] == pytest.approx(4 * HOUR)
