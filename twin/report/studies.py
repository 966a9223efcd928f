"""Study figures, each drawn only when the run has its columns: frequency response, regulation
tracking (with the PJM hourly score), FEMS kWh per slot, reserve in-band, CO2 and PV, and the
physical chargers of a hardware-in-the-loop run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.report import style
from twin.report.data import RunData
from twin.report.style import Drawing, FigureSpec
from twin.results import columns as col

SECTION = "Services"
HARDWARE = "Hardware"
ZOOM_S = 900
"""The regulation panel's excerpt (15 min of a signal that changes every few seconds)."""
RESERVE_BAND = 0.10
"""The in-band tolerance the reserve KPI uses (twin.metrics.kwh_accuracy.in_band_rate)."""


def _slot_times(entries: list[dict[str, Any]], timezone: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime([e["start"] for e in entries], utc=True)).tz_convert(
        timezone
    )


def frequency(d: RunData) -> Drawing | None:
    fcol = col.frequency_column(d.table.columns)
    if fcol is None or not d.has(fcol):
        return None
    fig, (ax_f, ax_p) = style.figure(2, height_in=4.8)
    style.line(ax_f, d.index, d.series(fcol), color="#9467bd", lw=0.9, label="grid frequency")
    ax_f.axhline(50.0 if d.series(fcol).median() < 55 else 60.0, color="#333", lw=0.5)
    ax_f.set_ylabel("frequency (Hz)")
    style.legend(ax_f)
    k = d.kpis
    event = None
    if isinstance(k.get("ufr_event_s"), int | float) and col.TIME_S in d.table:
        i = int(np.searchsorted(d.table[col.TIME_S].to_numpy(), float(k["ufr_event_s"])))
        event = i if 0 < i < len(d.index) else None
    if event is not None:
        # What the KPI measures: the fleet's power just before the event minus its power now.
        before = float(d.p_kw.iloc[event - 1])
        response = before - d.p_kw
        what = "power before the event - power"
    else:
        response = d.baseline_kw - d.p_kw
        what = "baseline - power"
    style.line(ax_p, d.index, response, color=style.CONTROLLED, lw=1, label="fleet response")
    if isinstance(k.get("ufr_target_kw"), int | float):
        ax_p.axhline(
            float(k["ufr_target_kw"]), color=style.LIMIT, ls="--", lw=0.9, label="90 % of available"
        )
    if isinstance(k.get("ufr_available_kw"), int | float):
        ax_p.axhline(
            float(k["ufr_available_kw"]), color="#2ca02c", ls=":", lw=0.9, label="available"
        )
    if event is not None:
        x = style.naive(d.index)[event]
        for ax in (ax_f, ax_p):
            ax.axvline(x, color="#444", ls=":", lw=0.9)
        ax_f.text(x, ax_f.get_ylim()[0], " event", va="bottom", fontsize=style.FONT_PT - 1)
        if isinstance(k.get("ufr_time_to_90_s"), int | float):
            style.note(
                ax_p,
                f"90 % reached {k['ufr_time_to_90_s']:.0f} s after the event"
                + (
                    f", held {k['ufr_held_s']:.0f} s"
                    if isinstance(k.get("ufr_held_s"), int | float)
                    else ""
                ),
                top=False,
            )
    ax_p.axhline(0, color="#333", lw=0.5)
    ax_p.set_ylabel("kW (+ = towards the grid)")
    style.legend(ax_p)
    style.time_axis(ax_p, d.index, d.timezone)
    caption = (
        f"Grid frequency and the fleet's response ({what}, kW: positive when the fleet takes "
        "less or gives power); the dotted line marks the under-frequency event, the dashed line "
        "90 % of the power available at it. "
        f"From timeseries.parquet (`{fcol}`, `<fleet>.p_kw`, `<fleet>_baseline.p_kw`) and the KPIs."
    )
    return fig, caption


