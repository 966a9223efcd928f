"""The EMS's lag correction with set-points in flight (twin/ems/lag_compensation.py), checked
against the fleet model's own charger (first-order lag behind a communication latency)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ems.test_service_charger_latency import one_ev
from twin.ems.lag_compensation import LagCompensator


def follow(targets: np.ndarray, latency_s: float, response_time_s: float, unknown: bool = False):
    fleet = one_ev(latency_s=latency_s, response_time_s=response_time_s)
    lag = LagCompensator()
    if unknown:
        lag.mark_unknown("f", 0)
    sent, avg = [], []
    for target in targets:
        s = lag.setpoints(["f"], [fleet.table], np.array([target]), fleet.state.p_kw.copy(), 1.0)
        sent.append(s[0])
        avg.append(fleet.step(s)[0])
    return np.array(sent), np.array(avg)


@pytest.mark.parametrize("latency_s", [0.0, 1.0, 3.0, 5.0])
def test_whole_step_latency_each_step_averages_its_target_that_much_later(latency_s):
    rng = np.random.default_rng(3)
    targets = 1.5 + rng.uniform(-0.4, 0.4, 60)
    _, avg = follow(targets, latency_s, response_time_s=3.0)
    n = int(latency_s)
    # The set-point sent at step k only acts from k + n: that step's average is the target.
    np.testing.assert_allclose(avg[n:], targets[: len(targets) - n], atol=1e-9)
    assert np.all(avg[:n] == 0.0)  # nothing arrives before the latency


@pytest.mark.parametrize("latency_s", [0.5, 2.5, 4.75])
def test_fractional_latency_delivers_the_targets_energy_without_hunting(latency_s):
    # Each set-point's window [t + L, t + L + dt) averages its target and the windows tile the
    # time axis, so over the run the energy is the targets' less what is still in flight at
    # the end (L x the last target), and a constant target is settled on.
    rng = np.random.default_rng(5)
    targets = np.concatenate([1.5 + rng.uniform(-0.4, 0.4, 40), np.full(60, 1.5)])
    sent, avg = follow(targets, latency_s, response_time_s=3.0)
    assert avg.sum() == pytest.approx(targets.sum() - latency_s * 1.5, abs=1e-6)
    # Step averages straddle two windows; the inverse's ringing between them decays.
    dev = np.abs(avg[-40:] - 1.5)
    assert dev[-10:].max() < 0.1 * max(dev[:10].max(), 1e-12) or dev.max() < 1e-9
    assert dev[-10:].max() < 1e-4
    assert np.all(np.abs(sent) < 6.0)  # never clipped: the identity is exact


def test_without_correction_seconds_of_latency_make_the_old_inverse_hunt():
    # The reason for the predictor: correcting from the power measured now, as if the set-point
    # acted at once, diverges at 5 s latency (the gain 1 / (1 - f) ~ 2.7 inside a 5-step delay).
    from twin.fleet.charger import setpoint_for_average

    fleet = one_ev(latency_s=5.0, response_time_s=3.0)
    avg = []
    for _ in range(80):
        s = setpoint_for_average(np.array([2.0]), fleet.state.p_kw, np.array([3.0]), 1.0)
        avg.append(fleet.step(np.clip(s, -6.0, 6.0))[0])
    assert np.ptp(avg[40:]) > 5.0  # swings over most of the charger's range
    _, ok = follow(np.full(80, 2.0), 5.0, 3.0)
    assert np.ptp(ok[40:]) < 1e-9


def test_a_charger_of_unknown_dynamics_gets_the_allocation_uncorrected():
    targets = np.array([0.0, 4.0, 4.0, -3.0, 1.0])
    sent, _ = follow(targets, latency_s=2.0, response_time_s=3.0, unknown=True)
    np.testing.assert_array_equal(sent, targets)
    corrected, _ = follow(targets, latency_s=2.0, response_time_s=3.0)
    assert corrected[1] > 4.0  # the simulated charger's set-point does carry the inverse
