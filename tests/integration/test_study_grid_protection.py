"""The grid-aware default study, checked from its result files alone with plain pandapower.

Independent of the twin's grid code: the net is SimBench's own (simbench.get_sb_net), the base
load and PV come from simbench.get_absolute_values at the profile rows summary.json names, the
EV power per bus from grid_ev_p_mw.parquet, the limits from the net's own columns; then
pandapower's Newton-Raphson re-solves sampled steps and the violation counts are recounted from
the per-element tables.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandapower as pp
import pytest
import simbench

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.world import prepare_run

DEFAULT = ROOT / "scenarios" / "default.yaml"
DAYS = 2


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    scenario = load_scenario(DEFAULT, {"duration": f"{DAYS}d"})
    assert any(s.type == "grid_protection" for s in scenario.ems.services)
    out = tmp_path_factory.mktemp("grid_protection")
    prepare_run(scenario, out).run(progress=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed"
    tables = {
        name: read_table(out, name).drop(columns="time")
        for name in (
            "grid_ev_p_mw",
            "grid_vm_pu",
            "grid_line_loading_pct",
            "grid_trafo_loading_pct",
            "grid_baseline_vm_pu",
            "grid_baseline_line_loading_pct",
            "grid_baseline_trafo_loading_pct",
            "grid_baseline_ev_p_mw",
        )
    }
    return scenario, summary, tables


def _sb_net(scenario):
    code = scenario.grid.name.removeprefix("simbench:")
    net = simbench.get_simbench_net(code)
    # SimBench's tap positions count (the twin applies them, see grids.registry): as a ratio tap
    # changer, which pandapower applies only when the type is set.
    taps = net.trafo["tap_pos"].notna() & net.trafo["tap_step_percent"].notna()
    net.trafo["tap_changer_type"] = net.trafo["tap_changer_type"].astype(object)
    net.trafo.loc[taps, "tap_changer_type"] = "Ratio"
    return net, simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)


def _limits(net):
    return {
        "vm_min": net.bus["min_vm_pu"].to_numpy(dtype=float),
        "vm_max": net.bus["max_vm_pu"].to_numpy(dtype=float),
        "line": net.line["max_loading_percent"].to_numpy(dtype=float),
        "trafo": net.trafo["max_loading_percent"].to_numpy(dtype=float),
    }


def _count(limits, vm, line, trafo):
    """Steps with any element beyond its limit, per kind (independent arithmetic)."""
    return {
        "trafo_overload_steps": int((trafo > limits["trafo"] + 1e-9).any(axis=1).sum()),
        "line_overload_steps": int((line > limits["line"] + 1e-9).any(axis=1).sum()),
        "voltage_band_steps": int(
            ((vm > limits["vm_max"] + 1e-12) | (vm < limits["vm_min"] - 1e-12)).any(axis=1).sum()
        ),
    }


def test_controlled_has_no_violation_and_the_baseline_has_its_own(grid_run):
    scenario, summary, tables = grid_run
    net, _ = _sb_net(scenario)
    limits = _limits(net)
    v = summary["violations"]
    for side, prefix in (("controlled", "grid_"), ("baseline", "grid_baseline_")):
        vm = tables[f"{prefix}vm_pu"][[str(b) for b in net.bus.index]].to_numpy()
        line = tables[f"{prefix}line_loading_pct"][[str(i) for i in net.line.index]].to_numpy()
        trafo = tables[f"{prefix}trafo_loading_pct"][[str(i) for i in net.trafo.index]].to_numpy()
        recount = _count(limits, vm, line, trafo)
        for key, n in recount.items():
            assert v[side][key] == n, (side, key)
        assert v[side]["max_trafo_loading_pct"] == pytest.approx(np.nanmax(trafo), abs=1e-9)
        assert v[side]["min_vm_pu"] == pytest.approx(np.nanmin(vm), abs=1e-12)
    assert all(v["controlled"][k] == 0 for k in recount)
    # The uncontrolled fleet overloads the LV transformer (everyone plugging in at once): the
    # comparison is not empty.
    assert v["baseline"]["trafo_overload_steps"] > 0
    assert v["baseline"]["max_trafo_loading_pct"] > 110.0


def _resolve(net, absolute, row: int, ev_mw, load_scale: float, pv_scale: float):
    net = copy.deepcopy(net)
    for table in ("load", "sgen", "storage"):
        if "scaling" in net[table]:
            net[table]["scaling"] = 1.0
    net.load["p_mw"] = absolute[("load", "p_mw")].iloc[row].to_numpy() * load_scale
    net.load["q_mvar"] = absolute[("load", "q_mvar")].iloc[row].to_numpy() * load_scale
    pv = net.sgen["type"].astype(str).str.contains("pv", case=False).to_numpy()
    sgen = absolute[("sgen", "p_mw")].iloc[row].to_numpy().copy()
    sgen[pv] *= pv_scale
    net.sgen["p_mw"] = sgen
    if len(net.storage):
        net.storage["p_mw"] = absolute[("storage", "p_mw")].iloc[row].to_numpy()
    for bus, p_mw in ev_mw.items():
        if p_mw != 0:
            pp.create_load(net, int(bus), p_mw=float(p_mw), name="ev")
    pp.runpp(net, lightsim2grid=False)
    return net


def test_sampled_steps_resolve_with_plain_pandapower(grid_run):
    scenario, summary, tables = grid_run
    mapping = summary["grid"]["simbench_profile_rows"]
    assert scenario.step == 900  # 15-min steps: step k is SimBench row first_row + k
    net, absolute = _sb_net(scenario)
    trafo_max = tables["grid_trafo_loading_pct"].max(axis=1).to_numpy()
    # The most loaded steps (where the protection binds), the first step and a few others.
    steps = sorted(
        {int(np.argmax(trafo_max)), 0, 37, 70, DAYS * 96 - 1, *np.argsort(trafo_max)[-3:]}
    )
    for k in steps:
        row = int(mapping["first_row"]) + k
        for prefix in ("grid_", "grid_baseline_"):
            solved = _resolve(
                net,
                absolute,
                row,
                tables[f"{prefix}ev_p_mw"].iloc[k],
                summary["grid"]["load_scale"],
                summary["grid"]["pv_scale"],
            )
            vm = tables[f"{prefix}vm_pu"].iloc[k]
            direct = solved.res_bus.vm_pu.reindex([int(b) for b in vm.index]).to_numpy()
            assert np.nanmax(np.abs(vm.to_numpy() - direct)) < 1e-6, (prefix, k)
            trafo = tables[f"{prefix}trafo_loading_pct"].iloc[k]
            direct_t = solved.res_trafo.loading_percent.reindex([int(i) for i in trafo.index])
            assert np.nanmax(np.abs(trafo.to_numpy() - direct_t.to_numpy())) < 1e-4, (prefix, k)
            line = tables[f"{prefix}line_loading_pct"].iloc[k]
            direct_l = solved.res_line.loading_percent.reindex([int(i) for i in line.index])
            assert np.nanmax(np.abs(line.to_numpy() - direct_l.to_numpy())) < 1e-4, (prefix, k)


def test_a_dso_envelope_on_the_lv_transformer_holds_on_the_plant(tmp_path):
    """A DSO envelope (CSV) caps the LV transformer's import to 170 kW from 01:00 to 05:00 (the
    night charging takes ~215 kW there); the plant's flow, re-solved with plain pandapower from the
    recorded EV power, stays under it."""
    import pandas as pd

    times = pd.date_range("2025-06-04T00:00:00+09:00", periods=97, freq="15min")
    cap = [170.0 if 1 <= t.hour < 5 else 10_000.0 for t in times]
    csv = tmp_path / "doe.csv"
    pd.DataFrame(
        {"time": [t.isoformat() for t in times], "import_kw": cap, "export_kw": 10_000.0}
    ).to_csv(csv, index=False)
    scenario = load_scenario(
        DEFAULT, {"grid.envelopes": [{"element": "trafo:2", "path": str(csv)}]}
    )
    out = tmp_path / "run"
    prepare_run(scenario, out).run(progress=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed"
    ts = read_table(out, "timeseries")
    assert (ts["ems.grid_binding_kind"] == 5.0).any()  # the envelope bound at some step
    ev = read_table(out, "grid_ev_p_mw").drop(columns="time")
    net, absolute = _sb_net(scenario)
    first = int(summary["grid"]["simbench_profile_rows"]["first_row"])
    window = [k for k, t in enumerate(times[:96]) if 1 <= t.hour < 5]
    assert (ts["ems.grid_conflict"].iloc[window] == 0.0).all()
    for k in (window[0], window[len(window) // 2], window[-1]):
        solved = _resolve(net, absolute, first + k, ev.iloc[k], 1.0, 1.0)
        assert solved.res_trafo.p_hv_mw[2] <= 0.170 + 1e-4, k
