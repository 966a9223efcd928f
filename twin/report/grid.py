"""Grid figures: the voltage band (lowest and highest bus voltage of every step), the highest line
and transformer loading, each against the grid with uncontrolled fleets when the run has it, the
worst elements from the per-element tables (named from grid_topology.parquet when the run wrote
it) and a feeder map of every element's worst value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize

from twin.report import style
from twin.report.data import RunData
from twin.report.style import Drawing, FigureSpec
from twin.results import columns as col

SECTION = "Grid"
WORST_N = 10
LABEL_MAX_CHARS = 28
LABEL_CHAR_IN = 0.068
"""Width of a label character at the report's tick font, inches (sizes the left margin)."""
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


def element_label(kind: str, element_id: str, names: dict[str, str]) -> str:
    """`line 12`, or `line 12 (MV1.101 Line 3)` when the element has a name, cut to
    LABEL_MAX_CHARS with an ellipsis (the id always stays whole)."""
    label = f"{kind} {element_id}"
    name = names.get(element_id, "")
    if not name:
        return label
    room = LABEL_MAX_CHARS - len(label) - 3  # " (" and ")"
    if room < 2:
        return label
    if len(name) > room:
        name = name[: room - 1] + "\u2026"
    return f"{label} ({name})"


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
    worst = [_worst(frame, how, WORST_N) for _, frame, _, how, _ in panels]
    names = {kind: d.element_names(kind) for kind, *_ in panels}
    labels_of = [
        [element_label(kind, str(i), names[kind]) for i in w.index]
        for (kind, *_), w in zip(panels, worst, strict=True)
    ]
    longest = max((len(t) for labels in labels_of for t in labels), default=0)
    # Named labels are longer than "line 12": the left margin grows with the longest.
    fig.subplots_adjust(left=max(1.1, 0.3 + LABEL_CHAR_IN * longest) / style.WIDTH_IN)
    has_base = False
    named = any(names.values())
    for ax, (kind, frame, base, how, label), w, labels in zip(
        axes, panels, worst, labels_of, strict=True
    ):
        colour = "#d62728" if how == "max" else "#1f77b4"
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
        "The worst elements over the whole run (pandapower element ids"
        + (", with their names from grid_topology.parquet" if named else "")
        + f"): the {WORST_N} most "
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


# --- feeder map -------------------------------------------------------------------------------

LOADING_CMAP = ListedColormap(colormaps["YlOrRd"](np.linspace(0.2, 1.0, 256)))
"""Loading, %: the palest end dropped so that a lightly loaded line still shows on white."""
VOLTAGE_CMAP = colormaps["RdBu_r"]
"""Voltage deviation from 1 pu: blue below, red above, white at 1 pu."""
NO_VALUE = "#c8c8c8"
MAP_PANEL_IN = 4.2
TRAFO_AT = 0.7
"""Where a transformer's marker sits between its high- (0) and low-voltage (1) bus."""


@dataclass(frozen=True)
class _MapValues:
    """One grid's worst values over the run, by element id (NaN where not recorded)."""

    label: str
    line_max: pd.Series
    trafo_max: pd.Series
    bus_dev: pd.Series
    """The deviation from 1 pu of largest magnitude, sign kept (below: negative)."""
    vm_range: tuple[float, float] | None = None
    """The lowest and highest bus voltage of the run, pu."""


def _map_values(d: RunData, prefix: str, label: str) -> _MapValues | None:
    lines, trafos, vm = (
        d.detail.get(f"{prefix}{key}") for key in ("line_loading_pct", "trafo_loading_pct", "vm_pu")
    )
    if lines is None and trafos is None and vm is None:
        return None
    empty = pd.Series(dtype=float)
    bus_dev, vm_range = empty, None
    if vm is not None:
        hi, lo = vm.max().astype(float) - 1.0, vm.min().astype(float) - 1.0
        bus_dev = hi.where(hi.abs() >= lo.abs(), lo)
        if bus_dev.notna().any():
            vm_range = (1.0 + float(lo.min()), 1.0 + float(hi.max()))
    return _MapValues(
        label=label,
        line_max=empty if lines is None else lines.max().astype(float),
        trafo_max=empty if trafos is None else trafos.max().astype(float),
        bus_dev=bus_dev,
        vm_range=vm_range,
    )


