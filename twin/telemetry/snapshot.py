"""What a step's snapshot says: fleet totals, per-fleet state and SOC histogram, EMS, signals,
frequency, grid, KPIs so far, the hardware loop, the grid violation tally so far, and the run's
static meta block.

All of it is read from the recorded row through twin.results.columns (the same names the
results are written with) plus the live fleets' SOC; nothing here touches a socket (that is
twin.telemetry.publisher) or the byte layout (twin.telemetry.wire).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin.ems.services.flexibility_windows import push_windows
from twin.results import columns as col
from twin.telemetry import wire
from twin.telemetry.history import DecimatedHistory
from twin.telemetry.kpis_so_far import KpisSoFar
from twin.telemetry.violations_so_far import ViolationsSoFar
from twin.telemetry.wire import json_number

SOC_BINS = np.linspace(0.0, 1.0, 11)
"""Edges of the SOC histogram (meta.soc_bins)."""
MAX_TRAFOS_IN_HISTORY = 8
"""More transformers than this: the history carries only the maximum loading (keeps it small)."""

HilStatus = Mapping[str, Any]
"""What the run tells of its hardware loop (twin.run.world.PreparedRun.hil_status): ``chargers``
{charger id: {field: value}} (e.g. status, last_message_age_s, charger_status, energy_kwh, soc)
and ``step_lateness_s``. Strings pass as they are, numbers are made JSON-safe."""
HilStatusSource = Callable[[], HilStatus | None]
"""How the run hands its hardware loop's status to the publisher (None: no physical chargers)."""


def soc_histogram(soc: np.ndarray, plugged: np.ndarray) -> tuple[list[int], list[int]]:
    """EVs per SOC bin (`SOC_BINS`), all and plugged only; SOC 1.0 counts in the last bin."""
    n_bins = len(SOC_BINS) - 1
    bins = np.minimum((soc * n_bins).astype(np.intp), n_bins - 1)
    return (
        np.bincount(bins, minlength=n_bins).tolist(),
        np.bincount(bins[plugged], minlength=n_bins).tolist(),
    )


def final_block(summary: Mapping[str, Any] | None) -> dict[str, Any]:
    """The end message's `final`: status, wall time and the scalar KPIs of the run's summary
    (summary.json's content as the run wrote it); status "unknown" without one."""
    if summary is None:
        return {"status": "unknown"}
    kpis = {k: v for k, v in (summary.get("kpis") or {}).items() if not isinstance(v, dict)}
    return {
        "status": summary.get("status"),
        "wall_time_s": summary.get("wall_time_s"),
        "kpis": {k: v if isinstance(v, int | str) else json_number(v) for k, v in kpis.items()},
    }


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


@dataclass(slots=True)
class Step:
    """One accounted step: what a message about it needs besides the running KPIs."""

    row: Mapping[str, Any]
    detail: Mapping[str, np.ndarray]
    time_s: int
    stamp: dt.datetime
    local: dt.datetime
    p_fleet: list[float]
    pb_fleet: list[float]
    total: dict[str, Any]
    contributions: dict[str, float | None]
    grid: dict[str, float | None]
    frequency: dict[str, float | None] | None


