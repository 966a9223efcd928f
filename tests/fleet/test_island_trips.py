"""Island trips (Oki islands study): the distance formula on the paper's zones, and the rules of
the household schedules (commute to a fixed destination, weekend destinations per day, the three
usage patterns, households without outings plugged at home)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pytest

from twin.config.island_trips import IslandTripSpec
from twin.config.schema import FleetSpec
from twin.fleet.build import create_fleet
from twin.fleet.island_trips import zone_distance_km
from twin.fleet.places import HOME, OTHER, WORKPLACE

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
START = dt.datetime(2025, 5, 5, tzinfo=TOKYO)  # a Monday (mid-season: 7.9 km/kWh)
ZONES = ["西郷町1", "西郷町2", "都万村", "五箇村", "布施村"]


def island_fleet(count=300, days=14, **island):
    spec = FleetSpec(
        type="island",
        count=count,
        soc_floor=0.3,
        soc_target=0.31,
        vehicle={"battery_kwh": 40, "bidirectional": True},
        charger={"max_kw": 6.0, "bidirectional": True},
        island=IslandTripSpec(**island) if island else None,
    )
    return spec, create_fleet("households", spec, START, days * 86400, 300, seed=3)


def test_zone_distances_are_north_south_plus_east_west_of_the_paper_centres():
    km = zone_distance_km(IslandTripSpec())
    i = {name: k for k, name in enumerate(ZONES)}
    # Worked by hand from the centres (longitude", latitude"), 30.8 m/" lat, 25.8 m/" lon:
    # 西郷町1 (1187.449, 774.356) - 布施村 (1198.717, 998.279):
    #   223.923" x 30.8 = 6,896.8284 m + 11.268" x 25.8 = 290.7144 m = 7,187.5428 m
    assert km[i["西郷町1"], i["布施村"]] == pytest.approx(7.1875428, abs=1e-9)
    # 西郷町1 - 都万村 (875.649, 767.343): 7.013" x 30.8 = 216.0004 + 311.800" x 25.8 = 8,044.44
    assert km[i["西郷町1"], i["都万村"]] == pytest.approx(8.2604404, abs=1e-9)
    # 西郷町1 - 西郷町2 (1042.585, 1061.301): 286.945 x 30.8 = 8,837.906 + 144.864 x 25.8 = 3,737.4912
    assert km[i["西郷町1"], i["西郷町2"]] == pytest.approx(12.5753972, abs=1e-9)
    # 都万村 - 五箇村 (954.655, 1006.063): 238.720 x 30.8 = 7,352.576 + 79.006 x 25.8 = 2,038.3548
    assert km[i["都万村"], i["五箇村"]] == pytest.approx(9.3909308, abs=1e-9)
    assert np.allclose(km, km.T)
    assert np.allclose(np.diag(km), 2.0)  # intra-zone trips: the configured 2 km


def test_commute_goes_to_one_fixed_workplace_and_weekends_to_private_places():
    spec, fleet = island_fleet()
    s = fleet.sessions
    days = 14
    start_s = 0.0
    for ev in range(fleet.table.count):
        arrive, place = s.arrive_s[ev], s.place[ev]
        real = np.isfinite(arrive) & (arrive >= start_s) & (arrive < days * 86400)
        weekday = ((np.nan_to_num(arrive, posinf=0, neginf=0) // 86400) % 7) < 5  # from a Monday
        # Sessions alternate home, away, home, ...
        assert np.all(place[0::2] == HOME)
        away = real & (np.arange(place.size) % 2 == 1)
        assert np.all(place[away & weekday] == WORKPLACE)
        assert np.all(place[away & ~weekday] == OTHER)
        # One commute distance per household: both legs of every commute drive the same energy.
        commute = s.away_kwh[ev][away & weekday]
        if commute.size:
            assert np.allclose(commute, commute[0])
            back = s.away_kwh[ev][np.flatnonzero(away & weekday) + 1]
            assert np.allclose(back, commute)


def test_usage_patterns_are_equally_likely_and_no_outing_households_stay_home():
    _, fleet = island_fleet(count=3000, days=14)
    s = fleet.sessions
    away = np.isfinite(s.arrive_s[:, 1::2]) & (s.arrive_s[:, 1::2] >= 0)
    weekday = ((np.nan_to_num(s.arrive_s[:, 1::2], posinf=0, neginf=0) // 86400) % 7) < 5
    uses_weekdays = (away & weekday).any(axis=1)
    uses_weekends = (away & ~weekday).any(axis=1)
    both = np.mean(uses_weekdays & uses_weekends)
    weekdays_only = np.mean(uses_weekdays & ~uses_weekends)
    weekends_only = np.mean(~uses_weekdays & uses_weekends)
    for share in (both, weekdays_only, weekends_only):
        assert share == pytest.approx(1 / 3, abs=0.04)
    _, homebound = island_fleet(count=200, outing_share=0.0)
    hs = homebound.sessions
    assert hs.arrive_s.shape[1] == 1 and np.all(hs.depart_s == np.inf)
    assert homebound.view().plugged.all() and np.all(homebound.view().place == HOME)


def test_trip_energy_is_distance_over_the_season_efficiency():
    # Only 布施村 households, who always go to the town centre 西郷町1: 7.1875428 km each way.
    zones = IslandTripSpec().zones
    shares = [0.0, 0.0, 0.0, 0.0, 1.0]
    table = [[1.0, 0, 0, 0, 0]] * 5
    _, fleet = island_fleet(
        count=50,
        zones=[
            z.model_copy(update={"household_share": w}) for z, w in zip(zones, shares, strict=True)
        ],
        weekend_destination_probability=table,
        commute_destination_probability=table,
    )
    legs = fleet.sessions.away_kwh[:, 1:]
    legs = legs[legs > 0]
    assert legs.size and np.allclose(legs, 7.1875428 / 7.9)  # May: mid-season 7.9 km/kWh


def test_bad_zone_tables_are_clear_errors():
    with pytest.raises(ValueError, match="5 x 5"):
        IslandTripSpec(weekend_destination_probability=[[1.0]])
    with pytest.raises(ValueError, match="row 0 sums to 0.5"):
        IslandTripSpec(commute_destination_probability=[[0.5, 0, 0, 0, 0]] + [[1, 0, 0, 0, 0]] * 4)
