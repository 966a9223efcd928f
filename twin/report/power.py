"""Fleet figures: power against the uncontrolled baseline (windows shaded), SOC by fleet, the EMS
target with its feasible band and what each service added to it."""

from __future__ import annotations

import pandas as pd

from twin.report import style
from twin.report.data import RunData
from twin.report.style import Drawing, FigureSpec
from twin.results import columns as col

MAX_FLEET_PANELS = 6
"""More fleets than this: the per-fleet panels give way to the total alone."""
SECTION = "Fleets and EMS"


def _span(d: RunData) -> str:
    return "daily mean and daily range" if d.long_run else f"every {d.step_s} s step"


def power(d: RunData) -> Drawing | None:
    if not d.fleets:
        return None
    several = len(d.fleets) > 1
    per_fleet_panels = several and not d.long_run and len(d.fleets) <= MAX_FLEET_PANELS
    rows = 1 + (len(d.fleets) if per_fleet_panels else int(several))
    fig, axes = style.figure(rows)
    ax = axes[0]
    style.shade_windows(ax, d.windows, d.index)
    style.trace(
        ax,
        d.baseline_kw,
        d.long_run,
        style.BASELINE,
        "baseline" if d.long_run else "baseline (uncontrolled)",
        ls="--",
    )
    style.trace(ax, d.p_kw, d.long_run, style.CONTROLLED, "controlled")
    if d.has(col.EMS_TARGET_KW) and not d.long_run:
        style.line(
            ax,
            d.index,
            d.series(col.EMS_TARGET_KW),
            color=style.TARGET,
            ls=":",
            lw=1.4,
            label="EMS target",
        )
    ax.set_title("all fleets", loc="left")
    style.legend(ax)
    if per_fleet_panels:
        for ax_f, n in zip(axes[1:], d.fleets, strict=True):
            style.shade_windows(ax_f, d.windows, d.index)
            style.line(
                ax_f,
                d.index,
                d.series(col.baseline_p_kw(n)),
                color=style.BASELINE,
                ls="--",
                label="baseline (uncontrolled)",
            )
            style.line(
                ax_f,
                d.index,
                d.series(col.fleet_p_kw(n)),
                color=style.CONTROLLED,
                label="controlled",
            )
            ax_f.set_title(n, loc="left")
            style.legend(ax_f)
    elif several:
        ax_f = axes[1]
        for k, n in enumerate(d.fleets):
            colour = style.PALETTE[k % len(style.PALETTE)]
            for column, ls, suffix in (
                (col.baseline_p_kw(n), "--", " baseline"),
                (col.fleet_p_kw(n), "-", ""),
            ):
                m = style.daily(d.series(column), "mean")
                ax_f.plot(
                    style.naive(pd.DatetimeIndex(m.index)),
                    m.to_numpy(),
                    color=colour,
                    ls=ls,
                    lw=1,
                    label=n + suffix,
                )
        ax_f.set_title("by fleet, daily mean (dashed: baseline)", loc="left")
        style.legend(ax_f)
    for a in axes:
        a.axhline(0, color="#333", lw=0.6)
        a.set_ylabel("kW (+ charging)")
    style.time_axis(axes[-1], d.index, d.timezone)
    caption = (
        f"Grid power of the controlled fleets against the same fleets charging uncontrolled "
        f"(same trips and seed), {_span(d)}; kW, + = charging. "
        + ("Shaded: the push-up and push-down windows. " if d.windows and not d.long_run else "")
        + "From timeseries.parquet (`<fleet>.p_kw`, `<fleet>_baseline.p_kw`, `ems.target_kw`)."
    )
    return fig, caption


