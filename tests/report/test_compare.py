"""`twin compare`: KPIs of several runs side by side with units and differences, a sweep folder
as its runs, names that tell the runs apart, overlay figures in compare.html."""

from __future__ import annotations

import re
import subprocess

from tests.report.conftest import TWIN, write_results
from twin.report.compare import build_comparison, compare_rows, run_dirs, run_labels
from twin.report.data import load_run_data
from twin.results import columns as col


def test_kpis_side_by_side_with_differences_to_the_first(tmp_path):
    a = write_results(tmp_path / "a", extra_kpis={"peak_fleet_kw": 400.0})
    b = write_results(tmp_path / "b", extra_kpis={"peak_fleet_kw": 300.0})
    rows = {r.key: r for r in compare_rows([load_run_data(a), load_run_data(b)])}
    peak = rows["peak_fleet_kw"]
    assert peak.values == [400.0, 300.0] and peak.unit == "kW"
    assert peak.delta(1) == -100.0 and peak.delta_pct(1) == -25.0
    assert "push_up_mw_mean" not in rows  # NaN in both runs
    res = subprocess.run(
        [*TWIN, "compare", str(a), str(b), "--no-figures"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert re.search(r"Peak fleet power\s+│ kW\s+│\s+400 │\s+300 │\s+-100 \(-25\.0 %\)", res.stdout)


def test_a_sweep_folder_stands_for_its_runs_and_long_names_stay_whole(tmp_path):
    sweep = tmp_path / "sweep-default"
    long_names = [
        "fleets.households.count=100,seed=42",
        "fleets.households.count=140,seed=42",
    ]
    for name in long_names:
        write_results(sweep / name, name="default")
    (sweep / "sweep_kpis.csv").write_text("variant\n")
    dirs = run_dirs([sweep])
    assert [d.name for d in dirs] == long_names
    assert run_labels(dirs) == long_names
    cmp = build_comparison([sweep])
    assert cmp.html_path == sweep / col.COMPARE_DIR / col.COMPARE_FILE
    html = cmp.html_path.read_text(encoding="utf-8")
    assert all(name in html for name in long_names)
    assert {p.name for p in cmp.figures or []} == {"kpis.png", "power.png", "grid.png"}
    assert html.count('src="data:image/png;base64,') == 3


def test_same_folder_names_are_told_apart_by_their_parents(tmp_path):
    dirs = [write_results(tmp_path / "low" / "run"), write_results(tmp_path / "high" / "run")]
    assert run_labels(dirs) == ["low/run", "high/run"]


def test_compare_of_a_folder_without_runs_is_one_line(tmp_path):
    res = subprocess.run(
        [*TWIN, "compare", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 2
    assert "neither a run folder nor a folder of runs" in res.stderr
    assert "Traceback" not in res.stderr
