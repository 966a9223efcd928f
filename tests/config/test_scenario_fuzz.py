"""Fuzzing the scenario loader: mutations of every shipped study and raw text never give anything
but a valid Scenario or a ScenarioError naming the file (no traceback of any other kind)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.catalog import load_scenario
from twin.config import ScenarioError
from twin.config.loader import read_scenario_data

ROOT = Path(__file__).resolve().parents[2]
STUDIES = sorted((ROOT / "scenarios").glob("*.yaml"))
FILES = {p.name: read_scenario_data(p) for p in STUDIES}
TRIED = {"mutations": 0, "raw": 0, "valid": 0}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:5]):  # long bus lists: the first few stand for all
            out += _paths(v, (*prefix, i))
    return out


PATHS = {name: _paths(data) for name, data in FILES.items()}

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        ["15min", "25:00", "1d", "-1s", "0", ".inf", "America", "../x", "\x00", "ocpp"]
    ),
)
hostile = st.recursive(
    hostile_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _set(data: Any, path: tuple[Any, ...], value: Any, delete: bool) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value


def _load_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_scenario(path)
            TRIED["valid"] += 1
        except ScenarioError as err:
            assert err.problems, "a ScenarioError must list its problems"
            assert all(line.startswith(f"{path}: ") for line in err.lines()), err.lines()


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=st.data())
def test_mutated_studies_give_a_scenario_or_a_scenario_error(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(FILES)))
    scenario = read_scenario_data(STUDIES[[p.name for p in STUDIES].index(name)])
    for _ in range(data.draw(st.integers(1, 3))):
        # Draw everything first: how much is drawn must not depend on the data (hypothesis).
        path, value, delete = data.draw(
            st.tuples(st.sampled_from(PATHS[name]), hostile, st.booleans())
        )
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _set(scenario, path, value, delete)  # fails if an earlier mutation took the parent
    TRIED["mutations"] += 1
    _load_text(yaml.safe_dump(scenario, allow_unicode=True))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_raw_text_gives_a_scenario_error(text: str) -> None:
    TRIED["raw"] += 1
    _load_text(text)


def test_fuzzing_really_ran() -> None:
    # Runs after the two above (file order): guards against a vacuous pass.
    assert TRIED["mutations"] >= 100 and TRIED["raw"] >= 100, TRIED