def soc(d: RunData) -> Drawing | None:
    fleets = [n for n in d.fleets if d.has(col.fleet_soc_mean(n))]
    if not fleets:
        return None
    fig, (ax,) = style.figure(1, height_in=3.0)
    for k, n in enumerate(fleets):
        colour = style.PALETTE[k % len(style.PALETTE)]
        mean = 100.0 * d.series(col.fleet_soc_mean(n))
        style.trace(ax, mean, d.long_run, colour, n if d.long_run else f"{n} mean", band=False)
        if d.has(col.fleet_soc_min(n)):
            low = 100.0 * d.series(col.fleet_soc_min(n))
            if d.long_run:
                m = style.daily(low, "min")
                ax.plot(
                    style.naive(pd.DatetimeIndex(m.index)),
                    m.to_numpy(),
                    color=colour,
                    ls=":",
                    lw=1,
                    label=f"{n} lowest EV, daily",
                )
            else:
                style.line(ax, d.index, low, color=colour, ls=":", lw=1, label=f"{n} lowest EV")
    ax.set_ylim(0, 100)
    ax.set_ylabel("state of charge (%)")
    style.legend(ax, ncol=3)
    style.time_axis(ax, d.index, d.timezone)
    caption = (
        f"State of charge by fleet: mean over the fleet's EVs (solid) and its lowest EV (dotted), "
        f"{'daily mean / daily lowest' if d.long_run else 'every step'}; %. "
        "From timeseries.parquet (`<fleet>.soc_mean`, `<fleet>.soc_min`)."
    )
    return fig, caption


def ems(d: RunData) -> Drawing | None:
    contributions = col.contributions(d.table.columns)
    if not d.has(col.EMS_TARGET_KW) and not contributions:
        return None
    fig, axes = style.figure(2 if contributions else 1)
    ax = axes[0]
    style.shade_windows(ax, d.windows, d.index)
    if d.has(col.EMS_FEASIBLE_LO_KW) and d.has(col.EMS_FEASIBLE_HI_KW):
        lo, hi = d.series(col.EMS_FEASIBLE_LO_KW), d.series(col.EMS_FEASIBLE_HI_KW)
        if d.long_run:
            lo, hi = style.daily(lo, "mean"), style.daily(hi, "mean")
        ax.fill_between(
            style.naive(pd.DatetimeIndex(lo.index)),
            lo.to_numpy(),
            hi.to_numpy(),
            color="#1f77b4",
            alpha=0.12,
            lw=0,
            label="feasible [lo, hi]" + (", daily mean" if d.long_run else ""),
        )
    if d.has(col.EMS_TARGET_KW):
        style.trace(
            ax, d.series(col.EMS_TARGET_KW), d.long_run, style.TARGET, "EMS target", band=False
        )
    style.trace(ax, d.p_kw, d.long_run, style.CONTROLLED, "fleet power", band=False, lw=0.9)
    ax.set_ylabel("kW")
    ax.set_title("EMS target within the fleet's feasible power", loc="left")
    style.legend(ax)
    if contributions:
        ax2 = axes[1]
        style.shade_windows(ax2, d.windows, d.index)
        for k, (service, c) in enumerate(contributions.items()):
            style.trace(
                ax2,
                d.series(c),
                d.long_run,
                style.PALETTE[(k + 2) % len(style.PALETTE)],
                service.replace("_", " "),
                band=False,
            )
        ax2.axhline(0, color="#333", lw=0.6)
        ax2.set_ylabel("kW")
        ax2.set_title("what each service added to the target", loc="left")
        style.legend(ax2)
    style.time_axis(axes[-1], d.index, d.timezone)
    caption = (
        "The EMS's fleet target inside the band the fleet can take without breaking a hard rule "
        "(SOC floors, departures, charger limits), and each service's change of the target "
        f"({_span(d) if d.long_run else 'every step'}); kW. From timeseries.parquet "
        "(`ems.target_kw`, `ems.feasible_lo_kw`, `ems.feasible_hi_kw`, `ems.contribution.<service>_kw`)."
    )
    return fig, caption


FIGURES = (
    FigureSpec("fleet_power", "Fleet power vs uncontrolled baseline", SECTION, power),
    FigureSpec("soc", "State of charge by fleet", SECTION, soc),
    FigureSpec("ems", "EMS target and service contributions", SECTION, ems),
)
