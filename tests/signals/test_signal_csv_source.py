"""CSV signals: a good file resampled by hand, and every kind of bad file named with its problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.signals.csv_source import load_signal_csv
from twin.signals.errors import SignalFileError

START = dt.datetime(2024, 6, 1, 10, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def _times(n: int, step_s: int, offset_s: int = 0) -> list[str]:
    return [(START + dt.timedelta(seconds=offset_s + i * step_s)).isoformat() for i in range(n)]


def _write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _frequency_rows(values: list[str], step_s: int = 1, offset_s: int = 0) -> list[str]:
    return [f"{t},{v}" for t, v in zip(_times(len(values), step_s, offset_s), values, strict=True)]


def test_good_file_is_held_onto_steps(tmp_path: Path) -> None:
    # 5-s regulation file, other zone (UTC) and an extra column; simulated at 2-s steps for 20 s.
    utc_times = [
        (START + dt.timedelta(seconds=5 * i)).astimezone(dt.UTC).isoformat() for i in range(4)
    ]
    rows = ["# recorded test signal"] + [
        f"{t},{v},x" for t, v in zip(utc_times, ["0.1", "-0.5", "1", "0"], strict=True)
    ]
    path = _write(tmp_path, "reg.csv", "time,regulation,note", rows)
    values = load_signal_csv(path, "regulation", START, 2.0, 10)
    # Steps at 0,2,4 | 6,8 | 10,12,14 | 16,18 s -> rows at 0 | 5 | 10 | 15 s.
    np.testing.assert_array_equal(values, [0.1, 0.1, 0.1, -0.5, -0.5, 1, 1, 1, 0, 0])


def _assert_problem(
    path: Path, kind: str, n_steps: int, *phrases: str, step_s: float = 1.0
) -> None:
    with pytest.raises(SignalFileError) as info:
        load_signal_csv(path, kind, START, step_s, n_steps)
    message = str(info.value)
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message, message


def test_missing_file(tmp_path: Path) -> None:
    _assert_problem(tmp_path / "nope.csv", "frequency", 5, "file not found")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    _assert_problem(path, "frequency", 5, "empty")


def test_missing_value_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "cols.csv", "time,freq", _frequency_rows(["50.0"] * 5))
    _assert_problem(path, "frequency", 5, "missing column", "frequency_hz")


@pytest.mark.parametrize("naive", ["2024-06-01T10:00:02", "2024-06-01"])
def test_time_without_zone(tmp_path: Path, naive: str) -> None:
    rows = _frequency_rows(["50.0"] * 5)
    rows[2] = f"{naive},50.0"
    path = _write(tmp_path, "naive.csv", "time,frequency_hz", rows)
    _assert_problem(path, "frequency", 5, "line 4", "no time zone")


def test_time_not_iso(tmp_path: Path) -> None:
    rows = _frequency_rows(["50.0"] * 5)
    rows[1] = "yesterday 10:00:01+09:00,50.0"
    path = _write(tmp_path, "words.csv", "time,frequency_hz", rows)
    _assert_problem(path, "frequency", 5, "line 3", "not an ISO-8601 time")


def test_duplicate_time(tmp_path: Path) -> None:
    rows = _frequency_rows(["50.0"] * 5)
    rows[3] = rows[2]
    path = _write(tmp_path, "dup.csv", "time,frequency_hz", rows)
    _assert_problem(path, "frequency", 5, "line 5", "duplicate time")


def test_time_going_backwards(tmp_path: Path) -> None:
    rows = _frequency_rows(["50.0"] * 5)
    rows[1], rows[2] = rows[2], rows[1]
    path = _write(tmp_path, "back.csv", "time,frequency_hz", rows)
    _assert_problem(path, "frequency", 5, "line 4", "backwards")


def test_gap_larger_than_declared_step(tmp_path: Path) -> None:
    rows = _frequency_rows(["50.0"] * 10)
    del rows[4:7]  # 4 s gap in a 1-s file
    path = _write(tmp_path, "gap.csv", "time,frequency_hz", rows)
    _assert_problem(path, "frequency", 10, "gap of 4 s", "file step of 1 s")


def test_nan_value(tmp_path: Path) -> None:
    rows = _frequency_rows(["50.0", "50.01", "", "49.99", "50.0"])
    path = _write(tmp_path, "nan.csv", "time,frequency_hz", rows)
    _assert_problem(path, "frequency", 5, "line 4", "missing value (NaN)")


def test_non_numeric_value(tmp_path: Path) -> None:
    rows = _frequency_rows(["50.0", "50;01", "50.0", "50.0", "50.0"])
    path = _write(tmp_path, "text.csv", "time,frequency_hz", rows)
    _assert_problem(path, "frequency", 5, "line 3", "not a number")


def test_frequency_in_millihertz(tmp_path: Path) -> None:
    path = _write(tmp_path, "mhz.csv", "time,frequency_hz", _frequency_rows(["50012"] * 5))
    _assert_problem(path, "frequency", 5, "line 2", "out of range", "mHz")


def test_file_starts_after_simulation(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "late.csv", "time,frequency_hz", _frequency_rows(["50.0"] * 5, offset_s=3)
    )
    _assert_problem(path, "frequency", 5, "after the simulation start")


def test_file_ends_before_simulation(tmp_path: Path) -> None:
    path = _write(tmp_path, "short.csv", "time,frequency_hz", _frequency_rows(["50.0"] * 5))
    # Rows 0..4 s each hold 1 s -> covered until 5 s; the run needs 8 s.
    _assert_problem(path, "frequency", 8, "before the simulation end")
    assert load_signal_csv(path, "frequency", START, 1.0, 5).size == 5  # exactly covered is fine


def test_co2_in_grams(tmp_path: Path) -> None:
    rows = [f"{t},{v}" for t, v in zip(_times(3, 300), ["700", "710", "690"], strict=True)]
    path = _write(tmp_path, "co2.csv", "time,co2_kg_per_kwh", rows)
    _assert_problem(path, "co2", 3, "g/kWh", step_s=300.0)
