"""CO2-level control (Oki islands study: rules per place) and PV-surplus charging, with plain arrays.

Station 6 kW, battery 40 kWh, 1-h steps (dt_s = 3600) so power and energy are easy to relate.
"""

import numpy as np
import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.building_surplus import pv_flags
from twin.ems.services.co2_control import Co2LevelControl
from twin.ems.services.pv_surplus import PvSurplusCharging

LO, HI = [-6.0, -6.0], [6.0, 6.0]


def co2_ctx(co2, place_fleets=(0, 1), soc=0.6, signals=None, lo=LO, hi=HI):
    return make_ctx(
        lo,
        hi,
        signals={"co2_kg_per_kwh": co2, **(signals or {})},
        dt_s=3600.0,
        soc=soc,
        fleet_index=list(place_fleets),
        fleet_names=("homes", "offices"),
    )


def service(**kw):
    return Co2LevelControl(station_kw=6.0, places={"homes": "home", "offices": "workplace"}, **kw)


def test_pv_flags_spread_the_share_evenly():
    assert pv_flags(10, 0.3).sum() == 3
    assert pv_flags(4, 0.5).tolist() == [False, True, False, True]


def test_discharge_level_home_charges_reduced_workplace_discharges():
    # 0.800 kg/kWh >= 0.799 (level 5) but < 0.801: discharge level 5, share 0.5.
    plan = service().apply(co2_ctx(0.800), plan_at(0.0, 2))
    # home: charge at 6 x (1 - 0.5) = 3 kW; workplace: discharge 6 x 0.5 = 3 kW.
    assert np.allclose(plan.preferred_kw, [3.0, -3.0])
    assert plan.records["co2_level"] == -5.0


def test_charge_level_and_no_command():
    # 0.55 <= 0.559 (level 6) but > 0.521: charge level 6, share 0.6.
    plan = service().apply(co2_ctx(0.55), plan_at(0.0, 2))
    assert np.allclose(plan.preferred_kw, [6.0, 3.6])
    # 0.76: between the tables, no command: home charges at rated, workplace idles.
    idle = service().apply(co2_ctx(0.76), plan_at(0.0, 2))
    assert np.allclose(idle.preferred_kw, [6.0, 0.0])


def test_floor_and_fullness_limit_the_rules():
    # Workplace EV discharge is clipped by its lower bound (floor): lo = -1 kW.
    plan = service().apply(co2_ctx(0.815, lo=[-6.0, -1.0]), plan_at(0.0, 2))
    assert plan.preferred_kw[1] == pytest.approx(-1.0)
    # Home EV at 99 % charges only the 0.4 kWh left in one hour: 0.4 kW (eta 1).
    almost = service().apply(co2_ctx(0.5, soc=0.99), plan_at(0.0, 2))
    assert almost.preferred_kw[0] == pytest.approx(0.4)


def test_full_home_ev_covers_house_demand_until_v2h_soc():
    svc = service(v2h_until_soc=0.5)
    signals = {"building_load_kw": 0.8}
    full = svc.apply(co2_ctx(0.76, soc=1.0, signals=signals), plan_at(0.0, 2))
    assert full.preferred_kw[0] == pytest.approx(-0.8)  # V2H: discharge the house's 0.8 kW
    still = svc.apply(co2_ctx(0.76, soc=0.7, signals=signals), plan_at(0.0, 2))
    assert still.preferred_kw[0] == pytest.approx(-0.8)  # hysteresis: keeps covering the house
    low = svc.apply(co2_ctx(0.76, soc=0.5, signals=signals), plan_at(0.0, 2))
    assert low.preferred_kw[0] == pytest.approx(6.0)  # reached 50 %: charges again


def test_pv_surplus_charged_at_both_places():
    # Share 1.0: both buildings have PV; surplus 4.5 - 1.0 = 3.5 kW overrides the CO2 command.
    signals = {"building_pv_kw": 4.5, "building_load_kw": 1.0, "building_pv_share": 1.0}
    plan = service().apply(co2_ctx(0.815, signals=signals), plan_at(0.0, 2))
    assert np.allclose(plan.preferred_kw, [3.5, 3.5])
    assert np.allclose(plan.site_surplus_kw, [3.5, 3.5])


def test_pv_surplus_service_raises_charging_above_target():
    signals = {"building_pv_kw": 3.0, "building_load_kw": 1.0, "building_pv_share": 0.5}
    # EV 1 has PV (pv_flags(2, 0.5) = [False, True]); hi = 0 (at its driver's target).
    ctx = make_ctx([0.0, 0.0], [0.0, 0.0], signals=signals, dt_s=3600.0, soc=0.9)
    plan = PvSurplusCharging(soc_max=1.0).apply(ctx, plan_at(0.0, 2))
    # Surplus 2 kW, room to 100 % = 0.1 x 40 kWh in 1 h = 4 kW -> 2 kW on EV 1.
    assert np.allclose(plan.preferred_kw, [0.0, 2.0])
    assert plan.target_kw == pytest.approx(2.0)
    assert np.allclose(plan.hi_kw, [0.0, 2.0])
