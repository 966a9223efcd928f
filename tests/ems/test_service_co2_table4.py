"""Table 4 of the Oki islands study, per place: CO2-level control (and balance following, which
shares the rules) with plain arrays.

Station 6 kW, battery 40 kWh, eta 1 (make_ctx), 1-h steps: 1 kW for the step = 1 kWh = 2.5 % SOC.
Discharge stop = max(floor 30 %, the session's promise `target_soc`, the day's minimum).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.balance_following import BalanceFollowing
from twin.ems.services.co2_control import Co2LevelControl
from twin.fleet.places import HOME, OTHER, UNKNOWN, WORKPLACE

# Intensities: discharge level 5 (share 0.5), charge level 6 (share 0.6), and no command.
DISCHARGE_5, CHARGE_6, NONE = 0.800, 0.55, 0.76
HOUSE_KW = 0.8


def ctx_at(places, co2, soc=0.6, target_soc=0.3, signals=None, lo=-6.0, hi=6.0):
    n = len(places)
    ctx = make_ctx(
        [lo] * n,
        [hi] * n,
        signals={"co2_kg_per_kwh": co2, "building_load_kw": HOUSE_KW, **(signals or {})},
        dt_s=3600.0,
        soc=soc,
        target_soc=target_soc,
    )
    return replace(ctx, place=np.asarray(places, dtype=np.int8))


def power(ctx, svc=None):
    return (svc or Co2LevelControl()).apply(ctx, plan_at(0.0, len(ctx.lo_kw))).preferred_kw


def test_home_without_surplus():
    # No command -> discharge following the house demand (0.8 kW); a command -> as at the
    # workplace: charge rated x 0.6 = 3.6 kW, discharge rated x 0.5 = 3 kW.
    assert power(ctx_at([HOME], NONE)) == pytest.approx([-HOUSE_KW])
    assert power(ctx_at([HOME], CHARGE_6)) == pytest.approx([3.6])
    assert power(ctx_at([HOME], DISCHARGE_5)) == pytest.approx([-3.0])


def test_home_follows_the_house_down_to_the_floor_or_the_days_minimum():
    # 30.5 % with a 30 % floor: 0.005 x 40 = 0.2 kWh left above it in the hour -> 0.2 kW.
    assert power(ctx_at([HOME], NONE, soc=0.305)) == pytest.approx([-0.2])
    # The day's minimum 45 % (floor + next trip) is higher: at 46 % only 0.4 kW is left.
    assert power(ctx_at([HOME], NONE, soc=0.46, target_soc=0.45)) == pytest.approx([-0.4])
    assert power(ctx_at([HOME], NONE, soc=0.45, target_soc=0.45)) == pytest.approx([0.0])


def test_forced_charge_at_every_place():
    # Below the day's minimum (50 %): rated power at home, at the workplace and elsewhere with
    # no command or a charge command; rated x (1 - 0.5) = 3 kW under discharge level 5.
    for co2 in (NONE, CHARGE_6):
        p = power(ctx_at([HOME, WORKPLACE, OTHER], co2, soc=0.4, target_soc=0.5))
        assert p == pytest.approx([6.0, 6.0, 6.0])
    p = power(ctx_at([HOME, WORKPLACE, OTHER], DISCHARGE_5, soc=0.4, target_soc=0.5))
    assert p == pytest.approx([3.0, 3.0, 3.0])


def test_workplace_without_surplus():
    # charge command -> rated x share (3.6 kW); discharge -> -rated x share (-3 kW); none -> idle.
    assert power(ctx_at([WORKPLACE], CHARGE_6)) == pytest.approx([3.6])
    assert power(ctx_at([WORKPLACE], DISCHARGE_5)) == pytest.approx([-3.0])
    assert power(ctx_at([WORKPLACE], NONE)) == pytest.approx([0.0])
    # Discharge stops at the floor: 31 % leaves 0.4 kWh -> -0.4 kW.
    assert power(ctx_at([WORKPLACE], DISCHARGE_5, soc=0.31)) == pytest.approx([-0.4])


def test_other_places_charge_at_rated_power_up_to_the_minimum_only():
    assert power(ctx_at([OTHER], CHARGE_6, soc=0.29)) == pytest.approx([6.0])
    assert power(ctx_at([OTHER], NONE, soc=0.29)) == pytest.approx([6.0])
    # At or above the minimum level: nothing, whatever the command (no V2G, no top-up).
    for co2 in (CHARGE_6, DISCHARGE_5, NONE):
        assert power(ctx_at([OTHER], co2, soc=0.5)) == pytest.approx([0.0])


def test_pv_surplus_is_charged_at_home_and_at_the_workplace_until_full():
    signals = {
        "building_pv_kw": 4.5,
        "building_pv_share": 1.0,
        "other_building_pv_kw": 20.0,
        "other_building_load_kw": 18.0,
        "other_building_pv_share": 1.0,
    }
    # Home: 4.5 - 0.8 = 3.7 kW; workplace: its own building's 20 - 18 = 2 kW; overrides the
    # discharge command; other places have no surplus rule.
    p = power(ctx_at([HOME, WORKPLACE, OTHER], DISCHARGE_5, signals=signals))
    assert p == pytest.approx([3.7, 2.0, 0.0])
    # Full is 100 %: at 99 % only 0.4 kWh fits in the hour.
    assert power(ctx_at([HOME], DISCHARGE_5, soc=0.99, signals=signals)) == pytest.approx([0.4])


def test_place_of_the_session_wins_over_the_fleet_setting():
    svc = Co2LevelControl(places={"fleet": "workplace"})
    ctx = ctx_at([HOME, UNKNOWN], NONE)
    # EV 0 reports home (V2H), EV 1 reports nothing: its fleet's place, the workplace (idle).
    assert power(ctx, svc) == pytest.approx([-HOUSE_KW, 0.0])


def test_levels_from_a_signal_and_balance_following_use_the_same_rules():
    signals = {"co2_command_level": -5.0, "balance_command_level": 6.0}
    by_signal = Co2LevelControl(levels="signal", command_signal="co2_command_level")
    # co2_kg_per_kwh says "no command"; the level signal says discharge 5 -> -3 kW at both.
    assert power(ctx_at([HOME, WORKPLACE], NONE, signals=signals), by_signal) == pytest.approx(
        [-3.0, -3.0]
    )
    plan = BalanceFollowing().apply(
        ctx_at([HOME, WORKPLACE], NONE, signals=signals), plan_at(0.0, 2)
    )
    assert plan.preferred_kw == pytest.approx([3.6, 3.6])  # charge level 6
    assert plan.records["balance_level"] == 6.0
