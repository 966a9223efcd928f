"""twin/results/columns.py is the results' contract: names as README.md documents them, parsers
that invert the builders, and every column of a real run accounted for."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.catalog import load_scenario
from twin.config import DEFAULT_SCENARIO
from twin.results import columns as col
from twin.results.readers import read_table
from twin.run.world import prepare_run


def test_names_are_the_documented_ones() -> None:
    # README.md "What a run gives you" spells these out; users' notebooks depend on them.
    assert col.fleet_p_kw("home") == "home.p_kw"
    assert col.baseline_p_kw("home") == "home_baseline.p_kw"
    assert col.fleet_plugged_count("vans") == "vans.plugged_count"
    assert col.GRID_VM_MIN_PU == "grid.vm_min_pu"
    assert col.GRID_LINE_LOADING_MAX_PCT == "grid.line_loading_max_pct"
    assert col.ems_contribution("smart_charging") == "ems.contribution.smart_charging_kw"
    assert col.ev_table("ev_p_kw", "home") == "ev_p_kw.home"
    assert col.table_file(col.GRID_DETAIL_TABLES["vm_pu"]) == "grid_vm_pu.parquet"
    assert col.hil_column("CP001", "power_kw") == "hil.CP001.power_kw"


def test_parsers_invert_the_builders() -> None:
    fleets = ["commuters", "home-2", "vans_x"]
    columns = [col.TIME]
    for f in fleets:
        columns += [col.fleet_p_kw(f), col.baseline_p_kw(f), col.fleet_soc_mean(f)]
    columns += [col.fleet_p_kw("orphan")]  # no baseline: not a controlled fleet
    columns += [col.EMS_TARGET_KW, col.ems_contribution("a_b"), col.ems_contribution("c")]
    columns += [col.grid_column(q) for q in col.GRID_QUANTITIES]
    columns += [col.signal_column("frequency_hz"), col.hil_column("lab.CP.1", "online")]
    assert col.fleet_names(columns) == fleets
    assert col.contributions(columns) == {
        "a_b": col.ems_contribution("a_b"),
        "c": col.ems_contribution("c"),
    }
    assert set(col.grid_columns(columns)) == set(col.GRID_QUANTITIES)
    assert col.signal_columns(columns) == {"frequency_hz": "signal.frequency_hz"}
    assert col.hil_columns(columns) == {"lab.CP.1": {"online": "hil.lab.CP.1.online"}}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("columns_run")
    prepare_run(load_scenario(DEFAULT_SCENARIO), out).run(progress=False)
    return out


def test_every_column_of_a_real_run_is_named_by_columns_py(run_dir: Path) -> None:
    table = read_table(run_dir)
    names = col.fleet_names(table.columns)
    assert names == ["commuters", "business", "households"]
    known = {col.TIME, col.TIME_LOCAL, col.TIME_S}
    for f in names:
        for entity in (f, col.baseline_entity(f)):
            known |= {col.fleet_column(entity, q) for q in col.FLEET_QUANTITIES}
    known |= {col.EMS_TARGET_KW, col.EMS_FEASIBLE_LO_KW, col.EMS_FEASIBLE_HI_KW}
    known |= set(col.contributions(table.columns).values())
    known |= set(col.grid_columns(table.columns).values())
    known |= set(col.grid_baseline_columns(table.columns).values())
    known |= set(col.signal_columns(table.columns).values())
    known |= set(col.GRID_PROTECTION_RECORDS)
    assert set(table.columns) - known == set()
    assert set(col.grid_columns(table.columns)) == set(col.GRID_QUANTITIES)
    assert set(col.contributions(table.columns)) == {
        "smart_charging",
        "flexibility_windows",
        "grid_protection",
    }
    for key, name in {**col.GRID_DETAIL_TABLES, **col.GRID_BASELINE_DETAIL_TABLES}.items():
        assert (run_dir / col.table_file(name)).exists(), key
