"""Stepping AC power flow: the same interface over lightsim2grid (fast) and pandapower (reference).

Usage::

    pf = PowerFlow(net)                      # lightsim2grid backend
    res = pf.solve(load_p_mw, load_q_mvar, sgen_p_mw, ev_p_mw_per_bus)
    res.vm_pu[pf.positions_of_buses([bus_id])]

Conventions (pandapower's):

* ``load_*`` arrays follow ``net.load`` row order (``pf.load_ids``), ``sgen_p_mw`` follows
  ``net.sgen`` (``pf.sgen_ids``), EV arrays follow ``net.bus`` (``pf.bus_ids``). Values are the
  final MW / Mvar injected this step: the nets' ``scaling`` columns are not applied again.
* Loads and EVs are positive when consuming; sgens are positive when producing.
* EV power per bus is modelled as one extra constant-power load per bus (created once, up front).
* ``slack_p_mw`` / ``slack_q_mvar``: what the ext_grid injects into the net (positive = import).
* Loadings are pandapower's ``loading_percent``: lines max(i_from, i_to) / (max_i_ka * df *
  parallel); transformers max(i_hv * vn_hv_kv, i_lv * vn_lv_kv) * sqrt(3) / (sn_mva * parallel *
  df) (pandapower's default ``trafo_loading="current"``).

A step that does not converge returns ``converged=False`` with NaN arrays and never raises; the
next step then starts again from the cold-start voltages instead of the failed iterate.
"""

from __future__ import annotations

import copy
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from grids.errors import InvalidBusError, PowerFlowInputError
from grids.lightsim_model import build_lightsim_model

if TYPE_CHECKING:
    from pandapower import pandapowerNet

Backend = Literal["lightsim2grid", "pandapower"]
_SQRT3 = float(np.sqrt(3.0))


@dataclass(frozen=True)
class PowerFlowResult:
    """Result of one AC power flow (NaN everywhere when ``converged`` is False).

    Attributes:
        converged: Whether Newton-Raphson converged.
        vm_pu: Bus voltage magnitude in pu, aligned to ``PowerFlow.bus_ids``.
        line_loading_pct: Line loading in %, aligned to ``PowerFlow.line_ids``.
        trafo_loading_pct: Transformer loading in %, aligned to ``PowerFlow.trafo_ids``.
        slack_p_mw: Active power the ext_grid injects into the net in MW.
        slack_q_mvar: Reactive power the ext_grid injects into the net in Mvar.
    """

    converged: bool
    vm_pu: np.ndarray
    line_loading_pct: np.ndarray
    trafo_loading_pct: np.ndarray
    slack_p_mw: float
    slack_q_mvar: float
    line_p_mw: np.ndarray | None = None
    """Signed active power into each line at its from side, MW (None when not asked for)."""
    line_q_mvar: np.ndarray | None = None
    trafo_p_mw: np.ndarray | None = None
    """Signed active power into each transformer at its HV side, MW."""
    trafo_q_mvar: np.ndarray | None = None


