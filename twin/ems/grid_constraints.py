"""Keep a planned step inside the grid's limits: check it on the EMS's power flow, and when an
element would leave its limit, move the EV power per bus as little as possible (an LP).

Why this shape:
- The check is the EMS's own AC power flow of the planned step (twin.ems.grid_model), so a step
  that passes is within limits on the plant as well, up to what the fleet does differently from
  its set-points; the margin covers that. Most steps pass, and cost one power flow.
- A step that fails is repaired with linear sensitivities around the failed point, as an LP over
  the EV power of each EV bus (HiGHS): keep the fleet total the services asked for if the grid
  allows (weight 100 per kW), else move power between buses (weight 1 per kW moved), within each
  bus's hard range (departure needs, SOC floors). Grid rows get a slack (weight 1e4): a slack in
  the solution is a conflict between a limit and a hard need (or base load alone over a limit),
  reported with the element that binds. Then the power flow checks again (linearisation error),
  with the rows of every element seen near its limit kept, up to `max_iterations`.
- Per-EV powers follow their bus total proportionally within each EV's own [lo, hi].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.ems.grid_model import GridLimits, GridModel, GridPrediction

_W_TOTAL = 100.0
_W_MOVE = 1.0
_W_SLACK = 1e4
KIND_CODES = {"none": 0.0, "trafo": 1.0, "line": 2.0, "vm_max": 3.0, "vm_min": 4.0, "envelope": 5.0}
"""Numeric code of the binding kind, as recorded per step (`ems.grid_binding_kind`)."""


@dataclass(frozen=True)
class GridMargins:
    """How far inside its limits the EMS plans (covers linearisation and fleet deviations)."""

    loading_pct: float = 3.0
    vm_pu: float = 0.005


@dataclass(frozen=True)
class GridEnforcement:
    """The outcome of one step's check."""

    p_kw: np.ndarray
    moved_kw: float
    """Total |change| of EV power over all buses, kW."""
    curtailed_kw: float
    """Planned fleet total minus the total the grid allowed, kW (+ = less charging)."""
    conflict: float
    """Largest slack left in a grid row (kW of flow, or mpu of voltage): > 0 = a limit could not
    be kept without breaking a hard need (or base load alone is over it)."""
    binding_kind: str
    """The kind of the worst row of the step ("none" when nothing was near a limit)."""
    binding_element: int
    """Its position in the model's element (or bus) arrays, -1 for none."""
    iterations: int
    """LP rounds this step needed (0 = the plan passed as it was)."""
    uncontrollable: int = 0
    """Elements the base load alone (the forecast less the EVs' linear effect) puts beyond their
    planning limit: left out of the planning, not cured (the plant counts them as
    `base_load_alone`)."""


def violations(
    pred: GridPrediction, limits: GridLimits, margins: GridMargins
) -> dict[str, np.ndarray]:
    """Per kind, the positions of elements beyond (limit - margin)."""
    if not pred.converged:
        return {"nonconverged": np.array([0])}
    lm, vm = margins.loading_pct, margins.vm_pu
    return {
        "trafo": np.flatnonzero(pred.trafo_loading_pct > limits.trafo_max_pct - lm + 1e-9),
        "line": np.flatnonzero(pred.line_loading_pct > limits.line_max_pct - lm + 1e-9),
        "vm_max": np.flatnonzero(pred.vm_pu > limits.vm_max_pu - vm + 1e-9),
        "vm_min": np.flatnonzero(pred.vm_pu < limits.vm_min_pu + vm - 1e-9),
    }


def envelope_flows_kw(
    model: GridModel, k: int, pred: GridPrediction, x_kw: np.ndarray
) -> np.ndarray:
    """Per envelope, the flow it limits at this plan, kW (+ = import)."""
    out = np.zeros(len(model.envelopes))
    if not model.envelopes:
        return out
    net = None
    for i, env in enumerate(model.envelopes):
        if env.kind == "trafo":
            out[i] = 1000.0 * float(pred.trafo_p_mw[env.position])
        else:
            if net is None:
                net = model.site_net_load_kw(k).copy()
                net[model.ev_buses] += x_kw
            out[i] = float(net[env.position])
    return out


