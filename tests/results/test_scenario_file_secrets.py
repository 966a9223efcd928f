"""Charger passwords never reach a results folder (issue 15, Low): scenario.yaml says
`<redacted>`, the run itself still has the password."""

from __future__ import annotations

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.config import scenario_as_run
from twin.run.world import prepare_run

SECRET = "s3cret-lab-pass"


def test_hil_passwords_are_redacted_in_scenario_yaml(tmp_path):
    scenario = load_scenario(
        ROOT / "scenarios" / "default.yaml",
        {
            "duration": "1h",
            "hardware": [
                {"charger": "business/1", "adapter": "simulated", "id": "SIM1", "password": SECRET}
            ],
        },
    )
    prepared = prepare_run(scenario, tmp_path)
    written = (tmp_path / "scenario.yaml").read_text()
    assert SECRET not in written and "password: <redacted>" in written
    assert prepared.scenario.hardware[0].password == SECRET  # the run still logs in with it
    prepared.world.shutdown()
    lab = scenario_as_run(load_scenario(ROOT / "scenarios" / "hil_lab.yaml"))
    assert "lab-secret" not in str(lab)
