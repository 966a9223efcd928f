"""The network as the EMS sees it: limits, a forecast power flow and linear sensitivities.

The plant is the mosaik grid simulator; this is the EMS's *own* model of the same net, so it can
check a planned step before the plant runs it, inside a block of model steps as well as step by
step. The model is handed in by the run (grids.ems_view builds it from the pandapower net); the
EMS only sees this protocol and plain arrays, so services stay testable with small fakes.

Conventions: bus arrays follow the net's bus order (`PowerFlow.bus_ids`); EV power is + for
charging (consumption), in MW at the model's interface and kW inside the EMS; flows are signed
active power at the element's from/HV side (+ = towards the element's far side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class GridLimits:
    """The limits of every element (the plant counts violations against these).

    Attributes:
        vm_min_pu, vm_max_pu: per bus.
        line_max_pct, trafo_max_pct: per line / transformer, loading limit in %.
        source: how they were chosen (for summary.json), e.g. "grid" or "japan".
    """

    vm_min_pu: np.ndarray
    vm_max_pu: np.ndarray
    line_max_pct: np.ndarray
    trafo_max_pct: np.ndarray
    source: str = "grid"

    def describe(self) -> dict[str, Any]:
        """The limits in a form summary.json can hold (ranges over the elements)."""

        def span(a: np.ndarray) -> list[float] | None:
            a = a[np.isfinite(a)]
            return [float(a.min()), float(a.max())] if a.size else None

        return {
            "source": self.source,
            "vm_min_pu": span(self.vm_min_pu),
            "vm_max_pu": span(self.vm_max_pu),
            "line_max_loading_pct": span(self.line_max_pct),
            "trafo_max_loading_pct": span(self.trafo_max_pct),
        }


@dataclass(frozen=True)
class GridPrediction:
    """The model's AC power flow of one planned step (NaN arrays when it did not converge)."""

    converged: bool
    vm_pu: np.ndarray
    line_loading_pct: np.ndarray
    trafo_loading_pct: np.ndarray
    line_p_mw: np.ndarray
    line_q_mvar: np.ndarray
    trafo_p_mw: np.ndarray
    trafo_q_mvar: np.ndarray


@dataclass(frozen=True)
class Envelope:
    """A DSO's operating envelope on one element, per model step (kW, >= 0 each).

    kind "trafo": the signed active power into transformer `position` at its HV side;
    kind "bus": the net load of bus `position` (base load - local generation + EVs)."""

    kind: str
    position: int
    element: str
    import_kw: np.ndarray
    export_kw: np.ndarray


class GridModel(Protocol):
    """What the EMS may ask of the network."""

    limits: GridLimits
    n_bus: int
    ev_buses: np.ndarray
    """Bus positions that host EVs; the sensitivity matrices' columns follow this order."""
    dvm_dp: np.ndarray
    """(n_bus, n_ev_bus): voltage change per MW of EV load at each EV bus, pu/MW."""
    dline_p_dp: np.ndarray
    """(n_line, n_ev_bus): signed line flow change per MW of EV load, MW/MW."""
    dtrafo_p_dp: np.ndarray
    """(n_trafo, n_ev_bus): signed transformer flow change per MW of EV load, MW/MW."""
    envelopes: list[Envelope]
    """Operating envelopes to keep besides the limits (empty = none)."""
    loads_per_bus: np.ndarray
    """(n_bus,): load elements (houses, customers) on each bus."""

    def predict(self, k: int, ev_p_mw_per_bus: np.ndarray) -> GridPrediction:
        """The power flow of model step k with this EV power per bus (n_bus,), MW."""
        ...

    def site_net_load_kw(self, k: int) -> np.ndarray:
        """Per bus: base load minus local generation at step k, kW (negative = local surplus)."""
        ...

    def segment(self, k: int) -> int:
        """Steps with the same segment number have the same base injections (load, PV)."""
        ...
