"""Regulation tracking and FEMS kWh schedule tracking, hand-computed with plain arrays."""

import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.fems_schedule import FemsScheduleTracking
from twin.ems.services.regulation import RegulationTracking

LO, HI = [-5.9] * 3, [5.9] * 3  # 3 V2G cars: fleet range [-17.7, 17.7] kW


def test_positive_signal_means_discharge_by_default():
    service = RegulationTracking(capacity_kw=10.0)
    plan = service.apply(make_ctx(LO, HI, signals={"regulation_pu": 0.5}), plan_at(4.0, 3))
    # basepoint 4 kW - 0.5 x 10 kW = -1 kW
    assert plan.target_kw == pytest.approx(-1.0)
    assert plan.records["reg_basepoint_kw"] == pytest.approx(4.0)
    assert plan.records["reg_setpoint_kw"] == pytest.approx(-1.0)


def test_charge_convention_and_zero_basepoint_without_earlier_service():
    service = RegulationTracking(capacity_kw=10.0, positive="charge")
    # No earlier contribution: basepoint 0 (inside [-17.7, 17.7]), +0.3 x 10 = 3 kW.
    plan = service.apply(
        make_ctx(LO, HI, signals={"regulation_pu": 0.3}), plan_at(-17.7, 3, contributions={})
    )
    assert plan.target_kw == pytest.approx(3.0)


def test_schedule_wins_keeps_basepoint_regulation_wins_moves_it():
    ctx = make_ctx(
        LO, HI, signals={"regulation_pu": -1.0}
    )  # -1 = charge more (discharge convention)
    # Basepoint 15 kW + 10 kW = 25 kW asked; schedule priority keeps the 15 kW basepoint.
    schedule = RegulationTracking(capacity_kw=10.0, priority="schedule").apply(
        ctx, plan_at(15.0, 3)
    )
    assert schedule.records["reg_basepoint_kw"] == pytest.approx(15.0)
    assert schedule.target_kw == pytest.approx(25.0)  # the allocation clips it to 17.7
    # Regulation priority: basepoint moved to 17.7 - 10 = 7.7 kW so the full move fits.
    regulation = RegulationTracking(capacity_kw=10.0, priority="regulation").apply(
        ctx, plan_at(15.0, 3)
    )
    assert regulation.records["reg_basepoint_kw"] == pytest.approx(7.7)
    assert regulation.target_kw == pytest.approx(17.7)


def test_fems_schedule_targets_the_missing_energy_over_the_time_left():
    service = FemsScheduleTracking()
    # 10:00:00, slot start, 3 kWh requested, nothing delivered: 3 kWh / 0.5 h = 6 kW.
    first = service.apply(
        make_ctx(
            LO, HI, signals={"fems_kwh": 3.0}, time_s=0, second_of_day=36000, energy_net_kwh=100.0
        ),
        plan_at(0.0, 3),
    )
    assert first.target_kw == pytest.approx(6.0)
    # 10:20: 1.5 kWh delivered since the slot began, 10 min left: 1.5 kWh / (1/6) h = 9 kW.
    later = service.apply(
        make_ctx(
            LO,
            HI,
            signals={"fems_kwh": 3.0},
            time_s=1200,
            second_of_day=37200,
            energy_net_kwh=101.5,
        ),
        plan_at(0.0, 3),
    )
    assert later.target_kw == pytest.approx(9.0)
    assert later.records["fems_delivered_kwh"] == pytest.approx(1.5)
    # 10:30: a new slot asks for -2 kWh (discharge): counting restarts -> -4 kW.
    new_slot = service.apply(
        make_ctx(
            LO,
            HI,
            signals={"fems_kwh": -2.0},
            time_s=1800,
            second_of_day=37800,
            energy_net_kwh=103.0,
        ),
        plan_at(0.0, 3),
    )
    assert new_slot.target_kw == pytest.approx(-4.0)