def regulation(d: RunData) -> Drawing | None:
    needed = (col.SIGNAL_REGULATION_PU, col.REG_BASEPOINT_KW, col.REG_CAPACITY_KW)
    if not all(d.has(c) for c in needed):
        return None
    listed = d.kpis.get("pjm_hourly_score")
    hourly: list[Any] = listed if isinstance(listed, list) else []
    rows = 2 if hourly else 1
    fig, axes = style.figure(rows, height_in=2.8 * rows + 0.4, sharex=False)
    ax = axes[0]
    signal = d.series(col.SIGNAL_REGULATION_PU)
    cap = d.series(col.REG_CAPACITY_KW).replace(0.0, np.nan)
    sign = d.series(col.REG_SIGN) if d.has(col.REG_SIGN) else 1.0
    response = sign * (d.p_kw - d.series(col.REG_BASEPOINT_KW)) / cap
    # Seconds-level tracking is unreadable over hours: a window of ZOOM_S from the middle.
    active = signal.notna() & response.notna()
    window = signal.index[active.to_numpy()]
    zoomed = len(window) > 1 and (window[-1] - window[0]).total_seconds() > 2 * ZOOM_S
    shown = d.index
    if zoomed:
        mid = window[len(window) // 2]
        keep = (d.index >= mid) & (d.index < mid + pd.Timedelta(seconds=ZOOM_S))
        shown = d.index[keep]
        signal, response = signal[keep], response[keep]
        ax.set_title(f"a {ZOOM_S // 60}-min excerpt from {mid:%H:%M}", loc="left")
    style.line(ax, shown, signal, color="#7f7f7f", lw=1.0, label="regulation signal")
    style.line(
        ax, shown, response, color=style.CONTROLLED, lw=1.0, alpha=0.85, label="fleet response"
    )
    ax.set_ylim(-1.3, 1.3)
    ax.set_ylabel("per unit of capacity")
    k = d.kpis
    if isinstance(k.get("pjm_score"), int | float):
        style.note(
            ax,
            f"PJM score {k['pjm_score']:.3f} (correlation {k.get('pjm_correlation', float('nan')):.3f}, delay {k.get('pjm_delay', float('nan')):.3f}, precision {k.get('pjm_precision', float('nan')):.3f})",
        )
    style.legend(ax, ncol=2)
    style.time_axis(ax, shown, d.timezone)
    if rows == 2:
        axh = axes[1]
        scores = np.asarray([np.nan if v is None else float(v) for v in hourly], dtype=float)
        hours = np.arange(1, len(scores) + 1)
        axh.bar(hours, scores, color=np.where(scores >= 0.75, "#2ca02c", "#d62728"), alpha=0.8)
        axh.axhline(0.75, color=style.LIMIT, ls="--", lw=0.9, label="pass (0.75)")
        axh.set_ylim(0, 1.05)
        axh.set_xlabel("hour of the regulation run")
        axh.set_ylabel("PJM score (0-1)")
        style.legend(axh)
    caption = (
        "Regulation tracking: the signal and the fleet's response as sign x (power - basepoint) / "
        f"capacity, per unit{f' ({ZOOM_S // 60} min of the run)' if zoomed else ''}; below, the PJM performance score of each hour (pass >= 0.75). From "
        "timeseries.parquet (`signal.regulation_pu`, `ems.reg_basepoint_kw`, `ems.reg_capacity_kw`, "
        "`ems.reg_sign`) and summary.json (`pjm_hourly_score`)."
    )
    return fig, caption


def fems(d: RunData) -> Drawing | None:
    slots = d.kpis.get("kwh_accuracy_per_slot")
    if not isinstance(slots, list) or not slots:
        return None
    t = style.naive(_slot_times(slots, d.timezone))
    req = np.array([float(s.get("requested_kwh", np.nan)) for s in slots])
    got = np.array([float(s.get("delivered_kwh", np.nan)) for s in slots])
    fig, (ax,) = style.figure(1, height_in=2.8)
    width = pd.Timedelta(minutes=12)
    ax.bar(t - width / 2, req, width=width, align="edge", color="#7f7f7f", label="requested")
    ax.bar(t + width / 2, got, width=width, align="edge", color=style.CONTROLLED, label="delivered")
    ax.axhline(0, color="#333", lw=0.5)
    ax.set_ylabel("kWh per 30-min slot")
    style.legend(ax, ncol=2)
    style.time_axis(ax, d.index, d.timezone)
    acc = d.kpis.get("kwh_accuracy_percent")
    if isinstance(acc, int | float):
        style.note(ax, f"kWh accuracy {acc:.1f} %")
    caption = (
        "FEMS schedule: energy requested and delivered per 30-min slot of the local clock, kWh "
        "(+ charging). From summary.json (`kwh_accuracy_per_slot`)."
    )
    return fig, caption


def reserve(d: RunData) -> Drawing | None:
    if not (d.has(col.RESERVE_COMMAND_KW) and d.has(col.RESERVE_BASELINE_KW)):
        return None
    fig, (ax, ax_e) = style.figure(2, height_in=5.0)
    command = d.series(col.RESERVE_COMMAND_KW)
    active = d.series(col.RESERVE_ACTIVE) > 0.5 if d.has(col.RESERVE_ACTIVE) else command != 0
    # Delivery is judged inside the blocks only (outside, the fleet recharges what it gave).
    delivered = (d.series(col.RESERVE_BASELINE_KW) - d.p_kw).where(active)
    x = style.naive(d.index)
    ax.step(
        x,
        command.to_numpy(),
        where="post",
        color="#2ca02c",
        lw=2.2,
        alpha=0.6,
        label="commanded reduction",
    )
    ax.step(
        x,
        delivered.to_numpy(),
        where="post",
        color=style.CONTROLLED,
        lw=0.8,
        label="delivered (baseline - power)",
    )
    slots = d.kpis.get("in_band_per_slot")
    if isinstance(slots, list) and slots:
        t = style.naive(_slot_times(slots, d.timezone)) + pd.Timedelta(minutes=15)
        v = np.array([float(s.get("delivered_kw", np.nan)) for s in slots])
        ok = np.array([bool(s.get("in_band")) for s in slots])
        ax.scatter(
            t[ok],
            v[ok],
            marker="o",
            color="#1a7a1a",
            zorder=3,
            s=22,
            label="30-min slot mean, in band",
        )
        if (~ok).any():
            ax.scatter(
                t[~ok],
                v[~ok],
                marker="x",
                color="#d62728",
                zorder=3,
                s=28,
                label="slot out of band",
            )
    ax.axhline(0, color="#333", lw=0.5)
    ax.set_ylabel("kW")
    ax.set_title("commanded and delivered reduction", loc="left")
    rate = d.kpis.get("in_band_rate_per_slot_percent")
    if isinstance(rate, int | float):
        minutes = d.kpis.get("in_band_rate_per_minute_percent")
        style.note(
            ax,
            f"in band: {rate:.0f} % of slots"
            + (f", {minutes:.0f} % of minutes" if isinstance(minutes, int | float) else ""),
        )
    style.legend(ax)
    band = (RESERVE_BAND * command.abs()).where(active)
    ax_e.fill_between(
        x,
        (-band).to_numpy(),
        band.to_numpy(),
        color="#2ca02c",
        alpha=0.25,
        lw=0,
        step="post",
        label=f"+-{RESERVE_BAND:.0%} of the command",
    )
    ax_e.step(
        x,
        (delivered - command.where(active)).to_numpy(),
        where="post",
        color=style.CONTROLLED,
        lw=0.8,
        label="delivered - commanded",
    )
    ax_e.axhline(0, color="#333", lw=0.5)
    ax_e.set_ylabel("kW")
    ax_e.set_title("tracking error, every step", loc="left")
    style.legend(ax_e)
    style.time_axis(ax_e, d.index, d.timezone)
    caption = (
        "Reserve: the commanded reduction and what the fleet delivered (its reserve baseline "
        "minus its power) inside the reserve blocks, kW, with each full 30-min slot's mean; below, "
        "delivered minus commanded against the +-10 % band. From timeseries.parquet "
        "(`ems.reserve_command_kw`, `ems.reserve_baseline_kw`, `ems.reserve_active`) and "
        "summary.json (`in_band_per_slot`)."
    )
    return fig, caption


def co2(d: RunData) -> Drawing | None:
    has_co2 = d.has(col.SIGNAL_CO2_KG_PER_KWH)
    has_pv = d.has(col.SIGNAL_AREA_PV_SURPLUS_KW)
    if not (has_co2 or has_pv):
        return None
    rows = int(has_co2) + int(has_pv)
    fig, axes = style.figure(rows, height_in=2.7 * rows + 0.4)
    k = 0
    if has_co2:
        ax = axes[k]
        k += 1
        intensity = d.series(col.SIGNAL_CO2_KG_PER_KWH)
        if d.long_run:
            # daily charging-weighted intensity: where in the day's carbon the fleet charged
            e_ctrl = d.p_kw.clip(lower=0)
            e_base = d.baseline_kw.clip(lower=0)
            for e, colour, label in (
                (e_base, style.BASELINE, "baseline"),
                (e_ctrl, style.CONTROLLED, "controlled"),
            ):
                w = style.daily(e * intensity, "sum") / style.daily(e, "sum").replace(0, np.nan)
                ax.plot(
                    style.naive(pd.DatetimeIndex(w.index)),
                    w.to_numpy(),
                    color=colour,
                    lw=1,
                    label=f"{label}: charged at",
                )
            style.daily_band(ax, intensity, "#8c564b", "grid intensity", mean=False)
            ax.set_ylabel("kg CO2 / kWh")
        else:
            style.line(ax, d.index, intensity, color="#8c564b", lw=1, label="grid CO2 intensity")
            ax.set_ylabel("kg CO2 / kWh")
            ax2 = ax.twinx()
            style.line(
                ax2, d.index, d.baseline_kw, color=style.BASELINE, ls="--", lw=0.9, label="baseline"
            )
            style.line(ax2, d.index, d.p_kw, color=style.CONTROLLED, lw=0.9, label="fleet power")
            ax2.set_ylabel("kW")
            ax2.grid(False)
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = ax2.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, loc="upper left", ncol=3)
        kp = d.kpis
        if isinstance(kp.get("net_co2_kg"), int | float) and isinstance(
            kp.get("baseline_net_co2_kg"), int | float
        ):
            style.note(
                ax,
                f"net CO2 {kp['net_co2_kg']:,.0f} kg vs {kp['baseline_net_co2_kg']:,.0f} kg uncontrolled",
            )
        if d.long_run:
            style.legend(ax, ncol=2)
    if has_pv:
        ax = axes[k]
        surplus = d.series(col.SIGNAL_AREA_PV_SURPLUS_KW)
        absorbed = d.series(col.PV_ABSORBED_KW) if d.has(col.PV_ABSORBED_KW) else None
        if d.long_run:
            dt_h = d.step_s / 3600.0
            s = style.daily(surplus, "sum") * dt_h
            x = style.naive(pd.DatetimeIndex(s.index))
            ax.bar(
                x,
                s.to_numpy(),
                width=1.0,
                color="#bcbd22",
                alpha=0.6,
                label="PV surplus without EVs",
            )
            if absorbed is not None:
                a = style.daily(absorbed, "sum") * dt_h
                ax.bar(x, a.to_numpy(), width=1.0, color="#2ca02c", label="absorbed by the EVs")
            ax.set_ylabel("kWh per day")
        else:
            x = style.naive(d.index)
            ax.fill_between(
                x,
                0,
                surplus.to_numpy(),
                color="#bcbd22",
                alpha=0.5,
                lw=0,
                label="PV surplus without EVs",
            )
            if absorbed is not None:
                ax.fill_between(
                    x,
                    0,
                    absorbed.to_numpy(),
                    color="#2ca02c",
                    alpha=0.7,
                    lw=0,
                    label="absorbed by the EVs",
                )
            ax.set_ylabel("kW")
        style.legend(ax, ncol=2)
    style.time_axis(axes[-1], d.index, d.timezone)
    caption = (
        (
            "CO2: the grid's intensity (kg/kWh) and, "
            + (
                "per day, the intensity the controlled and uncontrolled fleets charged at"
                if d.long_run
                else "the fleet's power against its baseline"
            )
            + ". "
            if has_co2
            else ""
        )
        + ("PV: the area's PV surplus and the part the EVs absorbed. " if has_pv else "")
        + "From timeseries.parquet (`signal.co2_kg_per_kwh`, `signal.area_pv_surplus_kw`, "
        "`ems.pv_absorbed_kw`, fleet power)."
    )
    return fig, caption


