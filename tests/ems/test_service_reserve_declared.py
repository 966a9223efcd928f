"""Tertiary reserve with a baseline declared ahead from a forecast (Toyota V2G demo's product
rules, twin/products/reserve.py): declared 1 h before the block, frozen, so the controller
cannot grade itself against its own plan."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.reserve import TertiaryReserve, uncontrolled_forecast_kw

BLOCK_AT_S = 7200.0  # the block starts 2 h after the start
LO, HI = [-6.0, -6.0], [6.0, 6.0]


def ctx_at(time_s, soc, reduction_kw=0.0, schedule=True):
    signals = {"reserve_reduction_kw": reduction_kw}
    if schedule:
        signals["reserve_block_start_in_s"] = BLOCK_AT_S - time_s
    # 40 kWh, eta 1, 6 kW, 1-min steps; EV 0 needs (0.9 - soc) x 40 kWh, EV 1 is at its target.
    return make_ctx(
        LO, HI, signals=signals, time_s=int(time_s), dt_s=60.0, soc=[soc, 0.9], target_soc=0.9
    )


def test_forecast_is_full_power_until_the_session_target():
    # EV 0 needs 0.3 x 40 = 12 kWh: 6 kW for 2 h from now, then nothing; EV 1 needs nothing.
    ctx = ctx_at(0, 0.6)
    f = uncontrolled_forecast_kw(ctx, 3600.0, 120)  # the hour from +1 h to +3 h, per minute
    assert f[:60] == pytest.approx(6.0) and f[60:] == pytest.approx(0.0)


def test_baseline_is_declared_an_hour_ahead_and_frozen():
    svc = TertiaryReserve("tertiary_1", baseline_kw=None)
    # Before the declaration is due (2 h ahead): nothing declared, the plan passes.
    early = svc.apply(ctx_at(0, 0.3), plan_at(6.0, 2))
    assert early.records["reserve_baseline_kw"] == pytest.approx(6.0)
    # Declared at 1 h ahead from SOC 30 %: 24 kWh at 6 kW = 4 h of charging from the
    # declaration, i.e. the whole 3-h block at 6 kW.
    svc.apply(ctx_at(3600, 0.3), plan_at(6.0, 2))
    # In the block the fleet is suddenly full (SOC 90 %) and the earlier services plan 0 kW:
    # the declared 6 kW baseline stands, target = 6 - 2 = 4 kW.
    inside = svc.apply(ctx_at(BLOCK_AT_S + 600, 0.9, reduction_kw=2.0), plan_at(0.0, 2))
    assert inside.records["reserve_baseline_kw"] == pytest.approx(6.0)
    assert inside.target_kw == pytest.approx(4.0)
    assert inside.records["reserve_baseline_late"] == 0.0


def test_baseline_follows_the_forecast_shape_per_baseline_step():
    svc = TertiaryReserve("tertiary_1", baseline_kw=None)
    # SOC 60 %: 12 kWh = 2 h at 6 kW from the declaration -> 6 kW in the block's first hour.
    svc.apply(ctx_at(3600, 0.6), plan_at(0.0, 2))
    first = svc.apply(ctx_at(BLOCK_AT_S + 59 * 60, 0.6, 1.0), plan_at(0.0, 2))
    second = svc.apply(ctx_at(BLOCK_AT_S + 60 * 60, 0.6, 1.0), plan_at(0.0, 2))
    assert first.records["reserve_baseline_kw"] == pytest.approx(6.0)
    assert second.records["reserve_baseline_kw"] == pytest.approx(0.0)


def test_without_a_schedule_the_forecast_is_declared_late_and_counted():
    svc = TertiaryReserve("tertiary_1", baseline_kw=None)
    plan = svc.apply(ctx_at(0, 0.6, reduction_kw=2.0, schedule=False), plan_at(0.0, 2))
    # Declared at the first commanded step: EV 0 charges at 6 kW for the next 2 h.
    assert plan.records["reserve_baseline_kw"] == pytest.approx(6.0)
    assert plan.records["reserve_baseline_late"] == 1.0
    later = svc.apply(replace(ctx_at(1800, 0.9, reduction_kw=2.0, schedule=False)), plan_at(0.0, 2))
    assert later.records["reserve_baseline_kw"] == pytest.approx(6.0)  # same block, frozen
    assert later.records["reserve_baseline_late"] == 1.0
    assert np.isfinite(later.target_kw)
