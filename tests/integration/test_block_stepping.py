"""Block stepping (fleets + EMS in one simulator, N model steps per mosaik step) against the
per-step wiring (FleetSim, EmsSim as their own simulators, one mosaik step per model step): the
same scenario must give the same table, bit for bit, at any block size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.wiring import block_steps_of
from twin.run.world import prepare_run

SCENARIOS = ROOT / "scenarios"


def _run(scenario, out):
    prepared = prepare_run(scenario, out)
    sims = {sid.split("-")[0] for sid in prepared.world.sims}
    outcome = prepared.run(progress=False)
    assert outcome.summary["status"] == "completed"
    return prepared, sims, outcome


@pytest.mark.parametrize(
    ("name", "overrides", "blocks"),
    [
        ("default.yaml", {}, [96, 7]),  # 7 does not divide the day's 96 steps: a short last block
        ("frequency_event.yaml", {"duration": "30min"}, [300]),  # 1-s steps, the event at 20 min
    ],
)
def test_any_block_size_gives_the_per_step_results(tmp_path, name, overrides, blocks):
    base = load_scenario(SCENARIOS / name, overrides)
    stepwise, stepwise_sims, stepwise_out = _run(
        base.model_copy(update={"block_steps": 1}), tmp_path / "1"
    )
    assert stepwise.block_steps == 1 and {"FleetSim", "EmsSim"} <= stepwise_sims
    expected = read_table(tmp_path / "1", "timeseries")
    assert len(expected) == base.n_steps
    for block in blocks:
        run, sims, outcome = _run(
            base.model_copy(update={"block_steps": block}), tmp_path / str(block)
        )
        assert run.block_steps == block and "FleetControlSim" in sims and "FleetSim" not in sims
        got = read_table(tmp_path / str(block), "timeseries")
        pd.testing.assert_frame_equal(got[expected.columns], expected, check_exact=True)
        if base.outputs.grid_detail:
            pd.testing.assert_frame_equal(
                read_table(tmp_path / str(block), "grid_vm_pu"),
                read_table(tmp_path / "1", "grid_vm_pu"),
                check_exact=True,
            )
        assert (
            outcome.summary["kpis"]["energy_charged_kwh"]
            == stepwise_out.summary["kpis"]["energy_charged_kwh"]
        )
        # The fleets end in the same state.
        for fleet_name, fleet in run.fleets.items():
            assert (fleet.state.soc == stepwise.fleets[fleet_name].state.soc).all()


def test_hardware_and_real_time_runs_step_one_model_step_at_a_time():
    hil = load_scenario(SCENARIOS / "hil_lab.yaml")
    assert hil.hardware and hil.block_steps > 1
    assert block_steps_of(hil) == 1
    virtual = load_scenario(SCENARIOS / "default.yaml")
    assert block_steps_of(virtual) == virtual.block_steps
    assert block_steps_of(virtual, realtime=True) == 1
    # A block is never longer than the run.
    assert block_steps_of(virtual.model_copy(update={"block_steps": 10_000})) == virtual.n_steps


def test_per_ev_tables_add_up_to_the_fleet_and_close_each_evs_energy_balance(tmp_path):
    base = load_scenario(
        SCENARIOS / "default.yaml",
        {"duration": "12h", "outputs.per_ev": True, "outputs.grid_detail": False},
    )
    blocks, _, _ = _run(base, tmp_path / "blocks")
    _run(base.model_copy(update={"block_steps": 1}), tmp_path / "steps")
    table = read_table(tmp_path / "blocks", "timeseries")
    dt_h = base.step / 3600.0
    for name, fleet in blocks.fleets.items():
        power = read_table(tmp_path / "blocks", f"ev_p_kw.{name}")
        soc = read_table(tmp_path / "blocks", f"ev_soc.{name}")
        for got, per_step in (
            (power, read_table(tmp_path / "steps", f"ev_p_kw.{name}")),
            (soc, read_table(tmp_path / "steps", f"ev_soc.{name}")),
        ):
            pd.testing.assert_frame_equal(got, per_step, check_exact=True)
        ev_columns = [str(i) for i in range(fleet.table.count)]
        assert list(power.columns) == ["time", *ev_columns] and len(power) == base.n_steps
        p = power[ev_columns].to_numpy()
        s = soc[ev_columns].to_numpy()
        assert abs(p.sum(axis=1) - table[f"{name}.p_kw"].to_numpy()).max() < 1e-9
        assert (s >= 0).all() and (s <= 1).all()
        # A charging (discharging) EV is plugged for the whole step: its SOC moves by exactly the
        # grid energy x efficiency, with no driving in between.
        tb = fleet.table
        d_soc_kwh = np.diff(s, axis=0) * tb.battery_kwh
        p_next = p[1:]
        charging, discharging = p_next > 1e-9, p_next < -1e-9
        assert charging.any()
        expected = np.where(
            charging, p_next * dt_h * tb.eta_charge, p_next * dt_h / tb.eta_discharge
        )
        moving = charging | discharging
        assert np.abs(d_soc_kwh[moving] - expected[moving]).max() < 1e-9
        # The last row is the fleet's state at the end of the run.
        assert np.array_equal(s[-1], fleet.state.soc)