def envelope_breaches(
    model: GridModel, k: int, pred: GridPrediction, x_kw: np.ndarray, tol_kw: float = 1e-6
) -> np.ndarray:
    """Positions (in model.envelopes) of the envelopes this plan breaks at step k."""
    if not model.envelopes or not pred.converged:
        return np.zeros(0, dtype=int)
    flow = envelope_flows_kw(model, k, pred, x_kw)
    imp = np.array([e.import_kw[k] for e in model.envelopes])
    exp = np.array([e.export_kw[k] for e in model.envelopes])
    return np.flatnonzero((flow > imp + tol_kw) | (flow < -exp - tol_kw))


def _within(pred: GridPrediction, limits: GridLimits, tol_pct: float, tol_pu: float) -> bool:
    if not pred.converged:
        return False
    return bool(
        np.all(pred.trafo_loading_pct <= limits.trafo_max_pct + tol_pct)
        and np.all(pred.line_loading_pct <= limits.line_max_pct + tol_pct)
        and np.all(pred.vm_pu <= limits.vm_max_pu + tol_pu)
        and np.all(pred.vm_pu >= limits.vm_min_pu - tol_pu)
    )


def enforce_grid_limits(
    model: GridModel,
    k: int,
    p_kw: np.ndarray,
    lo_kw: np.ndarray,
    hi_kw: np.ndarray,
    ev_bus: np.ndarray,
    margins: GridMargins | None = None,
    max_iterations: int = 4,
    screen: LinearScreen | None = None,
) -> GridEnforcement:
    """The per-EV powers of step k moved as little as needed to keep the grid within limits.

    Args:
        model: the EMS's grid model.
        k: model step index (the forecast row).
        p_kw, lo_kw, hi_kw: per EV, the allocated power and its hard range.
        ev_bus: per EV, its column in the model's EV-bus arrays (`model.ev_buses`).
        screen: the last power flow of the same base injections (kept across steps): a plan
            whose linear estimate from it is well inside every limit skips the power flow.
    """
    margins = margins or GridMargins()
    n_evb = len(model.ev_buses)
    x_ref = np.bincount(ev_bus, weights=p_kw, minlength=n_evb)
    lo_b = np.bincount(ev_bus, weights=lo_kw, minlength=n_evb)
    hi_b = np.bincount(ev_bus, weights=hi_kw, minlength=n_evb)
    limits = model.limits
    x = x_ref.copy()
    if screen is not None and not model.envelopes and screen.clearly_within(model, k, x, margins):
        return GridEnforcement(p_kw, 0.0, 0.0, 0.0, "none", -1, 0)
    pred = model.predict(k, _per_bus_mw(model, x))
    # Where the base load alone is already beyond a limit (no EV can be blamed for it), the
    # element is left out of this step's planning (the plant counts it as base load alone).
    limits, uncontrollable = _effective_limits(model, pred, x, margins)
    near = violations(pred, limits, margins)
    near["envelope"] = envelope_breaches(model, k, pred, x)
    if not any(len(v) for v in near.values()):
        if screen is not None and not uncontrollable:
            screen.remember(model, k, x, pred)
        return GridEnforcement(p_kw, 0.0, 0.0, 0.0, "none", -1, 0, uncontrollable)
    if "nonconverged" in near:
        # Nothing to linearise around: plan the hard minimum (the least load the EVs allow).
        x = lo_b.copy()
        pred = model.predict(k, _per_bus_mw(model, x))
        near = violations(pred, limits, margins) if pred.converged else {}
        near["envelope"] = envelope_breaches(model, k, pred, x)
    active: dict[str, set[int]] = {
        kind: set() for kind in ("trafo", "line", "vm_max", "vm_min", "envelope")
    }
    conflict, worst_kind, worst_pos, rounds = 0.0, "none", -1, 0
    best: np.ndarray | None = None
    for _ in range(max_iterations):
        rounds += 1
        for kind, pos in near.items():
            if kind in active:
                active[kind].update(int(i) for i in pos)
        rows = _rows(model, pred, x, active, margins, k, limits)
        if rows is None:
            break
        x, slack = _solve(rows, x_ref, lo_b, hi_b, float(x_ref.sum()))
        conflict = float(slack.max()) if slack.size else 0.0
        worst = int(np.argmax(slack)) if slack.size and conflict > 1e-6 else 0
        worst_kind, worst_pos = rows.kinds[worst], rows.elements[worst]
        pred = model.predict(k, _per_bus_mw(model, x))
        if conflict > 1e-6:
            break
        if _within(pred, limits, 0.0, 0.0) and not len(envelope_breaches(model, k, pred, x)):
            # Within the raw limits (the margin is the planning reserve). Far from a large
            # correction the linearisation over-cuts (losses fall with the square of the flow):
            # while power was cut and every binding element has room left, linearise again here.
            best = x
            if x_ref.sum() - x.sum() < 0.5 or not _loose(pred, limits, margins, active):
                break
        near = violations(pred, limits, margins)
        near["envelope"] = envelope_breaches(model, k, pred, x)
    if best is not None:
        x = best
        if screen is not None:
            screen.forget()
    p_new = _spread(p_kw, lo_kw, hi_kw, ev_bus, x_ref, x, lo_b, hi_b)
    return GridEnforcement(
        p_kw=p_new,
        moved_kw=float(np.abs(x - x_ref).sum()),
        curtailed_kw=float(x_ref.sum() - x.sum()),
        conflict=conflict,
        binding_kind=worst_kind,
        binding_element=worst_pos,
        iterations=rounds,
        uncontrollable=uncontrollable,
    )


