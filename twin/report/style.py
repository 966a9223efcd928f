"""What every report figure shares: matplotlib (Agg, no display), sizes a paper column can take,
colours, the local-time axis, shaded windows and the daily aggregates of long runs."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit

import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:
    from twin.report.data import RunData

WIDTH_IN = 9.0
PANEL_H_IN = 2.4
DPI = 120
FONT_PT = 9
BASELINE = "#7f7f7f"
CONTROLLED = "#1f77b4"
TARGET = "#ff7f0e"
LIMIT = "#d62728"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
WINDOW_STYLE = {
    "push_up": ("#2ca02c", 0.10, "push-up window"),
    "push_down": ("#d62728", 0.08, "push-down window"),
}
MAX_SHADED_DAYS = 31
DAY_S = 86400

matplotlib.rcParams.update(
    {
        "font.size": FONT_PT,
        "axes.titlesize": FONT_PT + 1,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.fontsize": FONT_PT - 1,
        "legend.frameon": False,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "path.simplify": True,
        "agg.path.chunksize": 10000,
        # A title at a fixed height: matplotlib's automatic placement lays out every axis' tick
        # labels once more per panel to find their top (a fifth of a year-long report's drawing),
        # and no report panel has ticks above it.
        "axes.titley": 1.0,
        # No "+1" offset above the y axis: it sits where the left-aligned title is (automatic
        # title placement would have dodged it), and full tick values read better anyway.
        "axes.formatter.useoffset": False,
    }
)


@dataclass(frozen=True)
class Drawn:
    """One finished figure: its file stem, title, caption and PNG bytes."""

    slug: str
    title: str
    caption: str
    png: bytes
    section: str


MARGIN_IN = {"left": 0.8, "right": 2.2, "top": 0.3, "bottom": 0.55, "gap": 0.55}
NO_LEGEND_RIGHT_IN = 0.3
"""The right margin of figures without a legend column (heat maps, bar charts)."""
"""Fixed margins in inches: matplotlib's constrained layout costs more than the drawing (about
half of a year-long report's time), and fixed margins keep every figure's axes aligned."""


def figure(
    rows: int = 1,
    height_in: float | None = None,
    sharex: bool = True,
    right_in: float | None = None,
) -> tuple[Figure, list[Axes]]:
    """A figure of `rows` stacked panels at the report's width, margins fixed in inches."""
    h = height_in or PANEL_H_IN * rows + 0.4
    m = MARGIN_IN
    # Figure() without pyplot: no figure manager to register with or close (and pyplot's
    # import is a tenth of a year-long report's time).
    fig = Figure(figsize=(WIDTH_IN, h))
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False)
    plot_h = h - m["top"] - m["bottom"] - m["gap"] * (rows - 1)
    fig.subplots_adjust(
        left=m["left"] / WIDTH_IN,
        right=1 - (right_in if right_in is not None else m["right"]) / WIDTH_IN,
        top=1 - m["top"] / h,
        bottom=m["bottom"] / h,
        hspace=m["gap"] / (plot_h / rows) if rows > 1 else 0.2,
    )
    return fig, list(axes[:, 0])


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG (zlib level 1: a fifth of the default level's time; figures are flat colour, so files stay small)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    return buf.getvalue()


FIGURE_PX = int(WIDTH_IN * DPI)
"""The figure's width in pixels: no panel is wider, so bins of this count are at most a pixel."""


def envelope_indices(values: np.ndarray | Sequence[float], bins: int) -> np.ndarray:
    """Positions (ascending) of each bin's lowest and highest sample, plus the first and the
    last sample; bins of equal count in order. Drawn through these, a line looks as it does
    through every sample when a bin is at most a pixel wide (a one-sample spike stays), at a
    small fraction of the points. All positions when there are at most 2 x `bins` samples.
    NaN is skipped within a bin (an all-NaN bin keeps a NaN, so the line still breaks)."""
    v = np.asarray(values, dtype=float)
    n = v.size
    if bins < 1 or n <= 2 * bins:
        return np.arange(n)
    per_bin = -(-n // bins)  # ceil: the last bin may be shorter
    rows = -(-n // per_bin)
    padded = np.full(rows * per_bin, np.nan)
    padded[:n] = v
    grid = padded.reshape(rows, per_bin)
    missing = np.isnan(grid)
    # Padding is NaN too, so it is never picked over a real sample of the last bin.
    lo = np.argmin(np.where(missing, np.inf, grid), axis=1)
    hi = np.argmax(np.where(missing, -np.inf, grid), axis=1)
    start = np.arange(rows) * per_bin
    picked = np.concatenate([[0, n - 1], start + lo, start + hi])
    return np.unique(np.minimum(picked, n - 1))


def thin(
    x: pd.DatetimeIndex | np.ndarray, y: np.ndarray, bins: int = FIGURE_PX
) -> tuple[pd.DatetimeIndex | np.ndarray, np.ndarray]:
    """(x, y) reduced to each pixel column's min/max envelope when the series has more than
    2 x `bins` points (drawing 86,400 points into 700 pixels costs time and shows nothing more)."""
    if len(y) <= 2 * bins:
        return x, y
    keep = envelope_indices(y, bins)
    return x[keep], y[keep]


def naive(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Local wall-clock time without the zone (matplotlib then labels local hours as they read)."""
    return index.tz_localize(None) if index.tz is not None else index


def time_axis(ax: Axes, index: pd.DatetimeIndex, timezone: str) -> None:
    """Local-time x axis over the data's span, with hours for short runs and dates for long."""
    x = naive(index)
    if len(x):
        ax.set_xlim(x[0], x[-1])
    span_days = (x[-1] - x[0]).total_seconds() / DAY_S if len(x) > 1 else 0.0
    if span_days <= 1.5:
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=10))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    else:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(
        f"local time ({timezone})" + (f", {x[0]:%Y-%m-%d}" if span_days <= 1.5 and len(x) else "")
    )


def window_spans(
    windows: dict[str, tuple[int, int]], first: pd.Timestamp, last: pd.Timestamp
) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Every day's windows within [first, last] as (name, x0, x1); start > end wraps midnight."""
    out: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []
    day = first.normalize()
    while day <= last:
        for name, (a_s, b_s) in windows.items():
            parts = [(a_s, b_s)] if a_s <= b_s else [(0, b_s), (a_s, DAY_S)]
            for a, b in parts:
                x0, x1 = day + pd.Timedelta(seconds=a), day + pd.Timedelta(seconds=b)
                if x1 >= first and x0 <= last:
                    out.append((name, max(x0, first), min(x1, last)))
        day += pd.Timedelta(days=1)
    return out


def shade_windows(ax: Axes, windows: dict[str, tuple[int, int]], index: pd.DatetimeIndex) -> None:
    """Shade the flexibility windows (short runs only: a year of rectangles hides the data)."""
    x = naive(index)
    if not windows or len(x) < 2 or (x[-1] - x[0]).days > MAX_SHADED_DAYS:
        return
    labelled: set[str] = set()
    for name, x0, x1 in window_spans(windows, x[0], x[-1]):
        colour, alpha, label = WINDOW_STYLE.get(name, ("#7f7f7f", 0.1, name))
        ax.axvspan(
            x0, x1, color=colour, alpha=alpha, lw=0, label=None if name in labelled else label
        )
        labelled.add(name)


def line(
    ax: Axes, index: pd.DatetimeIndex, y: Sequence[float] | np.ndarray | pd.Series, **kw: Any
) -> None:
    """A series over time, thinned to its per-pixel min/max envelope when dense."""
    x, values = thin(naive(index), np.asarray(y, dtype=float))
    ax.plot(x, values, **kw)


@dataclass(frozen=True)
class DayBins:
    """Where each local day starts in a time-ordered index: one bin per day."""

    index: pd.DatetimeIndex
    days: pd.DatetimeIndex
    """Each day's local midnight."""
    starts: np.ndarray
    """Position of each day's first step."""


_DAY_BINS: list[DayBins] = []
_DAY_BINS_KEPT = 4
"""Indexes whose day bins are remembered: a report draws dozens of daily series on one index
(every `RunData.series` shares it), and `normalize()` of a zoned index costs more than the
reduction itself."""


def day_bins(index: pd.DatetimeIndex) -> DayBins | None:
    """The index's day bins (remembered by identity), None unless it is in time order."""
    for bins in _DAY_BINS:
        if bins.index is index:
            return bins
    if len(index) == 0 or not index.is_monotonic_increasing:
        return None
    midnight = index.normalize()
    ns = midnight.asi8
    starts = np.concatenate([[0], np.flatnonzero(ns[1:] != ns[:-1]) + 1])
    bins = DayBins(index=index, days=midnight[starts], starts=starts)
    _DAY_BINS.insert(0, bins)
    del _DAY_BINS[_DAY_BINS_KEPT:]
    return bins


def _reduce_days(values: np.ndarray, starts: np.ndarray, how: str) -> np.ndarray:
    """Per bin ('min', 'max', 'sum', else 'mean') as pandas' groupby does it: NaN skipped; an
    all-NaN day is NaN (its sum 0)."""
    finite = ~np.isnan(values)
    if how == "min":
        return np.fmin.reduceat(values, starts)
    if how == "max":
        return np.fmax.reduceat(values, starts)
    total = np.add.reduceat(np.where(finite, values, 0.0), starts)
    if how == "sum":
        return total
    count = np.add.reduceat(finite.astype(float), starts)  # "mean"
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1.0), np.nan)


