"""`twin run` / `twin report` as a user runs them: exit codes, messages, the KPI table.

The first three tests moved here unchanged from tests/integration/test_cli_run.py (which keeps
the tests of what an interrupted, killed or crashing run leaves behind).
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.cli.conftest import DEFAULT, TWIN, twin
from twin.results.readers import read_table


def test_run_and_report(tmp_path, scenario_file):
    path = scenario_file(duration="6h", outputs={"grid_detail": False})
    out = tmp_path / "res"
    res = subprocess.run(
        [*TWIN, "run", str(path), "--out", str(out), "--seed", "5", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["seed"] == 5 and summary["steps"] == 24
    assert len(read_table(out)) == 24
    assert yaml.safe_load((out / "scenario.yaml").read_text())["seed"] == 5
    rep = subprocess.run([*TWIN, "report", str(out)], capture_output=True, text=True, timeout=60)
    assert rep.returncode == 0 and "push_up_kwh_per_ev_day" in rep.stdout


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    rep = subprocess.run(
        [*TWIN, "report", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert rep.returncode == 2
    assert "no summary.json" in rep.stderr and "Traceback" not in rep.stderr


def test_run_with_broken_scenario_is_a_message(tmp_path, scenario_file):
    path = scenario_file(step="fast")
    res = subprocess.run(
        [*TWIN, "run", str(path), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and f"{path}: step:" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--set", "fleets.households.count"],
            "--set fleets.households.count: use FIELD.PATH=VALUE",
        ),
        (["--set", "name=[1"], "--set name=[1: the value is not valid YAML"),
        (["--set", "fleets.nobody.count=3"], ": fleets.nobody"),
        (["--case", "nope"], ": case: unknown case 'nope'"),
        (["--seed", "x"], "Invalid value for '--seed'"),
    ],
)
def test_bad_run_options_exit_2_before_anything_runs(tmp_path, args, line):
    out = tmp_path / "never"
    res = twin("run", DEFAULT, "--out", out, "--no-progress", *args, timeout=120)
    assert res.returncode == 2, res.stderr
    assert line in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_set_error_names_its_field_and_a_clock_time_is_accepted(tmp_path):
    # 11:00 parses as a clock time; the broken neighbour is the only problem reported.
    res = twin(
        "run",
        DEFAULT,
        "--set",
        "ems.services.1.push_up.start=11:00",
        "--set",
        "ems.services.1.push_down.start=25:00",
        "--out",
        tmp_path / "never",
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.splitlines()
    assert lines and all(line.startswith(f"{DEFAULT}: ") for line in lines), lines
    assert any("push_down.start" in line for line in lines), lines
    assert not any("push_up" in line for line in lines), lines
