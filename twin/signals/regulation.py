"""Synthetic RegD-like regulation signal in [-1, +1] (Toyota V2G demo, secondary reserve (1)).

The signal gets a new value every `update_s` (5 s in the V2G demo) and holds it in between.
Values are built on the update grid (anchored at the start time) as

    x = OU(tau = correlation_time_s)                    fast, smooth random movement
    y = x - centred moving average of x over neutral_window_s
    s = clip(std_pu * y / std(y), -1, 1)

Removing the moving average makes the signal energy-neutral-ish (its running integral comes
back towards zero within about `neutral_window_s`), like PJM's RegD which is conditioned to
be energy neutral over ~15 min. A recorded signal can be loaded from CSV instead (column
`regulation`, see csv_source).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from twin.signals.errors import SignalConfigError
from twin.signals.timebase import check_timebase, offsets_s, ornstein_uhlenbeck, stream_rng

REGULATION_UPDATE_S = 5.0
_TIME_EPS_S = 1e-9


def _centred_moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or values.size == 0:
        return np.zeros_like(values)
    half = window // 2
    padded = np.pad(
        values, (half, window - 1 - half), mode="reflect" if values.size > window else "edge"
    )
    kernel = np.full(window, 1.0 / window)
    return np.convolve(padded, kernel, mode="valid")


def regulation_signal_pu(
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    seed: int,
    update_s: float = REGULATION_UPDATE_S,
    correlation_time_s: float = 60.0,
    neutral_window_s: float = 900.0,
    std_pu: float = 0.4,
) -> np.ndarray:
    """Normalised regulation signal per step, in [-1, 1] (pu of the regulation capacity).

    Args:
        start: Time of step 0 (tz-aware).
        step_s: Step length, s.
        n_steps: Number of steps.
        seed: Random seed (same seed -> same array).
        update_s: Time between signal updates, s.
        correlation_time_s: Correlation time of the underlying movement, s.
        neutral_window_s: Window over which the signal is pulled back to zero mean, s
            (0 = no energy-neutral conditioning).
        std_pu: Target standard deviation before clipping to [-1, 1].

    Returns:
        Signal per step (float64, length n_steps), held between updates.

    Raises:
        SignalConfigError: Bad time base or parameters.
    """
    check_timebase(start, step_s, n_steps)
    for name, value in (
        ("update_s", update_s),
        ("correlation_time_s", correlation_time_s),
        ("std_pu", std_pu),
    ):
        if not value > 0:
            raise SignalConfigError(name, f"must be positive, got {value}")
    if neutral_window_s < 0:
        raise SignalConfigError("neutral_window_s", f"must not be negative, got {neutral_window_s}")
    t_s = offsets_s(step_s, n_steps)
    if t_s.size == 0:
        return t_s
    update_index = np.floor(t_s / update_s + _TIME_EPS_S).astype(np.int64)
    # Sized by the time span, not the step count, so the same span at any step gives the same values.
    n_updates = max(
        int(np.ceil(n_steps * step_s / update_s - _TIME_EPS_S)), int(update_index[-1]) + 1
    )
    raw = ornstein_uhlenbeck(
        stream_rng(seed, "regulation"), n_updates, update_s, 1.0, correlation_time_s
    )
    window = int(round(neutral_window_s / update_s))
    conditioned = raw - _centred_moving_average(raw, window)
    spread = float(conditioned.std())
    scaled = conditioned * (std_pu / spread) if spread > 0 else conditioned
    return np.clip(scaled, -1.0, 1.0)[update_index]
