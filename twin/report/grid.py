"""Grid figures: the voltage band (lowest and highest bus voltage of every step), the highest line
and transformer loading, each against the grid with uncontrolled fleets when the run has it, and
the worst elements from the per-element tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.report import style
from twin.report.data import RunData
from twin.report.style import Drawing, FigureSpec
from twin.results import columns as col

SECTION = "Grid"
WORST_N = 10
VM_MIN, VM_MAX = "vm_min_pu", "vm_max_pu"
LINE_MAX, TRAFO_MAX = "line_loading_max_pct", "trafo_loading_max_pct"


def limit_span(d: RunData, key: str) -> list[float] | None:
    """A limit's range over the elements from summary.json's `violations.limits`, if any."""
    limits = (d.violations or {}).get("limits") or {}
    span = limits.get(key)
    if (
        isinstance(span, list | tuple)
        and len(span) == 2
        and all(isinstance(v, int | float) for v in span)
    ):
        return [float(span[0]), float(span[1])]
    if isinstance(span, int | float):
        return [float(span), float(span)]
    return None


def _limit_lines(ax: Any, values: list[float] | None, label: str | None, tight: int) -> None:
    """A limit's range over the elements: the tightest end dashed, the widest dotted (buses of
    different voltage levels have different bands). `tight` is the index of the tightest end
    (1 for a lower limit, 0 for an upper one)."""
    if values is None:
        return
    if values[0] == values[1]:
        ax.axhline(values[0], color=style.LIMIT, ls="--", lw=0.9, label=label)
        return
    ax.axhline(
        values[tight],
        color=style.LIMIT,
        ls="--",
        lw=0.9,
        label=f"{label}, tightest" if label else None,
    )
    ax.axhline(
        values[1 - tight],
        color=style.LIMIT,
        ls=":",
        lw=0.9,
        label=f"{label}, widest" if label else None,
    )


def has_grid(d: RunData) -> bool:
    return any(d.has(col.grid_column(q)) for q in (VM_MIN, VM_MAX, LINE_MAX, TRAFO_MAX))


def _baseline(d: RunData, quantity: str) -> pd.Series | None:
    c = col.grid_baseline_column(quantity)
    return d.series(c) if d.has(c) else None


def extremes(d: RunData) -> Drawing | None:
    if not has_grid(d):
        return None
    fig, (ax_v, ax_l) = style.figure(2, height_in=5.4)
    if d.has(col.GRID_VM_MIN_PU) and d.has(col.GRID_VM_MAX_PU):
        lo, hi = d.series(col.GRID_VM_MIN_PU), d.series(col.GRID_VM_MAX_PU)
        if d.long_run:
            lo, hi = style.daily(lo, "min"), style.daily(hi, "max")
        x = style.naive(pd.DatetimeIndex(lo.index))
        ax_v.fill_between(
            x,
            lo.to_numpy(),
            hi.to_numpy(),
            color=style.CONTROLLED,
            alpha=0.25,
            lw=0,
            label="all buses, controlled",
        )
        ax_v.plot(x, hi.to_numpy(), color="#d62728", lw=1, label="highest bus")
        ax_v.plot(x, lo.to_numpy(), color="#1f77b4", lw=1, label="lowest bus")
        for q, how, colour in ((VM_MIN, "min", "#1f77b4"), (VM_MAX, "max", "#d62728")):
            b = _baseline(d, q)
            if b is not None:
                b = style.daily(b, how) if d.long_run else b
                ax_v.plot(
                    style.naive(pd.DatetimeIndex(b.index)),
                    b.to_numpy(),
                    color=colour,
                    lw=0.9,
                    ls="--",
                    alpha=0.8,
                    label=f"{'lowest' if how == 'min' else 'highest'}, baseline",
                )
    _limit_lines(ax_v, limit_span(d, "vm_min_pu"), "bus limit", tight=1)
    _limit_lines(ax_v, limit_span(d, "vm_max_pu"), None, tight=0)
    ax_v.axhline(1.0, color="#333", lw=0.5)
    ax_v.set_ylabel("bus voltage (pu)")
    ax_v.set_title(
        "voltage band: lowest and highest bus" + (" (daily extremes)" if d.long_run else ""),
        loc="left",
    )
    style.legend(ax_v, ncol=3)
    for q, colour, label in (
        (LINE_MAX, "#9467bd", "highest line"),
        (TRAFO_MAX, "#ff7f0e", "highest transformer"),
    ):
        c = col.grid_column(q)
        if not d.has(c):
            continue
        s = d.series(c)
        s = style.daily(s, "max") if d.long_run else s
        ax_l.plot(
            style.naive(pd.DatetimeIndex(s.index)), s.to_numpy(), color=colour, lw=1.1, label=label
        )
        b = _baseline(d, q)
        if b is not None:
            b = style.daily(b, "max") if d.long_run else b
            ax_l.plot(
                style.naive(pd.DatetimeIndex(b.index)),
                b.to_numpy(),
                color=colour,
                lw=0.9,
                ls="--",
                label=f"{label}, baseline",
            )
    loading_limits = [
        *(limit_span(d, "line_max_loading_pct") or []),
        *(limit_span(d, "trafo_max_loading_pct") or []),
    ]
    if loading_limits:
        _limit_lines(ax_l, [min(loading_limits), max(loading_limits)], "loading limit", tight=0)
    else:
        ax_l.axhline(100.0, color=style.LIMIT, ls="--", lw=0.9, label="100 % rating")
    ax_l.set_ylim(bottom=0)
    ax_l.set_ylabel("loading (%)")
    ax_l.set_title("element loading" + (" (daily maximum)" if d.long_run else ""), loc="left")
    style.legend(ax_l, ncol=3)
    style.time_axis(ax_l, d.index, d.timezone)
    has_base = any(_baseline(d, q) is not None for q in (VM_MIN, VM_MAX, LINE_MAX, TRAFO_MAX))
    caption = (
        "Top: the band of bus voltages, lowest and highest bus of every "
        + ("day" if d.long_run else "step")
        + " (pu); bottom: the most loaded line and transformer (%)"
        + ("; dashed: the same grid with the fleets charging uncontrolled" if has_base else "")
        + ("; red dashed: the limits violations are counted against" if d.violations else "")
        + ". From timeseries.parquet (`grid.vm_min_pu`, `grid.vm_max_pu`, `grid.line_loading_max_pct`, "
        "`grid.trafo_loading_max_pct`" + (", `grid_baseline.*`" if has_base else "") + ")."
    )
    return fig, caption


def _worst(frame: pd.DataFrame, how: str, n: int) -> pd.Series:
    values = frame.max() if how == "max" else frame.min()
    values = values.astype(float).dropna()
    return (values.nlargest(n) if how == "max" else values.nsmallest(n)).iloc[::-1]


def worst_elements(d: RunData) -> Drawing | None:
    panels = []
    for key, kind, how, label in (
        ("line_loading_pct", "line", "max", "highest loading (%)"),
        ("trafo_loading_pct", "trafo", "max", "highest loading (%)"),
        ("vm_pu", "bus", "max", "highest voltage (pu)"),
        ("vm_pu", "bus", "min", "lowest voltage (pu)"),
    ):
        frame = d.detail.get(key)
        if frame is not None and frame.shape[1]:
            panels.append((kind, frame, d.detail.get(f"baseline_{key}"), how, label))
    if not panels:
        return None
    fig, axes = style.figure(
        len(panels), height_in=1.0 + 1.9 * len(panels), sharex=False, right_in=1.6
    )
    fig.subplots_adjust(left=1.1 / style.WIDTH_IN)
    has_base = False
    for ax, (kind, frame, base, how, label) in zip(axes, panels, strict=True):
        w = _worst(frame, how, WORST_N)
        colour = "#d62728" if how == "max" else "#1f77b4"
        labels = [f"{kind} {i}" for i in w.index]
        values = w.to_numpy()
        if kind == "bus":
            # voltages are read against 1 pu, not against the axis' edge: markers, no bars
            ax.hlines(labels, 1.0, values, color=colour, alpha=0.4, lw=1.5)
            ax.plot(values, labels, "o", color=colour, label="controlled")
            ax.axvline(1.0, color="#333", lw=0.6)
        else:
            ax.barh(labels, values, color=colour, alpha=0.75, label="controlled")
        shown = values
        if base is not None and set(w.index) <= set(base.columns):
            b = (base[w.index].max() if how == "max" else base[w.index].min()).to_numpy(dtype=float)
            ax.plot(b, labels, "D", mfc="none", mec="#333", ms=5, label="baseline")
            shown = np.concatenate([values, b])
            has_base = True
        if kind == "bus":
            lo, hi = min(float(np.nanmin(shown)), 1.0), max(float(np.nanmax(shown)), 1.0)
            pad = max(0.002, (hi - lo) * 0.15)
            ax.set_xlim(lo - pad, hi + pad)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.4g}", va="center", fontsize=style.FONT_PT - 2)
        ax.set_xlabel(label)
        what = "most loaded" if kind != "bus" else ("highest" if how == "max" else "lowest")
        plural = "buses" if kind == "bus" else f"{kind}s"
        ax.set_title(f"{len(w)} {what} {plural} of {frame.shape[1]}", loc="left")
        ax.grid(axis="y", visible=False)
        style.legend(ax)
    caption = (
        f"The worst elements over the whole run (pandapower element ids): the {WORST_N} most "
        "loaded lines and transformers and the buses with the highest and lowest voltage"
        + (
            ", with the same element's extreme in the uncontrolled baseline's grid (diamonds)"
            if has_base
            else ""
        )
        + ". From grid_line_loading_pct.parquet, grid_trafo_loading_pct.parquet and grid_vm_pu.parquet"
        + (" (and their grid_baseline_* twins)" if has_base else "")
        + "."
    )
    return fig, caption


def trafo_lines(d: RunData) -> Drawing | None:
    """Each transformer's loading over time (few transformers, short runs)."""
    frame = d.detail.get("trafo_loading_pct")
    if frame is None or d.long_run or not 1 <= frame.shape[1] <= 8:
        return None
    fig, (ax,) = style.figure(1, height_in=2.8)
    style.shade_windows(ax, d.windows, d.index)
    for k, t in enumerate(frame.columns):
        style.line(
            ax,
            d.index,
            frame[t].to_numpy(dtype=float),
            color=style.PALETTE[k % len(style.PALETTE)],
            label=f"transformer {t}",
        )
    ax.axhline(100, color=style.LIMIT, ls="--", lw=0.9, label="100 % rating")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("loading (%)")
    style.legend(ax)
    style.time_axis(ax, d.index, d.timezone)
    return fig, "Loading of every transformer, %. From grid_trafo_loading_pct.parquet."


FIGURES = (
    FigureSpec("grid_extremes", "Voltage band and element loading", SECTION, extremes),
    FigureSpec("grid_trafos", "Transformer loading", SECTION, trafo_lines),
    FigureSpec("grid_worst", "Worst elements", SECTION, worst_elements),
)
