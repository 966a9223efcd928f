"""A power flow that does not converge is recorded and flagged; the run goes on."""

import numpy as np

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.world import run_scenario


def test_nonconverged_steps_are_flagged_and_the_run_completes(tmp_path):
    # 300 EVs and 4x the nominal load on the small CIGRE LV grid: the evening peak cannot be solved.
    scenario = load_scenario(
        ROOT / "scenarios" / "default.yaml",
        {
            "grid.name": "cigre_lv",
            "grid.load_scale": 4,
            "fleets.commuters.sites": 3,
            "fleets.business.sites": 1,
            "duration": "1d",
        },
    )
    outcome = run_scenario(scenario, tmp_path, progress=False)
    table = read_table(tmp_path)
    bad = table["grid.converged"] < 0.5
    assert outcome.summary["status"] == "completed" and len(table) == 96
    assert 0 < bad.sum() < 96
    assert outcome.summary["kpis"]["nonconverged_steps"] == int(bad.sum())
    assert table.loc[bad, "grid.vm_min_pu"].isna().all()
    assert table.loc[~bad, "grid.vm_min_pu"].notna().all()
    # Recovery: some step after a failed one converges again (the solver restarts cleanly).
    flags = bad.to_numpy()
    assert np.any(flags[:-1] & ~flags[1:])
    # KPIs over converged steps only, and the fleet kept being controlled throughout.
    assert outcome.summary["kpis"]["min_bus_voltage_pu"] == table["grid.vm_min_pu"].min()
    assert outcome.summary["kpis"]["unmet_departure_energy_kwh"] == 0.0
