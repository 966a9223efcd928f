"""Smart charging spreads a session's energy over the cheap time before departure, not over all
the time left: a car out at 18:00 is full when the 00:00-07:00 cheap run ends."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.smart_charging import SmartCharging
from twin.signals.scenario_signals import cheap_left_s


def test_cheap_left_counts_the_rest_of_each_cheap_run():
    quantile = np.array([0.3, 0.3, 0.9, 0.2, 0.2, 0.2, 0.5, 0.1, 0.1])
    # runs: steps 0-1 (2 steps), steps 3-5 (3 steps); 900-s steps; the last run reaches the
    # end of the series, so its end is not known
    assert cheap_left_s(quantile, 0.34, 900.0).tolist() == [
        1800.0,
        900.0,
        0.0,
        2700.0,
        1800.0,
        900.0,
        0.0,
        np.inf,
        np.inf,
    ]


def _car_at_midnight(depart_h: float):
    """00:00, cheap until 07:00, one car needing (0.9 - 0.7) x 60 kWh = 12 kWh by `depart_h`."""
    ctx = make_ctx(
        [0.0],
        [6.0],
        soc=0.7,
        battery_kwh=60.0,
        signals={"price_quantile": 0.3, "cheap_left_s": 7 * 3600.0},
    )
    return dataclasses.replace(ctx, depart_s=np.array([depart_h * 3600.0]))


def test_a_car_leaving_after_the_cheap_run_charges_all_of_it_in_the_run():
    ctx = _car_at_midnight(18.0)
    plan = SmartCharging().apply(ctx, plan_at(0.0, 1, {}))
    assert plan.target_kw == pytest.approx(12.0 / 7.0)  # all 12 kWh by 07:00
    # without the cheap-time signal the old rule spreads over the 18 h left
    ctx_old = dataclasses.replace(ctx, signals={"price_quantile": 0.3})
    assert SmartCharging().apply(ctx_old, plan_at(0.0, 1, {})).target_kw == pytest.approx(
        12.0 / 18.0
    )


def test_a_car_leaving_inside_the_cheap_run_spreads_to_its_departure():
    ctx = _car_at_midnight(4.0)
    assert SmartCharging().apply(ctx, plan_at(0.0, 1, {})).target_kw == pytest.approx(3.0)
