"""Plug-in hybrids (Toyota V2G demo: Prius PHV, 8.8 kWh): electric range first, then fuel, so a
long trip never brings the car back below its business floor and driving forces no charge."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pytest

from twin.config.schema import FleetSpec
from twin.fleet.build import create_fleet
from twin.fleet.model import DRIVING, PARKED, PLUGGED

START = dt.datetime(2025, 6, 4, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))  # a Wednesday


def run_day(engine: bool, plug_in_probability: float = 1.0):
    spec = FleetSpec(
        type="business",
        count=20,
        engine=engine,
        vehicle={"battery_kwh": 8.8, "ac_max_kw": 5.9, "bidirectional": True},
        charger={"max_kw": 5.9, "bidirectional": True},
        soc_floor=0.5,
        soc_target=0.9,
        soc_initial=(0.6, 0.6),
        # One trip 11:00-13:00 of ~60 km: 60 / 6.3 km/kWh = 9.5 kWh, more than the 0.9 kWh above
        # the floor.
        trips={
            "depart": "11:00",
            "depart_std": "1min",
            "arrive": "13:00",
            "arrive_std": "1min",
            "daily_km_median": 60.0,
            "daily_km_sigma": 0.0,
            "plug_in_probability": plug_in_probability,
        },
    )
    fleet = create_fleet("phev", spec, START, 12 * 3600, 60, seed=1)
    socs, locations = [], []
    for _ in range(12 * 60):
        fleet.step(np.zeros(fleet.table.count))  # idle set-points: only driving moves the SOC
        socs.append(fleet.state.soc.copy())
        locations.append(fleet.state.location.copy())
    return fleet, np.array(socs), np.array(locations)


def test_phev_drives_on_fuel_below_its_floor_and_comes_back_at_the_floor():
    fleet, socs, _ = run_day(engine=True)
    st = fleet.state
    assert st.e_drive_unserved_kwh.sum() == 0.0
    # 0.1 x 8.8 = 0.88 kWh electric per car (0.6 -> 0.5), the rest of the trip on fuel.
    assert st.e_driven_kwh == pytest.approx(np.full(20, 0.88), abs=1e-9)
    trip = fleet.sessions.away_kwh[np.arange(20), st.session]  # the drive before this session
    assert st.e_fuel_kwh == pytest.approx(trip - 0.88, abs=1e-9)
    assert socs.min() == pytest.approx(0.5, abs=1e-12)


def test_a_battery_ev_on_the_same_trip_runs_empty_and_must_charge():
    fleet, socs, _ = run_day(engine=False)
    assert socs.min() < 0.5  # came back below the business floor
    assert fleet.state.e_fuel_kwh.sum() == 0.0
    assert fleet.state.e_drive_unserved_kwh.sum() > 0.0  # ran empty
    # And the session promise after the trip covers the floor + the next trip: a forced charge.
    assert np.all(fleet.state.session_target_soc > 0.5)


def test_a_phev_is_not_forced_to_plug_in_for_driving():
    # Drivers who never plug in by choice: the BEVs plug in anyway (too little charge for the
    # next trip), the PHEVs stay parked unplugged.
    _, _, bev_loc = run_day(engine=False, plug_in_probability=0.0)
    _, _, phev_loc = run_day(engine=True, plug_in_probability=0.0)
    after_trip = slice(5 * 60, None)  # 14:00 on
    assert np.all(bev_loc[after_trip] != PARKED) and np.any(bev_loc[after_trip] == PLUGGED)
    assert np.all((phev_loc[after_trip] == PARKED) | (phev_loc[after_trip] == DRIVING))
