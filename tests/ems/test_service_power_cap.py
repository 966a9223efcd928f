"""The power-cap service (twin/ems/services/power_cap.py): the one file a new service needs.

Checked by hand arithmetic on plain arrays, then in a real run: the registry finds the service
from its file alone, a scenario names it, and the fleet's recorded grid power keeps the cap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.catalog import load_scenario
from twin.config import DEFAULT_SCENARIO, ScenarioError
from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.power_cap import PowerCap, PowerCapSpec
from twin.ems.services.registry import service_specs
from twin.results import columns as col
from twin.results.readers import read_table
from twin.run.world import prepare_run


def _ctx(lo: list[float], hi: list[float]) -> EmsContext:
    n = len(lo)
    return EmsContext(
        time_s=0,
        second_of_day=0,
        dt_s=900.0,
        lo_kw=np.array(lo),
        hi_kw=np.array(hi),
        soc=np.full(n, 0.5),
        plugged=np.ones(n, dtype=bool),
        depart_s=np.full(n, np.inf),
        target_soc=np.full(n, 0.9),
        battery_kwh=np.full(n, 40.0),
        eta_charge=np.full(n, 0.92),
        p_charge_max_kw=np.array(hi),
    )


def test_cap_clips_the_target_and_spreads_the_cut_by_the_plan() -> None:
    ctx = _ctx([0.0, 0.0, 1.0, 0.0], [6.0] * 4)
    plan = FleetPlan(target_kw=20.0, preferred_kw=np.array([8.0, 4.0, 4.0, 4.0]))
    out = PowerCap(max_import_kw=10.0).apply(ctx, plan)
    assert out.target_kw == 10.0
    assert out.contributions_kw["power_cap"] == pytest.approx(-10.0)
    # Half of every preferred set-point (10 / 20), each still inside its EV's range.
    np.testing.assert_allclose(out.preferred_kw, [4.0, 2.0, 2.0, 2.0])
    assert out.records == {"power_cap_binding": 1.0, "power_cap_short_kw": 0.0}


def test_cap_leaves_a_plan_inside_it_alone_and_reports_what_the_floors_force() -> None:
    ctx = _ctx([6.0, 6.0, 0.0, 0.0], [6.0] * 4)
    plan = FleetPlan(target_kw=12.0, preferred_kw=np.array([6.0, 6.0, 0.0, 0.0]))
    within = PowerCap(max_import_kw=15.0).apply(ctx, plan)
    assert within.target_kw == 12.0 and "power_cap" not in within.contributions_kw
    assert within.records["power_cap_binding"] == 0.0
    short = PowerCap(max_import_kw=10.0).apply(ctx, plan)
    # Two EVs must take 6 kW each to leave with their energy: 12 - 10 = 2 kW beyond the cap.
    assert short.records["power_cap_short_kw"] == pytest.approx(2.0)


def test_export_limit() -> None:
    ctx = _ctx([-6.0] * 3, [6.0] * 3)
    plan = FleetPlan(target_kw=-18.0, preferred_kw=np.full(3, -6.0))
    out = PowerCap(max_import_kw=100.0, max_export_kw=9.0).apply(ctx, plan)
    assert out.target_kw == -9.0
    np.testing.assert_allclose(out.preferred_kw, [-3.0, -3.0, -3.0])


def test_the_registry_finds_the_service_from_its_file_alone() -> None:
    assert service_specs()["power_cap"] is PowerCapSpec
    spec = PowerCapSpec(type="power_cap", max_import_kw=50.0)
    assert isinstance(spec.build(), PowerCap) and spec.build().order == 200


def test_a_scenario_names_it_and_a_bad_value_names_the_field(tmp_path: Path) -> None:
    services = [{"type": "smart_charging"}, {"type": "power_cap", "max_import_kw": -1}]
    with pytest.raises(ScenarioError) as err:
        load_scenario(DEFAULT_SCENARIO, {"ems.services": services})
    assert err.value.problems[0][0] == "ems.services.1.max_import_kw"


@pytest.mark.slow
def test_a_real_run_keeps_the_fleet_under_the_cap(tmp_path: Path) -> None:
    cap_kw = 300.0
    services = [
        {"type": "smart_charging", "order": 0},
        {"type": "power_cap", "max_import_kw": cap_kw},
    ]
    scenario = load_scenario(
        DEFAULT_SCENARIO, {"ems.services": services, "outputs.grid_detail": False}
    )
    prepare_run(scenario, tmp_path).run(progress=False)
    table = read_table(tmp_path)
    names = col.fleet_names(table.columns)
    fleet_kw = sum(table[col.fleet_p_kw(n)].to_numpy() for n in names)
    baseline_kw = sum(table[col.baseline_p_kw(n)].to_numpy() for n in names)
    binding = table[col.ems_record("power_cap_binding")].to_numpy() > 0.5
    short = table[col.ems_record("power_cap_short_kw")].to_numpy()
    # The uncontrolled fleet goes past the cap, so the test exercises the cap.
    assert baseline_kw.max() > 1.5 * cap_kw
    assert binding.any()
    # Recorded power is the charger's lagged average over the step; the EMS corrects set-points
    # for the lag, so the average stays at the plan up to the lag of a step's start (1 %).
    free = short <= 0.0
    assert (binding & free).any()
    assert (fleet_kw[free] <= cap_kw * 1.01).all(), fleet_kw[free].max()
    # Where the departure need alone exceeds the cap, the need wins and the excess is reported.
    forced = ~free
    assert (fleet_kw[forced] > cap_kw).all()
