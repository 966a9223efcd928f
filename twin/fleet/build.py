"""Create a Fleet from its scenario spec (the pandapower-style `create_*` step for fleets)."""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np

from twin.config.schema import FleetSpec
from twin.fleet.model import Fleet, FleetTable
from twin.fleet.trips import draw_sessions, trip_params


def fleet_rng(seed: int, fleet_name: str, purpose: str = "fleet") -> np.random.Generator:
    """Independent stream per (seed, fleet, purpose): adding a fleet never changes another's draws."""
    return np.random.default_rng(
        [seed, zlib.crc32(fleet_name.encode()), zlib.crc32(purpose.encode())]
    )


def n_sites(spec: FleetSpec) -> int:
    return spec.sites if isinstance(spec.sites, int) else len(spec.sites)


def create_fleet_table(spec: FleetSpec, rng: np.random.Generator) -> FleetTable:
    n = spec.count
    v, c = spec.vehicle, spec.charger
    bidirectional = v.bidirectional and c.bidirectional
    p_max = min(v.ac_max_kw, c.max_kw)
    full = lambda x: np.full(n, float(x))  # noqa: E731
    return FleetTable(
        battery_kwh=full(v.battery_kwh),
        p_charge_max_kw=full(p_max),
        p_discharge_max_kw=full(p_max if bidirectional else 0.0),
        eta_charge=full(v.eta_charge),
        eta_discharge=full(v.eta_discharge),
        soc_floor=full(spec.soc_floor),
        soc_target=full(spec.soc_target),
        response_time_s=full(c.response_time_s),
        latency_s=full(c.latency_s),
        plug_in_probability=full(trip_params(spec.type, spec.trips).plug_in_probability),
        # EVs spread round-robin over the fleet's sites, shuffled so site 0 is not always first.
        site=rng.permutation(np.arange(n) % n_sites(spec)),
        engine=np.full(n, True) if spec.engine else None,
    )


def create_fleet(
    name: str, spec: FleetSpec, start: dt.datetime, duration_s: int, step_s: int, seed: int
) -> Fleet:
    rng = fleet_rng(seed, name)
    table = create_fleet_table(spec, rng)
    if spec.type == "island":
        from twin.fleet.island_trips import draw_island_sessions

        sessions = draw_island_sessions(spec, start, duration_s, step_s, rng)
    else:
        sessions = draw_sessions(spec, start, duration_s, step_s, rng)
    lo, hi = spec.soc_initial
    soc0 = rng.uniform(lo, hi, spec.count)
    return Fleet.create(name, table, sessions, soc0, step_s)
