"""Plotly figures: pure functions from data (a `History`, a `Timeline`, grid values) to a figure.

A builder returns None when the run has nothing to draw, so the page can say why instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from twin.dashboard.formatting import format_value
from twin.dashboard.history import (
    BASELINE_P_KW,
    FREQUENCY_HZ,
    P_KW,
    RESPONSE_KW,
    TARGET_KW,
    TRAFO_LOADING_MAX_PCT,
    History,
    baseline_series,
)
from twin.dashboard.network import Topology
from twin.dashboard.view import GridNow, Timeline

CHART_HEIGHT_PX = 300
NETWORK_HEIGHT_PX = 420
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}
LEGEND_ON_TOP = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}
LOADING_BINS = (
    (0.0, 50.0, "#2ca02c", "< 50 %"),
    (50.0, 80.0, "#bcbd22", "50-80 %"),
    (80.0, 100.0, "#ff7f0e", "80-100 %"),
    (100.0, np.inf, "#d62728", ">= 100 %"),
)
"""Line and transformer loading colours: (from %, below %, colour, legend label)."""
NO_DATA_COLOUR = "#c7c7c7"
WINDOW_COLOURS = {
    "push_up": ("rgba(44,160,44,0.12)", "push-up"),
    "push_down": ("rgba(214,39,40,0.10)", "push-down"),
}
MAX_SHADED_SPAN = pd.Timedelta(days=31)
"""Longer runs get no window shading: hundreds of rectangles would hide the data."""
FLEET_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
DAY_S = 86400


def time_layout(
    fig: go.Figure, timeline: Timeline, y_title: str, height: int = CHART_HEIGHT_PX
) -> go.Figure:
    """The layout every time chart shares: local-time x axis over the run, legend on top."""
    fig.update_layout(height=height, margin=MARGIN, legend=LEGEND_ON_TOP, hovermode="x unified")
    fig.update_xaxes(title_text=f"local time ({timeline.timezone})")
    if timeline.x_range is not None:
        fig.update_xaxes(range=list(timeline.x_range))
    fig.update_layout(yaxis={"title": {"text": y_title}})  # only the left axis: y2 has its own
    return fig


def window_spans(
    windows: dict[str, tuple[int, int]], first: pd.Timestamp, last: pd.Timestamp
) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Every day's flexibility windows within [first, last], clipped to it, as (name, x0, x1).

    A window whose start is after its end runs over midnight: it is drawn as its two parts.
    """
    out: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []
    day = first.normalize()
    while day <= last:
        for name, (start_s, end_s) in windows.items():
            parts = [(start_s, end_s)] if start_s <= end_s else [(0, end_s), (start_s, DAY_S)]
            for a, b in parts:
                x0, x1 = day + pd.Timedelta(seconds=a), day + pd.Timedelta(seconds=b)
                if x1 < first or x0 > last:
                    continue
                out.append((name, max(x0, first), min(x1, last)))
        day += pd.Timedelta(days=1)
    return out


def shade_windows(fig: go.Figure, history: History, timeline: Timeline) -> None:
    if timeline.x_range is not None:
        first, last = timeline.x_range
    elif len(history.index):
        first, last = history.index[0], history.index[-1]
    else:
        return
    if last - first > MAX_SHADED_SPAN:
        return
    for name, x0, x1 in window_spans(timeline.windows, first, last):
        colour, label = WINDOW_COLOURS.get(name, ("rgba(128,128,128,0.1)", name))
        fig.add_vrect(
            x0=x0,
            x1=x1,
            fillcolor=colour,
            line_width=0,
            layer="below",
            annotation_text=label,
            annotation_position="top left",
            annotation_font_size=10,
        )


def mark_now(fig: go.Figure, timeline: Timeline) -> None:
    if timeline.mark_now:
        fig.add_vline(x=timeline.now, line_dash="dot", line_color="#444")


