"""Communication latency of the chargers (ChargerSpec.latency_s): set-points take effect late."""

import numpy as np
import pytest

from twin.fleet.model import PLUGGED, Fleet, FleetTable
from twin.fleet.trips import Sessions


def one_ev(latency_s: float, response_time_s: float = 0.0) -> Fleet:
    full = lambda v: np.array([float(v)])  # noqa: E731
    table = FleetTable(
        battery_kwh=full(40),
        p_charge_max_kw=full(6),
        p_discharge_max_kw=full(6),
        eta_charge=full(1),
        eta_discharge=full(1),
        soc_floor=full(0.1),
        soc_target=full(0.9),
        response_time_s=full(response_time_s),
        plug_in_probability=full(1),
        site=np.array([0]),
        latency_s=full(latency_s),
    )
    inf = np.array([[np.inf]])
    sessions = Sessions(
        arrive_s=np.array([[-np.inf]]),
        depart_s=inf,
        gap_start_s=np.array([[-np.inf]]),
        away_kwh=np.zeros((1, 1)),
        plug_draw=np.zeros((1, 1)),
    )
    fleet = Fleet.create("f", table, sessions, np.array([0.5]), step_s=1)
    assert fleet.state.location[0] == PLUGGED
    return fleet


def test_whole_step_latency_delays_by_that_many_steps():
    fleet = one_ev(latency_s=2.0)
    powers = [fleet.step(np.array([4.0]))[0] for _ in range(4)]
    # Instant charger: the first set-point arrives 2 s late, so 0, 0, then 4 kW.
    assert powers == pytest.approx([0.0, 0.0, 4.0, 4.0])


def test_fractional_latency_splits_the_step():
    fleet = one_ev(latency_s=0.25)
    # Step 0: 0 kW for 0.25 s, then 4 kW for 0.75 s -> mean 3 kW; step 1: 4 kW throughout.
    assert fleet.step(np.array([4.0]))[0] == pytest.approx(3.0)
    assert fleet.step(np.array([4.0]))[0] == pytest.approx(4.0)
    # Set-point drops to 0: the old 4 kW holds for 0.25 s -> mean 1 kW.
    assert fleet.step(np.array([0.0]))[0] == pytest.approx(1.0)


def test_latency_with_lag_matches_closed_form():
    # tau = 3 s / 3 = 1 s; latency 0.5 s. Over the first 1-s step: 0 kW for 0.5 s, then
    # p(t) = 6 (1 - exp(-t)) for 0.5 s -> mean = 0.5 x 6 x (0.5 - (1 - exp(-0.5))) / 0.5 x ... / 1 s
    fleet = one_ev(latency_s=0.5, response_time_s=3.0)
    expected = 6.0 * (0.5 - (1.0 - np.exp(-0.5))) / 1.0
    assert fleet.step(np.array([6.0]))[0] == pytest.approx(expected)
    assert fleet.state.p_kw[0] == pytest.approx(6.0 * (1.0 - np.exp(-0.5)))
