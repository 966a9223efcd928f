"""Primary frequency response: droop arithmetic, deadband, limits, under-frequency mode and hold."""

import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.frequency_response import FrequencyResponse

# 4 plugged EVs, each may go from -6 kW (discharge) to +6 kW; rating 4 x 6 = 24 kW.
LO, HI = [-6.0] * 4, [6.0] * 4


def fcr(**kw):
    return FrequencyResponse(nominal_hz=50.0, droop_percent=5.0, deadband_hz=0.01, **kw)


def test_droop_below_nominal_reduces_consumption_by_hand_computed_amount():
    # df = -0.1 Hz, 0.09 Hz beyond the deadband: 0.09 / 50 / 0.05 x 24 kW = 0.864 kW less.
    plan = fcr().apply(make_ctx(LO, HI, signals={"frequency_hz": 49.9}), plan_at(0.0, 4))
    assert plan.target_kw == pytest.approx(-0.864)
    assert plan.contributions_kw["frequency_response"] == pytest.approx(-0.864)
    assert plan.records["fcr_rated_kw"] == pytest.approx(24.0)


def test_droop_r5_gives_8_percent_of_rating_at_minus_0_2_hz_without_deadband():
    # the Kashiwa EV project's worked example: R = 5 % on 50 Hz, -0.2 Hz -> 8 % of rating (24 kW -> 1.92 kW).
    service = FrequencyResponse(
        nominal_hz=50.0, droop_percent=5.0, deadband_hz=0.0, under_frequency_hz=49.5
    )
    plan = service.apply(make_ctx(LO, HI, signals={"frequency_hz": 49.8}), plan_at(0.0, 4))
    assert plan.target_kw == pytest.approx(-1.92)


def test_inside_deadband_no_change_and_over_frequency_clipped_at_headroom():
    assert fcr().apply(
        make_ctx(LO, HI, signals={"frequency_hz": 50.008}), plan_at(3.0, 4)
    ).target_kw == pytest.approx(3.0)
    # +1 Hz: 0.99 / 50 / 0.05 x 24 = 9.504 kW more, but from 20 kW only 4 kW of headroom is left.
    plan = fcr().apply(make_ctx(LO, HI, signals={"frequency_hz": 51.0}), plan_at(20.0, 4))
    assert plan.target_kw == pytest.approx(24.0)


def test_rated_power_counts_only_plugged_evs():
    ctx = make_ctx(
        [-6.0, -6.0, 0.0, 0.0],
        [6.0, 6.0, 0.0, 0.0],
        signals={"frequency_hz": 49.9},
        plugged=[True, True, False, False],
    )
    # Rating 12 kW: 0.09 / 50 / 0.05 x 12 = 0.432 kW.
    assert fcr().apply(ctx, plan_at(0.0, 4)).target_kw == pytest.approx(-0.432)


def test_under_frequency_frees_all_available_power_and_holds_it():
    service = fcr(hold_s=300.0)
    # Basepoint 10 kW, lowest feasible -24 kW: available = 34 kW -> target -24 kW.
    p1 = service.apply(
        make_ctx(LO, HI, signals={"frequency_hz": 49.79}, time_s=1000), plan_at(10.0, 4)
    )
    assert p1.target_kw == pytest.approx(-24.0)
    assert p1.records["fcr_available_kw"] == pytest.approx(34.0)
    assert p1.records["fcr_under_frequency"] == 1.0
    # Frequency back to nominal 100 s later: still held (hold 300 s).
    p2 = service.apply(
        make_ctx(LO, HI, signals={"frequency_hz": 50.0}, time_s=1100), plan_at(10.0, 4)
    )
    assert p2.target_kw == pytest.approx(-24.0)
    # After the hold: back to droop around the basepoint (50 Hz -> no change).
    p3 = service.apply(
        make_ctx(LO, HI, signals={"frequency_hz": 50.0}, time_s=1301), plan_at(10.0, 4)
    )
    assert p3.target_kw == pytest.approx(10.0)
    assert p3.records["fcr_under_frequency"] == 0.0


def test_under_frequency_share_and_floors_limit_available_power():
    # Two EVs at their floor (lo = 0): available = 10 - (-12 + 0 + 0) = 22 kW; share 0.9 -> 19.8 kW.
    ctx = make_ctx([-6.0, -6.0, 0.0, 0.0], HI, signals={"frequency_hz": 49.7})
    plan = fcr(under_frequency_share=0.9).apply(ctx, plan_at(10.0, 4))
    assert plan.target_kw == pytest.approx(10.0 - 19.8)
