"""The default scenario as a real mosaik world with real power flows, checked against physics."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

from grids import build_grid
from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.fleet.model import PLUGGED
from twin.results.readers import read_table
from twin.run.world import prepare_run

DEFAULT = ROOT / "scenarios" / "default.yaml"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    scenario = load_scenario(DEFAULT)
    out = tmp_path_factory.mktemp("default")
    violations: list[str] = []
    holder: dict = {}

    def check_step(row, detail):
        # Invariants after every step, on the live fleet states.
        for name, fleet in holder["run"].fleets.items():
            st, tb = fleet.state, fleet.table
            if np.any(st.soc < -1e-12) or np.any(st.soc > 1 + 1e-12):
                violations.append(f"{row['time']}: {name} SOC outside [0, 1]")
            prev = holder.setdefault(name, (st.soc.copy(), st.location.copy()))
            stayed = (prev[1] == PLUGGED) & (st.location == PLUGGED)
            fell = stayed & (st.soc < tb.soc_floor - 1e-9) & (st.soc < prev[0] - 1e-12)
            if fell.any():
                violations.append(
                    f"{row['time']}: {name} EVs {np.nonzero(fell)[0]} discharged below floor"
                )
            holder[name] = (st.soc.copy(), st.location.copy())

    run = prepare_run(scenario, out, observers=[check_step])
    holder["run"] = run
    outcome = run.run(progress=False)
    return scenario, run, outcome, violations


def test_summary_has_required_fields(default_run):
    scenario, _, outcome, _ = default_run
    s = outcome.summary
    assert s["status"] == "completed"
    for key in ("scenario", "seed", "steps", "wall_time_s", "ev_count", "kpis"):
        assert key in s
    assert s["steps"] == 96 and s["ev_count"] == 300 and s["seed"] == 42
    for key in (
        "push_up_kwh_per_ev_day",
        "push_down_kwh_per_ev_day",
        "unmet_departure_energy_kwh",
        "energy_charged_kwh",
        "energy_discharged_kwh",
        "min_bus_voltage_pu",
        "max_bus_voltage_pu",
        "max_line_loading_pct",
        "max_trafo_loading_pct",
        "nonconverged_steps",
    ):
        assert s["kpis"][key] is not None, key


def test_invariants_held_every_step(default_run):
    *_, violations = default_run
    assert violations == []


def test_flexibility_positive_and_needs_met(default_run):
    _, _, outcome, _ = default_run
    k = outcome.summary["kpis"]
    assert k["push_up_kwh_per_ev_day"] > 0.5
    assert k["push_down_kwh_per_ev_day"] > 0.5
    assert k["unmet_departure_energy_kwh"] == pytest.approx(0.0, abs=1e-6)
    assert k["drive_energy_unserved_kwh"] == pytest.approx(0.0, abs=1e-6)
    assert k["nonconverged_steps"] == 0


def test_energy_balance_closes_per_ev(default_run):
    _, run, _, _ = default_run
    for fleets in (run.fleets, run.baselines):
        for fleet in fleets.values():
            st, tb = fleet.state, fleet.table
            lhs = (
                st.e_grid_in_kwh * tb.eta_charge
                - st.e_grid_out_kwh / tb.eta_discharge
                - st.e_driven_kwh
            )
            assert np.abs(lhs - (st.soc - st.soc_initial) * tb.battery_kwh).max() < 1e-6


def test_recorded_power_integrates_to_reported_energy(default_run):
    scenario, run, outcome, _ = default_run
    table = read_table(outcome.out_dir)
    dt_h = scenario.step / 3600
    net_kwh = sum(table[f"{n}.p_kw"].sum() for n in scenario.fleets) * dt_h
    k = outcome.summary["kpis"]
    assert net_kwh == pytest.approx(k["energy_charged_kwh"] - k["energy_discharged_kwh"], rel=1e-9)
    # Fleet power at the grid equals the EV power the grid simulator solved with.
    assert np.allclose(
        sum(table[f"{n}.p_kw"] for n in scenario.fleets) / 1000, table["grid.ev_p_mw"], atol=1e-9
    )


@pytest.mark.parametrize("step", [0, 41, 70, 95])
def test_grid_results_equal_direct_pandapower_runpp(default_run, step):
    scenario, run, outcome, _ = default_run
    net = build_grid(scenario.grid.name)
    net.load["p_mw"] = run.profiles.load_p_mw[step]
    net.load["q_mvar"] = run.profiles.load_q_mvar[step]
    net.sgen["p_mw"] = run.profiles.sgen_p_mw[step]
    net.storage["p_mw"] = run.profiles.storage_p_mw[step]
    ev = read_table(outcome.out_dir, "grid_ev_p_mw").drop(columns="time").iloc[step]
    for bus, p_mw in ev.items():
        if p_mw != 0:
            pp.create_load(net, int(bus), p_mw=float(p_mw), name="ev")
    # lightsim2grid=False: pandapower's own Newton-Raphson, independent of our solver path.
    pp.runpp(net, lightsim2grid=False)
    vm = read_table(outcome.out_dir, "grid_vm_pu").drop(columns="time").iloc[step]
    direct = net.res_bus.vm_pu.reindex([int(b) for b in vm.index]).to_numpy()
    assert np.nanmax(np.abs(vm.to_numpy() - direct)) < 1e-6
    lines = read_table(outcome.out_dir, "grid_line_loading_pct").drop(columns="time").iloc[step]
    direct_lines = net.res_line.loading_percent.reindex([int(i) for i in lines.index]).to_numpy()
    assert np.nanmax(np.abs(lines.to_numpy() - direct_lines)) < 1e-4
    trafos = read_table(outcome.out_dir, "grid_trafo_loading_pct").drop(columns="time").iloc[step]
    direct_trafos = net.res_trafo.loading_percent.reindex([int(i) for i in trafos.index]).to_numpy()
    assert np.nanmax(np.abs(trafos.to_numpy() - direct_trafos)) < 1e-4


def test_same_seed_identical_other_seed_differs(default_run, tmp_path):
    scenario, _, outcome, _ = default_run
    again = prepare_run(scenario, tmp_path / "again").run(progress=False)
    pd.testing.assert_frame_equal(read_table(outcome.out_dir), read_table(again.out_dir))
    other = prepare_run(scenario.model_copy(update={"seed": 7}), tmp_path / "other").run(
        progress=False
    )
    assert not read_table(outcome.out_dir)["commuters.p_kw"].equals(
        read_table(other.out_dir)["commuters.p_kw"]
    )
