"""build_signal: dispatch by table, parameter checks, seeds, CSV through the registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.signals.errors import SignalConfigError, SignalFileError
from twin.signals.frequency import grid_frequency_hz
from twin.signals.registry import SIGNAL_SOURCES, build_signal

START = dt.datetime(2024, 6, 1, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.mark.parametrize("kind", sorted(SIGNAL_SOURCES))
def test_every_kind_builds_with_defaults_deterministically(kind: str) -> None:
    params = {"blocks": [{"at": "1h", "reduction_kw": 5}]} if kind == "reserve" else {}
    a = build_signal(kind, params, START, 60.0, 300, seed=9)
    b = build_signal(kind, params, START, 60.0, 300, seed=9)
    assert a.shape == (300,) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)


def test_registry_equals_direct_call_and_coerces_durations() -> None:
    events = [{"at": 30, "kind": "hold", "to_hz": 59.5, "duration": 10}]
    built = build_signal(
        "frequency",
        {
            "source": "synthetic",
            "nominal_hz": 60,
            "noise_std_hz": "0.03",
            "correlation_time_s": "1min",
            "events": events,
        },
        START,
        1.0,
        120,
        seed=3,
    )
    direct = grid_frequency_hz(
        START,
        1.0,
        120,
        3,
        nominal_hz=60.0,
        noise_std_hz=0.03,
        correlation_time_s=60.0,
        events=events,
    )
    np.testing.assert_array_equal(built, direct)
    np.testing.assert_array_equal(built[30:40], 59.5)


def test_kinds_draw_from_separate_streams() -> None:
    freq = build_signal(
        "frequency", {"noise_std_hz": 1.0, "correlation_time_s": 1e-3}, START, 1.0, 500, seed=1
    )
    reg = build_signal(
        "regulation",
        {"update_s": 1.0, "correlation_time_s": 1e-3, "neutral_window_s": 0},
        START,
        1.0,
        500,
        seed=1,
    )
    assert abs(np.corrcoef(freq - 50.0, reg)[0, 1]) < 0.2


@pytest.mark.parametrize(
    ("kind", "params", "field", "phrase"),
    [
        ("wind", {}, "wind", "unknown signal kind"),
        ("frequency", {"source": "scada"}, "frequency.source", "unknown source"),
        ("frequency", {"noise_hz": 0.02}, "frequency.noise_hz", "accepted: nominal_hz"),
        ("frequency", {"noise_std_hz": "lots"}, "frequency.noise_std_hz", "expected a number"),
        ("frequency", {"noise_std_hz": -1}, "frequency.noise_std_hz", "negative"),
        (
            "frequency",
            {"events": [{"at": 5, "kind": "dip", "to_hz": 49}]},
            "frequency.events[0].kind",
            "not one of",
        ),
        ("regulation", {"source": "csv"}, "regulation.path", "required"),
        ("reserve", {"product": "tertiary_3"}, "reserve.product", "unknown"),
    ],
)
def test_bad_config_names_field(kind: str, params: dict, field: str, phrase: str) -> None:
    with pytest.raises(SignalConfigError) as info:
        build_signal(kind, params, START, 1.0, 10, seed=0)
    assert info.value.field == field
    assert phrase in str(info.value)


def test_csv_source_with_relative_path(tmp_path: Path) -> None:
    rows = [
        f"{(START + dt.timedelta(minutes=5 * i)).isoformat()},{0.5 + 0.01 * i}" for i in range(12)
    ]
    (tmp_path / "co2.csv").write_text(
        "time,co2_kg_per_kwh\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    values = build_signal(
        "co2", {"source": "csv", "path": "co2.csv"}, START, 600.0, 6, seed=0, base_dir=tmp_path
    )
    np.testing.assert_allclose(values, [0.50, 0.52, 0.54, 0.56, 0.58, 0.60])
    with pytest.raises(SignalFileError, match="file not found"):
        build_signal(
            "co2",
            {"source": "csv", "path": "other.csv"},
            START,
            600.0,
            6,
            seed=0,
            base_dir=tmp_path,
        )


def test_zero_steps_validates_without_building() -> None:
    assert build_signal("fems", {"charge_kw": 3}, START, 60.0, 0, seed=0).size == 0
    with pytest.raises(SignalConfigError):
        build_signal("fems", {"charge_kw": -3}, START, 60.0, 0, seed=0)