class PowerFlow:
    """A stepping AC power flow over one pandapower net.

    The net passed in is not modified: each backend works on its own prepared copy.

    Attributes:
        backend: "lightsim2grid" or "pandapower".
        bus_ids, line_ids, trafo_ids, load_ids, sgen_ids, storage_ids: The net's element indices,
            in the order every array of ``solve`` and ``PowerFlowResult`` follows.
    """

    def __init__(
        self,
        net: pandapowerNet,
        backend: Backend = "lightsim2grid",
        *,
        max_iteration: int = 30,
        tolerance_mva: float = 1e-8,
    ) -> None:
        """Prepare the backend.

        Args:
            net: The pandapower net (left untouched).
            backend: "lightsim2grid" (fast stepping) or "pandapower" (``runpp``, the reference).
            max_iteration: Newton-Raphson iteration limit per step.
            tolerance_mva: Convergence tolerance on the power mismatch in MVA.

        Raises:
            UnsupportedGridError: backend "lightsim2grid" and the net holds elements it cannot model.
            ValueError: Unknown backend.
        """
        self.backend: Backend = backend
        self.bus_ids = net.bus.index.to_numpy(dtype=np.int64).copy()
        self.line_ids = net.line.index.to_numpy(dtype=np.int64).copy()
        self.trafo_ids = net.trafo.index.to_numpy(dtype=np.int64).copy()
        self.load_ids = net.load.index.to_numpy(dtype=np.int64).copy()
        self.sgen_ids = net.sgen.index.to_numpy(dtype=np.int64).copy()
        self.storage_ids = net.storage.index.to_numpy(dtype=np.int64).copy()
        self._bus_pos = {int(b): k for k, b in enumerate(self.bus_ids)}
        if backend == "lightsim2grid":
            self._solver: _LightsimSolver | _PandapowerSolver = _LightsimSolver(
                net, max_iteration, tolerance_mva
            )
        elif backend == "pandapower":
            self._solver = _PandapowerSolver(net, max_iteration, tolerance_mva)
        else:
            raise ValueError(
                f"unknown power-flow backend {backend!r}; use 'lightsim2grid' or 'pandapower'"
            )

    def positions_of_buses(self, bus_ids: np.ndarray | list[int]) -> np.ndarray:
        """Positions in ``bus_ids`` (and in ``vm_pu`` / EV arrays) of the given net bus ids.

        Raises:
            InvalidBusError: A bus id is not in the net.
        """
        try:
            return np.array([self._bus_pos[int(b)] for b in bus_ids], dtype=np.int64)
        except KeyError as exc:
            raise InvalidBusError(f"bus {exc.args[0]} is not a bus of this net") from None

    def solve(
        self,
        load_p_mw: np.ndarray,
        load_q_mvar: np.ndarray,
        sgen_p_mw: np.ndarray,
        ev_p_mw_per_bus: np.ndarray,
        ev_q_mvar_per_bus: np.ndarray | None = None,
        storage_p_mw: np.ndarray | None = None,
    ) -> PowerFlowResult:
        """Solve one step.

        Args:
            load_p_mw: Active power of each net load in MW, shape (n_load,).
            load_q_mvar: Reactive power of each net load in Mvar, shape (n_load,).
            sgen_p_mw: Active power of each static generator in MW, shape (n_sgen,).
            ev_p_mw_per_bus: EV charging power per bus in MW (+ = consumption), shape (n_bus,),
                aligned to ``bus_ids``.
            ev_q_mvar_per_bus: EV reactive power per bus in Mvar (+ = consumption); None = 0.
            storage_p_mw: Storage power in MW (+ = charging), shape (n_storage,); None keeps
                the net's ``storage.p_mw``.

        Returns:
            The step's result; ``converged=False`` (NaN arrays) instead of raising on divergence.

        Raises:
            PowerFlowInputError: An array has the wrong length.
        """
        _check_len("load_p_mw", load_p_mw, self.load_ids.size)
        _check_len("load_q_mvar", load_q_mvar, self.load_ids.size)
        _check_len("sgen_p_mw", sgen_p_mw, self.sgen_ids.size)
        _check_len("ev_p_mw_per_bus", ev_p_mw_per_bus, self.bus_ids.size)
        if ev_q_mvar_per_bus is not None:
            _check_len("ev_q_mvar_per_bus", ev_q_mvar_per_bus, self.bus_ids.size)
        if storage_p_mw is not None:
            _check_len("storage_p_mw", storage_p_mw, self.storage_ids.size)
        return self._solver.solve(
            load_p_mw, load_q_mvar, sgen_p_mw, ev_p_mw_per_bus, ev_q_mvar_per_bus, storage_p_mw
        )


def _check_len(name: str, values: np.ndarray, expected: int) -> None:
    if np.shape(values) != (expected,):
        raise PowerFlowInputError(
            f"{name} has shape {np.shape(values)}; expected ({expected},) for this net"
        )