def _element_sets(pred: GridPrediction, model: GridModel, lim: GridLimits) -> tuple:
    """(kind, loading, p0, q0, flow sensitivities, limit) of transformers and lines."""
    return (
        (
            "trafo",
            pred.trafo_loading_pct,
            pred.trafo_p_mw,
            pred.trafo_q_mvar,
            model.dtrafo_p_dp,
            lim.trafo_max_pct,
        ),
        (
            "line",
            pred.line_loading_pct,
            pred.line_p_mw,
            pred.line_q_mvar,
            model.dline_p_dp,
            lim.line_max_pct,
        ),
    )


def loading_after(
    loading: np.ndarray, p0: np.ndarray, q0: np.ndarray, dp_mw: np.ndarray
) -> np.ndarray:
    """Loading (%) once the active flow moved by dp_mw at the same reactive flow and voltage:
    loading scales with apparent power."""
    s0 = np.hypot(p0, q0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s0 > 1e-12, loading * np.hypot(p0 + dp_mw, q0) / s0, loading)


def _effective_limits(
    model: GridModel, pred: GridPrediction, x_kw: np.ndarray, margins: GridMargins
) -> tuple[GridLimits, int]:
    """The limits this step plans against, and how many elements the base load alone puts
    beyond their limit.

    The no-EV state comes from the prediction less the EVs' linear effect. An element beyond its
    limit (less the margin) without EVs is left out of this step's planning: the EVs are not
    asked to cure what they did not cause (the plant counts it as `base_load_alone`; holding it
    "no worse than without EVs" made every step of the city study an LP whose slack is the
    linear no-EV estimate's own error). A hard need that pins EVs beyond a limit the base load
    keeps is still a conflict."""
    lim = model.limits
    if not pred.converged:
        return lim, 0
    dx = x_kw / 1000.0
    vm0 = pred.vm_pu - model.dvm_dp @ dx
    out: dict[str, np.ndarray] = {}
    n = 0
    m_v, m_l = margins.vm_pu, margins.loading_pct
    hi_v = lim.vm_max_pu - m_v < vm0
    lo_v = lim.vm_min_pu + m_v > vm0
    out["vm_max"] = np.where(hi_v, np.inf, lim.vm_max_pu)
    out["vm_min"] = np.where(lo_v, -np.inf, lim.vm_min_pu)
    n += int(hi_v.sum() + lo_v.sum())
    for kind, loading, p0, q0, sens, cap in _element_sets(pred, model, lim):
        base = loading_after(loading, p0, q0, -(sens @ dx))
        over = base > cap - m_l
        out[kind] = np.where(over, np.inf, cap)
        n += int(over.sum())
    return (
        GridLimits(out["vm_min"], out["vm_max"], out["line"], out["trafo"], source=lim.source),
        n,
    )


