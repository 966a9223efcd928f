"""Several runs side by side (`twin compare DIR DIR...`, or a sweep folder): the KPI table with
units and the difference of each run to the first, and overlay figures, from the folders alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from twin.report import style
from twin.report.data import RunData, load_run_data
from twin.report.kpi_rows import GROUPS, OTHER, applies, format_value, group_of, label_unit
from twin.report.style import Drawing
from twin.results import columns as col
from twin.results.readers import ResultsError


def run_dirs(paths: Sequence[Path]) -> list[Path]:
    """The run folders named: a folder with summary.json is a run; another folder (a sweep's)
    stands for the runs directly inside it, in name order."""
    out: list[Path] = []
    for p in paths:
        if (p / col.SUMMARY_FILE).exists():
            out.append(p)
        elif p.is_dir():
            inner = sorted(c for c in p.iterdir() if (c / col.SUMMARY_FILE).exists())
            if not inner:
                raise ResultsError(
                    f"{p}: neither a run folder nor a folder of runs (no summary.json)"
                )
            out.extend(inner)
        else:
            raise ResultsError(f"{p}: not a results folder (no such directory)")
    return out


def run_labels(dirs: Sequence[Path]) -> list[str]:
    """Short names that tell the runs apart: the folder name, with as many parent folders as it
    takes to make each unique."""
    for depth in range(1, 6):
        labels = ["/".join(d.resolve().parts[-depth:]) for d in dirs]
        if len(set(labels)) == len(labels):
            return labels
    return [str(d) for d in dirs]


@dataclass(frozen=True)
class CompareRow:
    group: str
    key: str
    label: str
    unit: str
    values: list[Any]

    def delta(self, i: int) -> float | None:
        """Run i minus the first run (numbers only)."""
        a, b = self.values[0], self.values[i]
        if isinstance(a, bool) or isinstance(b, bool):
            return None
        try:
            d = float(b) - float(a)
        except (TypeError, ValueError):
            return None
        return d if np.isfinite(d) else None

    def delta_pct(self, i: int) -> float | None:
        d = self.delta(i)
        try:
            base = float(self.values[0])
        except (TypeError, ValueError):
            return None
        if d is None or base == 0 or not np.isfinite(base):
            return None
        return 100.0 * d / abs(base)


def compare_rows(runs: Sequence[RunData]) -> list[CompareRow]:
    """Every scalar KPI that applies to at least one of the runs, in the report's group order."""
    keys: dict[str, None] = {}
    for r in runs:
        for k, v in r.kpis.items():
            if applies(k, v, r.has_windows):
                keys.setdefault(k)
    order = {g: i for i, (g, _) in enumerate(GROUPS)}
    rows = []
    for k in keys:
        values = [r.kpis.get(k) if applies(k, r.kpis.get(k), r.has_windows) else None for r in runs]
        rows.append(CompareRow(group_of(k), k, *label_unit(k), values))
    return sorted(
        rows, key=lambda r: order.get(r.group, len(order)) if r.group != OTHER else len(order)
    )


def delta_text(row: CompareRow, i: int) -> str:
    d = row.delta(i)
    if d is None:
        return ""
    pct = row.delta_pct(i)
    sign = "+" if d > 0 else ""
    return f"{sign}{format_value(d)}" + (f" ({sign}{pct:.1f} %)" if pct is not None else "")


def _x(run: RunData, same_start: bool) -> Any:
    if same_start:
        return style.naive(run.index)
    return (
        (run.table[col.TIME_S].to_numpy(dtype=float) / 3600.0)
        if col.TIME_S in run.table
        else np.arange(len(run.table))
    )


def _same_start(runs: Sequence[RunData]) -> bool:
    return len({r.index[0] for r in runs}) == 1


def _daily_or_raw(
    run: RunData, series: pd.Series, long_run: bool, same_start: bool, how: str = "mean"
) -> tuple[Any, np.ndarray]:
    if long_run:
        m = style.daily(series, how)
        x = style.naive(pd.DatetimeIndex(m.index))
        if not same_start:
            x = (pd.DatetimeIndex(m.index) - pd.DatetimeIndex(m.index)[0]).total_seconds() / 3600.0
        return x, m.to_numpy()
    return _x(run, same_start), series.to_numpy()


def overlay_power(runs: Sequence[RunData], labels: Sequence[str]) -> Drawing | None:
    runs_l = [(r, lab) for r, lab in zip(runs, labels, strict=True) if r.fleets]
    if not runs_l:
        return None
    long_run = any(r.long_run for r, _ in runs_l)
    same = _same_start([r for r, _ in runs_l])
    fig, axes = style.figure(2, height_in=5.2)
    for k, (r, lab) in enumerate(runs_l):
        colour = style.PALETTE[k % len(style.PALETTE)]
        x, y = _daily_or_raw(r, r.p_kw, long_run, same)
        axes[0].plot(x, y, color=colour, lw=1, label=lab)
        x, y = _daily_or_raw(r, r.p_kw - r.baseline_kw, long_run, same)
        axes[1].plot(x, y, color=colour, lw=1, label=lab)
    if same and not long_run:
        style.shade_windows(axes[0], runs_l[0][0].windows, runs_l[0][0].index)
    r0 = runs_l[0][0]
    x, y = _daily_or_raw(r0, r0.baseline_kw, long_run, same)
    axes[0].plot(x, y, color=style.BASELINE, ls="--", lw=1, label=f"baseline of {runs_l[0][1]}")
    axes[0].set_ylabel("kW (+ charging)")
    axes[0].set_title("fleet power" + (" (daily mean)" if long_run else ""), loc="left")
    axes[1].axhline(0, color="#333", lw=0.6)
    axes[1].set_ylabel("kW")
    axes[1].set_title(
        "what the control changed: power - own baseline" + (" (daily mean)" if long_run else ""),
        loc="left",
    )
    for ax in axes:
        style.legend(ax)
    if same:
        style.time_axis(axes[-1], r0.index, r0.timezone)
    else:
        axes[-1].set_xlabel("hours since each run's start")
    caption = (
        "Each run's total fleet power and its change against its own uncontrolled baseline"
        + (", daily means" if long_run else "")
        + "; kW. From each folder's timeseries.parquet."
    )
    return fig, caption


def overlay_grid(runs: Sequence[RunData], labels: Sequence[str]) -> Drawing | None:
    quantities = [
        (col.GRID_TRAFO_LOADING_MAX_PCT, "highest transformer loading (%)", "max"),
        (col.GRID_LINE_LOADING_MAX_PCT, "highest line loading (%)", "max"),
        (col.GRID_VM_MIN_PU, "lowest bus voltage (pu)", "min"),
        (col.GRID_VM_MAX_PU, "highest bus voltage (pu)", "max"),
    ]
    quantities = [q for q in quantities if any(r.has(q[0]) for r in runs)]
    if not quantities:
        return None
    long_run = any(r.long_run for r in runs)
    same = _same_start(runs)
    fig, axes = style.figure(len(quantities), height_in=2.2 * len(quantities) + 0.5)
    for ax, (c, title, how) in zip(axes, quantities, strict=True):
        for k, (r, lab) in enumerate(zip(runs, labels, strict=True)):
            if not r.has(c):
                continue
            x, y = _daily_or_raw(r, r.series(c), long_run, same, how)
            ax.plot(x, y, color=style.PALETTE[k % len(style.PALETTE)], lw=1, label=lab)
        ax.set_title(title + (f" (daily {how})" if long_run else ""), loc="left")
        style.legend(ax)
    if same:
        style.time_axis(axes[-1], runs[0].index, runs[0].timezone)
    else:
        axes[-1].set_xlabel("hours since each run's start")
    caption = "The grid's extremes of each run. From each folder's timeseries.parquet (`grid.*`)."
    return fig, caption


BAR_GRID_KPIS = ("max_trafo_loading_pct", "min_bus_voltage_pu")


def kpi_bars(rows: Sequence[CompareRow], labels: Sequence[str]) -> Drawing | None:
    """The headline KPIs of each run as bars (one panel per KPI, at most six)."""
    numeric = [
        r
        for r in rows
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in r.values)
    ]
    study = [r for r in numeric if r.group not in ("Energy", "Grid", OTHER) and "_mw_" not in r.key]
    grid = [r for r in numeric if r.key in BAR_GRID_KPIS]
    headline = (study[: 6 - min(2, len(grid))] + grid)[:6]
    if not headline:
        return None
    n = len(headline)
    ncols = 2 if n > 1 else 1
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(style.WIDTH_IN, 2.2 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.12, hspace=0.8, wspace=0.25)
    ypos = np.arange(len(labels))
    for ax, row in zip(axes.ravel(), headline, strict=False):
        values = np.array([float(v) for v in row.values])
        ax.bar(
            ypos, values, color=[style.PALETTE[k % len(style.PALETTE)] for k in range(len(labels))]
        )
        ax.set_xticks(ypos, [str(k + 1) for k in range(len(labels))])
        ax.set_title(
            f"{row.label} ({row.unit})" if row.unit else row.label,
            loc="left",
            fontsize=style.FONT_PT,
        )
        ax.axhline(0, color="#333", lw=0.5)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    names = "; ".join(f"{k + 1} = {lab}" for k, lab in enumerate(labels))
    return (
        fig,
        f"The study's own KPIs of each run (bars numbered as the runs: {names}). From each summary.json.",
    )


