"""Grid CO2 intensity every 5 min and the 10-level command table (REQUIREMENTS R5, Oki islands).

Synthetic intensity (kg-CO2/kWh), one value per `update_s` (anchored at the start time):

    c(t) = night - dip x season(doy) x solar(hour) + OU noise,   clipped to [0.407, 0.816]

with solar(h) = sin(pi (h - 6) / 12) for 6 <= h < 18 (local time, else 0): a diesel-heavy
island system is cleanest when PV covers most of the midday load; and
season(doy) = 0.75 + 0.25 cos(2 pi (doy - 120) / 365.25), strongest in spring (May), when
PV output is high and demand low. 0.407-0.816 is the study's observed range.

Command levels (R5): the table's thresholds come from the intensity quartiles of the study.

    level | discharge if c >= | charge if c <= | power share of 6 kW
      1   |      0.790        |     0.744      |   0.1
      2   |      0.792        |     0.707      |   0.2
     ...  |       ...         |      ...       |   ...
     10   |      0.810        |     0.410      |   1.0

The level is the highest one whose threshold is met (thresholds inclusive), so
discharge level = #{thresholds <= c} and charge level = #{thresholds >= c}; no command for
0.744 < c < 0.790.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from twin.signals.errors import SignalConfigError
from twin.signals.timebase import check_timebase, local_clock, ornstein_uhlenbeck, stream_rng

CO2_MIN_KG_PER_KWH = 0.407
CO2_MAX_KG_PER_KWH = 0.816
CO2_UPDATE_S = 300.0
STATION_KW = 6.0
_TIME_EPS_S = 1e-9

# (level, discharge if CO2 >= , charge if CO2 <= , share of the station's 6 kW) - R5 table.
CO2_LEVEL_TABLE: tuple[tuple[int, float, float, float], ...] = (
    (1, 0.790, 0.744, 0.1),
    (2, 0.792, 0.707, 0.2),
    (3, 0.794, 0.670, 0.3),
    (4, 0.797, 0.633, 0.4),
    (5, 0.799, 0.596, 0.5),
    (6, 0.801, 0.559, 0.6),
    (7, 0.803, 0.521, 0.7),
    (8, 0.806, 0.484, 0.8),
    (9, 0.808, 0.447, 0.9),
    (10, 0.810, 0.410, 1.0),
)
_DISCHARGE_AT_OR_ABOVE = np.array([row[1] for row in CO2_LEVEL_TABLE])
_CHARGE_AT_OR_BELOW_ASCENDING = np.array([row[2] for row in CO2_LEVEL_TABLE])[::-1]
_SHARE_BY_LEVEL = np.array([0.0] + [row[3] for row in CO2_LEVEL_TABLE])

CHARGE = 1
DISCHARGE = -1
NO_COMMAND = 0


@dataclass(frozen=True)
class Co2Command:
    """Command derived from one CO2 intensity value.

    Attributes:
        level: 1..10, or 0 for no command.
        direction: "charge", "discharge" or "none".
        share: Share of the station's rated power (level / 10; 0 for none).
        power_kw: share x 6 kW (the study's EVPS rating).
    """

    level: int
    direction: str
    share: float
    power_kw: float


def co2_command_levels(co2_kg_per_kwh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised level lookup.

    Args:
        co2_kg_per_kwh: Grid CO2 intensity, kg/kWh.

    Returns:
        (level 0..10 as int, direction as int: +1 charge, -1 discharge, 0 none).
    """
    co2 = np.asarray(co2_kg_per_kwh, dtype=float)
    discharge_level = np.searchsorted(_DISCHARGE_AT_OR_ABOVE, co2, side="right")
    charge_level = _CHARGE_AT_OR_BELOW_ASCENDING.size - np.searchsorted(
        _CHARGE_AT_OR_BELOW_ASCENDING, co2, side="left"
    )
    # The two tables do not overlap (0.744 < 0.790), so at most one of them fires.
    level = np.where(discharge_level > 0, discharge_level, charge_level).astype(int)
    direction = np.where(
        discharge_level > 0, DISCHARGE, np.where(charge_level > 0, CHARGE, NO_COMMAND)
    ).astype(int)
    return level, direction


def co2_command_share(levels: np.ndarray) -> np.ndarray:
    """Share of rated power per level (0 for level 0)."""
    return _SHARE_BY_LEVEL[np.asarray(levels, dtype=int)]


def co2_command_level(co2_kg_per_kwh: float) -> Co2Command:
    """Command level for one CO2 intensity value (R5 table).

    Args:
        co2_kg_per_kwh: Grid CO2 intensity, kg/kWh.

    Returns:
        Co2Command with level, direction, share and power.
    """
    level, direction = co2_command_levels(np.array([co2_kg_per_kwh]))
    names = {CHARGE: "charge", DISCHARGE: "discharge", NO_COMMAND: "none"}
    share = float(_SHARE_BY_LEVEL[level[0]])
    return Co2Command(
        level=int(level[0]),
        direction=names[int(direction[0])],
        share=share,
        power_kw=share * STATION_KW,
    )


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
        update_s: Time between updates, s (5 min in R5).
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
