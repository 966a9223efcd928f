"""`--set` overrides (twin.config.schema.apply_override): nested mappings and list indices."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.config import ScenarioError, apply_override


def test_override_creates_nested_mapping_levels():
    data: dict = {"fleets": {"home": {"count": 3}}}
    apply_override(data, "fleets.home.count", 7)
    apply_override(data, "outputs.chunk_steps", 10)
    assert data == {"fleets": {"home": {"count": 7}}, "outputs": {"chunk_steps": 10}}


def test_override_indexes_lists():
    data: dict = {"hardware": [{"port": 5020}, {"port": 5021}], "sites": [1, 2, 3]}
    apply_override(data, "hardware.1.port", 6000)
    apply_override(data, "sites.-1", 9)
    assert data["hardware"] == [{"port": 5020}, {"port": 6000}]
    assert data["sites"] == [1, 2, 9]


@pytest.mark.parametrize(
    ("dotted", "reason"),
    [
        ("hardware.5.port", "index 5 is out of range"),
        ("hardware.port", "is a list: use an index"),
        ("seed.value", "is a single value"),
    ],
)
def test_bad_override_names_the_path_and_reason(dotted, reason):
    data: dict = {"hardware": [{"port": 5020}], "seed": 1}
    with pytest.raises(ScenarioError) as err:
        apply_override(data, dotted, 1)
    line = "\n".join(err.value.lines())
    assert dotted in line and reason in line


def test_hil_binding_port_overridden_by_index():
    sc = load_scenario(ROOT / "scenarios" / "hil_lab.yaml", {"hardware.2.port": 6123})
    assert sc.hardware[2].port == 6123


def test_named_cases_apply_and_explicit_overrides_win():
    from tests.conftest import ROOT
    from twin.catalog import load_scenario
    from twin.config import ScenarioError

    island = ROOT / "scenarios" / "island_year.yaml"
    sc = load_scenario(island, {"case": "50/50"})
    assert sc.case == "50/50"
    assert sc.fleets["households"].count == 3087 and sc.signals.buildings.pv_share == 0.5
    sc = load_scenario(island, {"case": "10/10", "fleets.households.count": 5})
    assert sc.fleets["households"].count == 5 and sc.signals.buildings.pv_share == 0.1
    try:
        load_scenario(island, {"case": "20/20"})
    except ScenarioError as err:
        assert any(
            ": case: unknown case '20/20'" in line and "50/50" in line for line in err.lines()
        )
    else:
        raise AssertionError("an unknown case was accepted")
