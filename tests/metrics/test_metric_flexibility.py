"""Flexibility vs the baseline in kWh/EV/day and in MW per window: hand-computed cases."""

import numpy as np
import pytest

from twin.metrics.flexibility import firm_mw, window_shift_kwh_per_ev_day, window_shift_mw_by_day

HOUR = 3600


def _two_days():
    # Hourly steps over two days; the controlled fleet draws 500 kW more than the baseline from
    # 10:00 to 14:00 on day 1 and 1500 kW more on day 2, and 200 kW less from 16:00 to 20:00.
    sod = np.tile(np.arange(24) * HOUR, 2)
    day = np.repeat([1, 2], 24)
    base = np.full(48, 1000.0)
    ctrl = base.copy()
    up = (sod >= 10 * HOUR) & (sod < 14 * HOUR)
    down = (sod >= 16 * HOUR) & (sod < 20 * HOUR)
    ctrl[up & (day == 1)] += 500.0
    ctrl[up & (day == 2)] += 1500.0
    ctrl[down] -= 200.0
    return ctrl, base, sod, day


def test_kwh_per_ev_day_by_hand():
    ctrl, base, sod, _ = _two_days()
    # Push-up: (4 h x 500 kW + 4 h x 1500 kW) / (100 EVs x 2 days) = 40 kWh/EV/day.
    assert window_shift_kwh_per_ev_day(
        ctrl, base, sod, (10 * HOUR, 14 * HOUR), HOUR, 100, +1
    ) == pytest.approx(40.0)
    # Push-down: 2 days x 4 h x 200 kW / (100 x 2) = 8 kWh/EV/day.
    assert window_shift_kwh_per_ev_day(
        ctrl, base, sod, (16 * HOUR, 20 * HOUR), HOUR, 100, -1
    ) == pytest.approx(8.0)


def test_mw_per_day_and_firm_level_by_hand():
    ctrl, base, sod, day = _two_days()
    up = window_shift_mw_by_day(ctrl, base, sod, day, (10 * HOUR, 14 * HOUR), +1)
    assert up == pytest.approx([0.5, 1.5])
    down = window_shift_mw_by_day(ctrl, base, sod, day, (16 * HOUR, 20 * HOUR), -1)
    assert down == pytest.approx([0.2, 0.2])
    # The 10 % quantile of two days lies 10 % of the way from the lower to the higher: 0.6 MW.
    assert firm_mw(up, 0.9) == pytest.approx(0.5 + 0.1 * 1.0)
    assert np.isnan(firm_mw(np.zeros(0)))
