"""EV physics: ramp, exact energy integral, SoC bounds."""

from __future__ import annotations

import pytest

from adapters.testing.modbus.ev_session_model import EvSessionModel


def test_ramp_and_energy_integral() -> None:
    ev = EvSessionModel(battery_kwh=50.0, soc=0.5, ramp_kw_per_s=4.0, max_charge_kw=22.0)
    ev.advance(10.0, 8.0)
    # 2 s ramp 0->8 kW (8 kWs) + 8 s at 8 kW (64 kWs) = 72 kWs = 0.02 kWh.
    assert ev.power_kw == pytest.approx(8.0)
    assert ev.energy_import_kwh == pytest.approx(72.0 / 3600.0)
    assert ev.soc == pytest.approx(0.5 + 0.02 / 50.0)
    ev.advance(0.5, 0.0)
    # Half a second of ramp down at 4 kW/s: 8 -> 6 kW, energy (8+6)/2 x 0.5 = 3.5 kWs.
    assert ev.power_kw == pytest.approx(6.0)
    assert ev.energy_import_kwh == pytest.approx(75.5 / 3600.0)


def test_limits_and_soc_floor() -> None:
    ev = EvSessionModel(
        battery_kwh=10.0, soc=0.06, soc_min=0.05, max_discharge_kw=5.0, ramp_kw_per_s=100.0
    )
    # Discharge limited to 5 kW; the floor (0.1 kWh above it = 72 s at 5 kW) stops it.
    ev.advance(200.0, -9.0)
    assert ev.soc == pytest.approx(0.05, abs=0.002)
    assert ev.power_kw == 0.0
    assert ev.energy_export_kwh == pytest.approx(0.1, abs=0.02)
    ev.plugged = False
    assert ev.feasible_kw(5.0) == 0.0
    assert ev.iec61851_state() == "A"
