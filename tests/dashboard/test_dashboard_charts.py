"""charts and tables: the figures and tables drawn from small hand-made data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from twin.dashboard import charts, tables
from twin.dashboard.history import History
from twin.dashboard.network import Topology, geo_xy
from twin.dashboard.view import Timeline

TZ = "Asia/Tokyo"
INDEX = pd.date_range("2025-06-04 00:00", periods=4, freq="6h", tz=TZ)
TIMELINE = Timeline(timezone=TZ, windows={}, now=INDEX[1], mark_now=True)


def history(**frames: pd.DataFrame) -> History:
    main = pd.DataFrame(
        {"p_kw": [1.0, 2.0, 3.0, 4.0], "baseline_p_kw": [2.0, 2.0, 2.0, 2.0]}, index=INDEX
    )
    return History(main=frames.pop("main", main), **frames)


def day(hour: float) -> pd.Timestamp:
    return pd.Timestamp("2025-06-04", tz=TZ) + pd.Timedelta(hours=hour)


def test_window_spans_are_clipped_and_split_over_midnight():
    windows = {"push_up": (10 * 3600, 14 * 3600), "night": (22 * 3600, 2 * 3600)}
    spans = charts.window_spans(windows, day(12), day(24 + 12))
    assert ("push_up", day(12), day(14)) in spans  # clipped at the start
    assert ("night", day(22), day(24)) in spans  # the part before midnight
    assert ("night", day(24), day(26)) in spans  # the part after it, next day
    assert ("push_up", day(34), day(36)) in spans  # clipped at the end
    # nothing else: day one's 00-02 lies before the first time, day two's 22-24 after the last
    assert len(spans) == 4


def test_power_figure_draws_target_only_when_recorded_and_marks_now():
    fig = charts.power_figure(history(), TIMELINE)
    assert [t.name for t in fig.data] == ["baseline (uncontrolled)", "fleet power"]
    assert list(fig.data[1].y) == [1.0, 2.0, 3.0, 4.0]
    assert len(fig.layout.shapes) == 1  # the dotted "now" line only (no windows)
    main = history().main.assign(target_kw=[5.0, 5.0, 5.0, 5.0])
    fig = charts.power_figure(history(main=main), TIMELINE)
    assert "EMS target" in [t.name for t in fig.data]


def test_hard_floor_is_target_minus_contributions():
    main = history().main.assign(target_kw=[10.0, 10.0, 10.0, 10.0])
    contrib = pd.DataFrame({"fcr": [1.0, 2.0, np.nan, 0.0], "peak": [3.0, 0.0, 1.0, -2.0]}, INDEX)
    h = history(main=main, contributions=contrib)
    assert charts.hard_floor(h).tolist() == [6.0, 8.0, 9.0, 12.0]  # a gap counts as 0
    fig = charts.contributions_figure(h, TIMELINE)
    assert [t.name for t in fig.data] == ["hard floor (start)", "fcr", "peak"]
    assert charts.contributions_figure(history(), TIMELINE) is None


def test_trafo_figure_falls_back_to_the_maximum():
    main = history().main.assign(trafo_loading_max_pct=[50.0, 60.0, 70.0, 80.0])
    fig = charts.trafo_figure(history(main=main), TIMELINE)
    assert [t.name for t in fig.data] == ["max of all transformers"]
    per = pd.DataFrame({"0": [1.0] * 4, "1": [2.0] * 4}, INDEX)
    fig = charts.trafo_figure(history(main=main, trafo_loading=per), TIMELINE)
    assert [t.name for t in fig.data] == ["trafo 0", "trafo 1"]
    assert charts.trafo_figure(history(), TIMELINE) is None
    assert charts.frequency_figure(history(), TIMELINE) is None


def test_soc_histogram_labels_in_percent():
    assert charts.soc_bin_labels([0.0, 0.25, 1.0]) == ["0-25", "25-100"]
    fig = charts.soc_histogram_figure([0.0, 0.5, 1.0], {"a": [3, 1], "b": [0, 2]})
    assert [list(t.y) for t in fig.data] == [[3, 1], [0, 2]]
    assert fig.layout.barmode == "stack"


def test_loading_colours_by_bin():
    assert charts.loading_colour(49.9) == charts.loading_colour(0.0)
    assert charts.loading_colour(50.0) != charts.loading_colour(49.9)
    assert charts.loading_colour(250.0) == charts.loading_colour(100.0)
    assert charts.loading_colour(math.nan) == charts.NO_DATA_COLOUR


def topology() -> Topology:
    bus = pd.DataFrame(
        {"name": ["hv", "lv1", "lv2"], "vn_kv": [20.0, 0.4, 0.4], "x": [0.0, 1.0, 2.0]}
        | {"y": [0.0, 0.0, 1.0]},
        index=["0", "1", "2"],
    )
    line = pd.DataFrame({"from_bus": ["1"], "to_bus": ["2"], "name": ["L"]}, index=["0"])
    trafo = pd.DataFrame({"hv_bus": ["0"], "lv_bus": ["1"], "name": ["T"]}, index=["0"])
    return Topology(bus=bus, line=line, trafo=trafo, geographic=False)


def test_network_figure_puts_each_line_in_its_loading_bin():
    grid = {"line_loading_pct": pd.Series([85.0], index=["0"])}
    fig = charts.network_figure(grid, topology())
    names = [t.name for t in fig.data]
    assert "line 80-100 %" in names and "line < 50 %" not in names
    line = fig.data[names.index("line 80-100 %")]
    assert list(line.x)[:2] == [1.0, 2.0] and math.isnan(list(line.x)[2])
    fig = charts.network_figure({}, topology())
    assert "line no data" in [t.name for t in fig.data]


def test_geo_xy_needs_distinct_coordinates():
    point = '{"type": "Point", "coordinates": [%s, %s]}'
    spread = pd.DataFrame({"geo": [point % (139.9, 35.8), point % (140.0, 35.9)]})
    assert geo_xy(spread).tolist() == [[139.9, 35.8], [140.0, 35.9]]
    same = pd.DataFrame({"geo": [point % (139.9, 35.8)] * 2})
    assert geo_xy(same) is None
    assert geo_xy(pd.DataFrame({"geo": [point % (1, 2), None]})) is None


def test_worst_elements_sorted_with_names():
    grid = {
        "vm_pu": pd.Series([1.0, 0.95, 0.97], index=["0", "1", "2"]),
        "trafo_loading_pct": pd.Series([88.0], index=["0"]),
    }
    worst = tables.worst_elements(grid, topology())
    assert worst["Lowest bus voltages"]["bus"].tolist() == ["1", "2", "0"]
    assert worst["Lowest bus voltages"]["name"].tolist() == ["lv1", "lv2", "hv"]
    assert worst["Highest bus voltages"]["bus"].tolist() == ["0", "2", "1"]
    assert list(worst)[:2] == ["Highest bus voltages", "Lowest bus voltages"]
    assert worst["Most loaded transformers"]["loading (%)"].tolist() == ["88.0"]
    assert "Most loaded lines" not in worst
    assert tables.worst_elements(grid, None)["Lowest bus voltages"]["name"].tolist() == [""] * 3


def test_hil_link_state_from_status_or_flag():
    frame = tables.hil_chargers(
        {
            "b": {"online": 0.0, "power_kw": 7.4},
            "a": {"status": "degraded"},
            "c": {"online": math.nan},
            "d": {"online": 1.0},
        }
    )
    assert frame["charger"].tolist() == ["a", "b", "c", "d"]
    assert frame["link"].tolist() == ["degraded", "offline", "?", "online"]
    assert frame["power (kW)"].tolist()[1] == "7.4"


@pytest.mark.parametrize("count", [2, 9])
def test_last_events_keeps_the_newest(count):
    events = [{"sim_time_s": k, "charger_id": "a", "kind": "x", "extra": 1} for k in range(count)]
    tail = tables.last_events(events)
    assert tail["sim time (s)"].tolist() == list(range(max(0, count - 5), count))
    assert "extra" not in tail
