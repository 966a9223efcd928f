"""Plug-in sessions and trips of a fleet, drawn once per run from seeded distributions.

Each EV gets a padded row of sessions (arrive_s, depart_s) at its charging site, in seconds after
the simulation start, rounded up to the step grid so a step is either fully plugged or not. The
energy driven in the gap *before* session k is `away_kwh[:, k]`, drawn from a log-normal daily
distance and the seasonal efficiency (Oki islands study: 6.3 / 7.9 / 4.0 km/kWh summer / mid / winter).

Fleet types (Kashiwa EV project):
- commuter: plugged at the workplace on work days, between morning arrival and evening departure;
- business: plugged at the depot between shifts (vans out on work days);
- home: plugged at home from the evening return to the next departure; weekend leisure trips.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.config.durations import parse_clock_s, parse_duration_s
from twin.config.schema import FleetSpec, SeasonalEfficiency, TripSpec

DAY_S = 86400

_TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "commuter": dict(
        arrive="08:30",
        arrive_std="30min",
        depart="17:45",
        depart_std="45min",
        daily_km_median=30.0,
        daily_km_sigma=0.5,
        plug_in_probability=1.0,
        weekend_trip_probability=0.0,
        work_days=[0, 1, 2, 3, 4],
    ),
    "business": dict(
        arrive="17:30",
        arrive_std="1h",
        depart="07:30",
        depart_std="30min",
        daily_km_median=70.0,
        daily_km_sigma=0.35,
        plug_in_probability=1.0,
        weekend_trip_probability=0.0,
        work_days=[0, 1, 2, 3, 4],
    ),
    "home": dict(
        arrive="18:30",
        arrive_std="75min",
        depart="07:45",
        depart_std="45min",
        daily_km_median=30.0,
        daily_km_sigma=0.6,
        plug_in_probability=0.85,
        weekend_trip_probability=0.6,
        work_days=[0, 1, 2, 3, 4],
    ),
    # Island households (twin/fleet/island_trips.py draws their trips); an EV power station at
    # every place it parks, so it always plugs in.
    "island": dict(
        arrive="17:45",
        arrive_std="30min",
        depart="07:30",
        depart_std="30min",
        daily_km_median=10.0,
        daily_km_sigma=0.5,
        plug_in_probability=1.0,
        weekend_trip_probability=0.0,
        work_days=[0, 1, 2, 3, 4],
    ),
}


@dataclass(frozen=True)
class TripParams:
    """TripSpec with the fleet type's defaults filled in, times in seconds."""

    arrive_s: int
    arrive_std_s: int
    depart_s: int
    depart_std_s: int
    daily_km_median: float
    daily_km_sigma: float
    plug_in_probability: float
    weekend_trip_probability: float
    work_days: tuple[int, ...]


def trip_params(fleet_type: str, spec: TripSpec) -> TripParams:
    values = dict(_TYPE_DEFAULTS[fleet_type])
    values.update({k: v for k, v in spec.model_dump().items() if v is not None})
    return TripParams(
        arrive_s=parse_clock_s(values["arrive"]),
        arrive_std_s=parse_duration_s(values["arrive_std"]),
        depart_s=parse_clock_s(values["depart"]),
        depart_std_s=parse_duration_s(values["depart_std"]),
        daily_km_median=float(values["daily_km_median"]),
        daily_km_sigma=float(values["daily_km_sigma"]),
        plug_in_probability=float(values["plug_in_probability"]),
        weekend_trip_probability=float(values["weekend_trip_probability"]),
        work_days=tuple(values["work_days"]),
    )


@dataclass(frozen=True)
class Sessions:
    """Padded per-EV session table (pad: +inf times, 0 energy).

    Attributes:
        arrive_s, depart_s: [n, K] plug-in / plug-out times, s after simulation start.
        gap_start_s: [n, K] start of the driving gap before session k (previous departure), s.
        away_kwh: [n, K] energy driven in the gap before session k, kWh.
        plug_draw: [n, K] uniform draws deciding whether the driver plugs in (home fleets).
        place: [n, K] where session k is (twin.fleet.places codes), or None when the fleet
            type has one place (its site).
    """

    arrive_s: np.ndarray
    depart_s: np.ndarray
    gap_start_s: np.ndarray
    away_kwh: np.ndarray
    plug_draw: np.ndarray
    place: np.ndarray | None = None


def season_efficiency(month: int, eff: SeasonalEfficiency) -> float:
    """km/kWh for a calendar month (summer Jun-Sep, winter Dec-Mar, mid otherwise)."""
    if month in (6, 7, 8, 9):
        return eff.summer
    if month in (12, 1, 2, 3):
        return eff.winter
    return eff.mid


def _normal_s(rng: np.random.Generator, mean_s: int, std_s: int, n: int) -> np.ndarray:
    # Truncated at +-3 sigma so a rare draw cannot move a morning departure into the night before.
    return mean_s + std_s * np.clip(rng.standard_normal(n), -3.0, 3.0)


