"""A run reports what it wrote (issue 15, High 3 and Low): tables short of steps are never
'completed'; a Ctrl-C while the run is being built leaves 'interrupted', not 'running'."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.run import world
from twin.run.world import prepare_run

DEFAULT = ROOT / "scenarios" / "default.yaml"


def test_a_table_short_of_steps_makes_the_run_failed_not_completed(tmp_path):
    scenario = load_scenario(
        DEFAULT, {"duration": "6h", "outputs.chunk_steps": 4, "block_steps": 4}
    )
    run = prepare_run(scenario, tmp_path)
    lost: list[str] = []

    def another_writer(row, detail):
        # What a second writer did to the folder: one written part of a table disappears.
        part = tmp_path / "grid_vm_pu.parts" / "part-00000.parquet"
        if not lost and part.exists():
            part.unlink()
            lost.append(part.name)

    run.observers.append(another_writer)
    with pytest.raises(RuntimeError, match="grid_vm_pu has 20 of 24 rows"):
        run.run(progress=False)
    assert lost
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed" and "grid_vm_pu has 20 of 24 rows" in summary["error"]


def test_ctrl_c_while_building_is_interrupted(tmp_path, monkeypatch):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt  # the SIGINT arrives while the fleets are built

    monkeypatch.setattr(world, "build_fleets", interrupted)
    try:
        prepare_run(load_scenario(DEFAULT, {"duration": "1h"}), tmp_path)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "interrupted"
    monkeypatch.undo()  # and the folder is free again
    again = prepare_run(load_scenario(DEFAULT, {"duration": "1h"}), tmp_path)
    assert again.run(progress=False).summary["status"] == "completed"
