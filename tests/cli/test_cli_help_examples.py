"""Every `--set` example a command's --help shows works on scenarios/default.yaml."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.cli.conftest import DEFAULT, twin
from twin.catalog import load_scenario
from twin.cli.options import SET_EXAMPLES, SWEEP_SET_EXAMPLE, parse_set, parse_set_values

_EXAMPLE = re.compile(r"--set\s+([A-Za-z_][\w.\-]*=[^\s)]*?)[.,;]?(?=[\s)]|$)")


def _examples(command: str) -> list[str]:
    res = twin(command, "--help", timeout=60)
    assert res.returncode == 0, res.stderr
    text = re.sub(r"[│╭╮╰╯─]", " ", res.stdout)  # rich's panel borders
    return _EXAMPLE.findall(text)


@pytest.mark.parametrize("command", ["run", "dashboard"])
def test_run_and_dashboard_help_examples_are_real_fields(command):
    examples = _examples(command)
    assert examples == list(SET_EXAMPLES), examples  # the help shows exactly the checked ones
    overrides = dict(parse_set(item) for item in examples)
    sc = load_scenario(DEFAULT, overrides)  # ScenarioError if an example does not fit the file
    assert sc.fleets["households"].count == 1000 and sc.step == 60


def test_sweep_help_example_is_a_real_field_with_each_alternative():
    examples = _examples("sweep")
    assert examples == [SWEEP_SET_EXAMPLE], examples
    key, values = parse_set_values(examples[0])
    assert len(values) >= 2
    for value in values:
        assert load_scenario(DEFAULT, {key: value}).fleets["households"].count == value


def test_clock_time_set_reaches_the_run(tmp_path):
    # `--set ...push_up.start=11:00` failed before (YAML read 11:00 as the number 660).
    out = tmp_path / "res"
    res = twin(
        "run",
        DEFAULT,
        "--set",
        "ems.services.1.push_up.start=11:00",
        "--set",
        "duration=1h",
        "--set",
        "outputs.grid_detail=false",
        "--out",
        out,
        "--no-progress",
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    saved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert saved["ems"]["services"][1]["push_up"]["start"] == "11:00"