def power_figure(history: History, timeline: Timeline) -> go.Figure:
    """Fleet power against the EMS target and the uncontrolled baseline, windows shaded."""
    h = history.main
    fig = go.Figure()
    shade_windows(fig, history, timeline)
    fig.add_scatter(
        x=h.index,
        y=h[BASELINE_P_KW],
        name="baseline (uncontrolled)",
        line={"color": "#7f7f7f", "dash": "dash"},
    )
    if TARGET_KW in h:
        fig.add_scatter(
            x=h.index, y=h[TARGET_KW], name="EMS target", line={"color": "#ff7f0e", "dash": "dot"}
        )
    fig.add_scatter(
        x=h.index, y=h[P_KW], name="fleet power", line={"color": "#1f77b4", "width": 2.5}
    )
    mark_now(fig, timeline)
    return time_layout(fig, timeline, "power (kW, + charging)")


def hard_floor(history: History) -> pd.Series | None:
    """Services move the target up from the hard floor (the least the fleet must take for SOC
    floors and departures), so floor = EMS target - sum of contributions; None without target."""
    if TARGET_KW not in history.main:
        return None
    return history.main[TARGET_KW] - history.contributions.fillna(0.0).sum(axis=1)


def contributions_figure(history: History, timeline: Timeline) -> go.Figure | None:
    """Each EMS service's change of the target over time, with the floor they start from."""
    c = history.contributions
    if c.columns.empty:
        return None
    fig = go.Figure()
    floor = hard_floor(history)
    if floor is not None:
        fig.add_scatter(
            x=c.index, y=floor, name="hard floor (start)", line={"color": "#7f7f7f", "dash": "dash"}
        )
    for service in c.columns:
        fig.add_scatter(x=c.index, y=c[service], name=str(service).replace("_", " "))
    mark_now(fig, timeline)
    return time_layout(fig, timeline, "change of the EMS target (kW)", height=250)


def soc_bin_labels(edges: Sequence[float]) -> list[str]:
    """Bin edges as fractions (0..1) -> "0-10", "10-20", ... in percent."""
    pct = np.asarray(edges, dtype=float) * 100
    return [f"{a:.0f}-{b:.0f}" for a, b in zip(pct[:-1], pct[1:], strict=True)]


def soc_histogram_figure(edges: Sequence[float], counts: dict[str, Sequence[float]]) -> go.Figure:
    """Live: how many EVs of each fleet are in each SOC bin now, stacked."""
    labels = soc_bin_labels(edges)
    fig = go.Figure()
    for fleet, per_bin in counts.items():
        fig.add_bar(x=labels, y=list(per_bin), name=fleet)
    fig.update_layout(barmode="stack", height=CHART_HEIGHT_PX, margin=MARGIN, legend=LEGEND_ON_TOP)
    fig.update_xaxes(title_text="state of charge (%)")
    fig.update_yaxes(title_text="EVs (count)")
    return fig


def soc_lines_figure(history: History, fleets: Sequence[str], timeline: Timeline) -> go.Figure:
    """Replay: each fleet's mean SOC (solid) and minimum (dotted, same colour) over time; the
    results keep no per-EV SOC, so there is no distribution to draw."""
    fig = go.Figure()
    for k, fleet in enumerate(fleets):
        colour = FLEET_PALETTE[k % len(FLEET_PALETTE)]
        if fleet in history.soc_mean_pct:
            s = history.soc_mean_pct[fleet]
            fig.add_scatter(x=s.index, y=s, name=fleet, legendgroup=fleet, line={"color": colour})
        if fleet in history.soc_min_pct:
            s = history.soc_min_pct[fleet]
            fig.add_scatter(
                x=s.index,
                y=s,
                name=f"{fleet} min",
                legendgroup=fleet,
                showlegend=False,
                line={"color": colour, "dash": "dot", "width": 1},
            )
    mark_now(fig, timeline)
    return time_layout(fig, timeline, "state of charge (%)")


def frequency_figure(history: History, timeline: Timeline) -> go.Figure | None:
    """Grid frequency (left axis) and the fleet's response, power - baseline (right axis)."""
    h = history.main
    if FREQUENCY_HZ not in h:
        return None
    fig = go.Figure()
    fig.add_scatter(x=h.index, y=h[FREQUENCY_HZ], name="grid frequency", line={"color": "#9467bd"})
    fig.add_scatter(
        x=h.index,
        y=h[RESPONSE_KW],
        name="fleet response (power - baseline)",
        yaxis="y2",
        line={"color": "#1f77b4"},
    )
    fig.update_layout(
        yaxis2={"title": {"text": "response (kW)"}, "overlaying": "y", "side": "right"}
    )
    mark_now(fig, timeline)
    return time_layout(fig, timeline, "frequency (Hz)")


