"""Malformed scenarios: each gives `file: field.path: reason` on stderr and exit code 2, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from twin.catalog import load_scenario
from twin.config import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())


def _mutate(path: str, value, delete: bool = False) -> dict:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    node = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if delete:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


# (description, data or raw text, expected field path, expected words in the reason)
CASES = [
    ("missing name", _mutate("name", None, delete=True), "name", "required"),
    ("missing grid", _mutate("grid", None, delete=True), "grid", "required"),
    ("missing fleets", _mutate("fleets", None, delete=True), "fleets", "required"),
    ("bad step unit", _mutate("step", "15 minutes"), "step", "not a duration"),
    ("step in m", _mutate("step", "15m"), "step", "not a duration"),
    ("negative duration", _mutate("duration", "-1d"), "duration", "not a duration"),
    ("zero step", _mutate("step", 0), "step", "positive"),
    ("duration not multiple of step", _mutate("step", "7min"), "duration", "whole number of steps"),
    ("bad start", _mutate("start", "yesterday"), "start", "datetime"),
    ("bad timezone", _mutate("timezone", "Mars/Olympus"), "timezone", "unknown time zone"),
    ("unknown grid", _mutate("grid.name", "atlantis_grid"), "grid.name", "unknown grid"),
    (
        "bad simbench code",
        _mutate("grid.name", "simbench:1-XX-nowhere-0-no_sw"),
        "grid.name",
        "simbench",
    ),
    (
        "negative count",
        _mutate("fleets.commuters.count", -5),
        "fleets.commuters.count",
        "greater than or equal to 0",
    ),
    (
        "count not a number",
        _mutate("fleets.commuters.count", "many"),
        "fleets.commuters.count",
        "integer",
    ),
    (
        "negative battery",
        _mutate("fleets.business.vehicle.battery_kwh", -40),
        "fleets.business.vehicle.battery_kwh",
        "greater than 0",
    ),
    (
        "efficiency > 1",
        _mutate("fleets.business.vehicle.eta_charge", 92),
        "fleets.business.vehicle.eta_charge",
        "less than or equal to 1",
    ),
    (
        "soc floor above target",
        _mutate("fleets.households.soc_floor", 0.95),
        "fleets.households",
        "soc_target",
    ),
    (
        "unknown fleet type",
        _mutate("fleets.households.type", "taxi"),
        "fleets.households.type",
        "commuter",
    ),
    (
        "unknown service",
        _mutate("ems.services.0", {"type": "teleport"}),
        "ems.services.0",
        "teleport",
    ),
    (
        "bad window time",
        _mutate("ems.services.1.push_up", {"start": "25:00", "end": "14:00"}),
        "ems.services.1.push_up.start",
        "not a valid time",
    ),
    (
        "unknown field typo",
        _mutate("fleets.commuters.cout", 3),
        "fleets.commuters.cout",
        "unknown field",
    ),
    (
        "bad price period",
        _mutate("signals.prices.periods.0", {"start": "7am", "price_per_kwh": 0.2}),
        "signals.prices.periods.0.start",
        "HH:MM",
    ),
    (
        "bad trip clock",
        _mutate("fleets.commuters.trips", {"arrive": "8.30"}),
        "fleets.commuters.trips.arrive",
        "HH:MM",
    ),
    (
        "hardware unknown fleet",
        _mutate("hardware", [{"charger": "taxis/1", "adapter": "ocpp", "id": "CP1"}]),
        "hardware.0.charger",
        "no fleet named 'taxis'",
    ),
    (
        "hardware index beyond fleet",
        _mutate("hardware", [{"charger": "business/40", "adapter": "ocpp", "id": "CP1"}]),
        "hardware.0.charger",
        "has only 40 EVs",
    ),
    (
        "hardware bound twice",
        _mutate(
            "hardware",
            [
                {"charger": "business/1", "adapter": "ocpp", "id": "CP1"},
                {"charger": "business/1", "adapter": "ocpp", "id": "CP2"},
            ],
        ),
        "hardware.1.charger",
        "bound twice",
    ),
    (
        "modbus binding without map",
        _mutate("hardware", [{"charger": "business/1", "adapter": "modbus", "port": 5020}]),
        "hardware.0.map",
        "needs `port` and `map`",
    ),
    (
        "hardware bad adapter",
        _mutate("hardware", [{"charger": "commuters/1", "adapter": "canbus"}]),
        "hardware.0.adapter",
        "ocpp",
    ),
    ("block of no steps", _mutate("block_steps", 0), "block_steps", "greater than 0"),
    (
        "block too long",
        _mutate("block_steps", 1_000_000),
        "block_steps",
        "less than or equal to 10000",
    ),
    ("timezone folder", _mutate("timezone", "America"), "timezone", "unknown time zone"),
    ("infinite duration", _mutate("duration", float("inf")), "duration", "finite"),
    (
        "infinite battery",
        _mutate("fleets.business.vehicle.battery_kwh", float("inf")),
        "fleets.business.vehicle.battery_kwh",
        "finite",
    ),
    ("infinite load scale", _mutate("grid.load_scale", float("inf")), "grid.load_scale", "finite"),
    (
        "NaN price",
        _mutate("signals.prices.periods.0.price_per_kwh", float("nan")),
        "signals.prices.periods.0.price_per_kwh",
        "finite",
    ),
    ("name is a path", _mutate("name", "../outside"), "name", "not a path"),
    ("absolute name", _mutate("name", "/tmp/x"), "name", "not a path"),
    ("NUL in name", _mutate("name", "a\x00b"), "name", "not a path"),
    ("300-character name", _mutate("name", "n" * 300), "name", "1 to 100 characters"),
    (
        "NUL in outputs.dir",
        _mutate("outputs.dir", "res\x00ults"),
        "outputs.dir",
        "control character",
    ),
    ("negative seed", _mutate("seed", -1), "seed", "greater than or equal to 0"),
    ("start in year 1", _mutate("start", "0001-01-01T00:00:00"), "start", "outside 1900..2200"),
    ("start in year 9999", _mutate("start", "9999-06-01T00:00:00"), "start", "outside 1900..2200"),
    (
        "a billion sites",
        _mutate("fleets.households.sites", 1_000_000_000),
        "fleets.households.sites",
        "at most 2,000,000",
    ),
    ("a century at 1 s", {**_mutate("duration", "36500d"), "step": "1s"}, "duration", "at most"),
    (
        "bad value in a case not selected",
        {**BASE, "cases": {"ok": {"seed": 3}, "bad": {"fleets.commuters.count": -1}}},
        "cases.bad.fleets.commuters.count",
        "greater than or equal to 0",
    ),
    (
        "misspelt field in a case not selected",
        {**BASE, "cases": {"bad": {"fleets.commuters.cuont": 3}}},
        "cases.bad.fleets.commuters.cuont",
        "unknown field",
    ),
    ("nested 5,000 deep", "name: x\nfleets: " + "[" * 5000 + "]" * 5000 + "\n", "", "too complex"),
    (
        "billion laughs",
        "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\na1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\na2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\na3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\na4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]\na5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\na6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]\na7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]\na8: &a8 [*a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7]\na9: &a9 [*a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8]\n",
        "",
        "too complex",
    ),
    ("self-reference", "name: &n [*n]\n", "", "too complex"),
    ("yaml syntax", "name: x\nfleets: [unclosed\n", "", "YAML syntax error at line"),
    ("not a mapping", "- just\n- a list\n", "", "mapping"),
    ("empty file", "", "", "mapping"),
]


def _write(tmp_path: Path, content) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


@pytest.mark.parametrize("desc,content,field,reason", CASES, ids=[c[0] for c in CASES])
def test_malformed_scenario_names_file_field_and_reason(tmp_path, desc, content, field, reason):
    path = _write(tmp_path, content)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = info.value.lines()
    assert lines and all(line.startswith(f"{path}: ") for line in lines)
    hit = [ln for ln in lines if (not field or f": {field}" in ln) and reason.lower() in ln.lower()]
    assert hit, f"{desc}: expected field '{field}' and '{reason}' in {lines}"


def _validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "twin.cli", "validate", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_cli_validate_exit_codes(tmp_path):
    ok = _validate(ROOT / "scenarios" / "default.yaml")
    assert ok.returncode == 0, ok.stderr
    # Every malformed case through the real command at once: exit 2, each file's problem on its
    # own `file: field: reason` line, no traceback.
    paths = []
    for i, (_, content, _, _) in enumerate(CASES):
        path = tmp_path / f"case_{i:02d}.yaml"
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
        paths.append(path)
    res = _validate(*paths)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.splitlines()
    for path, (desc, _, field, reason) in zip(paths, CASES, strict=True):
        mine = [ln for ln in lines if ln.startswith(f"{path}: ")]
        hit = [
            ln
            for ln in mine
            if (not field or f": {field}: " in ln) and reason.lower() in ln.lower()
        ]
        assert hit, f"{desc}: expected '{field}' and '{reason}' in {mine}"


# Problems only the grid builder can see: found by `twin validate` (it builds the grid) and by
# `twin run` before the first step, named with their field path.
GRID_CASES = [
    (
        "unknown feeder parameter",
        _mutate("grid", {"name": "japan_6kv_feeder", "params": {"n_poles": 3}}),
        "grid.params",
        "n_poles",
    ),
    (
        "site bus not in the grid",
        _mutate("fleets.business.sites", [99999]),
        "fleets.business.sites",
        "99999",
    ),
]


@pytest.mark.parametrize("desc,content,field,reason", GRID_CASES, ids=[c[0] for c in GRID_CASES])
def test_grid_problems_named_by_validate_and_run(tmp_path, desc, content, field, reason):
    path = _write(tmp_path, content)
    res = _validate(path)
    assert res.returncode == 2, res.stdout
    assert "Traceback" not in res.stderr
    assert any(f"{path}: {field}: " in ln and reason in ln for ln in res.stderr.splitlines()), (
        res.stderr
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin.cli",
            "run",
            str(path),
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"{field}: " in run.stderr and reason in run.stderr


def test_cli_validate_missing_file(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "twin.cli", "validate", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "file not found" in res.stderr and "Traceback" not in res.stderr


def test_all_shipped_scenarios_validate():
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert files
    for f in files:
        load_scenario(f)


def test_special_files_are_refused_without_reading_them(tmp_path):
    # /dev/zero would be read forever and a FIFO would block for a writer.
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for path, reason in (
        (Path("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (tmp_path, "folder"),
    ):
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        assert reason in str(info.value), path
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    with pytest.raises(ScenarioError, match="larger than 4 MiB"):
        load_scenario(big)


def test_override_errors_name_the_file(tmp_path):
    path = _write(tmp_path, BASE)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, {"fleets.commuters.sites.99": 1})
    assert info.value.lines()[0].startswith(f"{path}: fleets.commuters.sites.99: ")


def test_aliases_are_copies_so_an_override_edits_one_place(tmp_path):
    text = (ROOT / "scenarios" / "city_2030.yaml").read_text()
    path = tmp_path / "city.yaml"
    path.write_text(text)
    scenario = load_scenario(path, {"fleets.households.sites.0": 342})
    # Both fleets share the `&mv_substations` list in the file; only one was overridden.
    assert scenario.fleets["households"].sites[0] == 342
    assert scenario.fleets["households_v2h"].sites[0] == 341