class StepContent:
    """Accounts every step (totals, KPIs so far, history) and says what a message about one
    contains.

    Args:
        scenario: The scenario being run (fleets, clock, push windows, meta).
        fleets: The live fleets by name (their SOC and plugged state, read when a step is sent).
        grid_ids: Element ids {"bus": [...], "line": [...], "trafo": [...]} the per-element
            arrays are aligned to.
        out_dir: The run's results folder (meta).
        history_points: Upper bound of history rows.
        violations: The run's grid violation tally (`violations` of each message); None: the
            run checks no grid limits (the field is null).

    The row's columns (services, signals, HIL chargers) are learnt from the first row; `meta`
    (encoded) is available from then on.
    """

    def __init__(
        self,
        scenario: Any,
        fleets: Mapping[str, Any],
        grid_ids: Mapping[str, Sequence[Any]],
        out_dir: Path | str,
        history_points: int = 480,
        violations: ViolationsSoFar | None = None,
    ):
        self.scenario = scenario
        self.fleets = fleets
        self.ids = {kind: [str(i) for i in grid_ids[kind]] for kind in ("bus", "line", "trafo")}
        self.out_dir = out_dir
        self.history_points = history_points
        self.fleet_names = list(scenario.fleets)
        self._start_utc = scenario.start_local.astimezone(dt.UTC)
        self._tz = scenario.tz
        self.windows = push_windows(scenario.ems.services)
        self.kpis = KpisSoFar(*self.windows, scenario.step, int(scenario.ev_count))
        self.violations = violations
        self.meta: bytes | None = None
        self.history: DecimatedHistory | None = None

    # -- once, from the first row ------------------------------------------------------------
    def _learn_columns(self, columns: list[str]) -> None:
        names = self.fleet_names
        self._p_keys = [col.fleet_p_kw(n) for n in names]
        self._pb_keys = [col.baseline_p_kw(n) for n in names]
        self._plugged_keys = [col.fleet_plugged_count(n) for n in names]
        self._soc_keys = [(col.fleet_soc_mean(n), col.fleet_soc_min(n)) for n in names]
        self._contrib_keys = col.contributions(columns)
        self._signal_keys = col.signal_columns(columns)
        self._grid_keys = col.grid_columns(columns)
        self._freq_key = col.frequency_column(columns)
        self._hil_keys = col.hil_columns(columns)
        trafos = self.ids["trafo"]
        self._trafo_in_history = len(trafos) <= MAX_TRAFOS_IN_HISTORY
        series = list(wire.HISTORY_MAIN)
        series += [wire.history_fleet_p_kw(n) for n in names]
        series += [wire.history_contribution_kw(s) for s in self._contrib_keys]
        if self._freq_key:
            series += list(wire.HISTORY_FREQUENCY)
        series += list(wire.HISTORY_GRID)
        if self._trafo_in_history:
            series += [wire.history_trafo_loading_pct(t) for t in trafos]
        self.history = DecimatedHistory(len(series), self.history_points)
        self.meta = wire.encode_meta(self._meta(series))

    def _meta(self, series: list[str]) -> dict[str, Any]:
        sc = self.scenario
        up, down = self.windows
        return {
            "scenario": sc.name,
            "description": sc.description,
            "timezone": sc.timezone,
            "start": sc.start_local.isoformat(),
            "step_s": sc.step,
            "duration_s": sc.duration,
            "ev_count": sc.ev_count,
            "fleets": {n: f.count for n, f in sc.fleets.items()},
            "grid": {"name": sc.grid.name, "params": sc.grid.params},
            "out_dir": str(Path(self.out_dir).resolve()),
            "windows": {"push_up": list(up), "push_down": list(down)},
            "soc_bins": SOC_BINS.tolist(),
            "ids": self.ids,
            "history_series": series,
        }

    # -- every step (cheap) ------------------------------------------------------------------
    def account(self, row: Mapping[str, Any], detail: Mapping[str, np.ndarray]) -> Step:
        """Totals, KPIs so far and the history row of a recorded step."""
        if self.meta is None:
            self._learn_columns(list(row))
        num = json_number
        time_s = int(row.get(col.TIME_S, 0))
        stamp = self._start_utc + dt.timedelta(seconds=time_s)
        local = stamp.astimezone(self._tz)
        p_fleet = [num(row.get(k)) or 0.0 for k in self._p_keys]
        pb_fleet = [num(row.get(k)) or 0.0 for k in self._pb_keys]
        p_total, pb_total = sum(p_fleet), sum(pb_fleet)
        plugged_total = sum(int(row.get(k) or 0) for k in self._plugged_keys)
        target = num(row.get(col.EMS_TARGET_KW))
        contributions = {s: num(row.get(k)) for s, k in self._contrib_keys.items()}
        grid = {name: num(row.get(k)) for name, k in self._grid_keys.items()}
        frequency = None
        if self._freq_key:
            frequency = {
                "frequency_hz": num(row.get(self._freq_key)),
                "response_kw": p_total - pb_total,
            }
        second_of_day = local.hour * 3600 + local.minute * 60 + local.second
        self.kpis.add(second_of_day, p_total, pb_total, row)
        if self.violations is not None:
            self.violations.account(time_s)
        hist = [float(time_s), p_total, pb_total, _nan_if_none(target), float(plugged_total)]
        hist += p_fleet
        hist += [_nan_if_none(v) for v in contributions.values()]
        if frequency is not None:
            hist += [
                _nan_if_none(frequency["frequency_hz"]),
                _nan_if_none(frequency["response_kw"]),
            ]
        hist += [_nan_if_none(grid.get(q)) for q in wire.HISTORY_GRID]
        if self._trafo_in_history:
            trafo = detail.get("trafo_loading_pct")
            n_trafo = len(self.ids["trafo"])
            hist += (
                trafo.tolist()
                if trafo is not None and len(trafo) == n_trafo
                else [math.nan] * n_trafo
            )
        assert self.history is not None
        self.history.append(hist)
        return Step(
            row=row,
            detail=detail,
            time_s=time_s,
            stamp=stamp,
            local=local,
            p_fleet=p_fleet,
            pb_fleet=pb_fleet,
            total={
                "p_kw": p_total,
                "baseline_p_kw": pb_total,
                "target_kw": target,
                "plugged_count": plugged_total,
            },
            contributions=contributions,
            grid=grid,
            frequency=frequency,
        )

    # -- a step that is sent -----------------------------------------------------------------
    def content(self, step: Step, hil_status: HilStatus | None = None) -> dict[str, Any]:
        """The message header's step fields (time ... violations), JSON-safe, in wire order; the
        KPIs and violations are those accounted so far (`step` is the newest accounted step)."""
        num = json_number
        row = step.row
        sc = self.scenario
        fleets: dict[str, Any] = {}
        for i, name in enumerate(self.fleet_names):
            fleet = self.fleets[name]
            hist_all, hist_plugged = soc_histogram(fleet.state.soc, fleet.plugged)
            soc_mean, soc_min = self._soc_keys[i]
            fleets[name] = {
                "p_kw": step.p_fleet[i],
                "baseline_p_kw": step.pb_fleet[i],
                "plugged_count": num(row.get(self._plugged_keys[i])),
                "soc_mean": num(row.get(soc_mean)),
                "soc_min": num(row.get(soc_min)),
                "soc_hist": hist_all,
                "soc_hist_plugged": hist_plugged,
            }
        return {
            "time": step.stamp.isoformat(),
            "time_local": step.local.isoformat(),
            "time_s": step.time_s,
            "progress": min(1.0, (step.time_s + sc.step) / sc.duration),
            "total": step.total,
            "fleets": fleets,
            "ems": {
                "target_kw": step.total["target_kw"],
                "feasible_lo_kw": num(row.get(col.EMS_FEASIBLE_LO_KW)),
                "feasible_hi_kw": num(row.get(col.EMS_FEASIBLE_HI_KW)),
                "contributions_kw": step.contributions,
            },
            "signals": {name: num(row.get(k)) for name, k in self._signal_keys.items()},
            "frequency": step.frequency,
            "grid": step.grid,
            "kpis_so_far": self.kpis.values(),
            "hil": self.hil(row, hil_status),
            "violations": None if self.violations is None else self.violations.values(),
        }

    def hil(self, row: Mapping[str, Any], status: HilStatus | None) -> dict[str, Any] | None:
        """The hardware loop: the row's `hil.*` columns per charger, merged with the run's live
        status; None when the run has neither."""
        if not self._hil_keys and status is None:
            return None
        chargers: dict[str, dict[str, Any]] = {
            cid: {quantity: json_number(row.get(k)) for quantity, k in fields.items()}
            for cid, fields in self._hil_keys.items()
        }
        status = status or {}
        for cid, fields in (status.get("chargers") or {}).items():
            entry = chargers.setdefault(cid, {})
            for name, value in fields.items():
                entry[name] = value if isinstance(value, str) else json_number(value)
        return {"chargers": chargers, "step_lateness_s": json_number(status.get("step_lateness_s"))}
