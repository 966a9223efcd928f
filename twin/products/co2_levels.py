"""The 10-level CO2 command table of the island study (Oki islands study).

Thresholds come from the intensity quartiles of the study:

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

from dataclasses import dataclass

import numpy as np

STATION_KW = 6.0
"""The study's EV power station rating the shares refer to, kW."""

# (level, discharge if CO2 >= , charge if CO2 <= , share of the station's 6 kW) - the Oki islands study table.
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
    """Command level for one CO2 intensity value (Oki islands study: table).

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


def quartile_thresholds(series: np.ndarray, n_levels: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The study's construction of the level table from a series' own statistics.

    Discharge thresholds run evenly from the third quartile to the maximum, charge thresholds
    from the first quartile down to the minimum; so a command is active about half of the time
    (a quarter charging, a quarter discharging). The study's table is this construction with
    Q1 = 0.744, Q3 = 0.790 and ends 0.410 / 0.810 (each level within 0.001).

    Returns:
        (discharge if value >= threshold, charge if value <= threshold), level 1..n_levels.
    """
    values = np.asarray(series, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no finite values to take quartiles of")
    q1, q3 = np.quantile(values, [0.25, 0.75])
    return np.linspace(q3, values.max(), n_levels), np.linspace(q1, values.min(), n_levels)


def signed_levels(
    values: np.ndarray, discharge_at_or_above: np.ndarray, charge_at_or_below: np.ndarray
) -> np.ndarray:
    """Signed command level per value: +k = charge level k, -k = discharge level k, 0 = none.

    The level is the highest one whose threshold is met (thresholds inclusive); where both
    tables would fire (a series with Q1 = Q3) discharge wins, as in co2_command_levels.
    """
    v = np.asarray(values, dtype=float)
    dis = np.searchsorted(np.asarray(discharge_at_or_above), v, side="right")
    chg_ascending = np.asarray(charge_at_or_below)[::-1]
    chg = chg_ascending.size - np.searchsorted(chg_ascending, v, side="left")
    return np.where(dis > 0, -dis, chg).astype(float)
