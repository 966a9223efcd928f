"""replay: a run folder read back and the View at a chosen step."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml

from twin.dashboard.replay import DEFAULT_WINDOWS, hil_at, known_runs, load_run, view_from_run
from twin.results.readers import ResultsError, read_table

FLEETS = ("commuters", "business", "households")


def test_view_at_a_step_shows_that_steps_recorded_values(finished_run):
    run = load_run(finished_run)
    t = read_table(finished_run, "timeseries")
    summary = json.loads((finished_run / "summary.json").read_text())
    for i in (0, 5):
        v = view_from_run(finished_run, run, i)
        row = t.iloc[i]
        assert v.total["p_kw"] == pytest.approx(sum(row[f"{f}.p_kw"] for f in FLEETS))
        assert v.total["plugged_count"] == sum(int(row[f"{f}.plugged_count"]) for f in FLEETS)
        assert v.now == pd.Timestamp(row["time"]).tz_convert("Asia/Tokyo")
        assert (v.step_index, v.step_count) == (i, 8)
        assert v.timeline.mark_now and v.timeline.x_range is None
    assert v.kpis == summary["kpis"]
    assert v.kpi_title == "KPIs of the run (completed)"
    scenario = yaml.safe_load((finished_run / "scenario.yaml").read_text())
    assert v.grid_name == scenario["grid"]["name"]
    # per-element values now, by element id, from the grid detail tables
    vm = read_table(finished_run, "grid_vm_pu")
    assert v.grid_now["vm_pu"]["0"] == pytest.approx(float(vm.iloc[5]["0"]))
    assert set(v.contributions) >= {"flexibility_windows"}


def test_the_scenario_gives_zone_and_windows(finished_run, tmp_path):
    run = load_run(finished_run)
    assert run.timezone == "Asia/Tokyo" and run.scenario is not None
    assert run.notes == []
    bare = tmp_path / "bare"
    shutil.copytree(finished_run, bare)
    (bare / "scenario.yaml").unlink()
    run = load_run(bare)
    assert run.scenario is None and run.timezone == "UTC"
    assert run.windows == DEFAULT_WINDOWS
    assert any("no scenario.yaml" in n for n in run.notes)
    assert view_from_run(bare, run, 0).grid_name is None


def test_folders_that_are_no_run_say_what_is_missing(tmp_path, finished_run):
    with pytest.raises(ResultsError, match="no summary.json"):
        load_run(tmp_path)
    (tmp_path / "summary.json").write_text('{"status": "running"}')
    with pytest.raises(ResultsError, match="no timeseries.parquet"):
        load_run(tmp_path)
    empty = read_table(finished_run, "timeseries").iloc[:0]
    empty.to_parquet(tmp_path / "timeseries.parquet")
    with pytest.raises(ResultsError, match="no rows"):
        load_run(tmp_path)


def test_bad_hil_events_are_a_note(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "hil_events.json").write_text("{not json")
    assert any("hil_events.json" in n for n in load_run(run_dir).notes)
    (run_dir / "hil_events.json").write_text(json.dumps({"events": [{"kind": "online"}]}))
    assert load_run(run_dir).hil_events == [{"kind": "online"}]


def test_hil_fields_by_charger_even_with_dots_in_the_id():
    row = pd.Series({"hil.CP001.power_kw": 7.0, "hil.10.0.0.1:502.online": 1.0, "a.p_kw": 3.0})
    assert hil_at(row, row.index) == {"CP001": {"power_kw": 7.0}, "10.0.0.1:502": {"online": 1.0}}


def test_known_runs_lists_folders_with_a_summary(tmp_path):
    assert known_runs(tmp_path) == []
    (tmp_path / "results" / "b").mkdir(parents=True)
    (tmp_path / "results" / "b" / "summary.json").write_text("{}")
    (tmp_path / "results" / "a").mkdir()
    (tmp_path / "results" / "a" / "summary.json").write_text("{}")
    (tmp_path / "results" / "half").mkdir()
    assert known_runs(tmp_path) == ["results/a", "results/b"]
