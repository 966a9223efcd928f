"""Allocation core: split a fleet power target across EVs, inside each EV's feasible range.

Services say *how much* (a fleet target) and optionally *how they would like it spread*
(preferred per-EV power); this module makes it feasible. Two strategies:
- proportional: everyone moves from the preferred point towards their bound in proportion to
  their headroom (smooth, all cars at partial power);
- relay: cars with the least laxity take full headroom first (the Toyota V2G demo's lesson: "relay at full power
  across cars" suits EVs better than all cars at partial power for hours).
"""

from __future__ import annotations

import numpy as np


def allocate_proportional(
    lo_kw: np.ndarray, hi_kw: np.ndarray, preferred_kw: np.ndarray, target_kw: float
) -> np.ndarray:
    """Per-EV powers within [lo, hi] summing to the target clipped to [sum lo, sum hi]."""
    p0 = np.clip(preferred_kw, lo_kw, hi_kw)
    gap = float(np.clip(target_kw, lo_kw.sum(), hi_kw.sum())) - float(p0.sum())
    if gap > 0:
        room = hi_kw - p0
    elif gap < 0:
        room = p0 - lo_kw
    else:
        return p0
    total = float(room.sum())
    if total <= 0:
        return p0
    return np.clip(p0 + room * (gap / total), lo_kw, hi_kw)


def allocate_relay(
    lo_kw: np.ndarray,
    hi_kw: np.ndarray,
    preferred_kw: np.ndarray,
    target_kw: float,
    rank: np.ndarray,
) -> np.ndarray:
    """Fill (or empty) cars one after another in `rank` order (0 = first) until the target is met."""
    p0 = np.clip(preferred_kw, lo_kw, hi_kw)
    gap = float(np.clip(target_kw, lo_kw.sum(), hi_kw.sum())) - float(p0.sum())
    if gap == 0:
        return p0
    room = (hi_kw - p0) if gap > 0 else (p0 - lo_kw)
    order = np.argsort(rank, kind="stable")
    filled_before = np.concatenate([[0.0], np.cumsum(room[order])[:-1]])
    take = np.clip(abs(gap) - filled_before, 0.0, room[order])
    delta = np.empty_like(p0)
    delta[order] = take
    return np.clip(p0 + np.sign(gap) * delta, lo_kw, hi_kw)