MAX_SPANS = 400
"""Offline / degraded spans drawn per charger at most (a flapping link would draw thousands)."""


def _runs(mask: np.ndarray, x: pd.DatetimeIndex, step_s: int) -> list[tuple[Any, Any]]:
    """The [start, end) times of each run of True steps (a step lasts until the next starts)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    end_of_run = pd.Timedelta(seconds=step_s)
    out = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        out.append((x[a], x[b] if b < len(x) else x[-1] + end_of_run))
    return out


def hardware(d: RunData) -> Drawing | None:
    chargers = col.hil_columns(d.table.columns)
    if not chargers:
        return None
    n = len(chargers)
    fig, axes = style.figure(n, height_in=1.9 * n + 0.5)
    for ax, (cid, fields) in zip(axes, chargers.items(), strict=True):
        if "power_kw" in fields:
            style.line(
                ax,
                d.index,
                d.series(fields["power_kw"]),
                color=style.CONTROLLED,
                lw=1,
                label="measured power",
            )
        ax.set_ylabel("kW")
        ax.set_title(f"charger {cid}", loc="left")
        x = style.naive(d.index)
        for flag, colour, label in (
            ("online", "#2ca02c", "online"),
            ("degraded", "#d62728", "degraded"),
        ):
            if flag in fields and d.has(fields[flag]):
                on = d.series(fields[flag]).to_numpy() > 0.5
                if flag == "online":
                    on = ~on
                    label, colour = "offline", "#7f7f7f"
                for k, (x0, x1) in enumerate(_runs(on, x, d.step_s)[:MAX_SPANS]):
                    ax.axvspan(
                        x0, x1, color=colour, alpha=0.25, lw=0, label=label if k == 0 else None
                    )
        style.legend(ax, ncol=3)
    style.time_axis(axes[-1], d.index, d.timezone)
    events = len(d.hil_events)
    caption = (
        "Each physical charger's measured power (kW), shaded where it was offline or refused a "
        f"set-point (degraded); {events} link events in {col.HIL_EVENTS_FILE}. From "
        "timeseries.parquet (`hil.<charger>.power_kw`, `.online`, `.degraded`)."
    )
    return fig, caption


FIGURES = (
    FigureSpec("frequency", "Frequency response", SECTION, frequency),
    FigureSpec("regulation", "Regulation tracking (PJM)", SECTION, regulation),
    FigureSpec("fems", "FEMS schedule per 30-min slot", SECTION, fems),
    FigureSpec("reserve", "Reserve delivered vs commanded", SECTION, reserve),
    FigureSpec("co2_pv", "CO2 and PV surplus", SECTION, co2),
    FigureSpec("hardware", "Physical chargers", HARDWARE, hardware),
)
