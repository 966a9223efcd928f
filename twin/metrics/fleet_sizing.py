"""How many registered EVs a fleet needs to offer a power firmly, at a confidence (R1: "the fleet
size needed to offer a given MW with 90 % confidence").

Input: K independent samples D_1..D_K of the power a fleet of n registered EVs delivered (e.g.
`ufr_firm_kw` of K seeds of one study; each seed draws every EV's trips, plug-in times and SOC
anew). Whether an EV is plugged in and how much it can give is drawn for each EV on its own by
the fleet model, so a fleet of N EVs delivers the sum of N independent per-EV contributions
with mean mu = mean(D) / n and variance sigma^2 = var(D) / n (the variance of a sum of n
independent terms). Two answers are given:

* normal approximation: the power offered at confidence c by N EVs is
  N mu - z_c sqrt(N) sigma (z_c the standard normal quantile of c); the smallest N with that
  >= T solves a quadratic in sqrt(N): sqrt(N) = (z sigma + sqrt(z^2 sigma^2 + 4 mu T)) / (2 mu);
* block bootstrap (no distribution assumed): a fleet of m blocks of n EVs delivers the sum of
  m samples drawn with replacement from D; the smallest m whose (1 - c) quantile is >= T,
  i.e. N = m n (a multiple of the study's fleet size, so an upper bound on the exact N).

Both assume the per-EV draws stay independent at scale; a common cause (every car leaving at
the same time, a holiday) would make large fleets less firm than this says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from twin.metrics.errors import MetricInputError

BOOTSTRAP_DRAWS = 4000
MAX_BLOCKS = 100_000
"""The bootstrap stops here (a sample mean this close to zero needs an unbounded fleet)."""


@dataclass(frozen=True)
class FleetSize:
    """Registered EVs needed for a firm offer.

    Attributes:
        target_kw: The power to offer, kW.
        confidence: Share of occasions on which the fleet must deliver at least target_kw.
        per_ev_mean_kw: mu, the mean contribution of one registered EV, kW.
        per_ev_std_kw: sigma, its standard deviation, kW.
        evs_normal: Smallest N under the normal approximation.
        evs_bootstrap: Smallest multiple of the sample fleet that delivers target_kw in the
            bootstrap at the confidence (None if more than MAX_BLOCKS blocks would be needed).
        samples: K, the number of samples.
        block_evs: n, the registered EVs of each sample.
    """

    target_kw: float
    confidence: float
    per_ev_mean_kw: float
    per_ev_std_kw: float
    evs_normal: int
    evs_bootstrap: int | None
    samples: int
    block_evs: int


BLOCK_CHUNK = 256
"""Blocks added per round of the bootstrap (memory BOOTSTRAP_DRAWS x BLOCK_CHUNK floats)."""


def _bootstrap_blocks(
    samples_kw: np.ndarray, target_kw: float, confidence: float, rng: np.random.Generator
) -> int | None:
    """Smallest number of blocks whose sum of resampled block powers meets the target at the
    confidence. Each of the BOOTSTRAP_DRAWS fleets grows one block at a time (common random
    numbers: the fleet of m + 1 blocks is the fleet of m plus one more), so the quantile rises
    smoothly with m and the first m that meets the target is the answer."""
    running = np.zeros(BOOTSTRAP_DRAWS)
    for first in range(0, MAX_BLOCKS, BLOCK_CHUNK):
        width = min(BLOCK_CHUNK, MAX_BLOCKS - first)
        sums = running[:, None] + np.cumsum(
            rng.choice(samples_kw, size=(BOOTSTRAP_DRAWS, width), replace=True), axis=1
        )
        low = np.quantile(sums, 1.0 - confidence, axis=0)
        meets = np.flatnonzero(low >= target_kw)
        if meets.size:
            return first + int(meets[0]) + 1
        running = sums[:, -1]
    return None


def fleet_size_for_firm_power(
    samples_kw: np.ndarray,
    block_evs: int,
    target_kw: float,
    confidence: float = 0.9,
    seed: int = 0,
) -> FleetSize:
    """Registered EVs needed to deliver `target_kw` with the given confidence (module doc).

    Args:
        samples_kw: Power delivered by each sample fleet, kW (>= 2 samples, finite).
        block_evs: Registered EVs of each sample fleet.
        target_kw: Power to offer, kW (> 0).
        confidence: In (0.5, 1).
        seed: Seed of the bootstrap's draws (same inputs and seed -> same answer).

    Raises:
        MetricInputError: Fewer than 2 samples, non-finite values, block_evs < 1, a target or
            confidence out of range, or a mean contribution <= 0 (no fleet size offers it).
    """
    d = np.asarray(samples_kw, dtype=float).ravel()
    if d.size < 2:
        raise MetricInputError(f"need at least 2 samples, got {d.size}")
    if not np.all(np.isfinite(d)):
        raise MetricInputError("samples_kw must be finite")
    if block_evs < 1:
        raise MetricInputError(f"block_evs must be >= 1, got {block_evs}")
    if not target_kw > 0:
        raise MetricInputError(f"target_kw must be positive, got {target_kw}")
    if not 0.5 < confidence < 1.0:
        raise MetricInputError(f"confidence must be in (0.5, 1), got {confidence}")
    mu = float(d.mean()) / block_evs
    if mu <= 0:
        raise MetricInputError(
            f"the sample fleets deliver {d.mean():.4g} kW on average: no fleet size offers power"
        )
    sigma = float(d.std(ddof=1)) / math.sqrt(block_evs)
    z = NormalDist().inv_cdf(confidence)
    root = (z * sigma + math.sqrt((z * sigma) ** 2 + 4.0 * mu * target_kw)) / (2.0 * mu)
    evs_normal = math.ceil(root**2 - 1e-9)
    blocks = _bootstrap_blocks(d, target_kw, confidence, np.random.default_rng(seed))
    return FleetSize(
        target_kw=float(target_kw),
        confidence=float(confidence),
        per_ev_mean_kw=mu,
        per_ev_std_kw=sigma,
        evs_normal=evs_normal,
        evs_bootstrap=None if blocks is None else blocks * block_evs,
        samples=int(d.size),
        block_evs=int(block_evs),
    )
