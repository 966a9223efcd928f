import numpy as np
import pytest

from twin.ems.allocation import allocate_proportional, allocate_relay
from twin.ems.feasibility import feasible_range
from twin.fleet.model import FleetTable, FleetView


def test_proportional_hits_target_within_bounds():
    lo, hi = np.array([0.0, -2.0, 1.0]), np.array([6.0, 4.0, 1.0])
    p = allocate_proportional(lo, hi, lo, 5.0)
    assert p.sum() == pytest.approx(5.0)
    assert np.all(p >= lo) and np.all(p <= hi)
    # Headroom 6 and 6, gap 5 - (0 - 2 + 1) = 6: each gets half of its headroom.
    assert p == pytest.approx([3.0, 1.0, 1.0])


def test_proportional_clips_infeasible_target():
    lo, hi = np.array([0.0, 0.0]), np.array([3.0, 3.0])
    assert allocate_proportional(lo, hi, lo, 100.0).sum() == pytest.approx(6.0)
    assert allocate_proportional(lo, hi, hi, -100.0).sum() == pytest.approx(0.0)


def test_relay_fills_least_laxity_first():
    lo, hi = np.zeros(3), np.array([6.0, 6.0, 6.0])
    p = allocate_relay(lo, hi, lo, 8.0, rank=np.array([30.0, 10.0, 20.0]))
    assert p == pytest.approx([0.0, 6.0, 2.0])


def _view(soc, depart_s, target=0.9, floor=0.3, pmax=6.0, pdis=6.0, cap=40.0):
    n = len(soc)
    full = lambda x: np.full(n, float(x))  # noqa: E731
    table = FleetTable(
        full(cap),
        full(pmax),
        full(pdis),
        full(1.0),
        full(1.0),
        full(floor),
        full(target),
        full(0.0),
        full(1.0),
        np.zeros(n, int),
    )
    return FleetView(
        "f",
        0,
        np.ones(n, bool),
        np.array(soc, float),
        np.zeros(n),
        np.array(depart_s, float),
        full(target),
        table,
    )


def test_feasible_range_hand_numbers():
    # EV0: far from departure: may discharge down to the floor. 15-min step, cap 40 kWh, eta 1.
    # EV1: departs in 1 h needing (0.9 - 0.5) * 40 = 16 kWh; full power after this step gives
    #      6 kW * 0.75 h = 4.5 kWh, so 11.5 kWh are needed now -> lo = 46 kW > hi = 6 kW -> lo = hi.
    # EV2: at the target: hi = 0; discharge limited by (0.9 - 0.3) * 40 / 0.25 h = 96 -> 6 kW.
    v = _view([0.5, 0.5, 0.9], [86400, 3600, 86400])
    r = feasible_range(v, 900)
    assert r.hi_kw == pytest.approx([6.0, 6.0, 0.0])
    assert r.lo_kw == pytest.approx([-6.0, 6.0, -6.0])


def test_feasible_range_near_floor_limits_discharge():
    # 0.31 SOC, floor 0.30, 40 kWh: 0.4 kWh above floor over 0.25 h = 1.6 kW of discharge.
    r = feasible_range(_view([0.31], [86400]), 900)
    assert r.lo_kw == pytest.approx([-1.6])