class LinearScreen:
    """Skips the power flow of a plan that is clearly safe.

    Between steps with the same base injections (e.g. the 900 one-second steps inside one
    15-min profile row) only the EV power changes; from the last power flow of those injections,
    flows and voltages move by the sensitivities times the EV change. A plan whose estimate is
    inside every limit by the margin *plus* `extra_pct` / `extra_pu` (the estimate's own error
    reserve) needs no power flow; anything closer gets one. The plant always solves every step.
    """

    def __init__(
        self, extra_pct: float = 2.0, extra_pu: float = 0.003, max_change_kw: float = 200.0
    ):
        self.extra_pct, self.extra_pu, self.max_change_kw = extra_pct, extra_pu, max_change_kw
        self._segment: int | None = None
        self._x: np.ndarray | None = None
        self._pred: GridPrediction | None = None
        self.skipped = 0

    def remember(self, model: GridModel, k: int, x: np.ndarray, pred: GridPrediction) -> None:
        if pred.converged:
            self._segment, self._x, self._pred = model.segment(k), x.copy(), pred

    def forget(self) -> None:
        self._segment = None

    def clearly_within(self, model: GridModel, k: int, x: np.ndarray, margins: GridMargins) -> bool:
        pred, last = self._pred, self._x
        if pred is None or last is None or self._segment != model.segment(k):
            return False
        dx = (x - last) / 1000.0  # MW per EV bus
        if float(np.abs(dx).sum()) * 1000.0 > self.max_change_kw:
            return False
        lim = model.limits
        vm = pred.vm_pu + model.dvm_dp @ dx
        ok_v = np.all(vm <= lim.vm_max_pu - margins.vm_pu - self.extra_pu) and np.all(
            vm >= lim.vm_min_pu + margins.vm_pu + self.extra_pu
        )
        if not ok_v:
            return False
        for _, loading, p0, q0, sens, cap in _element_sets(pred, model, lim):
            est = loading_after(loading, p0, q0, sens @ dx)
            if not np.all(est <= cap - margins.loading_pct - self.extra_pct):
                return False
        self.skipped += 1
        return True


def _loose(
    pred: GridPrediction, limits: GridLimits, margins: GridMargins, active: dict[str, set[int]]
) -> bool:
    """Every element the repair constrains is more than half a point (1 mpu) inside its
    planning limit: the cut could be smaller."""
    room: list[float] = []
    for e in active["trafo"]:
        room.append(limits.trafo_max_pct[e] - margins.loading_pct - pred.trafo_loading_pct[e])
    for e in active["line"]:
        room.append(limits.line_max_pct[e] - margins.loading_pct - pred.line_loading_pct[e])
    for i in active["vm_max"]:
        room.append(500.0 * (limits.vm_max_pu[i] - margins.vm_pu - pred.vm_pu[i]))
    for i in active["vm_min"]:
        room.append(500.0 * (pred.vm_pu[i] - limits.vm_min_pu[i] - margins.vm_pu))
    return bool(room) and min(room) > 0.5


