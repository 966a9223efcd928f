"""SimulatedCharger: limits, response dynamics, energy and SoC checked against hand arithmetic."""

import asyncio
import math

import pytest

from adapters.base import (
    ChargerAdapter,
    ChargerStatus,
    ChargerUnavailable,
    SetpointRejected,
)
from adapters.simulated import SimulatedCharger, SimulatedChargerConfigError
from adapters.testing.clock import ManualClock


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 5.0))


def make(clock, **kwargs) -> SimulatedCharger:
    charger = SimulatedCharger("SIM1", kwargs.pop("max_charge_kw", 11.0), clock, **kwargs)
    run(charger.connect())
    return charger


def test_is_a_charger_adapter():
    assert isinstance(SimulatedCharger("X", 7.4, ManualClock()), ChargerAdapter)


def test_instantaneous_response_energy_and_soc():
    clock = ManualClock()
    charger = make(clock, battery_kwh=50.0, soc_initial=0.5)
    run(charger.set_power(7.0))
    clock.advance(1800.0)  # half an hour at 7 kW = 3.5 kWh; 3.5 / 50 = +0.07 SoC
    reading = run(charger.read())
    assert reading.power_kw == pytest.approx(7.0)
    assert reading.energy_kwh == pytest.approx(3.5)
    assert reading.soc == pytest.approx(0.57)
    assert reading.status is ChargerStatus.CHARGING
    assert reading.timestamp_s == pytest.approx(1800.0)


def test_first_order_response_matches_closed_form():
    clock = ManualClock()
    charger = make(clock, time_constant_s=10.0)
    run(charger.set_power(10.0))
    clock.advance(10.0)
    reading = run(charger.read())
    # One time constant: 1 - e^-1 = 0.6321205588 of the step.
    assert reading.power_kw == pytest.approx(6.321205588, rel=1e-9)
    # Energy = 10 kW * 10 s - 10 kW * 10 s * (1 - e^-1) = 36.78794412 kWs.
    assert reading.energy_kwh == pytest.approx(36.78794412 / 3600.0, rel=1e-9)


def test_first_order_is_independent_of_the_read_rate():
    coarse_clock, fine_clock = ManualClock(), ManualClock()
    coarse = make(coarse_clock, time_constant_s=4.0)
    fine = make(fine_clock, time_constant_s=4.0)
    run(coarse.set_power(8.0))
    run(fine.set_power(8.0))
    coarse_clock.advance(6.0)
    for _ in range(600):
        fine_clock.advance(0.01)
        fine.reading()
    a, b = run(coarse.read()), run(fine.read())
    assert a.power_kw == pytest.approx(b.power_kw, rel=1e-9)
    assert a.energy_kwh == pytest.approx(b.energy_kwh, rel=1e-9)


def test_ramp_rate_limit():
    clock = ManualClock()
    charger = make(clock, ramp_kw_per_s=2.0)
    run(charger.set_power(10.0))
    clock.advance(3.0)
    reading = run(charger.read())
    assert reading.power_kw == pytest.approx(6.0)  # 2 kW/s * 3 s
    assert reading.energy_kwh == pytest.approx(9.0 / 3600.0)  # triangle 0.5 * 6 kW * 3 s
    clock.advance(7.0)
    reading = run(charger.read())
    # Reaches 10 kW at t = 5 s: 25 kWs ramp + 5 s * 10 kW = 75 kWs in total.
    assert reading.power_kw == pytest.approx(10.0)
    assert reading.energy_kwh == pytest.approx(75.0 / 3600.0)


def test_power_limits_and_discharge():
    clock = ManualClock()
    charger = make(clock, max_charge_kw=11.0)
    run(charger.set_power(20.0))
    clock.advance(1.0)
    assert run(charger.read()).power_kw == pytest.approx(11.0)
    assert charger.can_discharge is False
    with pytest.raises(SetpointRejected, match="cannot discharge"):
        run(charger.set_power(-3.0))

    v2g = make(ManualClock(), max_discharge_kw=5.0, battery_kwh=40.0, soc_initial=0.5)
    assert v2g.can_discharge is True


def test_discharge_is_clipped_and_drains_energy_and_soc():
    clock = ManualClock()
    charger = make(clock, max_discharge_kw=5.0, battery_kwh=40.0, soc_initial=0.5)
    run(charger.set_power(-8.0))
    clock.advance(3600.0)  # clipped to -5 kW for one hour: -5 kWh, SoC 0.5 - 5/40 = 0.375
    reading = run(charger.read())
    assert reading.power_kw == pytest.approx(-5.0)
    assert reading.energy_kwh == pytest.approx(-5.0)
    assert reading.soc == pytest.approx(0.375)
    assert reading.status is ChargerStatus.DISCHARGING


def test_charging_stops_at_full_battery():
    clock = ManualClock()
    charger = make(clock, battery_kwh=10.0, soc_initial=0.9)
    run(charger.set_power(10.0))
    clock.advance(3600.0)  # 10 kWh asked, only 1 kWh fits
    reading = run(charger.read())
    assert reading.energy_kwh == pytest.approx(1.0)
    assert reading.soc == pytest.approx(1.0)
    assert reading.power_kw == 0.0
    assert reading.status is ChargerStatus.SUSPENDED


def test_unplugged_ev_draws_nothing():
    clock = ManualClock()
    charger = make(clock)
    run(charger.set_power(7.0))
    charger.set_plugged(False)
    clock.advance(60.0)
    reading = run(charger.read())
    assert reading.power_kw == 0.0
    assert reading.energy_kwh == 0.0
    assert reading.status is ChargerStatus.AVAILABLE


def test_link_faults():
    clock = ManualClock()
    charger = SimulatedCharger("SIM2", 7.0, clock)
    with pytest.raises(ChargerUnavailable, match="connect"):
        run(charger.read())
    run(charger.connect())
    charger.online = False
    with pytest.raises(ChargerUnavailable):
        run(charger.set_power(1.0))
    charger.online = True
    charger.reject_setpoints = True
    with pytest.raises(SetpointRejected):
        run(charger.set_power(1.0))


def test_close_releases_setpoint():
    clock = ManualClock()
    charger = make(clock)
    run(charger.set_power(5.0))
    run(charger.close())
    assert charger.setpoint_kw == 0.0
    with pytest.raises(ChargerUnavailable):
        run(charger.read())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_constant_s": 2.0, "ramp_kw_per_s": 1.0}, "not both"),
        ({"max_discharge_kw": -1.0}, "max_discharge_kw"),
        ({"battery_kwh": 0.0}, "battery_kwh"),
        ({"soc_min": 0.8, "soc_max": 0.2}, "soc_min"),
    ],
)
def test_config_errors_name_the_field(kwargs, message):
    with pytest.raises(SimulatedChargerConfigError, match=message):
        SimulatedCharger("BAD", 7.0, ManualClock(), **kwargs)


def test_manual_clock_refuses_to_go_back():
    clock = ManualClock(5.0)
    with pytest.raises(ValueError):
        clock.advance(-1.0)
    assert math.isclose(clock(), 5.0)