def _finite_max(values: list[pd.Series], default: float) -> float:
    finite = [float(np.nanmax(np.abs(v.to_numpy()))) for v in values if v.notna().any()]
    return max(finite) if finite else default


def feeder_map(d: RunData) -> Drawing | None:
    """The net drawn at its bus coordinates (grid_topology.parquet), each element coloured by its
    worst value over the run: lines and transformers by their highest loading, buses by their
    voltage deviation of largest magnitude from 1 pu."""
    topo = d.topology
    if topo is None:
        return None
    runs = [
        v
        for v in (_map_values(d, "", "controlled"), _map_values(d, "baseline_", "baseline"))
        if v is not None
    ]
    buses = topo[topo[col.TOPOLOGY_ELEMENT] == col.TOPOLOGY_BUS]
    placed = buses[buses[col.TOPOLOGY_X].notna() & buses[col.TOPOLOGY_Y].notna()]
    if not runs or placed.empty:
        return None
    xy = {
        i: (x, y)
        for i, x, y in zip(
            placed[col.TOPOLOGY_ID], placed[col.TOPOLOGY_X], placed[col.TOPOLOGY_Y], strict=True
        )
    }
    # One scale for every panel, so the controlled and the baseline grid read alike.
    loading_norm = Normalize(
        0.0, max(1.0, _finite_max([r.line_max for r in runs] + [r.trafo_max for r in runs], 1.0))
    )
    dev = max(0.005, _finite_max([r.bus_dev for r in runs], 0.005))
    voltage_norm = Normalize(-dev, dev)
    fig, axes = style.figure(
        len(runs), height_in=0.6 + MAP_PANEL_IN * len(runs), sharex=False, right_in=2.0
    )
    geodata = set(placed[col.TOPOLOGY_XY_SOURCE]) == {"geodata"}
    for ax, run in zip(axes, runs, strict=True):
        _draw_map(ax, topo, xy, run, loading_norm, voltage_norm, geodata)
        ax.set_title(_map_title(run), loc="left")
    _colour_bars(fig, axes, loading_norm, voltage_norm)
    has_base = len(runs) > 1
    caption = (
        "Feeder map"
        + (
            ": the controlled run (top) and the uncontrolled baseline's grid (bottom)"
            if has_base
            else ""
        )
        + ", each element coloured by its worst value over the run. Lines: their highest loading "
        "(%); transformers (squares, on the way to their low-voltage bus): their highest loading (%), on the "
        "same scale; buses (dots): their largest deviation from 1 pu, sign kept (blue below, red "
        "above, white at 1 pu); grey: no value recorded. Bus positions: "
        + (
            "the grid's geodata"
            if geodata
            else "a tree layout from the external grid (not geographic; depth from the top)"
        )
        + ". From grid_topology.parquet, grid_line_loading_pct.parquet, "
        "grid_trafo_loading_pct.parquet and grid_vm_pu.parquet"
        + (" (and their grid_baseline_* twins)" if has_base else "")
        + "."
    )
    return fig, caption


def _ends(
    topo: pd.DataFrame, element: str, xy: dict[str, tuple[float, float]]
) -> tuple[list[str], list[tuple[tuple[float, float], tuple[float, float]]]]:
    """Ids and (from, to) coordinates of the lines or transformers whose two buses are placed."""
    rows = topo[topo[col.TOPOLOGY_ELEMENT] == element]
    ids, segments = [], []
    for i, a, b in zip(
        rows[col.TOPOLOGY_ID], rows[col.TOPOLOGY_FROM_BUS], rows[col.TOPOLOGY_TO_BUS], strict=True
    ):
        if a in xy and b in xy:
            ids.append(i)
            segments.append((xy[a], xy[b]))
    return ids, segments