def trafo_figure(history: History, timeline: Timeline) -> go.Figure | None:
    """One line per transformer when the run has few, else the maximum of all; 100 % marked."""
    if not history.trafo_loading.columns.empty:
        series = {f"trafo {t}": history.trafo_loading[t] for t in history.trafo_loading}
    elif TRAFO_LOADING_MAX_PCT in history.main:
        series = {"max of all transformers": history.main[TRAFO_LOADING_MAX_PCT]}
    else:
        return None
    fig = go.Figure()
    for label, s in series.items():
        fig.add_scatter(x=s.index, y=s, name=label)
    fig.add_hline(
        y=100,
        line_dash="dash",
        line_color="#d62728",
        annotation_text="100 % rating",
        annotation_position="top left",
    )
    mark_now(fig, timeline)
    return time_layout(fig, timeline, "transformer loading (%)")


def loading_colour(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return NO_DATA_COLOUR
    return next(colour for lo, hi, colour, _ in LOADING_BINS if lo <= value < hi)


def segments(bus: pd.DataFrame, a: pd.Series, b: pd.Series) -> tuple[list[float], list[float]]:
    """Branches from bus a to bus b as one polyline, each segment ended by a NaN (one trace
    draws them all, far faster than a trace per branch)."""
    ax, ay = bus.loc[a, "x"].to_numpy(), bus.loc[a, "y"].to_numpy()
    bx, by = bus.loc[b, "x"].to_numpy(), bus.loc[b, "y"].to_numpy()
    gap = np.full(len(ax), np.nan)
    xs = np.column_stack([ax, bx, gap]).ravel()
    ys = np.column_stack([ay, by, gap]).ravel()
    return xs.tolist(), ys.tolist()


def _lines(fig: go.Figure, topo: Topology, loading: pd.Series) -> None:
    bus = topo.bus
    lines = topo.line.join(loading.rename("loading"), how="left")
    for lo, hi, colour, label in (*LOADING_BINS, (np.nan, np.nan, NO_DATA_COLOUR, "no data")):
        if np.isnan(lo):
            sel = lines[lines["loading"].isna()]
        else:
            sel = lines[(lines["loading"] >= lo) & (lines["loading"] < hi)]
        if sel.empty:
            continue
        xs, ys = segments(bus, sel["from_bus"], sel["to_bus"])
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": colour, "width": 2},
            name=f"line {label}",
            hoverinfo="skip",
        )
        # Plotly gives no hover on lines' insides: a faint marker at each midpoint carries it.
        mid_x = (
            bus.loc[sel["from_bus"], "x"].to_numpy() + bus.loc[sel["to_bus"], "x"].to_numpy()
        ) / 2
        mid_y = (
            bus.loc[sel["from_bus"], "y"].to_numpy() + bus.loc[sel["to_bus"], "y"].to_numpy()
        ) / 2
        fig.add_scatter(
            x=mid_x,
            y=mid_y,
            mode="markers",
            marker={"size": 4, "color": colour, "opacity": 0.4},
            showlegend=False,
            hovertemplate="%{text}<extra></extra>",
            text=[
                f"line {i} {n}: {format_value(v, 3)} %"
                for i, n, v in zip(sel.index, sel["name"], sel["loading"], strict=True)
            ],
        )


def _trafos(fig: go.Figure, topo: Topology, loading: pd.Series) -> None:
    bus = topo.bus
    xs, ys = segments(bus, topo.trafo["hv_bus"], topo.trafo["lv_bus"])
    fig.add_scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": "#444", "width": 3, "dash": "dot"},
        name="transformer",
        hoverinfo="skip",
    )
    tr = topo.trafo.join(loading.rename("loading"), how="left")
    fig.add_scatter(
        x=bus.loc[tr["lv_bus"], "x"].to_numpy(),
        y=bus.loc[tr["lv_bus"], "y"].to_numpy(),
        mode="markers",
        showlegend=False,
        hovertemplate="%{text}<extra></extra>",
        marker={
            "symbol": "diamond",
            "size": 12,
            "color": [loading_colour(v) for v in tr["loading"]],
            "line": {"width": 1, "color": "#222"},
        },
        text=[
            f"trafo {i} {n}: {format_value(v, 3)} %"
            for i, n, v in zip(tr.index, tr["name"], tr["loading"], strict=True)
        ],
    )


