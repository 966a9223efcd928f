"""Energy, CO2 and PV-surplus totals with hand numbers."""

from __future__ import annotations

import numpy as np
import pytest

from twin.metrics.co2 import energy_co2_totals, pv_surplus_absorbed
from twin.metrics.errors import MetricInputError


def test_energy_co2_totals_by_hand() -> None:
    # 30-min steps: 6 kW -> 3 kWh, -3 kW -> -1.5 kWh.
    totals = energy_co2_totals(
        np.array([6.0, 6.0, -3.0, 0.0]), np.array([0.5, 0.7, 0.8, 0.6]), step_s=1800
    )
    assert totals.charged_kwh == pytest.approx(6.0)
    assert totals.discharged_kwh == pytest.approx(1.5)
    assert totals.net_kwh == pytest.approx(4.5)
    assert totals.co2_charged_kg == pytest.approx(3 * 0.5 + 3 * 0.7)
    assert totals.co2_displaced_kg == pytest.approx(1.5 * 0.8)
    assert totals.net_co2_kg == pytest.approx(3.6 - 1.2)
    assert totals.mean_charging_intensity_kg_per_kwh == pytest.approx(0.6)


def test_scalar_intensity_and_length_check() -> None:
    totals = energy_co2_totals(np.array([3.6, 3.6]), 0.5, step_s=1000)  # 1 kWh per step
    assert totals.co2_charged_kg == pytest.approx(1.0)
    with pytest.raises(MetricInputError, match="differ in length"):
        energy_co2_totals(np.ones(3), np.ones(2), step_s=60)


def test_pv_surplus_absorbed_by_hand() -> None:
    result = pv_surplus_absorbed(
        np.array([4.0, 2.0, 0.0, -1.0]), np.array([6.0, 1.0, 3.0, 0.0]), step_s=1800
    )
    # Surplus 4 + 2 = 6 kW-steps -> 3 kWh; absorbed min(6,4) + min(1,2) = 5 kW-steps -> 2.5 kWh.
    assert result.surplus_kwh == pytest.approx(3.0)
    assert result.absorbed_kwh == pytest.approx(2.5)
    assert result.absorbed_percent == pytest.approx(2.5 / 3 * 100)