class _LightsimSolver:
    """lightsim2grid ``LSGrid.ac_pf`` with warm start; no pandas on the per-step path."""

    def __init__(self, net: pandapowerNet, max_iteration: int, tolerance_mva: float) -> None:
        model = build_lightsim_model(net)
        self._grid = model.grid
        self._bus_position = model.bus_position
        self._n_net_loads = model.n_net_loads
        self._slack_gen_ids = model.slack_gen_ids
        self._cold_v = model.cold_start_v
        self._v = model.cold_start_v.copy()
        self._max_iteration = int(max_iteration)
        # lightsim2grid compares the mismatch in pu of sn_mva
        self._tolerance = float(tolerance_mva) / float(net.sn_mva)

        n_bus = len(net.bus)
        n_loads = self._n_net_loads + n_bus
        self._load_p = np.zeros(n_loads, dtype=np.float32)
        self._load_q = np.zeros(n_loads, dtype=np.float32)
        self._all_loads = np.ones(n_loads, dtype=bool)
        self._sgen_p = np.zeros(len(net.sgen), dtype=np.float32)
        self._all_sgens = np.ones(len(net.sgen), dtype=bool)
        self._storage_p = np.zeros(len(net.storage), dtype=np.float32)
        self._all_storages = np.ones(len(net.storage), dtype=bool)
        self._dead_buses = np.flatnonzero(model.dead_buses)
        self._dead_lines = np.flatnonzero(model.dead_lines)
        self._dead_trafos = np.flatnonzero(model.dead_trafos)

        line = net.line
        i_max_ka = (line["max_i_ka"] * line["df"] * line["parallel"]).to_numpy(dtype=float)
        with np.errstate(divide="ignore"):
            self._line_pct_per_ka = np.where(i_max_ka != 0.0, 100.0 / i_max_ka, np.inf)
        trafo = net.trafo
        rating_mva = (trafo["sn_mva"] * trafo["parallel"] * trafo["df"]).to_numpy(dtype=float)
        self._trafo_pct_hv = trafo["vn_hv_kv"].to_numpy(dtype=float) * _SQRT3 * 100.0 / rating_mva
        self._trafo_pct_lv = trafo["vn_lv_kv"].to_numpy(dtype=float) * _SQRT3 * 100.0 / rating_mva
        self._nan = PowerFlowResult(
            False,
            np.full(n_bus, np.nan),
            np.full(len(line), np.nan),
            np.full(len(trafo), np.nan),
            float("nan"),
            float("nan"),
        )

    def solve(
        self,
        load_p_mw: np.ndarray,
        load_q_mvar: np.ndarray,
        sgen_p_mw: np.ndarray,
        ev_p_mw: np.ndarray,
        ev_q_mvar: np.ndarray | None,
        storage_p_mw: np.ndarray | None,
    ) -> PowerFlowResult:
        grid = self._grid
        n = self._n_net_loads
        # LSGrid's vectorised setters take float32 (relative error ~6e-8: far below the
        # 1e-6 pu agreement we check against pandapower).
        self._load_p[:n] = load_p_mw
        self._load_p[n:] = ev_p_mw
        self._load_q[:n] = load_q_mvar
        if ev_q_mvar is None:
            self._load_q[n:] = 0.0
        else:
            self._load_q[n:] = ev_q_mvar
        grid.update_loads_p(self._all_loads, self._load_p)
        grid.update_loads_q(self._all_loads, self._load_q)
        if self._sgen_p.size:
            self._sgen_p[:] = sgen_p_mw
            grid.update_sgens_p(self._all_sgens, self._sgen_p)
        if storage_p_mw is not None and self._storage_p.size:
            self._storage_p[:] = storage_p_mw
            grid.update_storages_p(self._all_storages, self._storage_p)

        try:
            v = grid.ac_pf(self._v, self._max_iteration, self._tolerance)
        except RuntimeError:
            v = np.empty(0, dtype=np.complex128)
        if v.size != self._v.size or not np.all(np.isfinite(v)):
            self._v = self._cold_v.copy()
            return self._nan
        # LSGrid hands out views of its own buffers: keep a private copy for the warm start
        self._v = np.array(v, dtype=np.complex128)
        v = self._v

        vm_pu = np.abs(v)[self._bus_position]
        line1 = grid.get_line_res1()
        a1 = line1[3]
        a2 = grid.get_line_res2()[3]
        line_pct = np.maximum(a1, a2) * self._line_pct_per_ka
        trafo1 = grid.get_trafo_res1()
        t1 = trafo1[3]
        t2 = grid.get_trafo_res2()[3]
        trafo_pct = np.maximum(t1 * self._trafo_pct_hv, t2 * self._trafo_pct_lv)
        # NaN where pandapower reports NaN: out-of-service or islanded buses and their branches
        if self._dead_buses.size:
            vm_pu[self._dead_buses] = np.nan
            line_pct[self._dead_lines] = np.nan
            trafo_pct[self._dead_trafos] = np.nan
        gen_p, gen_q = grid.get_gen_res()[:2]
        return PowerFlowResult(
            True,
            vm_pu,
            line_pct,
            trafo_pct,
            float(gen_p[self._slack_gen_ids].sum()),
            float(gen_q[self._slack_gen_ids].sum()),
            np.array(line1[0], dtype=float),
            np.array(line1[1], dtype=float),
            np.array(trafo1[0], dtype=float),
            np.array(trafo1[1], dtype=float),
        )


