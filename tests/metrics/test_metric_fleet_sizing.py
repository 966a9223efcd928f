"""Fleet size for a firm offer: the normal approximation against hand arithmetic, the bootstrap
against exact binomial quantiles, and the inputs it refuses."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy.stats import binom

from twin.metrics.errors import MetricInputError
from twin.metrics.fleet_sizing import fleet_size_for_firm_power

Z90 = 1.2815515655446004  # standard normal quantile of 0.9


def _offer_kw(n: int, mu: float, sigma: float, z: float) -> float:
    return n * mu - z * math.sqrt(n) * sigma


def test_normal_answer_is_the_smallest_fleet_whose_p10_meets_the_target():
    samples = np.array([30.0, 50.0, 35.0, 45.0, 40.0])  # 5 seeds of a 40-EV fleet
    size = fleet_size_for_firm_power(samples, 40, 1000.0, 0.9)
    mu = 40.0 / 40  # mean 40 kW over 40 EVs
    sigma = np.std(samples, ddof=1) / math.sqrt(40)  # var of a sum of 40 independent EVs
    assert size.per_ev_mean_kw == pytest.approx(mu)
    assert size.per_ev_std_kw == pytest.approx(sigma)
    assert NormalDist().inv_cdf(0.9) == pytest.approx(Z90)
    n = size.evs_normal
    assert _offer_kw(n, mu, sigma, Z90) >= 1000.0 - 1e-9
    assert _offer_kw(n - 1, mu, sigma, Z90) < 1000.0
    assert n > 1000  # uncertainty costs EVs beyond target / mean


def test_a_fleet_without_spread_needs_target_over_mean_blocks():
    size = fleet_size_for_firm_power(np.full(6, 25.0), 10, 1000.0, 0.9)
    assert size.evs_normal == 400  # 1000 kW / 2.5 kW per EV
    assert size.evs_bootstrap == 400  # 40 blocks of 10 EVs, every draw the same


def test_bootstrap_matches_the_exact_binomial_quantile():
    # A block gives 0 or 100 kW with equal chance: m blocks give 100 x Binomial(m, 1/2).
    samples = np.array([0.0, 100.0] * 10)
    target_kw = 2000.0
    exact = next(m for m in range(1, 500) if 100.0 * binom.ppf(0.1, m, 0.5) >= target_kw)
    size = fleet_size_for_firm_power(samples, 1, target_kw, 0.9)
    assert size.evs_bootstrap is not None
    # 4000 draws: the quantile itself is uncertain by a couple of blocks near the answer
    assert abs(size.evs_bootstrap - exact) <= 3, (size.evs_bootstrap, exact)


def test_same_seed_same_answer():
    rng = np.random.default_rng(3)
    samples = rng.normal(40.0, 12.0, 20)
    a = fleet_size_for_firm_power(samples, 40, 5000.0, 0.9, seed=1)
    b = fleet_size_for_firm_power(samples, 40, 5000.0, 0.9, seed=1)
    assert a == b


@pytest.mark.parametrize(
    ("samples", "evs", "target", "confidence"),
    [
        ([40.0], 40, 1000.0, 0.9),  # one sample has no spread
        ([40.0, np.nan], 40, 1000.0, 0.9),
        ([40.0, 50.0], 0, 1000.0, 0.9),
        ([40.0, 50.0], 40, 0.0, 0.9),
        ([40.0, 50.0], 40, 1000.0, 1.0),
        ([-5.0, 2.0], 40, 1000.0, 0.9),  # the fleet gives nothing on average
    ],
)
def test_refuses_inputs_without_an_answer(samples, evs, target, confidence):
    with pytest.raises(MetricInputError):
        fleet_size_for_firm_power(np.array(samples), evs, target, confidence)
