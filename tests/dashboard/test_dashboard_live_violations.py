"""The Grid tab's violations table during a live run: the snapshot's `violations` (the run's
tally so far) into the View, the same table replay draws, and what the tally covers."""

from __future__ import annotations

import json

import numpy as np

from twin.dashboard import tables
from twin.dashboard.live import view_from_snapshot
from twin.dashboard.replay import load_run, view_from_run
from twin.telemetry import Snapshot


def live_snapshot(violations: dict | None, time_s: int = 7 * 900) -> Snapshot:
    meta = {
        "scenario": "default",
        "timezone": "Asia/Tokyo",
        "start": "2025-06-04T00:00:00+09:00",
        "step_s": 900,
        "duration_s": 8 * 900,
        "grid": {"name": "g", "params": None},
        "windows": {"push_up": [36000, 50400], "push_down": [57600, 72000]},
        "ids": {"bus": [], "line": [], "trafo": []},
    }
    head = {
        "time_s": time_s,
        "time_local": f"2025-06-04T{time_s // 3600:02d}:{time_s % 3600 // 60:02d}:00+09:00",
        "total": {"p_kw": 1.0},
        "fleets": {},
        "ems": {"contributions_kw": {}},
        "violations": violations,
    }
    return Snapshot(header=head, meta=meta, arrays={}, history={"time_s": np.array([0.0])})


def test_a_live_view_draws_the_same_violations_table_as_replay(finished_run):
    summary = json.loads((finished_run / "summary.json").read_text())
    block = summary["violations"]
    live = view_from_snapshot(live_snapshot(block))
    replay = view_from_run(finished_run, load_run(finished_run), 7)
    assert live.violations == replay.violations == block
    live_table = tables.violations(live.violations)
    assert live_table.equals(tables.violations(replay.violations))
    row = live_table.set_index("").loc["Transformer overload"]
    ctrl = block["controlled"]["trafo_overload_steps"]
    base = block["baseline"]["trafo_overload_steps"]
    assert row["controlled"] == str(ctrl) and row["baseline (uncontrolled)"] == str(base)
    assert row["controlled - baseline"] == str(ctrl - base)


def test_a_live_view_without_a_tally_has_none():
    assert view_from_snapshot(live_snapshot(None)).violations is None
    snap = live_snapshot(None)
    del snap.header["violations"]  # a message of a twin from before the field existed
    assert view_from_snapshot(snap).violations is None


def test_the_coverage_note_says_how_many_steps_are_counted():
    half = {"controlled": {"steps": 48}}
    assert tables.violations_coverage(half, 96) == (
        "so far: the first 48 of 96 steps (counted a block of steps at a time)"
    )
    assert (
        tables.violations_coverage({"controlled": {"steps": 96}}, 96) == "all 96 steps of the run"
    )
    assert tables.violations_coverage({}, 96) == "so far (steps counted not known)"


def test_the_worst_elements_are_listed_per_grid_and_kind():
    block = {
        "controlled": {"worst": {}},
        "baseline": {
            "worst": {
                "trafo": {
                    "element": 2,
                    "name": "T2",
                    "excess": 97.25,
                    "excess_unit": "percentage points",
                    "step": 0,
                    "time": "2025-06-04T00:00:00+09:00",
                }
            }
        },
    }
    worst = tables.violation_worst(block)
    assert worst.to_dict("records") == [
        {
            "grid": "baseline",
            "element": "trafo 2 (T2)",
            "beyond its limit by": "97.25 percentage points",
            "at": "2025-06-04T00:00:00+09:00",
        }
    ]
    assert tables.violation_worst({"controlled": {"worst": {}}}).empty