def _compact(start: np.ndarray, end: np.ndarray, weight: np.ndarray, valid: np.ndarray):
    """Sort valid intervals per row to the front; returns padded (start, end, weight)."""
    key = np.where(valid, start, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    take = np.take_along_axis
    s, e, w = (
        take(key, order, 1),
        take(np.where(valid, end, np.inf), order, 1),
        take(weight, order, 1),
    )
    k = int(valid.sum(axis=1).max()) if valid.size else 0
    return s[:, :k], e[:, :k], np.where(np.isfinite(s[:, :k]), w[:, :k], 0.0)


def draw_sessions(
    spec: FleetSpec,
    start: dt.datetime,
    duration_s: int,
    step_s: int,
    rng: np.random.Generator,
) -> Sessions:
    """Draw the sessions of one fleet over the run (plus a day before, to start mid-schedule)."""
    n = spec.count
    params = trip_params(spec.type, spec.trips)
    first_day = start.date() - dt.timedelta(days=1)
    n_days = int(np.ceil(duration_s / DAY_S)) + 3
    tz = start.tzinfo
    midnights = np.array(
        [
            (
                dt.datetime.combine(first_day + dt.timedelta(days=d), dt.time(0), tzinfo=tz) - start
            ).total_seconds()
            for d in range(n_days)
        ]
    )
    dates = [first_day + dt.timedelta(days=d) for d in range(n_days)]
    km_per_day = params.daily_km_median * np.exp(params.daily_km_sigma * rng.standard_normal(n))

    starts, ends, weights, valids, effs = [], [], [], [], []
    for d, date in enumerate(dates):
        workday = date.weekday() in params.work_days
        eff = season_efficiency(date.month, spec.vehicle.efficiency_km_per_kwh)
        # Draw for every day, used or not, so adding a day never shifts the other days' draws.
        t_dep = midnights[d] + _normal_s(rng, params.depart_s, params.depart_std_s, n)
        t_arr = midnights[d] + _normal_s(rng, params.arrive_s, params.arrive_std_s, n)
        leisure = rng.random(n) < params.weekend_trip_probability
        t_leisure = midnights[d] + _normal_s(rng, 11 * 3600, 90 * 60, n)
        leisure_len = rng.uniform(2 * 3600, 6 * 3600, n)
        if spec.type == "commuter":
            # The interval is the *session* (at work); gaps between sessions are the driving.
            starts.append(t_arr)
            ends.append(np.maximum(t_dep, t_arr + 3600))
            valids.append(np.full(n, workday))
            weights.append(np.ones(n))
        elif workday:
            # The interval is the *away* trip; sessions are the gaps between trips.
            starts.append(t_dep)
            ends.append(np.maximum(t_arr, t_dep + 3600))
            valids.append(np.ones(n, dtype=bool))
            weights.append(np.ones(n))
        else:
            starts.append(t_leisure)
            ends.append(t_leisure + leisure_len)
            valids.append(leisure & (spec.type == "home"))
            weights.append(np.full(n, 0.7))
        effs.append(np.full(n, eff))

    s, e, w = _compact(*(np.stack(x, axis=1) for x in (starts, ends, weights, valids)))
    eff_by_day = np.stack(effs, axis=1)
    # Efficiency of an interval = that of the day it starts on (index of the midnight before it).
    day_index = np.clip(
        np.searchsorted(midnights, np.where(np.isfinite(s), s, 0.0), side="right") - 1,
        0,
        n_days - 1,
    )
    eff_k = np.take_along_axis(eff_by_day, day_index, 1)

    if spec.type == "commuter":
        arrive, depart = s, e
        gap_h = (
            arrive - np.concatenate([np.full((n, 1), midnights[0]), depart[:, :-1]], axis=1)
        ) / 3600
        # A weekday gap is one round trip; each extra day in the gap (weekends) adds half a day.
        day_weight = np.where(
            np.isfinite(gap_h), 1.0 + 0.5 * np.floor(np.nan_to_num(gap_h, posinf=0) / 24), 0.0
        )
        away_km = km_per_day[:, None] * day_weight
        away_kwh = np.where(np.isfinite(arrive), away_km / eff_k, 0.0)
    else:
        # Session 0 runs from before the horizon to the first trip; session k+1 follows trip k.
        pad = np.full((n, 1), -np.inf)
        arrive = np.concatenate([pad, e], axis=1)
        depart = np.concatenate([s, np.full((n, 1), np.inf)], axis=1)
        away_km = km_per_day[:, None] * w
        away_kwh = np.concatenate(
            [np.zeros((n, 1)), np.where(np.isfinite(e), away_km / eff_k, 0.0)], axis=1
        )

    noise = np.exp(0.25 * rng.standard_normal(away_kwh.shape))
    away_kwh = away_kwh * noise
    plug_draw = rng.random(arrive.shape)

    # Snap to the step grid (up), so state changes happen at step boundaries only.
    arrive = np.where(np.isfinite(arrive), np.ceil(arrive / step_s) * step_s, arrive)
    depart = np.where(np.isfinite(depart), np.ceil(depart / step_s) * step_s, depart)
    depart = np.maximum(depart, arrive + step_s)
    first_gap = np.full((n, 1), midnights[0] if spec.type == "commuter" else -np.inf)
    gap_start = np.concatenate([first_gap, depart[:, :-1]], axis=1)
    return Sessions(
        arrive_s=arrive,
        depart_s=depart,
        gap_start_s=gap_start,
        away_kwh=away_kwh,
        plug_draw=plug_draw,
    )
