"""FlexibilityWindows on plain arrays: raised bounds in push-up, and earlier services' records kept."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.config.types import ClockWindow
from twin.ems.plan import FleetPlan
from twin.ems.services import FlexibilityWindows

WINDOWS = dict(
    push_up=ClockWindow(start="10:00", end="14:00"),
    push_down=ClockWindow(start="16:00", end="20:00"),
)


def test_push_up_raises_bounds_to_the_soc_cap_and_keeps_earlier_records():
    # Two EVs plugged at 11:00, 40 kWh, SOC 0.6; the driver's range tops out at 2 kW each.
    ctx = make_ctx([0.0, 0.0], [2.0, 2.0], second_of_day=11 * 3600, dt_s=900.0, soc=[0.6, 0.99])
    earlier = plan_at(1.0, 2).with_records(fcr_available_kw=3.5)
    earlier = FleetPlan(**{**earlier.__dict__, "site_surplus_kw": np.array([1.0, 0.0])})
    plan = FlexibilityWindows(**WINDOWS, push_up_soc_max=1.0).apply(ctx, earlier)
    # EV 0: room 0.4 x 40 kWh in 0.25 h -> 64 kW, capped by the 6 kW charger.
    # EV 1: room 0.01 x 40 kWh in 0.25 h -> 1.6 kW, below its 2 kW range: the range stays.
    assert plan.hi_kw == pytest.approx([6.0, 2.0])
    assert plan.target_kw == pytest.approx(8.0)
    assert plan.records == {"fcr_available_kw": 3.5}
    assert plan.site_surplus_kw is not None and plan.site_surplus_kw.tolist() == [1.0, 0.0]
    assert plan.contributions_kw["flexibility_windows"] == pytest.approx(7.0)


def test_push_down_targets_the_floor_without_discharge_when_disallowed():
    ctx = make_ctx([-3.0, 1.5], [6.0, 6.0], second_of_day=17 * 3600, dt_s=900.0)
    plan = FlexibilityWindows(**WINDOWS, discharge_in_push_down=False).apply(ctx, plan_at(4.0, 2))
    assert plan.target_kw == pytest.approx(
        1.5
    )  # 0 for the V2X car, its forced 1.5 kW for the other
    assert plan.preferred_kw.tolist() == [0.0, 1.5]
