"""The EMS's model of the grid (twin.ems.grid_model.GridModel) built from a pandapower net.

The EMS gets its own PowerFlow over the same net (the plant, twin/sims/grid_sim.py, keeps its
own), the base load and PV profiles as its forecast of the coming steps, the limits, and
sensitivities of bus voltages and element flows to the EV power of every EV bus, measured once
by perturbing each EV bus on the power flow at the run's mean load and generation.

The forecast is the profiles the plant uses: a perfect forecast of base load and PV. That is
what a study of "what the grid can carry" needs; a forecast error would be added here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from grids.powerflow import PowerFlow, PowerFlowResult
from twin.ems.grid_model import Envelope, GridLimits, GridPrediction

if TYPE_CHECKING:
    from pandapower import pandapowerNet

_PERTURBATION_MW = 0.01


class PowerFlowGridModel:
    """GridModel over lightsim2grid (or pandapower), forecasting from the run's profiles."""

    def __init__(
        self,
        net: pandapowerNet,
        profiles: Any,
        limits: GridLimits,
        ev_bus_positions: np.ndarray,
        backend: str = "lightsim2grid",
        envelopes: list[Envelope] | None = None,
    ) -> None:
        self.pf = PowerFlow(net, backend=backend)  # type: ignore[arg-type]
        self.profiles = profiles
        self.limits = limits
        self.n_bus = len(self.pf.bus_ids)
        self.ev_buses = np.unique(np.asarray(ev_bus_positions, dtype=np.int64))
        self._load_bus = self.pf.positions_of_buses(net.load["bus"].to_numpy())
        self._sgen_bus = self.pf.positions_of_buses(net.sgen["bus"].to_numpy())
        self.loads_per_bus = np.bincount(self._load_bus, minlength=self.n_bus)
        self.solves = 0
        self.envelopes = list(envelopes or [])
        self._segments = _segments(profiles)
        self._sensitivities()

    def _solve(
        self, load_p: Any, load_q: Any, sgen_p: Any, storage_p: Any, ev: np.ndarray
    ) -> PowerFlowResult:
        self.solves += 1
        return self.pf.solve(load_p, load_q, sgen_p, ev, storage_p_mw=storage_p)

    def _sensitivities(self) -> None:
        prof = self.profiles
        means = (
            prof.load_p_mw.mean(axis=0),
            prof.load_q_mvar.mean(axis=0),
            prof.sgen_p_mw.mean(axis=0),
            prof.storage_p_mw.mean(axis=0) if prof.storage_p_mw.size else None,
        )
        ev = np.zeros(self.n_bus)
        base = self._solve(*means, ev)
        n = len(self.ev_buses)
        self.dvm_dp = np.zeros((self.n_bus, n))
        self.dline_p_dp = np.zeros((len(self.pf.line_ids), n))
        self.dtrafo_p_dp = np.zeros((len(self.pf.trafo_ids), n))
        if not base.converged:
            return
        for j, b in enumerate(self.ev_buses):
            ev[:] = 0.0
            ev[b] = _PERTURBATION_MW
            r = self._solve(*means, ev)
            if not r.converged:
                continue
            self.dvm_dp[:, j] = (r.vm_pu - base.vm_pu) / _PERTURBATION_MW
            self.dline_p_dp[:, j] = (r.line_p_mw - base.line_p_mw) / _PERTURBATION_MW  # type: ignore[operator]
            self.dtrafo_p_dp[:, j] = (r.trafo_p_mw - base.trafo_p_mw) / _PERTURBATION_MW  # type: ignore[operator]
        # Numerical noise (warm starts, float32 setters) is not a sensitivity.
        for a in (self.dvm_dp, self.dline_p_dp, self.dtrafo_p_dp):
            a[~np.isfinite(a) | (np.abs(a) < 1e-4)] = 0.0

    def predict(self, k: int, ev_p_mw_per_bus: np.ndarray) -> GridPrediction:
        prof = self.profiles
        r = self._solve(
            prof.load_p_mw[k],
            prof.load_q_mvar[k],
            prof.sgen_p_mw[k],
            prof.storage_p_mw[k],
            ev_p_mw_per_bus,
        )
        if not r.converged or r.line_p_mw is None:
            nan_l, nan_t = (
                np.full(len(self.pf.line_ids), np.nan),
                np.full(len(self.pf.trafo_ids), np.nan),
            )
            return GridPrediction(
                False, r.vm_pu, r.line_loading_pct, r.trafo_loading_pct, nan_l, nan_l, nan_t, nan_t
            )
        return GridPrediction(
            True,
            r.vm_pu,
            r.line_loading_pct,
            r.trafo_loading_pct,
            r.line_p_mw,
            r.line_q_mvar,  # type: ignore[arg-type]
            r.trafo_p_mw,  # type: ignore[arg-type]
            r.trafo_q_mvar,  # type: ignore[arg-type]
        )

    def segment(self, k: int) -> int:
        return int(self._segments[k])

    def site_net_load_kw(self, k: int) -> np.ndarray:
        prof = self.profiles
        load = np.bincount(self._load_bus, weights=prof.load_p_mw[k], minlength=self.n_bus)
        gen = np.bincount(self._sgen_bus, weights=prof.sgen_p_mw[k], minlength=self.n_bus)
        return 1000.0 * (load - gen)


def _segments(profiles: Any) -> np.ndarray:
    """Per step, a number that changes exactly where any base injection changes."""
    arrays = [profiles.load_p_mw, profiles.load_q_mvar, profiles.sgen_p_mw, profiles.storage_p_mw]
    n = len(profiles.load_p_mw)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for a in arrays:
        if a.size and n > 1:
            change[1:] |= np.any(a[1:] != a[:-1], axis=1)
    return np.cumsum(change) - 1
