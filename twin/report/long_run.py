"""Figures that make a long run read at a glance: daily aggregates, duration curves of loading
and voltage, and heat maps (day x time of day) of the shift and the grid."""

from __future__ import annotations

from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from twin.report import style
from twin.report.data import RunData
from twin.report.grid import LINE_MAX, TRAFO_MAX, VM_MAX, VM_MIN, has_grid, limit_span
from twin.report.style import Drawing, FigureSpec
from twin.results import columns as col

SECTION = "Long run"


def day_matrix(series: pd.Series, step_s: int) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Values as (time of day slot, day) for a heat map, NaN where a day has no such step."""
    index = pd.DatetimeIndex(series.index)
    days = index.normalize()
    first = days[0]
    day_i = ((days - first) // pd.Timedelta(days=1)).to_numpy().astype(int)
    sec = (index - days).total_seconds().to_numpy()
    per_day = max(1, int(round(style.DAY_S / max(step_s, 1))))
    slot = np.clip((sec // max(step_s, 1)).astype(int), 0, per_day - 1)
    n_days = int(day_i.max()) + 1
    out = np.full((per_day, n_days), np.nan)
    out[slot, day_i] = series.to_numpy(dtype=float)
    return out, pd.date_range(first, periods=n_days, freq="D")


def window_shift_mw_per_day(d: RunData) -> dict[str, pd.Series]:
    """Per local day and window: mean MW moved (push-up: power above baseline; push-down:
    below), as the KPIs measure them."""
    diff = d.p_kw - d.baseline_kw
    sec = (d.index - d.index.normalize()).total_seconds().to_numpy()
    out: dict[str, pd.Series] = {}
    for name, (a, b) in d.windows.items():
        inside = (sec >= a) & (sec < b) if a <= b else (sec >= a) | (sec < b)
        sign = 1.0 if name == "push_up" else -1.0
        s = (sign * diff[inside] / 1000.0).groupby(d.index[inside].normalize()).mean()
        out[name] = s
    return out


def daily_figure(d: RunData) -> Drawing | None:
    if not d.long_run or not d.fleets:
        return None
    shifts = window_shift_mw_per_day(d) if d.windows else {}
    fig, axes = style.figure(2 if shifts else 1, height_in=5.2 if shifts else 2.8)
    ax = axes[0]
    dt_h = d.step_s / 3600.0
    energy: tuple[tuple[pd.Series, str, str, dict[str, Any]], ...] = (
        (d.baseline_kw, style.BASELINE, "baseline (uncontrolled)", {"ls": "--"}),
        (d.p_kw, style.CONTROLLED, "controlled", {}),
    )
    for s, colour, label, kw in energy:
        e = style.daily(s, "sum") * dt_h / 1000.0
        ax.plot(
            style.naive(pd.DatetimeIndex(e.index)),
            e.to_numpy(),
            color=colour,
            lw=1,
            label=label,
            **kw,
        )
    ax.set_ylabel("MWh per day (net)")
    ax.set_title("daily energy of the fleets", loc="left")
    style.legend(ax, ncol=2)
    if shifts:
        ax2 = axes[1]
        for name, s in shifts.items():
            colour, _, label = style.WINDOW_STYLE.get(name, ("#7f7f7f", 0.1, name))
            ax2.plot(
                style.naive(pd.DatetimeIndex(s.index)),
                s.to_numpy(),
                color=colour,
                lw=1,
                label=label.replace(" window", ""),
            )
            firm = d.kpis.get(f"{name}_mw_firm90")
            if isinstance(firm, int | float) and np.isfinite(firm):
                ax2.axhline(
                    float(firm),
                    color=colour,
                    ls=":",
                    lw=1,
                    label=f"{label.replace(' window', '')} firm 90 %: {firm:.3g} MW",
                )
        ax2.axhline(0, color="#333", lw=0.5)
        ax2.set_ylabel("MW (window mean)")
        ax2.set_title("what the fleets moved in each window, per day", loc="left")
        style.legend(ax2, ncol=2)
    style.time_axis(axes[-1], d.index, d.timezone)
    caption = (
        "Per local day: the fleets' net energy, controlled and uncontrolled (MWh), and the mean "
        "power moved in the push-up / push-down windows (MW; dotted: what 9 days in 10 reach). "
        "From timeseries.parquet."
    )
    return fig, caption


def duration_figure(d: RunData) -> Drawing | None:
    if not d.long_run or not has_grid(d):
        return None
    fig, (ax_l, ax_v) = style.figure(2, height_in=5.2, sharex=True)
    n = len(d.table)
    pct = np.arange(1, n + 1) / n * 100.0
    for q, colour, label in (
        (TRAFO_MAX, "#ff7f0e", "highest transformer"),
        (LINE_MAX, "#9467bd", "highest line"),
    ):
        for c, ls, suffix in (
            (col.grid_column(q), "-", ""),
            (col.grid_baseline_column(q), "--", ", baseline"),
        ):
            if d.has(c):
                v = np.sort(d.table[c].to_numpy(dtype=float))[::-1]
                ax_l.plot(*style.thin(pct, v), color=colour, ls=ls, lw=1.1, label=label + suffix)
    ax_l.axhline(100, color=style.LIMIT, ls="--", lw=0.8, label="100 %")
    ax_l.set_ylabel("loading (%)")
    ax_l.set_ylim(bottom=0)
    ax_l.set_title("loading duration curve", loc="left")
    style.legend(ax_l, ncol=3)
    for q, colour, label, descending in (
        (VM_MAX, "#d62728", "highest bus", True),
        (VM_MIN, "#1f77b4", "lowest bus", False),
    ):
        for c, ls, suffix in (
            (col.grid_column(q), "-", ""),
            (col.grid_baseline_column(q), "--", ", baseline"),
        ):
            if d.has(c):
                v = np.sort(d.table[c].to_numpy(dtype=float))
                ax_v.plot(
                    *style.thin(pct, v[::-1] if descending else v),
                    color=colour,
                    ls=ls,
                    lw=1.1,
                    label=label + suffix,
                )
    for key in ("vm_min_pu", "vm_max_pu"):
        for lim in limit_span(d, key) or []:
            ax_v.axhline(lim, color=style.LIMIT, ls="--", lw=0.8)
    ax_v.set_ylabel("voltage (pu)")
    ax_v.set_xlabel("share of the run's steps at or beyond the value (%)")
    ax_v.set_xlim(0, 100)
    ax_v.set_title("voltage duration curves (highest bus falling, lowest bus rising)", loc="left")
    style.legend(ax_v, ncol=2)
    caption = (
        "Duration curves over every step of the run: how long the most loaded line and "
        "transformer stay at or above a loading, and the highest / lowest bus voltage beyond a "
        "value. From timeseries.parquet (`grid.*`"
        + (", `grid_baseline.*`" if col.grid_baseline_columns(d.table.columns) else "")
        + ")."
    )
    return fig, caption


COLOUR_BAR_PAD_IN, COLOUR_BAR_WIDTH_IN = 0.08, 0.12


def _colour_bar_axes(fig: Figure, ax: Axes) -> Axes:
    """An axes for the panel's colour bar in the right margin, as tall as the panel: placed by
    hand, as `colorbar(ax=...)` would re-lay the panel out (a third of the heat maps' time)."""
    box = ax.get_position()
    return fig.add_axes(
        (
            box.x1 + COLOUR_BAR_PAD_IN / style.WIDTH_IN,
            box.y0,
            COLOUR_BAR_WIDTH_IN / style.WIDTH_IN,
            box.height,
        )
    )


def heatmap_figure(d: RunData) -> Drawing | None:
    if not d.long_run:
        return None
    panels: list[tuple[str, pd.Series, str, str, bool]] = []
    if d.fleets:
        panels.append(("fleet power - baseline", d.p_kw - d.baseline_kw, "kW", "RdBu_r", True))
    for q, label, unit, cmap in (
        (TRAFO_MAX, "highest transformer loading", "%", "magma_r"),
        (LINE_MAX, "highest line loading", "%", "magma_r"),
        (VM_MAX, "highest bus voltage", "pu", "viridis"),
        (VM_MIN, "lowest bus voltage", "pu", "viridis"),
    ):
        if d.has(col.grid_column(q)):
            panels.append((label, d.series(col.grid_column(q)), unit, cmap, False))
    panels = panels[:5]
    if not panels:
        return None
    fig, axes = style.figure(
        len(panels), height_in=2.3 * len(panels) + 0.4, sharex=True, right_in=1.0
    )
    for ax, (label, s, unit, cmap, centred) in zip(axes, panels, strict=True):
        m, days = day_matrix(s, d.step_s)
        finite = m[np.isfinite(m)]
        kwargs: dict[str, Any] = {}
        if centred and finite.size:
            lim = float(np.percentile(np.abs(finite), 99)) or 1.0
            kwargs = {"vmin": -lim, "vmax": lim}
        elif finite.size:  # 1st-99th percentile: one extreme step must not wash out the year
            lo, hi = np.percentile(finite, [1, 99])
            kwargs = {"vmin": float(lo), "vmax": float(max(hi, lo + 1e-6))}
        x0 = style.naive(pd.DatetimeIndex([days[0]]))[0]
        x1 = style.naive(pd.DatetimeIndex([days[-1] + pd.Timedelta(days=1)]))[0]
        im = ax.imshow(
            m,
            aspect="auto",
            origin="lower",
            cmap=cmap,
            interpolation="nearest",
            extent=(float(mdates.date2num(x0)), float(mdates.date2num(x1)), 0.0, 24.0),
            **kwargs,
        )
        for name, (a, b) in d.windows.items():
            colour = style.WINDOW_STYLE.get(name, ("#444", 0, ""))[0]
            for h in (a / 3600.0, b / 3600.0):
                ax.axhline(h, color=colour, lw=0.8, ls="--")
        ax.set_yticks([0, 6, 12, 18, 24])
        ax.set_ylabel("hour of day")
        ax.set_title(label + f" ({unit})", loc="left")
        ax.grid(False)
        fig.colorbar(im, cax=_colour_bar_axes(fig, ax), label=unit)
        ax.xaxis_date()
    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes[-1].set_xlabel(f"local date ({d.timezone})")
    caption = (
        "Heat maps, day (x) by local time of day (y): what the control changed (fleet power "
        "minus baseline, kW; red = more charging, blue = less), and the grid's extremes; dashed: "
        "the push-up / push-down windows. From timeseries.parquet."
    )
    return fig, caption


FIGURES = (
    FigureSpec("daily", "Daily aggregates", SECTION, daily_figure),
    FigureSpec(
        "duration_curves", "Duration curves of loading and voltage", SECTION, duration_figure
    ),
    FigureSpec("heatmaps", "Heat maps: day x time of day", SECTION, heatmap_figure),
)
