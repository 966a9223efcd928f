"""adapters.setpoint: the twin's kW set-point as a physical charger is sent it, checked against
hand arithmetic; and the OCPP and Modbus encoders use it alike."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from adapters import setpoint
from adapters.modbus.register_map import load_register_map
from adapters.modbus.setpoint_conversion import device_setpoint
from adapters.ocpp import charging_profiles
from adapters.setpoint import CHARGE_ONLY, UNLIMITED, PowerLimits


def _positive_zero(value: float) -> bool:
    return value == 0.0 and math.copysign(1.0, value) == 1.0


@pytest.mark.parametrize(
    ("power_kw", "limits", "expected_w"),
    [
        (7.4, UNLIMITED, 7400.0),
        (-7.0, UNLIMITED, -7000.0),
        (0.001, UNLIMITED, 1.0),  # 1 W: the resolution itself is sent
        (0.0009, UNLIMITED, 0.0),  # below 1 W: zero
        (30.0, PowerLimits(max_charge_w=22_000.0), 22_000.0),
        (-5.0, PowerLimits(max_discharge_w=3_000.0), -3_000.0),
        (-5.0, CHARGE_ONLY, 0.0),
        (11.0, CHARGE_ONLY, 11_000.0),
        # The charger's own resolution: below it 0 (a -8 W set-point is no discharge command).
        (-0.008, PowerLimits(resolution_w=100.0), 0.0),
        (0.0999, PowerLimits(resolution_w=100.0), 0.0),
        (-0.1, PowerLimits(resolution_w=100.0), -100.0),
        (0.0005, PowerLimits(resolution_w=0.1), 0.0),  # never finer than 1 W
    ],
)
def test_shape_w(power_kw, limits, expected_w) -> None:
    assert setpoint.shape_w(power_kw, limits) == expected_w


@pytest.mark.parametrize("power_kw", [-1e-12, 1e-12, -0.0, 0.0, -0.000999])
def test_round_off_of_the_lag_inverse_is_a_positive_zero(power_kw) -> None:
    # A charge-only charger must not be asked for -0.0 W (a discharge to some parsers).
    assert _positive_zero(setpoint.shape_w(power_kw))
    assert _positive_zero(setpoint.shape_w(power_kw, CHARGE_ONLY))


def test_shape_above_the_resolution_is_exactly_kw_times_1000() -> None:
    for i in range(1, 2000):
        power_kw = i * 0.0137 - 13.7
        if abs(power_kw) >= 1e-3:
            assert setpoint.shape_w(power_kw) == power_kw * 1000.0


def test_round_w() -> None:
    assert setpoint.round_w(4111.11, 1) == 4111.1
    assert setpoint.round_w(6500.04, 1) == 6500.0
    assert _positive_zero(setpoint.round_w(-0.04, 1))


def _current_by_hand(power_w, phases, voltage_v, step_a, min_a, max_a) -> float:
    # Exact rational arithmetic on the decimal values meant (4195.2 W is 6.08 A at 690 V, not
    # the 6.0799.. A of the nearest float): floor(P / (n V) / step) x step, capped, pause below
    # the minimum.
    exact = Fraction(repr(power_w)) / (phases * Fraction(repr(voltage_v)))
    steps = math.floor(exact / Fraction(repr(step_a)))
    amps = min(steps * Fraction(repr(step_a)), Fraction(repr(max_a)))
    return 0.0 if power_w <= 0 or amps < Fraction(repr(min_a)) else float(amps)


@pytest.mark.parametrize(
    ("phases", "voltage_v", "step_a", "min_a", "max_a"),
    [(3, 230.0, 1.0, 6.0, 32.0), (1, 230.0, 0.1, 6.0, 16.0), (3, 230.0, 0.001, 6.0, 32.0)],
)
def test_ac_current_against_exact_arithmetic(phases, voltage_v, step_a, min_a, max_a) -> None:
    for i in range(0, 1200):
        power_w = (i * 237 + 3) / 10  # 0.3 W .. 28.4 kW in steps of 23.7 W
        got = setpoint.ac_current_a(
            power_w, phases=phases, voltage_v=voltage_v, step_a=step_a, min_a=min_a, max_a=max_a
        )
        want = _current_by_hand(power_w, phases, voltage_v, step_a, min_a, max_a)
        assert got == pytest.approx(want, abs=1e-9), power_w


def test_ac_current_cases_by_hand() -> None:
    three = {"phases": 3, "voltage_v": 230.0, "step_a": 1.0, "min_a": 6.0, "max_a": 32.0}
    assert setpoint.ac_current_a(6900.0, **three) == 10.0  # 6900 / 690 = 10 A exactly
    assert setpoint.ac_current_a(7000.0, **three) == 10.0  # 10.14 A rounds *down*
    assert setpoint.ac_current_a(4000.0, **three) == 0.0  # 5.8 A < 6 A: pause, not 6 A
    assert setpoint.ac_current_a(30_000.0, **three) == 32.0  # 43.5 A capped at the rating
    assert setpoint.ac_current_a(-3000.0, **three) == 0.0


def test_device_sign() -> None:
    assert setpoint.to_device_w(-5000.0, export_positive=True) == 5000.0
    assert setpoint.to_device_w(5000.0, export_positive=False) == 5000.0
    assert _positive_zero(setpoint.to_device_w(0.0, export_positive=True))
    assert setpoint.from_device_w(5000.0, export_positive=True) == -5000.0
    assert setpoint.from_device_w(-2000.0, export_positive=False) == -2000.0


def test_ocpp_profiles_take_the_shaped_value() -> None:
    v16 = charging_profiles.set_power_v16(-1e-12, connector_id=1, transaction_id=None)
    limit = v16.cs_charging_profiles["charging_schedule"]["charging_schedule_period"][0]["limit"]
    assert _positive_zero(limit)
    v21 = charging_profiles.set_power_v21(-1e-12, evse_id=1, transaction_id="tx")
    period = v21.charging_profile["charging_schedule"][0]["charging_schedule_period"][0]
    assert _positive_zero(period["setpoint"])
    assert charging_profiles.set_power_v21(-7.0, evse_id=1, transaction_id=None).charging_profile[
        "charging_schedule"
    ][0]["charging_schedule_period"][0]["setpoint"] == setpoint.shape_w(-7.0)


def test_modbus_maps_take_the_shaped_value() -> None:
    sunspec = load_register_map("sunspec_der")  # W, export positive, can discharge
    limit_w = sunspec.setpoint.max_power_w
    sp = device_setpoint(-1e9, sunspec)
    assert (sp.value, sp.expected_power_kw) == (limit_w, -limit_w / 1000.0)
    sp = device_setpoint(-1e-12, sunspec)
    assert _positive_zero(sp.value) and not sp.enabled
    phoenix = load_register_map("phoenix_charx")  # A, whole amps
    el = phoenix.electrical
    sp = device_setpoint(7.0, phoenix)
    want_a = math.floor(7000.0 / (el.phases * el.voltage_v) / el.current_step_a) * el.current_step_a
    assert sp.value == pytest.approx(want_a) and sp.enabled