def network_figure(grid_now: GridNow, topo: Topology) -> go.Figure:
    """The grid now: lines coloured by loading, transformers as diamonds, buses by voltage."""
    empty = pd.Series(dtype=float)
    fig = go.Figure()
    _lines(fig, topo, grid_now.get("line_loading_pct", empty))
    if not topo.trafo.empty:
        _trafos(fig, topo, grid_now.get("trafo_loading_pct", empty))
    b = topo.bus.join(grid_now.get("vm_pu", empty).rename("vm_pu"), how="left")
    fig.add_scatter(
        x=b["x"],
        y=b["y"],
        mode="markers",
        name="bus voltage",
        marker={
            "size": 7,
            "color": b["vm_pu"],
            "colorscale": "RdBu",
            "cmin": 0.9,
            "cmax": 1.1,
            "line": {"width": 0.5, "color": "#333"},
            "colorbar": {"title": {"text": "voltage (pu)"}, "thickness": 12, "len": 0.8},
        },
        hovertemplate="%{text}<extra></extra>",
        text=[
            f"bus {i} {n} ({kv:g} kV): {format_value(v, 4)} pu"
            for i, n, kv, v in zip(b.index, b["name"], b["vn_kv"], b["vm_pu"], strict=True)
        ],
    )
    if topo.geographic:
        fig.update_xaxes(title_text="longitude (deg E)")
        fig.update_yaxes(title_text="latitude (deg N)", scaleanchor="x", scaleratio=1.6)
    else:
        fig.update_xaxes(title_text="schematic x (no unit)", showticklabels=False)
        fig.update_yaxes(title_text="schematic y (no unit)", showticklabels=False)
    fig.update_layout(height=NETWORK_HEIGHT_PX, margin=MARGIN, legend=LEGEND_ON_TOP)
    return fig


MAX_PLOT_POINTS = 2000
"""A chart gets at most this many points per series: a year at 15 min (35,040 steps) is drawn from
daily-ish buckets that keep each bucket's extreme, so a one-step peak still shows."""


def downsample_extreme(series: pd.Series, how: str, points: int = MAX_PLOT_POINTS) -> pd.Series:
    """`series` cut into at most `points` equal buckets, each its min or max (`how`), at the
    bucket's first time; shorter series come back unchanged."""
    if len(series) <= points:
        return series
    size = -(-len(series) // points)  # ceiling division: never more than `points` buckets
    groups = np.arange(len(series)) // size
    grouped = series.groupby(groups)
    values = grouped.min() if how == "min" else grouped.max()
    return pd.Series(values.to_numpy(), index=series.index[::size][: len(values)], name=series.name)


def voltage_band_figure(history: History, timeline: Timeline) -> go.Figure | None:
    """The lowest and the highest bus voltage of the grid over time (both extremes: evening V2H
    export lifts LV buses above their band while nothing is below it)."""
    if not (history.has("vm_min_pu") or history.has("vm_max_pu")):
        return None
    fig = go.Figure()
    for quantity, label, how, colour in (
        ("vm_max_pu", "highest bus voltage", "max", "#d62728"),
        ("vm_min_pu", "lowest bus voltage", "min", "#1f77b4"),
    ):
        if history.has(quantity):
            s = downsample_extreme(history.main[quantity].dropna(), how)
            fig.add_scatter(x=s.index, y=s, name=label, line_color=colour)
        if history.has(baseline_series(quantity)):
            s = downsample_extreme(history.main[baseline_series(quantity)].dropna(), how)
            fig.add_scatter(
                x=s.index, y=s, name=f"{label}, baseline", line={"color": colour, "dash": "dot"}
            )
    mark_now(fig, timeline)
    return time_layout(fig, timeline, "voltage (pu)")
