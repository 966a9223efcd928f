"""Grid CO2 intensity every 5 min (Oki islands study).

Synthetic intensity (kg-CO2/kWh), one value per `update_s` (anchored at the start time):

    c(t) = night - dip x season(doy) x solar(hour) + OU noise,   clipped to [0.407, 0.816]

with solar(h) = sin(pi (h - 6) / 12) for 6 <= h < 18 (local time, else 0): a diesel-heavy
island system is cleanest when PV covers most of the midday load; and
season(doy) = 0.75 + 0.25 cos(2 pi (doy - 120) / 365.25), strongest in spring (May), when
PV output is high and demand low. 0.407-0.816 is the study's observed range.

The 10-level command table that turns this intensity into charge/discharge levels is a
product rule: twin/products/co2_levels.py.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from twin.signals.errors import SignalConfigError
from twin.signals.timebase import check_timebase, local_clock, ornstein_uhlenbeck, stream_rng

CO2_MIN_KG_PER_KWH = 0.407
CO2_MAX_KG_PER_KWH = 0.816
CO2_UPDATE_S = 300.0
_TIME_EPS_S = 1e-9


def co2_intensity_kg_per_kwh(
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    seed: int,
    update_s: float = CO2_UPDATE_S,
    night_kg_per_kwh: float = 0.80,
    midday_dip_kg_per_kwh: float = 0.30,
    noise_std_kg_per_kwh: float = 0.01,
    correlation_time_s: float = 3600.0,
) -> np.ndarray:
    """Synthetic grid CO2 intensity per step, kg/kWh, held between 5-min updates.

    Args:
        start: Time of step 0 (tz-aware; its zone sets the local hour).
        step_s: Step length, s.
        n_steps: Number of steps.
        seed: Random seed (same seed -> same array).
        update_s: Time between updates, s (5 min in the Oki islands study).
        night_kg_per_kwh: Intensity without PV, kg/kWh.
        midday_dip_kg_per_kwh: Largest drop at solar noon in spring, kg/kWh.
        noise_std_kg_per_kwh: Standard deviation of the noise, kg/kWh.
        correlation_time_s: Correlation time of the noise, s.

    Returns:
        Intensity per step (float64, length n_steps), within 0.407-0.816 kg/kWh.

    Raises:
        SignalConfigError: Bad time base or parameters.
    """
    check_timebase(start, step_s, n_steps)
    if not update_s > 0 or not correlation_time_s > 0:
        raise SignalConfigError("update_s/correlation_time_s", "must be positive")
    if midday_dip_kg_per_kwh < 0 or noise_std_kg_per_kwh < 0:
        raise SignalConfigError(
            "midday_dip_kg_per_kwh/noise_std_kg_per_kwh", "must not be negative"
        )
    if not CO2_MIN_KG_PER_KWH <= night_kg_per_kwh <= CO2_MAX_KG_PER_KWH:
        raise SignalConfigError(
            "night_kg_per_kwh",
            f"must be within {CO2_MIN_KG_PER_KWH}-{CO2_MAX_KG_PER_KWH}, got {night_kg_per_kwh}",
        )
    if n_steps == 0:
        return np.zeros(0)
    update_index = np.floor(np.arange(n_steps) * step_s / update_s + _TIME_EPS_S).astype(np.int64)
    n_updates = int(update_index[-1]) + 1
    clock = local_clock(start, update_s, n_updates)
    hour = clock.second_of_day / 3600.0
    solar = np.where((hour >= 6) & (hour < 18), np.sin(np.pi * (hour - 6.0) / 12.0), 0.0)
    season = 0.75 + 0.25 * np.cos(2 * np.pi * (clock.day_of_year - 120.0) / 365.25)
    noise = ornstein_uhlenbeck(
        stream_rng(seed, "co2"), n_updates, update_s, noise_std_kg_per_kwh, correlation_time_s
    )
    values = night_kg_per_kwh - midday_dip_kg_per_kwh * season * solar + noise
    return np.clip(values, CO2_MIN_KG_PER_KWH, CO2_MAX_KG_PER_KWH)[update_index]