def _per_bus_mw(model: GridModel, x_kw: np.ndarray) -> np.ndarray:
    out = np.zeros(model.n_bus)
    out[model.ev_buses] = x_kw / 1000.0
    return out


@dataclass(frozen=True)
class _Rows:
    """One-sided LP rows `a @ y <= b` over the EV-bus powers y (kW)."""

    a: np.ndarray
    b: np.ndarray
    kinds: list[str]
    elements: list[int]


def _rows(
    model: GridModel,
    pred: GridPrediction,
    x: np.ndarray,
    active: dict[str, set[int]],
    margins: GridMargins,
    k: int = 0,
    limits: GridLimits | None = None,
) -> _Rows | None:
    limits = model.limits if limits is None else limits
    a_rows: list[np.ndarray] = []
    b_rows: list[float] = []
    kinds: list[str] = []
    elements: list[int] = []
    for kind, loading, p0, q0, sens, lim in (
        (
            "trafo",
            pred.trafo_loading_pct,
            pred.trafo_p_mw,
            pred.trafo_q_mvar,
            model.dtrafo_p_dp,
            limits.trafo_max_pct,
        ),
        (
            "line",
            pred.line_loading_pct,
            pred.line_p_mw,
            pred.line_q_mvar,
            model.dline_p_dp,
            limits.line_max_pct,
        ),
    ):
        for e in sorted(active[kind]):
            s = sens[e]
            if not np.any(s):
                continue
            # Loading scales with apparent power (at the same voltage): the limit as |S| at this
            # point, and the signed active flow it leaves for the EVs given the reactive flow.
            s0 = float(np.hypot(p0[e], q0[e]))
            if loading[e] <= 1e-9 or s0 <= 1e-12:
                continue
            s_max = s0 * (lim[e] - margins.loading_pct) / loading[e]
            p_max = float(np.sqrt(max(s_max**2 - q0[e] ** 2, 0.0)))
            base = s @ x  # kW of flow attributed to the EVs now
            # p0 + s.(y - x)/1000 <= p_max  and  -(p0 + s.(y - x)/1000) <= p_max, in kW
            a_rows += [s, -s]
            b_rows += [1000.0 * (p_max - p0[e]) + base, 1000.0 * (p_max + p0[e]) - base]
            kinds += [kind, kind]
            elements += [e, e]
    for kind, sign in (("vm_max", 1.0), ("vm_min", -1.0)):
        for i in sorted(active[kind]):
            c = model.dvm_dp[i]  # pu/MW = mpu/kW
            if not np.any(c):
                continue
            v0 = float(pred.vm_pu[i])
            if sign > 0:
                room = 1000.0 * (limits.vm_max_pu[i] - margins.vm_pu - v0)
            else:
                room = 1000.0 * (v0 - limits.vm_min_pu[i] - margins.vm_pu)
            a_rows.append(sign * c)
            b_rows.append(room + sign * float(c @ x))
            kinds.append(kind)
            elements.append(i)
    if active.get("envelope"):
        flow = envelope_flows_kw(model, k, pred, x)
        n = len(x)
        for i in sorted(active["envelope"]):
            env = model.envelopes[i]
            if env.kind == "trafo":
                c = model.dtrafo_p_dp[env.position]
            else:
                c = np.zeros(n)
                j = int(np.searchsorted(model.ev_buses, env.position))
                if j >= n or model.ev_buses[j] != env.position:
                    continue  # no EV on that bus: nothing the EMS can do
                c[j] = 1.0
            if not np.any(c):
                continue
            # flow + c.(y - x) <= import  and  -(flow + c.(y - x)) <= export, in kW
            a_rows += [c, -c]
            b_rows += [
                float(env.import_kw[k]) - flow[i] + float(c @ x),
                float(env.export_kw[k]) + flow[i] - float(c @ x),
            ]
            kinds += ["envelope", "envelope"]
            elements += [i, i]
    if not a_rows:
        return None
    return _Rows(np.array(a_rows), np.array(b_rows), kinds, elements)


