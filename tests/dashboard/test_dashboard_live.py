"""live: a telemetry snapshot (as the wire carries it) into a View."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.dashboard.history import P_KW, RESPONSE_KW
from twin.dashboard.live import grid_now_from_snapshot, history_from_snapshot, view_from_snapshot
from twin.telemetry import Snapshot, wire

START = "2025-06-04T00:00:00+09:00"


def snapshot(**header: object) -> Snapshot:
    meta = {
        "scenario": "demo",
        "timezone": "Asia/Tokyo",
        "start": START,
        "step_s": 900,
        "duration_s": 86400,
        "grid": {"name": "g", "params": None},
        "windows": {"push_up": [36000, 50400], "push_down": [57600, 72000]},
        "soc_bins": [0.0, 0.5, 1.0],
        "ids": {"bus": ["0", "1"], "line": ["0"], "trafo": ["0"]},
    }
    head = {
        "time_s": 1800,
        "time_local": "2025-06-04T00:30:00+09:00",
        "total": {"p_kw": 12.0},
        "fleets": {"a": {"p_kw": 12.0, "soc_hist": [3, 4]}},
        "ems": {"contributions_kw": {"fcr": 1.0}},
        **header,
    }
    history = {
        "time_s": np.array([0.0, 900.0, 1800.0]),
        "p_kw": np.array([1.0, 2.0, 3.0]),
        "baseline_p_kw": np.array([1.0, 1.0, 1.0]),
        "frequency_hz": np.array([50.0, 50.0, 49.9]),
        "response_kw": np.array([0.0, 1.0, 2.0]),
        "fleet.a.p_kw": np.array([1.0, 2.0, 3.0]),
        "contribution.fcr_kw": np.array([0.0, 0.5, 1.0]),
        "trafo_loading_pct.0": np.array([40.0, 50.0, 60.0]),
    }
    arrays = {"vm_pu": np.array([1.0, 0.98]), "line_loading_pct": np.array([10.0, 20.0])}
    return Snapshot(header=head, meta=meta, arrays=arrays, history=history)


def test_history_series_are_sorted_by_kind():
    h = history_from_snapshot(snapshot().history, START, "Asia/Tokyo")
    assert h.main[P_KW].tolist() == [1.0, 2.0, 3.0]
    assert h.main[RESPONSE_KW].tolist() == [0.0, 1.0, 2.0]
    assert "fleet.a.p_kw" not in h.main  # per-fleet power is no chart series
    assert list(h.contributions.columns) == ["fcr"]
    assert list(h.trafo_loading.columns) == ["0"]
    assert h.index[2] == pd.Timestamp("2025-06-04 00:30", tz="Asia/Tokyo")


def test_view_of_a_running_step():
    v = view_from_snapshot(snapshot())
    assert (v.step_index, v.step_count) == (2, 96)  # 1800 s of 900 s steps; 24 h
    assert v.kpi_title == "KPIs so far (this run)"
    assert v.timeline.windows["push_up"] == (36000, 50400)
    # the x axis spans the whole run, up to the start of its last step
    assert v.timeline.x_range == (
        pd.Timestamp("2025-06-04 00:00", tz="Asia/Tokyo"),
        pd.Timestamp("2025-06-04 23:45", tz="Asia/Tokyo"),
    )
    assert not v.timeline.mark_now
    assert v.hil is None and v.step_lateness_s is None


def test_a_finished_run_shows_its_final_kpis_and_hil():
    v = view_from_snapshot(
        snapshot(
            final={"status": "completed", "kpis": {"pjm_score": 0.9}},
            kpis_so_far={"pjm_score": 0.5},
            hil={"chargers": {"CP1": {"status": "online"}}, "step_lateness_s": 0.25},
        )
    )
    assert v.kpis == {"pjm_score": 0.9}
    assert v.kpi_title == "KPIs of the finished run (completed)"
    assert v.hil == {"CP1": {"status": "online"}} and v.step_lateness_s == 0.25


def test_grid_arrays_that_do_not_match_their_ids_are_left_out():
    snap = snapshot()
    grid = grid_now_from_snapshot(snap.arrays, snap.meta["ids"])
    assert grid["vm_pu"].to_dict() == {"0": 1.0, "1": 0.98}
    assert "line_loading_pct" not in grid  # two values for one line
    assert "trafo_loading_pct" not in grid  # not sent


def test_the_wire_names_the_main_series_as_the_charts_do():
    from twin.dashboard.live import MAIN_SERIES

    wire_names = {*wire.HISTORY_MAIN, *wire.HISTORY_FREQUENCY, *wire.HISTORY_GRID}
    assert set(MAIN_SERIES) <= wire_names


def test_per_item_series_are_read_back_through_the_wire_names():
    from twin.dashboard.live import service_of, trafo_of

    assert service_of(wire.history_contribution_kw("peak_shaving")) == "peak_shaving"
    assert trafo_of(wire.history_trafo_loading_pct("12")) == "12"
    assert service_of(wire.history_trafo_loading_pct("12")) is None
    assert service_of("p_kw") is None
