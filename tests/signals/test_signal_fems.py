"""FEMS 30-min kWh plans: slot alignment, hand values of the shape, same plan vs revisions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.signals.errors import SignalConfigError
from twin.signals.fems import fems_plans, fems_request_kwh

TOKYO = ZoneInfo("Asia/Tokyo")
START = dt.datetime(2024, 6, 3, 0, 0, tzinfo=TOKYO)


def test_daily_shape_by_hand() -> None:
    kwh = fems_request_kwh(
        START, 60.0, 1440, seed=0, charge_kw=10.0, discharge_kw=5.0, day_variation=0.0
    )
    assert kwh.shape == (1440,)
    # Constant within every 30-min slot.
    np.testing.assert_array_equal(kwh, np.repeat(kwh[::30], 30))
    slot = kwh[::30]
    # 12:00-12:30 slot, mid 12:15: 10 kW x 0.5 h x sin(pi x 2.25 h / 4 h).
    assert slot[24] == pytest.approx(5.0 * np.sin(np.pi * 2.25 / 4.0))
    assert slot[20] == pytest.approx(5.0 * np.sin(np.pi * 0.25 / 4.0))  # 10:00-10:30
    np.testing.assert_allclose(slot[34:40], -2.5)  # 17:00-20:00: -5 kW x 0.5 h
    np.testing.assert_array_equal(slot[:20], 0.0)
    np.testing.assert_array_equal(slot[28:34], 0.0)
    np.testing.assert_array_equal(slot[40:], 0.0)


def test_unaligned_start_is_inside_a_clock_slot() -> None:
    aligned = fems_request_kwh(START, 60.0, 1440, seed=0, day_variation=0.0)
    late = fems_request_kwh(START + dt.timedelta(minutes=610), 60.0, 60, seed=0, day_variation=0.0)
    # 10:10 lies in the 10:00-10:30 slot; the value changes at 10:30 (20 steps later).
    np.testing.assert_array_equal(late, aligned[610:670])


def test_same_plan_is_repeated_every_slot() -> None:
    plans = fems_plans(START, 60.0, 1440, seed=2)
    assert len(plans) == 48
    requests = fems_request_kwh(START, 60.0, 1440, seed=2)
    for plan in plans:
        assert plan.kwh.size == 48
        np.testing.assert_array_equal(plan.slot_index, plan.issued_slot + np.arange(48))
    # Slot 30 as stated by every plan that covers it, and as requested.
    stated = [plan.kwh[30 - plan.issued_slot] for plan in plans if plan.issued_slot <= 30]
    assert len(set(stated)) == 1
    assert stated[0] == requests[30 * 30]


def test_revised_plans_converge_to_the_request() -> None:
    plans = fems_plans(START, 60.0, 1440, seed=2, revision_std_kwh=0.5)
    requests = fems_request_kwh(START, 60.0, 1440, seed=2, revision_std_kwh=0.5)
    for plan in plans:
        # The value for the plan's own slot is final; later slots were still forecasts.
        assert plan.kwh[0] == requests[plan.issued_slot * 30]
    early = [plan.kwh[40 - plan.issued_slot] for plan in plans if plan.issued_slot <= 40]
    assert len(set(early)) > 1


def test_bad_window_raises() -> None:
    with pytest.raises(SignalConfigError) as info:
        fems_request_kwh(START, 60.0, 10, seed=0, pv_window=("14:00", "10:00"))
    assert info.value.field == "pv_window"
