"""Sweeps on Dask: a failing variant is reported, not fatal; a variant's results do not depend on
whether it ran alone or inside a sweep."""

from __future__ import annotations

import pandas as pd

from tests.conftest import ROOT
from twin.run.sweep import (
    Variant,
    expand_variants,
    load_scenario_data,
    run_sweep,
    run_variant,
)

SCENARIO = ROOT / "scenarios" / "default.yaml"
# A tiny default day: 2 hours, a few EVs per fleet (the grid build dominates each run).
TINY = {
    "duration": "2h",
    "fleets.commuters.count": 6,
    "fleets.business.count": 4,
    "outputs.grid_detail": False,
}


def test_variants_are_the_product_of_alternatives_and_seeds():
    variants = expand_variants({"a": [1, 2], "b": ["x"]}, seeds=[7, 8])
    assert [v.overrides for v in variants] == [
        {"a": 1, "b": "x", "seed": 7},
        {"a": 1, "b": "x", "seed": 8},
        {"a": 2, "b": "x", "seed": 7},
        {"a": 2, "b": "x", "seed": 8},
    ]
    assert len({v.name for v in variants}) == 4  # one folder each


def test_sweep_on_local_cluster_reports_a_failing_variant_and_matches_a_lone_run(tmp_path):
    good = [
        Variant(f"households={n}", {**TINY, "fleets.households.count": n, "seed": 42})
        for n in (5, 9)
    ]
    # Validates (a list of ints) but fails inside the run: the bus does not exist.
    bad = Variant("bad-site", {**TINY, "fleets.business.sites": [999999], "seed": 42})
    table = run_sweep(SCENARIO, [good[0], bad, good[1]], tmp_path / "sweep", workers=2)

    assert list(table["variant"]) == ["households=5", "bad-site", "households=9"]
    assert list(table["status"]) == ["completed", "failed", "completed"]
    assert "999999" in table.loc[1, "error"]
    assert (tmp_path / "sweep" / "sweep_kpis.parquet").exists()
    assert len(pd.read_csv(tmp_path / "sweep" / "sweep_kpis.csv")) == 3
    # The KPI row counts the EVs it was given: 6 + 4 + 9.
    assert table.loc[2, "per_fleet.households.ev_count"] == 9

    alone = run_variant(load_scenario_data(SCENARIO), good[1], tmp_path / "alone", str(SCENARIO))
    assert alone["status"] == "completed"
    in_sweep = pd.read_parquet(tmp_path / "sweep" / "households=9" / "timeseries.parquet")
    by_itself = pd.read_parquet(tmp_path / "alone" / "timeseries.parquet")
    assert len(by_itself) == 8  # 2 h of 15-min steps
    pd.testing.assert_frame_equal(in_sweep, by_itself)
