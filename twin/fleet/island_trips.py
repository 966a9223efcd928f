"""Household trips of the island study (Oki islands study), drawn once per run.

Every household lives in a zone (former municipality) and has a usage pattern: with outings it
uses the EV on weekdays and weekends, on weekdays only, or on weekends only (equally likely);
without outings (share 1 - `outing_share`) the EV stays plugged at home for the whole run.

* weekday with use: home -> the household's fixed commute destination (drawn once from the
  commute table's row of its home zone) -> home; the EV is plugged at the workplace meanwhile;
* weekend day with use: home -> a destination drawn for that day from the weekend table's row
  -> home, plugged at that private destination meanwhile.

Distance between zones i and j (centres in arc-seconds of the common degree):

    d_km = (|lat_i - lat_j| x m_per_lat_s + |lon_i - lon_j| x m_per_lon_s) / 1000

(30.8 m per second of latitude, 25.8 m per second of longitude on the island), `intra_zone_km`
inside a zone. A trip drives d_km each way; the energy is d_km / efficiency of the day's season.

Sessions alternate home, destination, home, ...: session 2j is the j-th stay at home, 2j + 1
the j-th stay away; `Sessions.place` holds HOME / WORKPLACE / OTHER per session.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from twin.config.durations import parse_clock_s, parse_duration_s
from twin.config.island_trips import IslandTripSpec
from twin.config.schema import FleetSpec
from twin.fleet.places import HOME, OTHER, WORKPLACE
from twin.fleet.trips import DAY_S, Sessions, season_efficiency

BOTH, WEEKDAYS, WEEKENDS, NONE = 0, 1, 2, 3
"""Usage patterns of a household."""


def zone_distance_km(spec: IslandTripSpec) -> np.ndarray:
    """[zones x zones] trip length, km: north-south + east-west between the zone centres."""
    lon = np.array([z.lon_s for z in spec.zones])
    lat = np.array([z.lat_s for z in spec.zones])
    d_m = (
        np.abs(lat[:, None] - lat[None, :]) * spec.m_per_lat_s
        + np.abs(lon[:, None] - lon[None, :]) * spec.m_per_lon_s
    )
    km = d_m / 1000.0
    np.fill_diagonal(km, spec.intra_zone_km)
    return km


def default_destination_table(n_zones: int) -> np.ndarray:
    """Stay in the home zone or go to zone 0 (the town centre), equally likely."""
    table = np.zeros((n_zones, n_zones))
    for i in range(n_zones):
        table[i, i] += 0.5
        table[i, 0] += 0.5
    return table


def _pick(rng: np.random.Generator, rows: np.ndarray, table: np.ndarray) -> np.ndarray:
    # One categorical draw per entry of `rows` from table[row].
    cdf = np.cumsum(table, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(rows.shape)
    return np.minimum((u[..., None] > cdf[rows]).sum(axis=-1), table.shape[1] - 1)


def _monotone(times: np.ndarray, step_s: int) -> np.ndarray:
    # Each finite time at least one step after the one before it (so every stay and every drive
    # lasts at least a step after snapping to the grid); -inf / +inf pads are left alone.
    k = np.arange(times.shape[1]) * float(step_s)
    finite = np.isfinite(times)
    u = np.where(finite, times - k, -np.inf)
    u = np.maximum.accumulate(u, axis=1)
    return np.where(finite, u + k, times)


def draw_island_sessions(
    spec: FleetSpec,
    start: dt.datetime,
    duration_s: int,
    step_s: int,
    rng: np.random.Generator,
) -> Sessions:
    """Sessions of an `island` fleet over the run (from a day before the start)."""
    trips = spec.island if spec.island is not None else IslandTripSpec()
    n = spec.count
    n_zones = len(trips.zones)
    share = np.array([z.household_share for z in trips.zones])
    weekend_table = (
        np.asarray(trips.weekend_destination_probability, dtype=float)
        if trips.weekend_destination_probability is not None
        else default_destination_table(n_zones)
    )
    commute_table = (
        np.asarray(trips.commute_destination_probability, dtype=float)
        if trips.commute_destination_probability is not None
        else weekend_table
    )
    km = zone_distance_km(trips)

    home = _pick(rng, np.zeros(n, dtype=int), share[None, :])
    work = _pick(rng, home, commute_table)
    outing = rng.random(n) < trips.outing_share
    pattern = np.where(outing, rng.integers(0, 3, n), NONE)

    first_day = start.date() - dt.timedelta(days=1)
    n_days = int(np.ceil(duration_s / DAY_S)) + 3
    tz = start.tzinfo
    std_s = parse_duration_s(trips.time_std)
    dwell_s = parse_duration_s(trips.outing_dwell)
    leave, reach, depart, back, dist, place, valid, effs = ([] for _ in range(8))
    for d in range(n_days):
        date = first_day + dt.timedelta(days=d)
        midnight = (dt.datetime.combine(date, dt.time(0), tzinfo=tz) - start).total_seconds()
        weekday = date.weekday() < 5
        # Every draw is made for every day, used or not, so a longer run keeps the same days.
        noise = np.clip(rng.standard_normal((2, n)), -3.0, 3.0) * std_s
        dest_weekend = _pick(rng, home, weekend_table)
        dwell = dwell_s * rng.uniform(0.5, 1.5, n)
        if weekday:
            dest = work
            t_leave = midnight + parse_clock_s(trips.commute_depart) + noise[0]
            t_depart = midnight + parse_clock_s(trips.commute_return) + noise[1]
            uses = (pattern == BOTH) | (pattern == WEEKDAYS)
            kind = WORKPLACE
        else:
            dest = dest_weekend
            t_leave = midnight + parse_clock_s(trips.outing_depart) + noise[0]
            t_depart = None
            uses = (pattern == BOTH) | (pattern == WEEKENDS)
            kind = OTHER
        d_km = km[home, dest]
        drive_s = d_km / trips.speed_km_per_h * 3600.0
        t_reach = t_leave + drive_s
        if t_depart is None:
            t_depart = t_reach + dwell
        t_depart = np.maximum(t_depart, t_reach + 1800.0)
        leave.append(t_leave)
        reach.append(t_reach)
        depart.append(t_depart)
        back.append(t_depart + drive_s)
        dist.append(d_km)
        place.append(np.full(n, kind))
        valid.append(uses)
        effs.append(np.full(n, season_efficiency(date.month, spec.vehicle.efficiency_km_per_kwh)))

    stack = [np.stack(x, axis=1) for x in (leave, reach, depart, back, dist, place, effs)]
    ok = np.stack(valid, axis=1)
    order = np.argsort(~ok, axis=1, kind="stable")  # the used days first, in date order
    leave_d, reach_d, depart_d, back_d, dist_d, place_d, eff_d = (
        np.take_along_axis(a, order, 1) for a in stack
    )
    ok = np.take_along_axis(ok, order, 1)
    m = int(ok.sum(axis=1).max()) if n else 0
    ok = ok[:, :m]

    def used(a: np.ndarray, pad: float) -> np.ndarray:
        return np.where(ok, a[:, :m], pad)

    k_total = 2 * m + 1
    arrive = np.full((n, k_total), np.inf)
    depart_s = np.full((n, k_total), np.inf)
    away_kwh = np.zeros((n, k_total))
    place_k = np.full((n, k_total), HOME, dtype=np.int8)
    trip_kwh = used(dist_d / eff_d, 0.0)
    arrive[:, 0] = -np.inf
    depart_s[:, 0:-1:2] = used(leave_d, np.inf)
    arrive[:, 1::2] = used(reach_d, np.inf)
    depart_s[:, 1::2] = used(depart_d, np.inf)
    arrive[:, 2::2] = used(back_d, np.inf)
    away_kwh[:, 1::2] = trip_kwh
    away_kwh[:, 2::2] = trip_kwh
    place_k[:, 1::2] = np.where(ok, place_d[:, :m], HOME)
    # The last real home stay is open-ended.
    n_used = ok.sum(axis=1)
    depart_s[np.arange(n), 2 * n_used] = np.inf

    # Snap to the step grid (up), keep arrive < depart < next arrive by at least a step each.
    seq = np.empty((n, 2 * k_total))
    seq[:, 0::2], seq[:, 1::2] = arrive, depart_s
    seq = np.where(np.isfinite(seq), np.ceil(seq / step_s) * step_s, seq)
    seq = _monotone(seq, step_s)
    arrive, depart_s = seq[:, 0::2], seq[:, 1::2]
    gap_start = np.concatenate([np.full((n, 1), -np.inf), depart_s[:, :-1]], axis=1)
    return Sessions(
        arrive_s=arrive,
        depart_s=depart_s,
        gap_start_s=gap_start,
        away_kwh=away_kwh,
        plug_draw=rng.random(arrive.shape),
        place=place_k,
    )
