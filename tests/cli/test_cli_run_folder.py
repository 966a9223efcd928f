"""`twin run --out` into a folder it does not own (issue 15, High 2 and 3, Low `--rt-factor`):
exit 2 with one line, nothing deleted, no traceback."""

from __future__ import annotations

import json
import os

from tests.cli.conftest import DEFAULT, twin
from tests.results.test_run_folder import USER_FILES, _tree, _write
from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.world import prepare_run


def test_run_into_a_folder_of_user_files_deletes_nothing(tmp_path):
    _write(tmp_path, USER_FILES)
    before = _tree(tmp_path)
    res = twin("run", DEFAULT, "--set", "duration=1h", "--no-progress", "--out", tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"{tmp_path}: not empty" in res.stderr and "nothing was deleted" in res.stderr
    assert _tree(tmp_path) == before


def test_a_second_run_into_a_running_runs_folder_stops_and_the_first_completes(tmp_path):
    out = tmp_path / "run"
    scenario = load_scenario(DEFAULT, {"duration": "6h"})
    first = prepare_run(scenario, out)
    second = twin("run", DEFAULT, "--set", "duration=1h", "--no-progress", "--out", out)
    assert second.returncode == 2, second.stderr
    assert "Traceback" not in second.stderr
    assert f"another run (pid {os.getpid()}) is writing into this folder" in second.stderr
    summary = first.run(progress=False).summary
    assert summary["status"] == "completed" and summary["steps"] == 24
    assert (out / "scenario.yaml").is_file()
    for table in ("timeseries", "grid_vm_pu", "grid_line_loading_pct"):
        assert len(read_table(out, table)) == 24, table
    # Once the first is over, the folder is a twin folder the next run may reuse.
    again = twin("run", DEFAULT, "--set", "duration=1h", "--no-progress", "--out", out)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "summary.json").read_text())["steps"] == 4
    assert len(read_table(out, "grid_vm_pu")) == 4


def test_a_negative_or_zero_rt_factor_is_refused(tmp_path):
    for factor in ("-1", "0", "nan"):
        res = twin("run", DEFAULT, "--rt-factor", factor, "--no-progress", "--out", tmp_path / "x")
        assert res.returncode == 2 and "--rt-factor" in res.stderr and "positive" in res.stderr
        assert "Traceback" not in res.stderr and not (tmp_path / "x").exists()
