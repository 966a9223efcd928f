"""Area power balance of the island study, on numbers worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from twin.metrics.area_balance import area_balance


def test_import_surplus_primary_energy_and_surplus_days():
    # Two days of two 12-h steps: load 10 kW; PV 0 / 14 kW; EVs +2 kW (charging) / -1 kW.
    load = np.array([10.0, 10.0, 10.0, 10.0])
    pv = np.array([0.0, 14.0, 0.0, 8.0])
    ev = np.array([2.0, -1.0, 0.0, 0.0])
    b = area_balance(
        load,
        pv,
        ev,
        step_s=12 * 3600,
        month=np.array([5, 5, 5, 5]),
        day_id=np.array([1, 1, 2, 2]),
        co2_kg_per_kwh=np.array([0.8, 0.5, 0.8, 0.5]),
    )
    # net = 12, -5, 10, 2 kW -> import (12 + 10 + 2) x 12 h = 288 kWh, surplus 5 x 12 = 60 kWh.
    assert b.import_kwh == pytest.approx(288.0)
    assert b.surplus_kwh == pytest.approx(60.0)
    assert b.reference_import_kwh == pytest.approx(480.0)
    assert b.primary_energy_gj == pytest.approx(288 * 9.76 / 1000)
    assert b.primary_energy_reduction_percent == pytest.approx(40.0)
    assert b.surplus_days_by_month == {5: 1} and b.days_by_month == {5: 2}
    # CO2: (12 x 0.8 + 10 x 0.8 + 2 x 0.5) x 12 h = 223.2 kg.
    assert b.co2_kg == pytest.approx(223.2)
    assert b.peak_import_kw == pytest.approx(12.0)
