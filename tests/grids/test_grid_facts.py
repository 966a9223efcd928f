"""grids.facts: `twin validate` checks site buses against a grid's cached facts; the facts must
be those of the built net, the cache must be keyed so it never serves another grid, and the
checks must be the ones the run applies (assign_sites_to_buses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grids import build_grid
from grids.errors import InvalidBusError
from grids.facts import grid_facts
from grids.site_checks import GridFacts, check_site_buses
from grids.sites import assign_sites_to_buses, facts_of_net


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_facts_are_the_nets_and_come_back_from_the_cache(cache: Path) -> None:
    net = build_grid("cigre_lv")
    first = grid_facts("cigre_lv", {})
    assert first == facts_of_net(net)
    assert first.bus_ids == frozenset(int(b) for b in net.bus.index)
    files = list((cache / "grid_facts").glob("*.json"))
    assert len(files) == 1
    assert grid_facts("cigre_lv", {}) == first
    # Other parameters are another grid: another file.
    grid_facts("japan_6kv_feeder", {})
    assert len(list((cache / "grid_facts").glob("*.json"))) == 2


def test_a_damaged_cache_file_is_rebuilt(cache: Path) -> None:
    facts = grid_facts("cigre_lv", {})
    (path,) = (cache / "grid_facts").glob("*.json")
    path.write_text("{not json")
    assert grid_facts("cigre_lv", {}) == facts


@pytest.mark.parametrize(
    "explicit,words",
    [([5, None], "does not exist"), ([True, None], "not an integer"), ([1], "2 sites")],
)
def test_validate_and_run_refuse_the_same_sites(explicit: list, words: str) -> None:
    net = build_grid("cigre_lv")
    facts = facts_of_net(net)
    bad = [99_999 if b == 5 else b for b in explicit]
    with pytest.raises(InvalidBusError, match=words):
        check_site_buses(facts, 2, bad)
    with pytest.raises(InvalidBusError, match=words):
        assign_sites_to_buses(net, 2, bad)


def test_out_of_service_and_no_candidates() -> None:
    facts = GridFacts(
        bus_ids=frozenset({0, 1, 2}), out_of_service=frozenset({2}), has_candidates=False
    )
    with pytest.raises(InvalidBusError, match="out of service"):
        check_site_buses(facts, 1, [2])
    check_site_buses(facts, 1, [1])  # explicit buses need no candidates
    with pytest.raises(InvalidBusError, match="no bus to place"):
        check_site_buses(facts, 2, [1, None])
