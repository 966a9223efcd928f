"""mosaik wrapper of the grid: base load + PV profiles + EV power per bus -> AC power flow.

Entity params: `powerflow` (grids.PowerFlow), `profiles` (grids.GridProfiles). A mosaik step
covers `block_steps` model steps (init parameter; 1 = one power flow per mosaik step).
Input `p_bus_mw` from every fleet source (summed): an array (n_bus,) for one step, or
(n, n_bus) for a block of n steps, one power flow per row. Outputs: `state` (dict of scalars of
the block's last step, for the EMS), `record` (result columns, arrays over the block), `detail`
(per-element arrays, (n, n_elements), for the grid view).
A non-converged power flow is recorded (`grid.converged` = 0, NaN results) and the run goes on.
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np

from twin.metrics.grid_violations import GridViolations, over_limits
from twin.results import columns as col
from twin.sims.blocks import block_span

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Grid": {
            "public": True,
            "params": [
                "powerflow",
                "profiles",
                "baseline_powerflow",
                "reference_powerflow",
                "violations",
                "sgen_kinds",
            ],
            "attrs": ["p_bus_mw", "baseline_p_bus_mw", "state", "record", "detail"],
        }
    },
}


def _row_stat(a: np.ndarray, stat: Any) -> np.ndarray:
    """`stat` of each row (step) of a (n, elements) block; NaN for a grid without such elements."""
    return stat(a, axis=1) if a.shape[1] else np.full(a.shape[0], np.nan)


class GridSim(mosaik_api_v3.Simulator):
    def __init__(self) -> None:
        super().__init__(META)
        self.pf: Any = None
        self.profiles: Any = None
        self.baseline_pf: Any = None
        self.reference_pf: Any = None
        self.violations: GridViolations | None = None
        self.sgen_kinds: dict[str, np.ndarray] = {}
        self.step_s = 1
        self.block_steps = 1
        self.n_steps: int | None = None
        self.nonconverged_steps = 0
        self._state: dict[str, float] = {}
        self._record: dict[str, np.ndarray] = {}
        self._detail: dict[str, np.ndarray] = {}

    def init(
        self,
        sid: str,
        time_resolution: float = 1.0,
        step_s: int = 1,
        block_steps: int = 1,
        n_steps: int | None = None,
    ) -> dict:
        self.step_s, self.block_steps, self.n_steps = step_s, block_steps, n_steps
        return self.meta

    def create(
        self,
        num: int,
        model: str,
        powerflow: Any,
        profiles: Any,
        baseline_powerflow: Any = None,
        reference_powerflow: Any = None,
        violations: GridViolations | None = None,
        sgen_kinds: dict[str, np.ndarray] | None = None,
    ) -> list[dict]:
        """`baseline_powerflow`: its own solver for the uncontrolled baseline's grid (input
        `baseline_p_bus_mw`); `reference_powerflow`: the no-EV power flow of steps where a limit
        is broken (so `violations` can tell EV-caused from base-load violations); `sgen_kinds`:
        kind ("pv", "wind") -> boolean mask over the net's sgens (the rest is `other`)."""
        self.pf, self.profiles = powerflow, profiles
        self.baseline_pf, self.reference_pf = baseline_powerflow, reference_powerflow
        self.violations = violations
        self.sgen_kinds = dict(sgen_kinds or {})
        return [{"eid": "grid", "type": model}]

    def _generation(self) -> dict[str, np.ndarray]:
        """Generation by kind over the whole run, computed once: PV and wind apart (SimBench's
        default day is ~90 % wind), `other` = biomass, hydro, ... (Summed once for all steps, so
        every block size slices the same numbers.)"""
        if not hasattr(self, "_gen"):
            sgen = self.profiles.sgen_p_mw
            total = sgen.sum(axis=1)
            pv, wind = self.sgen_kinds.get("pv"), self.sgen_kinds.get("wind")
            if pv is None:
                pv_p, wind_p = total, np.zeros(len(total))
            else:
                pv_p = sgen[:, pv].sum(axis=1)
                wind_p = sgen[:, wind].sum(axis=1) if wind is not None else np.zeros(len(total))
            self._gen = {
                "pv_p_mw": pv_p,
                "wind_p_mw": wind_p,
                "other_gen_p_mw": total - pv_p - wind_p,
            }
        return self._gen

    def _solve_block(self, pf: Any, k0: int, ev: np.ndarray) -> list[Any]:
        prof = self.profiles
        return [
            pf.solve(
                prof.load_p_mw[k],
                prof.load_q_mvar[k],
                prof.sgen_p_mw[k],
                ev[j],
                storage_p_mw=prof.storage_p_mw[k],
            )
            for j, k in enumerate(range(k0, k0 + len(ev)))
        ]

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        k0, n = block_span(time, self.step_s, self.block_steps, self.n_steps)
        ev = np.zeros((n, len(self.pf.bus_ids)))
        for value in inputs.get("grid", {}).get("p_bus_mw", {}).values():
            ev += value  # (n_bus,) broadcasts over a block of one step
        prof = self.profiles
        results = self._solve_block(self.pf, k0, ev)
        columns, vm, line, trafo = _block_columns(results, ev)
        self.nonconverged_steps += int(n - columns["converged"].sum())
        for name, series in self._generation().items():
            columns[name] = series[k0 : k0 + n]
        columns["load_p_mw"] = prof.load_p_mw[k0 : k0 + n].sum(axis=1)
        self._record = {col.grid_column(name): columns[name] for name in _STATE}
        self._state = {name: float(columns[name][-1]) for name in _STATE}
        self._detail = {
            "vm_pu": vm,
            "line_loading_pct": line,
            "trafo_loading_pct": trafo,
            "ev_p_mw": ev,
        }
        base_inputs = inputs.get("grid", {}).get("baseline_p_bus_mw", {})
        tally = self.violations
        if self.baseline_pf is not None and base_inputs:
            base_ev = np.zeros_like(ev)
            for value in base_inputs.values():
                base_ev += value
            b_cols, b_vm, b_line, b_trafo = _block_columns(
                self._solve_block(self.baseline_pf, k0, base_ev), base_ev
            )
            for name in _BASELINE_STATE:
                self._record[col.grid_baseline_column(name)] = b_cols[name]
            self._detail |= {
                "baseline_vm_pu": b_vm,
                "baseline_line_loading_pct": b_line,
                "baseline_trafo_loading_pct": b_trafo,
                "baseline_ev_p_mw": base_ev,
            }
        else:
            b_cols = None
        if tally is not None:
            over = over_limits(tally.limits, vm, line, trafo)
            b_over = over_limits(tally.limits, b_vm, b_line, b_trafo) if b_cols else None
            bad = np.zeros(n, dtype=bool)
            for mask in [*over.values(), *(b_over or {}).values()]:
                bad |= mask.any(axis=1)
            without = self._without_ev(k0, bad, tally)
            tally.controlled.add(k0, vm, line, trafo, columns["converged"], without, over)
            if tally.baseline is not None and b_cols is not None:
                tally.baseline.add(k0, b_vm, b_line, b_trafo, b_cols["converged"], without, b_over)
        return time + self.step_s * self.block_steps

    def get_data(self, outputs: dict) -> dict:
        out = {"state": self._state, "record": self._record, "detail": self._detail}
        return {eid: {a: out[a] for a in attrs} for eid, attrs in outputs.items()}

    def _without_ev(
        self, k0: int, rows: np.ndarray, tally: GridViolations
    ) -> dict[str, np.ndarray]:
        """Over-limit masks of the steps `rows` solved without any EV (all False elsewhere)."""
        n = len(rows)
        shapes = {
            "trafo": len(self.pf.trafo_ids),
            "line": len(self.pf.line_ids),
            "voltage": len(self.pf.bus_ids),
        }
        out = {kind: np.zeros((n, m), dtype=bool) for kind, m in shapes.items()}
        if self.reference_pf is None or not rows.any():
            return out
        idx = np.flatnonzero(rows)
        zero = np.zeros((1, len(self.pf.bus_ids)))
        for j in idx:
            r = self._solve_block(self.reference_pf, k0 + int(j), zero)[0]
            if not r.converged:
                continue
            masks = over_limits(
                tally.limits, r.vm_pu[None], r.line_loading_pct[None], r.trafo_loading_pct[None]
            )
            for kind in out:
                out[kind][j] = masks[kind][0]
        return out


