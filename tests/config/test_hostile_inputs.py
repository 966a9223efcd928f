"""Every input the hardening audit (issue 15) listed, as one table: `twin validate` and the loader
answer each with `file: field.path: reason` and exit 2 - never a traceback, never a pass that
the run then fails on (validate-passes-run-fails), never a non-finite value accepted."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin.catalog import load_scenario
from twin.cli.validate import validate_file
from twin.config import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
INF, NAN = float("inf"), float("nan")
CSV_HEAD = "time,frequency_hz\n"
T0 = "2025-06-04T00:00:00+09:00"


def m(*changes: tuple[str, Any]) -> dict[str, Any]:
    """default.yaml with `a.b.c` set to each value (missing levels created)."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes:
        node = data
        keys = dotted.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        node[keys[-1]] = value
    return data


def hw(**binding: Any) -> dict[str, Any]:
    return m(("hardware", [{"charger": "business/1", "adapter": "ocpp", **binding}]))


def csv_signal(body: bytes, name: str = "f.csv") -> Callable[[Path], dict[str, Any]]:
    def make(tmp: Path) -> dict[str, Any]:
        (tmp / name).write_bytes(body)
        return m(("signals.frequency", {"source": "csv", "path": name}))

    return make


def _laughs(prefix: str, indent: str) -> str:
    lines = [f"{indent}{prefix}0: &{prefix}0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        refs = ", ".join([f"*{prefix}{i - 1}"] * 10)
        lines.append(f"{indent}{prefix}{i}: &{prefix}{i} [{refs}]")
    return "\n".join(lines) + "\n"


SHADOW_LINE = "root:*:20228:0:99999:7:::"


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.yaml"
    os.mkfifo(path)
    return path


# (id, content: data | YAML text | fn(tmp) -> data or a path to validate, field, reason)
CASES: list[tuple[str, Any, str, str]] = [
    # High 2: names are names
    ("name is a relative path", m(("name", "../outside")), "name", "not a path"),
    ("name is an absolute path", m(("name", "/tmp/x")), "name", "not a path"),
    ("outputs.dir is the root", m(("outputs.dir", "/")), "outputs.dir", "file-system root"),
    # High 4: memory bombs
    (
        "a billion sites",
        m(("fleets.households.sites", 10**9)),
        "fleets.households.sites",
        "at most",
    ),
    (
        "billion laughs in an unused case",
        yaml.safe_dump(BASE) + "cases:\n  unused:\n" + _laughs("z", "    "),
        "",
        "too complex",
    ),
    ("/dev/zero", lambda tmp: Path("/dev/zero"), "", "not a regular file"),
    ("a FIFO", _fifo, "", "not a regular file"),
    # Medium: validate tracebacks
    (
        "string grid.params value",
        m(("grid", {"name": "japan_6kv_feeder", "params": {"n_sections": "three"}})),
        "grid.params",
        "parameter 'n_sections' must be a number",
    ),
    (
        "infinite grid.params value",
        m(("grid", {"name": "japan_6kv_feeder", "params": {"section_km": INF}})),
        "grid.params",
        "parameter 'section_km' must be a finite number",
    ),
    (
        "list as a signal source",
        m(("signals.frequency", {"source": ["csv"]})),
        "signals.frequency.source",
        "unknown source",
    ),
    ("timezone America", m(("timezone", "America")), "timezone", "unknown time zone"),
    ("nested 5,000 deep", "name: x\nfleets: " + "[" * 5000 + "]" * 5000 + "\n", "", "too complex"),
    ("duration .inf", m(("duration", INF)), "duration", "finite"),
    (
        "signal CSV path as an int",
        m(("signals.frequency", {"source": "csv", "path": 5})),
        "signals.frequency.path",
        "expected text",
    ),
    (
        "price CSV path as an int",
        m(("signals.prices", {"source": "csv", "path": 5})),
        "signals.prices.path",
        "string",
    ),
    ("start in year 1", m(("start", "0001-01-01T00:00:00")), "start", "outside 1900..2200"),
    ("start in year 9999", m(("start", "9999-06-01T00:00:00")), "start", "outside 1900..2200"),
    (
        "bad key in a case not selected",
        m(("cases", {"bad": {"fleets.commuters.cuont": 3}})),
        "cases.bad.fleets.commuters.cuont",
        "unknown field",
    ),
    # Medium: validate passed, the run failed
    ("NUL in name", m(("name", "a\x00b")), "name", "not a path"),
    ("NUL in outputs.dir", m(("outputs.dir", "res\x00ults")), "outputs.dir", "control character"),
    ("300-character name", m(("name", "n" * 300)), "name", "1 to 100 characters"),
    ("negative seed", m(("seed", -1)), "seed", "greater than or equal to 0"),
    ("hardware id with '/'", hw(id="CP/1"), "hardware.0.id", "may not contain '/'"),
    ("hardware id of 49 characters", hw(id="C" * 49), "hardware.0.id", "1 to 48 characters"),
    # Medium: non-finite values
    (
        "battery_kwh .inf",
        m(("fleets.business.vehicle.battery_kwh", INF)),
        "fleets.business.vehicle.battery_kwh",
        "finite",
    ),
    ("load_scale .inf", m(("grid.load_scale", INF)), "grid.load_scale", "finite"),
    (
        "NaN price",
        m(("signals.prices.periods.0.price_per_kwh", NAN)),
        "signals.prices.periods.0.price_per_kwh",
        "finite",
    ),
    (
        "inf price",
        m(("signals.prices.periods.0.price_per_kwh", INF)),
        "signals.prices.periods.0.price_per_kwh",
        "finite",
    ),
    (
        "inf frequency noise",
        m(("signals.frequency", {"noise_std_hz": INF})),
        "signals.frequency.noise_std_hz",
        "finite",
    ),
    (
        "NaN frequency noise",
        m(("signals.frequency", {"noise_std_hz": NAN})),
        "signals.frequency.noise_std_hz",
        "finite",
    ),
    # Low: CSV values and contents
    (
        "NUL byte in a CSV value",
        csv_signal(f"{CSV_HEAD}{T0},50.\x002\n".encode()),
        "signals.frequency.path",
        "line 2: a NUL byte",
    ),
    (
        "a shadow-like file given as the scenario is not echoed",
        f"{SHADOW_LINE}\nbin:*:20228:0:99999:7:::\n",
        "",
        "not a scenario file",
    ),
    ("a key that is not a name is not echoed", m((SHADOW_LINE, 1)), "<key>", "unknown field"),
    (
        "a file that is not a CSV is not echoed",
        csv_signal(f"{SHADOW_LINE}\nbin:*:20228:0:99999:7:::\n".encode(), name="shadow"),
        "signals.frequency.path",
        "is this a CSV signal file?",
    ),
]

PROTOCOL_HALF = {
    # Checked by the protocol's own binding_problems (adapters/modbus/protocol.py loads the map).
    "missing Modbus map file": (
        hw(adapter="modbus", port=5020, map="lab/no_such_map.yaml", id=None),
        "hardware.0.map",
        "not found",
    )
}


def _materialise(tmp: Path, content: Any) -> Path:
    if callable(content):
        content = content(tmp)
        if isinstance(content, Path):
            return content
    path = tmp / "scenario.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def _check(lines: list[str], path: Path, field: str, reason: str) -> None:
    assert lines and all(ln.startswith(f"{path}: ") for ln in lines), lines
    hit = [
        ln
        for ln in lines
        if (not field or f"{path}: {field}: " in ln) and reason.lower() in ln.lower()
    ]
    assert hit, f"expected '{field}' and '{reason}' in {lines}"
    assert not any(SHADOW_LINE in ln for ln in lines), "a line of a non-CSV file was echoed"


@pytest.mark.parametrize(
    ("content", "field", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_listed_input_is_a_clear_error(tmp_path, content, field, reason):
    path = _materialise(tmp_path, content)
    _check(validate_file(path), path, field, reason)  # what `twin validate` checks


@pytest.mark.parametrize(
    ("content", "field", "reason"), list(PROTOCOL_HALF.values()), ids=list(PROTOCOL_HALF)
)
def test_listed_inputs_of_the_protocol_half(tmp_path, content, field, reason):
    test_each_listed_input_is_a_clear_error(tmp_path, content, field, reason)


def test_twin_validate_exits_2_with_one_line_per_input_and_no_traceback(tmp_path):
    paths = []
    for i, (_, content, _, _) in enumerate(CASES):
        folder = tmp_path / f"case_{i:02d}"
        folder.mkdir()
        paths.append(_materialise(folder, content))
    res = subprocess.run(
        [sys.executable, "-m", "twin.cli", "validate", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr + res.stdout
    assert "ok" not in res.stdout.split(), res.stdout  # not one of them passed
    for path, (desc, _, field, reason) in zip(paths, CASES, strict=True):
        mine = [ln for ln in res.stderr.splitlines() if ln.startswith(f"{path}: ")]
        try:
            _check(mine, path, field, reason)
        except AssertionError as err:
            raise AssertionError(f"{desc}: {err}") from None


def test_override_errors_name_the_file_not_override(tmp_path):
    path = _materialise(tmp_path, BASE)
    for overrides in (
        {"fleets.commuters.sites.99": 1},
        {"name.x": 1},
        {"seed": -1},
        {"case": "nope"},
    ):
        with pytest.raises(ScenarioError) as info:
            load_scenario(path, overrides)
        assert all(ln.startswith(f"{path}: ") for ln in info.value.lines()), info.value.lines()
        assert "<override>" not in str(info.value)
