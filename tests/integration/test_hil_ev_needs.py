"""NotifyEVChargingNeeds feeds the EMS's session model: the EV's departure time and energy
request parsed per protocol (hostile values left out), carried from a real OCPP 2.1 charger over
websockets through the HIL link with the wall-to-simulation pace, and applied to the bound EV's
session in the fleet model (its departure and the SOC it leaves with)."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo

import numpy as np
import pytest

from adapters.ocpp.session import ev_needs_from
from tests.integration.test_hil_guards import _wait
from tests.integration.test_hil_readiness import HIL, _Chargers, _free_port, _hardware_on
from twin.catalog import load_scenario
from twin.config.schema import FleetSpec
from twin.fleet.build import create_fleet
from twin.fleet.model import PLUGGED
from twin.run.hardware_link import HardwareLink
from twin.sims.fleet_sim import FleetSim


def test_needs_parsed_per_protocol():
    needs = ev_needs_from(
        {
            "requested_energy_transfer": "AC_BPT",
            "departure_time": "2025-06-04T18:00:00+09:00",
            "ac_charging_parameters": {
                "energy_amount": 12_500,
                "ev_min_current": 6,
                "ev_max_current": 16,
                "ev_max_voltage": 400,
            },
        }
    )
    assert needs.departure_unix_s == dt.datetime(2025, 6, 4, 9, 0, tzinfo=dt.UTC).timestamp()
    assert needs.energy_kwh == pytest.approx(12.5) and needs.problem == ""
    v2x = ev_needs_from({"v2x_charging_parameters": {"ev_target_energy_request": 3000}})
    assert v2x.energy_kwh == pytest.approx(3.0) and v2x.departure_unix_s is None
    hostile = ev_needs_from(
        {
            "departure_time": "2025-06-04T18:00:00",  # no zone: cannot be placed in time
            "ac_charging_parameters": {"energy_amount": 1e308},
        }
    )
    assert hostile.departure_unix_s is None and hostile.energy_kwh is None
    assert "departure_time" in hostile.problem and "not a plan" in hostile.problem


def _fleet():
    spec = FleetSpec(
        type="business",
        count=4,
        vehicle={"battery_kwh": 40.0, "ac_max_kw": 6.0, "bidirectional": True},
        charger={"max_kw": 6.0, "bidirectional": True},
        soc_initial=(0.5, 0.5),
        trips={"work_days": []},  # always plugged
    )
    start = dt.datetime(2025, 6, 4, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    return create_fleet("lab", spec, start, 6 * 3600, 60, seed=1)


def test_the_fleet_plans_the_session_on_what_the_ev_says():
    fleet = _fleet()
    assert fleet.state.location[2] == PLUGGED
    assert fleet.apply_ev_needs(2, 5400.0, 8.0)
    view = fleet.view()
    assert view.depart_s[2] == 5400.0
    assert view.session_target_soc[2] == pytest.approx(0.5 + 8.0 / 40.0)
    assert np.isinf(view.depart_s[[0, 1, 3]]).all()  # the other EVs keep the model's session
    assert not fleet.apply_ev_needs(2, -10.0, None)  # a departure in the past is no plan
    assert fleet.apply_ev_needs(1, None, 100.0)  # at most full
    assert fleet.view().session_target_soc[1] == 1.0


def test_the_fleet_simulator_applies_the_hardware_sims_needs():
    fleet = _fleet()
    sim = FleetSim()
    sim.init("FleetSim-0", step_s=60)
    sim.create(1, "Fleet", fleet=fleet, bus_pos=np.zeros(4, dtype=int), n_bus=1)
    inputs = {
        "lab": {
            "setpoints_kw": {"EmsSim-0.ems": {"lab": np.zeros(4)}},
            "ev_needs": {"HardwareSim-0.hardware": {"lab": {3: (7200.0, 4.0)}}},
        }
    }
    sim.step(0, inputs, 60)
    assert fleet.view().depart_s[3] == 7200.0
    assert fleet.view().session_target_soc[3] == pytest.approx(0.5 + 4.0 / 40.0, abs=0.01)


def test_a_real_21_charger_s_needs_reach_the_link_in_simulation_time():
    csms_port = _free_port()
    hardware = [b for b in _hardware_on(_free_port()) if b["adapter"] == "ocpp"]
    scenario = load_scenario(
        HIL,
        {"hil.csms_port": csms_port, "hil.connect_timeout_s": 60.0, "hardware": hardware},
    )
    chargers = _Chargers()
    url = f"ws://127.0.0.1:{csms_port}/ocpp"
    chargers.start(url, "CP001", "lab-secret-1", "1.6")
    chargers.start(
        url, "CP002", "lab-secret-2", "2.1", True, departure_in_s=600.0, energy_request_kwh=5.0
    )
    link = HardwareLink(scenario)
    link.rt_factor = 0.5  # two simulated seconds per wall second
    link.start()
    try:
        got: list = []
        _wait(lambda: (got.extend(link.ev_needs(1000.0)), bool(got))[1])
        ((binding, depart_s, energy_kwh),) = got
        assert binding.charger_id == "CP002"
        # sent as "plug-in + 600 wall s"; read within seconds of it: 1000 + 600 / 0.5 - lag
        assert 2200.0 - 2 * 30 <= depart_s <= 2200.0 + 1
        assert energy_kwh == pytest.approx(5.0)
        time.sleep(0.5)
        assert link.ev_needs(1000.0) == []  # each NotifyEVChargingNeeds once
        assert any(e["kind"] == "ev_needs" for e in link.events())
    finally:
        link.stop()
        chargers.stop()


def test_a_later_departure_never_overlaps_the_model_s_next_stay():
    spec = FleetSpec(
        type="business",
        count=2,
        vehicle={"battery_kwh": 40.0, "ac_max_kw": 6.0},
        charger={"max_kw": 6.0},
        soc_initial=(0.5, 0.5),
        trips={"depart": "11:00", "depart_std": "1min", "arrive": "13:00", "arrive_std": "1min"},
    )
    start = dt.datetime(2025, 6, 4, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))  # Wednesday
    fleet = create_fleet("vans", spec, start, 12 * 3600, 60, seed=1)
    next_arrival = fleet.sessions.arrive_s[0, fleet.state.session[0] + 1]
    assert 3.9 * 3600 <= next_arrival <= 4.1 * 3600  # back at ~13:00
    assert fleet.apply_ev_needs(0, 11 * 3600.0, None)  # "I stay until 20:00"
    assert fleet.view().depart_s[0] == next_arrival - 60  # until the model's next stay begins