class _PandapowerSolver:
    """``pandapower.runpp`` on a private copy of the net, warm-started from the last result."""

    def __init__(self, net: pandapowerNet, max_iteration: int, tolerance_mva: float) -> None:
        import pandapower as pp

        self._pp = pp
        self._net = copy.deepcopy(net)
        n_bus = len(net.bus)
        self._n_net_loads = len(net.load)
        pp.create_loads(self._net, net.bus.index.to_numpy(), p_mw=0.0, q_mvar=0.0, name="ev")
        for table in ("load", "sgen", "storage"):
            if "scaling" in self._net[table]:
                self._net[table]["scaling"] = 1.0
        self._load_p = self._net.load["p_mw"].to_numpy(dtype=float).copy()
        self._load_q = self._net.load["q_mvar"].to_numpy(dtype=float).copy()
        self._ext_in_service = self._net.ext_grid["in_service"].to_numpy(dtype=bool)
        self._options = {
            "max_iteration": int(max_iteration),
            "tolerance_mva": float(tolerance_mva),
            # the reference must not itself run on lightsim2grid's solver
            "lightsim2grid": False,
            "numba": importlib.util.find_spec("numba") is not None,
        }
        self._init = "auto"
        self._nan = PowerFlowResult(
            False,
            np.full(n_bus, np.nan),
            np.full(len(net.line), np.nan),
            np.full(len(net.trafo), np.nan),
            float("nan"),
            float("nan"),
        )

    def solve(
        self,
        load_p_mw: np.ndarray,
        load_q_mvar: np.ndarray,
        sgen_p_mw: np.ndarray,
        ev_p_mw: np.ndarray,
        ev_q_mvar: np.ndarray | None,
        storage_p_mw: np.ndarray | None,
    ) -> PowerFlowResult:
        net = self._net
        n = self._n_net_loads
        self._load_p[:n] = load_p_mw
        self._load_p[n:] = ev_p_mw
        self._load_q[:n] = load_q_mvar
        self._load_q[n:] = 0.0 if ev_q_mvar is None else ev_q_mvar
        net.load["p_mw"] = self._load_p
        net.load["q_mvar"] = self._load_q
        if len(net.sgen):
            net.sgen["p_mw"] = np.asarray(sgen_p_mw, dtype=float)
        if storage_p_mw is not None and len(net.storage):
            net.storage["p_mw"] = np.asarray(storage_p_mw, dtype=float)
        try:
            self._pp.runpp(net, init=self._init, **self._options)
        except (self._pp.LoadflowNotConverged, np.linalg.LinAlgError):
            self._init = "auto"
            return self._nan
        self._init = "results"
        ext = net.res_ext_grid
        return PowerFlowResult(
            True,
            net.res_bus["vm_pu"].to_numpy(dtype=float).copy(),
            net.res_line["loading_percent"].to_numpy(dtype=float).copy(),
            net.res_trafo["loading_percent"].to_numpy(dtype=float).copy(),
            float(ext["p_mw"].to_numpy()[self._ext_in_service].sum()),
            float(ext["q_mvar"].to_numpy()[self._ext_in_service].sum()),
            net.res_line["p_from_mw"].to_numpy(dtype=float).copy(),
            net.res_line["q_from_mvar"].to_numpy(dtype=float).copy(),
            net.res_trafo["p_hv_mw"].to_numpy(dtype=float).copy(),
            net.res_trafo["q_hv_mvar"].to_numpy(dtype=float).copy(),
        )
