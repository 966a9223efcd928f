"""PV-surplus charging and the buildings' PV flags, with plain arrays (CO2-level control's
rules per place: test_service_co2_table4.py).

Station 6 kW, battery 40 kWh, 1-h steps (dt_s = 3600) so power and energy are easy to relate.
"""

import numpy as np
import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.building_surplus import pv_flags
from twin.ems.services.pv_surplus import PvSurplusCharging


def test_pv_flags_spread_the_share_evenly():
    assert pv_flags(10, 0.3).sum() == 3
    assert pv_flags(4, 0.5).tolist() == [False, True, False, True]


def test_pv_surplus_service_raises_charging_above_target():
    signals = {"building_pv_kw": 3.0, "building_load_kw": 1.0, "building_pv_share": 0.5}
    # EV 1 has PV (pv_flags(2, 0.5) = [False, True]); hi = 0 (at its driver's target).
    ctx = make_ctx([0.0, 0.0], [0.0, 0.0], signals=signals, dt_s=3600.0, soc=0.9)
    plan = PvSurplusCharging(soc_max=1.0).apply(ctx, plan_at(0.0, 2))
    # Surplus 2 kW, room to 100 % = 0.1 x 40 kWh in 1 h = 4 kW -> 2 kW on EV 1.
    assert np.allclose(plan.preferred_kw, [0.0, 2.0])
    assert plan.target_kw == pytest.approx(2.0)
    assert np.allclose(plan.hi_kw, [0.0, 2.0])