def _solve(
    rows: _Rows, x_ref: np.ndarray, lo_b: np.ndarray, hi_b: np.ndarray, total: float
) -> tuple[np.ndarray, np.ndarray]:
    """min 100 |sum y - total| + sum |y - x_ref| + 1e4 sum slack, s.t. rows, lo_b <= y <= hi_b.

    Columns: y (n), d+ (n), d- (n), t+, t-, slack (m)."""
    n, m = len(x_ref), len(rows.b)
    # Imported here, not at module level: `twin validate` loads every service module for its
    # spec, and scipy + HiGHS cost it ~0.15 s (its budget is 0.5 s).
    import highspy
    from scipy import sparse

    inf = highspy.kHighsInf
    n_col = 3 * n + 2 + m
    cost = np.concatenate(
        [np.zeros(n), np.full(2 * n, _W_MOVE), [_W_TOTAL, _W_TOTAL], np.full(m, _W_SLACK)]
    )
    col_lo = np.concatenate([lo_b, np.zeros(2 * n + 2 + m)])
    col_hi = np.concatenate([np.maximum(hi_b, lo_b), np.full(2 * n + 2 + m, inf)])
    # Rows: [sum y - t+ + t- = total], [y_b - d+_b + d-_b = x_ref_b] (n), [a y - slack <= b] (m).
    idx = np.arange(n)
    a_r, a_c = np.nonzero(rows.a)
    r = np.concatenate(
        [np.zeros(n), 1 + idx, 1 + idx, 1 + idx, [0, 0], 1 + n + a_r, 1 + n + np.arange(m)]
    )
    c = np.concatenate(
        [idx, idx, n + idx, 2 * n + idx, [3 * n, 3 * n + 1], a_c, 3 * n + 2 + np.arange(m)]
    )
    v = np.concatenate(
        [np.ones(2 * n), -np.ones(n), np.ones(n), [-1.0, 1.0], rows.a[a_r, a_c], -np.ones(m)]
    )
    matrix = sparse.csc_matrix((v, (r, c)), shape=(1 + n + m, n_col))
    row_lo = np.concatenate([[total], x_ref, np.full(m, -inf)])
    row_hi = np.concatenate([[total], x_ref, rows.b])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, 1 + n + m
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, col_lo, col_hi
    lp.row_lower_, lp.row_upper_ = row_lo, row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # Presolve costs more than it saves on these small LPs (1.9 vs 2.9 ms for 77 EV buses).
    h.setOptionValue("presolve", "off")
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        # Cannot happen with slack on every grid row and lo_b <= hi_b; keep the hard minimum.
        return lo_b.copy(), np.full(m, np.inf)
    sol = np.asarray(h.getSolution().col_value)
    return np.clip(sol[:n], lo_b, np.maximum(hi_b, lo_b)), sol[3 * n + 2 :]


def _spread(
    p: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    ev_bus: np.ndarray,
    x_ref: np.ndarray,
    x: np.ndarray,
    lo_b: np.ndarray,
    hi_b: np.ndarray,
) -> np.ndarray:
    """Per-EV powers whose bus totals are x: each EV moves towards its bound in proportion to
    its room, as the proportional allocation does."""
    delta = x - x_ref
    down_room = np.maximum(x_ref - lo_b, 0.0)
    up_room = np.maximum(hi_b - x_ref, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_down = np.where(down_room > 0, np.clip(-delta / down_room, 0.0, 1.0), 0.0)
        f_up = np.where(up_room > 0, np.clip(delta / up_room, 0.0, 1.0), 0.0)
    fd, fu = f_down[ev_bus], f_up[ev_bus]
    out = p - (p - lo) * fd + (hi - p) * fu
    return np.clip(out, lo, np.maximum(hi, lo))
