"""Limit violations of a grid over a run, counted step by step from power-flow results.

Pure arrays: the grid simulator feeds each block's per-element results (controlled fleet and
uncontrolled baseline each have their own tally) and, for the steps where anything is over a
limit, the same step's power flow *without* EVs, so a violation the base load causes alone is
counted apart from one the EVs cause.

Definitions (each per step, a step counts once per kind):
- transformer / line overload: loading_percent > its limit; voltage band: any bus outside
  [vm_min_pu, vm_max_pu];
- EV-caused: some element of that kind is over its limit with the EVs and not without them;
  base load alone: some element of that kind is over its limit without any EV;
- element-hours: elements over their limit x step length, summed;
- worst: the largest excess over the run (loading in percentage points, voltage in pu), with its
  element position and model step.
A step whose power flow did not converge is counted in `nonconverged_steps` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.ems.grid_model import GridLimits

KINDS = ("trafo", "line", "voltage")
_STEP_KEYS = {
    "trafo": "trafo_overload_steps",
    "line": "line_overload_steps",
    "voltage": "voltage_band_steps",
}


def over_limits(
    limits: GridLimits, vm: np.ndarray, line: np.ndarray, trafo: np.ndarray
) -> dict[str, np.ndarray]:
    """Per kind, a boolean (steps, elements) mask of elements beyond their limit."""
    with np.errstate(invalid="ignore"):
        return {
            "trafo": trafo > limits.trafo_max_pct + 1e-9,
            "line": line > limits.line_max_pct + 1e-9,
            "voltage": (vm > limits.vm_max_pu + 1e-12) | (vm < limits.vm_min_pu - 1e-12),
        }


def excess(
    limits: GridLimits, vm: np.ndarray, line: np.ndarray, trafo: np.ndarray
) -> dict[str, np.ndarray]:
    """Per kind, how far each element is beyond its limit (<= 0 = within)."""
    return {
        "trafo": trafo - limits.trafo_max_pct,
        "line": line - limits.line_max_pct,
        "voltage": np.maximum(vm - limits.vm_max_pu, limits.vm_min_pu - vm),
    }


@dataclass
class ViolationTally:
    """Running counts of one grid (controlled or baseline)."""

    limits: GridLimits
    step_h: float
    steps: int = 0
    nonconverged_steps: int = 0
    kind_steps: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    ev_caused_steps: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    base_alone_steps: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    element_hours: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    extremes: dict[str, float] = field(
        default_factory=lambda: {
            "max_trafo_loading_pct": -np.inf,
            "max_line_loading_pct": -np.inf,
            "min_vm_pu": np.inf,
            "max_vm_pu": -np.inf,
        }
    )
    worst: dict[str, tuple[float, int, int]] = field(default_factory=dict)
    """kind -> (excess, element position, model step)."""

    def add(
        self,
        k0: int,
        vm: np.ndarray,
        line: np.ndarray,
        trafo: np.ndarray,
        converged: np.ndarray,
        without_ev: dict[str, np.ndarray] | None = None,
        over: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Count a block of steps k0.. (arrays (n, elements)); returns the over-limit masks.

        `without_ev`: per kind, the over-limit masks of the same steps without EVs (rows of
        steps where nothing is over may be all False); `over`: these arrays' own over-limit
        masks when the caller has them already."""
        ok = np.asarray(converged, dtype=bool)
        self.steps += len(ok)
        self.nonconverged_steps += int((~ok).sum())
        if over is None:
            over = over_limits(self.limits, vm, line, trafo)
        ex = excess(self.limits, vm, line, trafo)
        for kind in KINDS:
            mask = over[kind] & ok[:, None]
            any_step = mask.any(axis=1)
            self.kind_steps[kind] += int(any_step.sum())
            self.element_hours[kind] += float(mask.sum()) * self.step_h
            if without_ev is not None:
                base = without_ev[kind] & ok[:, None]
                self.base_alone_steps[kind] += int(base.any(axis=1).sum())
                self.ev_caused_steps[kind] += int((mask & ~base).any(axis=1).sum())
            else:
                self.ev_caused_steps[kind] += int(any_step.sum())
            e = np.where(ok[:, None], ex[kind], -np.inf) if ex[kind].size else ex[kind]
            if e.size and np.isfinite(e).any():
                flat = int(np.nanargmax(np.where(np.isfinite(e), e, -np.inf)))
                row, pos = divmod(flat, e.shape[1])
                value = float(e[row, pos])
                if value > 0 and value > self.worst.get(kind, (0.0, -1, -1))[0]:
                    self.worst[kind] = (value, pos, k0 + row)
        good = ok
        if good.any():
            for key, a, fn in (
                ("max_trafo_loading_pct", trafo, np.nanmax),
                ("max_line_loading_pct", line, np.nanmax),
                ("min_vm_pu", vm, np.nanmin),
                ("max_vm_pu", vm, np.nanmax),
            ):
                if a.size and np.isfinite(a[good]).any():
                    value = float(fn(a[good]))
                    old = self.extremes[key]
                    self.extremes[key] = min(old, value) if key == "min_vm_pu" else max(old, value)
        return over

    def summary(
        self,
        element_ids: dict[str, np.ndarray],
        element_names: dict[str, list[str]],
        step_time: Any,
    ) -> dict[str, Any]:
        """The tally for summary.json.

        Args:
            element_ids, element_names: per kind ("trafo", "line", "voltage" = buses), the net's
                ids and names in element order.
            step_time: model step -> its time as an ISO string.
        """
        out: dict[str, Any] = {_STEP_KEYS[k]: self.kind_steps[k] for k in KINDS}
        out["ev_caused"] = {_STEP_KEYS[k]: self.ev_caused_steps[k] for k in KINDS}
        out["base_load_alone"] = {_STEP_KEYS[k]: self.base_alone_steps[k] for k in KINDS}
        out.update({k: (float(v) if np.isfinite(v) else None) for k, v in self.extremes.items()})
        out["element_hours"] = {
            {"voltage": "bus_voltage"}.get(k, k): round(v, 6) for k, v in self.element_hours.items()
        }
        out["worst"] = {
            {"voltage": "bus_voltage"}.get(kind, kind): {
                "element": int(element_ids[kind][pos]),
                "name": element_names[kind][pos],
                "excess": round(value, 6),
                "excess_unit": "pu" if kind == "voltage" else "percentage points",
                "step": step,
                "time": step_time(step),
            }
            for kind, (value, pos, step) in self.worst.items()
        }
        out["steps"] = self.steps
        out["nonconverged_steps"] = self.nonconverged_steps
        return out


@dataclass
class GridViolations:
    """The tallies of a run: the controlled grid and the uncontrolled baseline's own grid."""

    limits: GridLimits
    controlled: ViolationTally
    baseline: ViolationTally | None = None

    @classmethod
    def for_run(cls, limits: GridLimits, step_s: float, baseline: bool = True) -> GridViolations:
        step_h = step_s / 3600.0
        return cls(
            limits,
            ViolationTally(limits, step_h),
            ViolationTally(limits, step_h) if baseline else None,
        )

    def summary(
        self,
        element_ids: dict[str, np.ndarray],
        element_names: dict[str, list[str]],
        step_time: Any,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "limits": self.limits.describe(),
            "controlled": self.controlled.summary(element_ids, element_names, step_time),
        }
        if self.baseline is not None:
            out["baseline"] = self.baseline.summary(element_ids, element_names, step_time)
        return out