@dataclass
class Comparison:
    labels: list[str]
    runs: list[RunData]
    rows: list[CompareRow]
    html_path: Path | None = None
    figures: list[Path] | None = None


def load_comparison(paths: Sequence[Path]) -> Comparison:
    dirs = run_dirs(paths)
    runs = [load_run_data(d, detail=False) for d in dirs]
    return Comparison(labels=run_labels(dirs), runs=runs, rows=compare_rows(runs))


def build_comparison(paths: Sequence[Path], out_dir: Path | None = None) -> Comparison:
    """Read the runs, write `<out>/compare.html` and `<out>/figures/*.png` (out: `compare/`
    beside the first run by default, or inside a sweep folder)."""
    from twin.report.html import Markup, figure_html, page, table_html

    cmp = load_comparison(paths)
    if out_dir is None:
        first = paths[0]
        base = first if not (first / col.SUMMARY_FILE).exists() else first.parent
        out_dir = base / col.COMPARE_DIR
    figures_dir = out_dir / col.FIGURES_DIR
    figures_dir.mkdir(parents=True, exist_ok=True)
    drawn = []
    for slug, title, draw in (
        ("kpis", "KPIs of each run", lambda: kpi_bars(cmp.rows, cmp.labels)),
        ("power", "Fleet power of each run", lambda: overlay_power(cmp.runs, cmp.labels)),
        ("grid", "Grid extremes of each run", lambda: overlay_grid(cmp.runs, cmp.labels)),
    ):
        got = draw()
        if got is None:
            continue
        fig, caption = got
        png = style.png_bytes(fig)
        path = figures_dir / f"{slug}.png"
        path.write_bytes(png)
        drawn.append((slug, title, caption, png, path))
    headers = ["KPI", "unit", *(f"{k + 1}: {lab}" for k, lab in enumerate(cmp.labels))]
    headers += [f"{k + 1} - 1" for k in range(1, len(cmp.labels))]
    body = [
        (
            r.label,
            r.unit,
            *(format_value(v) for v in r.values),
            *(delta_text(r, i) for i in range(1, len(r.values))),
        )
        for r in cmp.rows
    ]
    n = len(cmp.labels)
    table = table_html(
        headers, body, [False, False, *([True] * (2 * n - 1))], [r.group for r in cmp.rows]
    )
    runs_table = table_html(
        ["#", "run", "scenario", "status", "steps", "EVs", "seed"],
        [
            (
                str(k + 1),
                Markup(f"<code>{lab}</code>"),
                r.name,
                str(r.summary.get("status")),
                str(r.summary.get("steps", len(r.table))),
                format_value(r.summary.get("ev_count")),
                str(r.summary.get("seed")),
            )
            for k, (lab, r) in enumerate(zip(cmp.labels, cmp.runs, strict=True))
        ],
    )
    sections = [
        ("Runs", runs_table),
        ("KPIs side by side", table),
        (
            "Figures",
            "".join(
                figure_html(s, t, c, png, p.relative_to(out_dir).as_posix())
                for s, t, c, png, p in drawn
            ),
        ),
    ]
    html = page(f"Comparison of {n} runs", "", [("runs", ", ".join(cmp.labels))], [], sections)
    cmp.html_path = out_dir / col.COMPARE_FILE
    cmp.html_path.write_text(html, encoding="utf-8")
    cmp.figures = [p for *_, p in drawn]
    return cmp