DAILY_REDUCTIONS = frozenset({"mean", "min", "max", "sum"})


def daily(series: pd.Series, how: str = "mean") -> pd.Series:
    """Per local day: 'mean', 'min', 'max' or 'sum' of a series on a local-time index (any
    other pandas groupby reduction by name goes through pandas)."""
    index = series.index
    bins = day_bins(index) if isinstance(index, pd.DatetimeIndex) else None
    if bins is None or how not in DAILY_REDUCTIONS:  # pandas groups by value, in any order
        grouped = series.groupby(pd.DatetimeIndex(index).normalize())
        return getattr(grouped, how)()
    values = _reduce_days(series.to_numpy(dtype=float), bins.starts, how)
    return pd.Series(values, index=bins.days, name=series.name)


def daily_band(ax: Axes, series: pd.Series, colour: str, label: str, mean: bool = True) -> None:
    """A long run's series as its daily range (shaded) and daily mean (line)."""
    lo, hi = daily(series, "min"), daily(series, "max")
    x = naive(pd.DatetimeIndex(lo.index))
    ax.fill_between(
        x,
        lo.to_numpy(),
        hi.to_numpy(),
        color=colour,
        alpha=0.2,
        lw=0,
        label=f"{label}, daily range",
    )
    if mean:
        m = daily(series, "mean")
        ax.plot(x, m.to_numpy(), color=colour, lw=1.2, label=f"{label}, daily mean")