def _draw_map(
    ax: Any,
    topo: pd.DataFrame,
    xy: dict[str, tuple[float, float]],
    run: _MapValues,
    loading_norm: Normalize,
    voltage_norm: Normalize,
    geodata: bool,
) -> None:
    line_ids, segments = _ends(topo, col.TOPOLOGY_LINE, xy)
    loading = run.line_max.reindex(line_ids).to_numpy(dtype=float)
    known = ~np.isnan(loading)
    ax.add_collection(
        LineCollection(
            [s for s, k in zip(segments, known, strict=True) if not k], colors=NO_VALUE, lw=0.8
        )
    )
    ax.add_collection(
        LineCollection(
            [s for s, k in zip(segments, known, strict=True) if k],
            array=loading[known],
            cmap=LOADING_CMAP,
            norm=loading_norm,
            lw=1.8,
            zorder=2,
        )
    )
    trafo_ids, ends = _ends(topo, col.TOPOLOGY_TRAFO, xy)
    if trafo_ids:
        ax.add_collection(LineCollection(ends, colors="#777", lw=0.6, zorder=1))
        # Nearer the low-voltage bus than the middle: transformers fed from one bus (a tree
        # layout puts them side by side) then keep apart.
        mid = np.array(
            [[a[0] + TRAFO_AT * (b[0] - a[0]), a[1] + TRAFO_AT * (b[1] - a[1])] for a, b in ends]
        )
        t_loading = run.trafo_max.reindex(trafo_ids).to_numpy(dtype=float)
        ax.scatter(
            mid[:, 0],
            mid[:, 1],
            c=np.where(np.isnan(t_loading), loading_norm.vmin, t_loading),
            cmap=LOADING_CMAP,
            norm=loading_norm,
            marker="s",
            s=30,
            edgecolors=["#999" if np.isnan(v) else "#222" for v in t_loading],
            linewidths=0.7,
            zorder=4,
        )
    bus_ids = list(xy)
    pos = np.array([xy[b] for b in bus_ids])
    deviation = run.bus_dev.reindex(bus_ids).to_numpy(dtype=float)
    ax.scatter(
        pos[:, 0],
        pos[:, 1],
        c=[VOLTAGE_CMAP(voltage_norm(v)) if np.isfinite(v) else NO_VALUE for v in deviation],
        s=11,
        edgecolors="#444",
        linewidths=0.3,
        zorder=3,
    )
    ax.autoscale_view()
    ax.margins(0.03)
    if geodata and _lon_lat(pos):
        # degrees of longitude shrink with latitude: keep the map's shape
        ax.set_aspect(1.0 / max(0.2, np.cos(np.radians(np.nanmean(pos[:, 1])))), "datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def _lon_lat(pos: np.ndarray) -> bool:
    return bool(np.all(np.abs(pos[:, 0]) <= 180) and np.all(np.abs(pos[:, 1]) <= 90))


def _map_title(run: _MapValues) -> str:
    """The panel's worst values in short (the colours show where they are)."""
    parts = []
    if run.line_max.notna().any():
        parts.append(f"line {run.line_max.max():.0f} % (id {run.line_max.idxmax()})")
    if run.trafo_max.notna().any():
        parts.append(f"trafo {run.trafo_max.max():.0f} % (id {run.trafo_max.idxmax()})")
    if run.vm_range is not None:
        parts.append(f"buses {run.vm_range[0]:.3f} to {run.vm_range[1]:.3f} pu")
    return f"{run.label}, worst: " + ", ".join(parts)


def _colour_bars(fig: Any, axes: list[Any], loading: Normalize, voltage: Normalize) -> None:
    """The two colour bars in the right margin, over the panels' full height."""
    top, bottom = axes[0].get_position().y1, axes[-1].get_position().y0
    width = 0.14 / style.WIDTH_IN
    # The rating is marked when the scale goes beyond it: above it an element is overloaded.
    rating = 100.0 if (loading.vmax or 0.0) > 100.0 else None
    for left_in, norm, cmap, label, mark in (
        (1.75, loading, LOADING_CMAP, "highest loading (%)", rating),
        (0.85, voltage, VOLTAGE_CMAP, "worst voltage - 1 pu", None),
    ):
        cax = fig.add_axes((1 - left_in / style.WIDTH_IN, bottom, width, top - bottom))
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax)
        bar.set_label(label)
        if mark is not None:
            cax.axhline(mark, color="#000", lw=1.2)


FIGURES = (
    FigureSpec("grid_extremes", "Voltage band and element loading", SECTION, extremes),
    FigureSpec("grid_trafos", "Transformer loading", SECTION, trafo_lines),
    FigureSpec("grid_worst", "Worst elements", SECTION, worst_elements),
    FigureSpec("grid_feeder_map", "Feeder map", SECTION, feeder_map),
)