def _block_columns(
    results: list[Any], ev: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Per-step columns of a block's power flows, and its (n, elements) arrays."""
    converged = np.array([r.converged for r in results], dtype=float)
    vm = np.array([r.vm_pu for r in results])
    line = np.array([r.line_loading_pct for r in results])
    trafo = np.array([r.trafo_loading_pct for r in results])
    # Block statistics in one call per column (max/min propagate NaN, as a non-converged step's
    # NaN results must).
    columns = {
        "converged": converged,
        "vm_min_pu": _row_stat(vm, np.min),
        "vm_max_pu": _row_stat(vm, np.max),
        "line_loading_max_pct": _row_stat(line, np.max),
        "trafo_loading_max_pct": _row_stat(trafo, np.max),
        "slack_p_mw": np.array([r.slack_p_mw for r in results], dtype=float),
        "ev_p_mw": ev.sum(axis=1),
    }
    return columns, vm, line, trafo


_STATE = col.GRID_QUANTITIES
"""Scalars per step the EMS sees (`state`) and the results record as `grid.<name>`."""
_BASELINE_STATE = (
    "converged",
    "vm_min_pu",
    "vm_max_pu",
    "line_loading_max_pct",
    "trafo_loading_max_pct",
    "slack_p_mw",
    "ev_p_mw",
)
"""What the baseline's own grid records as `grid_baseline.<name>` (load and PV are the same)."""