def legend(ax: Axes, ncol: int = 1) -> None:
    """The panel's legend in the right margin, beside the data it names (never over it)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=1, borderaxespad=0.0)


def note(ax: Axes, text: str, top: bool = True) -> None:
    """A one-line fact in a corner of the panel (upper right, or lower right)."""
    ax.text(
        0.99,
        0.97 if top else 0.03,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top" if top else "bottom",
        fontsize=FONT_PT - 1,
        color="#444",
        bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 1.5},
    )


def trace(
    ax: Axes,
    series: pd.Series,
    long_run: bool,
    colour: str,
    label: str,
    band: bool = True,
    **kw: Any,
) -> None:
    """A series over time: every step for a short run; a long run's daily mean (and daily range
    when `band`)."""
    if long_run:
        if band:
            daily_band(ax, series, colour, label)
        else:
            m = daily(series, "mean")
            ax.plot(
                naive(pd.DatetimeIndex(m.index)),
                m.to_numpy(),
                color=colour,
                label=f"{label}, daily mean",
                **kw,
            )
    else:
        line(ax, pd.DatetimeIndex(series.index), series.to_numpy(), color=colour, label=label, **kw)


Drawing = tuple[Figure, str]
"""A figure and its caption (what it shows, from which files)."""


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: file stem, title, page section and how to draw it (None when
    the run has nothing for it)."""

    slug: str
    title: str
    section: str
    draw: Callable[[RunData], Drawing | None]
