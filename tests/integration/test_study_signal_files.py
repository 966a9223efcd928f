"""Bad signal CSV files through `twin validate` / `twin run`: one clear line each, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

TWIN = [sys.executable, "-m", "twin.cli"]
GOOD_ROWS = [
    f"2025-06-04T10:00:{s:02d}+09:00,{v}" for s, v in ((0, 0.1), (5, -0.2), (10, 0.3), (15, 0.0))
]


def _scenario(tmp_path: Path, csv_text: str, duration: str = "20s") -> Path:
    csv = tmp_path / "reg.csv"
    csv.write_text(csv_text)
    data = yaml.safe_load((ROOT / "scenarios" / "v2g_regulation.yaml").read_text())
    data.update(start="2025-06-04T10:00:00", duration=duration, step="5s")
    data["signals"] = {"regulation": {"source": "csv", "path": str(csv)}}
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("time,value\n" + "\n".join(GOOD_ROWS) + "\n", "missing column(s) ['regulation']"),
        ("time,regulation\n" + "\n".join(GOOD_ROWS[:1] + GOOD_ROWS[2:]) + "\n", "gap of 10 s"),
        (
            "time,regulation\n" + "\n".join(GOOD_ROWS[:2]) + "\n2025-06-04T10:00:10+09:00,40\n",
            "out of range",
        ),
        (
            "time,regulation\n" + "\n".join(GOOD_ROWS[:2]) + "\n2025-06-04T10:00:10+09:00,NaN\n",
            "missing value (NaN)",
        ),
    ],
)
def test_bad_regulation_csv_gives_one_clear_line(tmp_path, body, expected):
    path = _scenario(tmp_path, body)
    res = subprocess.run(
        [*TWIN, "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "signals.regulation.path" in res.stderr and "reg.csv" in res.stderr
    assert expected in res.stderr


def test_csv_not_covering_the_run_is_refused_by_run(tmp_path):
    path = _scenario(tmp_path, "time,regulation\n" + "\n".join(GOOD_ROWS) + "\n", duration="1min")
    res = subprocess.run(
        [*TWIN, "run", str(path), "--out", str(tmp_path / "out"), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "signals.regulation.path" in res.stderr and "before the simulation end" in res.stderr


def test_good_csv_validates_and_runs(tmp_path):
    path = _scenario(tmp_path, "time,regulation\n" + "\n".join(GOOD_ROWS) + "\n")
    res = subprocess.run(
        [*TWIN, "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr


def test_bad_signal_parameters_map_to_scenario_field_paths():
    from twin.catalog import validate_scenario_data
    from twin.config import ScenarioError

    data = yaml.safe_load((ROOT / "scenarios" / "frequency_event.yaml").read_text())
    data["signals"]["frequency"]["events"][0]["kind"] = "jump"
    data["signals"]["co2"] = {"night_kg_per_kwh": 2.0}
    with pytest.raises(ScenarioError) as err:
        validate_scenario_data(data, "fe.yaml")
    fields = dict(err.value.problems)
    assert "'jump' is not one of" in fields["signals.frequency.events.0.kind"]
    assert "must be within" in fields["signals.co2.night_kg_per_kwh"]


def test_validate_builds_the_signals_and_finds_a_short_csv(tmp_path):
    path = _scenario(tmp_path, "time,regulation\n" + "\n".join(GOOD_ROWS) + "\n", duration="1min")
    res = subprocess.run(
        [*TWIN, "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "before the simulation end" in res.stderr


def test_relative_csv_path_resolves_from_the_scenario_folder(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    (study / "reg.csv").write_text("time,regulation\n" + "\n".join(GOOD_ROWS) + "\n")
    data = yaml.safe_load((ROOT / "scenarios" / "v2g_regulation.yaml").read_text())
    data.update(start="2025-06-04T10:00:00", duration="20s", step="5s")
    data["signals"] = {"regulation": {"source": "csv", "path": "reg.csv"}}
    (study / "scenario.yaml").write_text(yaml.safe_dump(data))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = subprocess.run(
        [*TWIN, "validate", str(study / "scenario.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=elsewhere,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, res.stderr


def _price_scenario(tmp_path: Path, rows: list[str]) -> Path:
    (tmp_path / "prices.csv").write_text("time,price_per_kwh\n" + "\n".join(rows) + "\n")
    data = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    data.update(duration="1d")
    data["signals"]["prices"] = {"source": "csv", "path": "prices.csv"}  # relative to the scenario
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_price_csv_drives_the_run(tmp_path):
    # Hourly day-ahead-like prices: cheapest at 03:00, dearest at 18:00.
    prices = [0.30 - 0.2 * (h == 3) + 0.3 * (h == 18) + 0.001 * h for h in range(24)]
    rows = [f"2025-06-04T{h:02d}:00:00+09:00,{p:.3f}" for h, p in enumerate(prices)]
    path = _price_scenario(tmp_path, rows)
    out = tmp_path / "out"
    res = subprocess.run(
        [*TWIN, "run", str(path), "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path.parent,
    )
    assert res.returncode == 0, res.stderr
    import pandas as pd

    table = pd.read_parquet(out / "timeseries.parquet")
    hour = pd.to_datetime(table["time"], utc=True).dt.tz_convert("Asia/Tokyo").dt.hour
    assert table["signal.price_per_kwh"].to_numpy() == pytest.approx(
        [round(prices[h], 3) for h in hour]
    )
    # The quantile ranks each step within its day: 03:00 is the cheapest of the day.
    assert table.loc[hour == 3, "signal.price_quantile"].max() == pytest.approx(4 / 96)


def test_short_price_csv_is_a_clear_error(tmp_path):
    path = _price_scenario(
        tmp_path, ["2025-06-04T00:00:00+09:00,0.2", "2025-06-04T01:00:00+09:00,0.2"]
    )
    res = subprocess.run(
        [*TWIN, "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "signals.prices.path" in res.stderr and "prices.csv" in res.stderr
