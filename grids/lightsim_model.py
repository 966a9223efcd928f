"""Turn a pandapower net into a lightsim2grid ``LSGrid`` that solves the same power flow.

lightsim2grid's own converter (``lightsim2grid.network.init_from_pandapower``) ignores switches,
refuses ``parallel`` != 1 and non-zero ``tap_neutral``, and applies ``tap_pos`` even where
pandapower 3 ignores it (``tap_changer_type`` empty). This module prepares a private copy of the
net so that the converted model reproduces ``pandapower.runpp`` (checked to ~1e-12 pu on SimBench
MV/LV nets):

* closed bus-bus switches: the buses are fused (pandapower does the same internally);
* open line / trafo switches: that side of the branch is opened in the LSGrid, so the branch
  stays energised from the other side (pandapower's auxiliary-bus model);
* ``parallel`` = n lines / trafos: one equivalent branch (r, x / n; c, g, sn_mva, pfe_kw * n);
* transformer taps: ``tap_pos - tap_neutral``, and no tap where pandapower applies none;
* one extra "ev" load per bus, appended after the net's own loads, for EV charging power.

The converter is called with ``pp_orig_file="pandapower_v2"``: its "pandapower_v3" transformer
formula differs from pandapower 3.5.6's runpp by ~2e-5 pu on SimBench nets, "v2" matches.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from grids.errors import UnsupportedGridError

if TYPE_CHECKING:
    from lightsim2grid.network import LSGrid
    from pandapower import pandapowerNet

# Elements lightsim2grid cannot model; they are accepted only when out of service or absent.
_UNSUPPORTED_TABLES = (
    "trafo3w",
    "impedance",
    "ward",
    "xward",
    "motor",
    "asymmetric_load",
    "asymmetric_sgen",
    "svc",
    "tcsc",
    "ssc",
    "vsc",
)
_ZIP_COLUMNS = (
    "const_z_p_percent",
    "const_i_p_percent",
    "const_z_q_percent",
    "const_i_q_percent",
    "const_z_percent",
    "const_i_percent",
)
_TAP_TYPES_APPLIED = ("Ratio", "Symmetrical")


@dataclass
class LightsimModel:
    """An ``LSGrid`` and how the original net's elements map onto it.

    Attributes:
        grid: The lightsim2grid model (loads = net loads, then one EV load per net bus).
        bus_position: For each bus of ``net.bus.index`` (same order), its LSGrid bus id.
        n_net_loads: Number of loads of the original net (the EV loads follow them).
        slack_gen_ids: LSGrid generator ids that stand for the net's ext_grid(s).
        cold_start_v: Complex voltage vector to start from when there is no previous solution
            (a DC power flow: it carries the transformer phase shifts, which a flat start lacks).
        dead_buses: Mask over ``net.bus``: out of service or cut off from the slack (NaN vm).
        dead_lines: Mask over ``net.line``: touching a bus cut off from the slack (NaN loading,
            as pandapower reports them).
        dead_trafos: Same for ``net.trafo``.
    """

    grid: LSGrid
    bus_position: np.ndarray
    n_net_loads: int
    slack_gen_ids: np.ndarray
    cold_start_v: np.ndarray
    dead_buses: np.ndarray
    dead_lines: np.ndarray
    dead_trafos: np.ndarray


def build_lightsim_model(net: pandapowerNet) -> LightsimModel:
    """Convert ``net`` (left untouched) into a ``LightsimModel``.

    Raises:
        UnsupportedGridError: The net holds elements lightsim2grid cannot model; the message names
            them (use ``PowerFlow(net, backend="pandapower")`` for such nets).
    """
    import pandapower as pp
    from lightsim2grid.network import init_from_pandapower

    _check_supported(net)
    c = copy.deepcopy(net)
    for table in _UNSUPPORTED_TABLES:
        if table in c and len(c[table]):
            c[table] = c[table].iloc[0:0]
    c.ext_grid = c.ext_grid[c.ext_grid["in_service"].astype(bool)]
    for table in ("measurement", "group"):
        # bookkeeping tables that refer to buses but play no part in the power flow
        if table in c and len(c[table]):
            c[table] = c[table].iloc[0:0]

    open_line_sides, open_trafo_sides = _open_branch_sides(c)
    representative = _fuse_closed_bus_switches(c, pp)
    c.switch = c.switch.iloc[0:0]
    _drop_elements_at_out_of_service_buses(c)
    _normalise_taps(c)
    _merge_parallel(c)
    for table in ("sgen", "gen", "storage", "load"):
        for col in ("min_p_mw", "max_p_mw", "min_q_mvar", "max_q_mvar"):
            if col in c[table]:
                c[table][col] = c[table][col].astype(float)
    for table in ("load", "sgen", "storage"):
        if "scaling" in c[table]:
            # profiles and solve() inputs are final MW values; scaling is applied by the caller
            c[table]["scaling"] = 1.0

    n_net_loads = len(c.load)
    ev_buses = np.array([representative[b] for b in net.bus.index], dtype=np.int64)
    pp.create_loads(
        c,
        ev_buses,
        p_mw=0.0,
        q_mvar=0.0,
        name="ev",
        in_service=net.bus["in_service"].to_numpy(dtype=bool),
    )

    lookup = {int(old): new for new, old in enumerate(c.bus.index)}
    pp.toolbox.reindex_buses(c, dict(lookup))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = init_from_pandapower(c, pp_orig_file="pandapower_v2")
    # buses cut off from the slack (e.g. behind an out-of-service line) are left out of the
    # solve instead of making the Jacobian singular; pandapower reports them as NaN too
    grid.consider_only_main_component()

    line_pos = {idx: k for k, idx in enumerate(c.line.index)}
    trafo_pos = {idx: k for k, idx in enumerate(c.trafo.index)}
    for line, sides in open_line_sides.items():
        k = line_pos[line]
        if sides == {"from", "to"}:
            grid.deactivate_powerline(k)
        elif "from" in sides:
            grid.deactivate_powerline_side1(k)
        else:
            grid.deactivate_powerline_side2(k)
    for trafo, sides in open_trafo_sides.items():
        k = trafo_pos[trafo]
        if sides == {"hv", "lv"}:
            grid.deactivate_trafo(k)
        elif "hv" in sides:
            grid.deactivate_trafo_side1(k)
        else:
            grid.deactivate_trafo_side2(k)

    bus_position = np.array([lookup[representative[b]] for b in net.bus.index], dtype=np.int64)
    slack_gen_ids = np.arange(len(c.gen), len(c.gen) + len(c.ext_grid), dtype=np.int64)
    flat = np.ones(grid.total_bus(), dtype=np.complex128)
    dc = np.array(grid.dc_pf(flat, 30, 1e-8), dtype=np.complex128)
    cold_start_v = dc if dc.size == flat.size and np.all(np.isfinite(dc)) else flat
    cut_off = _cut_off_buses(c, open_line_sides, open_trafo_sides)
    dead_buses = cut_off[bus_position] | ~net.bus["in_service"].to_numpy(dtype=bool)
    dead_lines = (
        cut_off[c.line["from_bus"].to_numpy(dtype=np.int64)]
        | cut_off[c.line["to_bus"].to_numpy(dtype=np.int64)]
    )
    dead_trafos = (
        cut_off[c.trafo["hv_bus"].to_numpy(dtype=np.int64)]
        | cut_off[c.trafo["lv_bus"].to_numpy(dtype=np.int64)]
    )
    return LightsimModel(
        grid,
        bus_position,
        n_net_loads,
        slack_gen_ids,
        cold_start_v,
        dead_buses,
        dead_lines,
        dead_trafos,
    )


def _cut_off_buses(
    c: pandapowerNet, open_line_sides: dict[int, set[str]], open_trafo_sides: dict[int, set[str]]
) -> np.ndarray:
    """Mask over the prepared (0..n-1 indexed) buses: in service but not reachable from the slack."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(c.bus)
    ends = []
    for table, a, b, open_sides in (
        ("line", "from_bus", "to_bus", open_line_sides),
        ("trafo", "hv_bus", "lv_bus", open_trafo_sides),
    ):
        df = c[table]
        closed = df["in_service"].to_numpy(dtype=bool) & ~df.index.isin(list(open_sides))
        ends.append(
            (df[a].to_numpy(dtype=np.int64)[closed], df[b].to_numpy(dtype=np.int64)[closed])
        )
    rows = np.concatenate([e[0] for e in ends])
    cols = np.concatenate([e[1] for e in ends])
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    energised = np.isin(label, label[c.ext_grid["bus"].to_numpy(dtype=np.int64)])
    return c.bus["in_service"].to_numpy(dtype=bool) & ~energised


def _check_supported(net: pandapowerNet) -> None:
    problems = []
    for table in _UNSUPPORTED_TABLES:
        if table in net and len(net[table]) and net[table]["in_service"].astype(bool).any():
            problems.append(
                f"{table} ({int(net[table]['in_service'].astype(bool).sum())} in service)"
            )
    for col in _ZIP_COLUMNS:
        if col in net.load and (net.load[col].fillna(0.0) != 0.0).any():
            problems.append(f"voltage-dependent loads (load.{col} != 0)")
            break
    if int(net.ext_grid["in_service"].astype(bool).sum()) != 1:
        problems.append(
            f"{int(net.ext_grid['in_service'].astype(bool).sum())} ext_grids in service "
            "(exactly one is supported)"
        )
    if len(net.gen) and "slack" in net.gen and net.gen["slack"].astype(bool).any():
        problems.append("gen with slack=True (the slack must be the ext_grid)")
    if len(net.trafo):
        tap_type = net.trafo.get("tap_changer_type")
        if tap_type is not None and (tap_type.astype(object) == "Ideal").any():
            problems.append("transformers with tap_changer_type='Ideal'")
        table = net.trafo.get("tap_dependency_table")
        if table is not None and table.fillna(False).astype(bool).any():
            problems.append("transformers with tap_dependency_table=True")
    if len(net.switch):
        closed_bb = net.switch[(net.switch["et"] == "b") & net.switch["closed"].astype(bool)]
        if "z_ohm" in closed_bb and (closed_bb["z_ohm"].fillna(0.0) != 0.0).any():
            problems.append("closed bus-bus switches with z_ohm != 0")
    if problems:
        raise UnsupportedGridError(
            "the lightsim2grid backend cannot model this net: "
            + "; ".join(problems)
            + '. Use PowerFlow(net, backend="pandapower") instead.'
        )


def _fuse_closed_bus_switches(c: pandapowerNet, pp: object) -> dict[int, int]:
    """Fuse buses joined by closed bus-bus switches; return bus -> surviving bus for every bus."""
    parent = {int(b): int(b) for b in c.bus.index}

    def find(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    if len(c.switch):
        closed_bb = c.switch[(c.switch["et"] == "b") & c.switch["closed"].astype(bool)]
        for a, b in zip(closed_bb["bus"].to_numpy(), closed_bb["element"].to_numpy(), strict=True):
            ra, rb = find(int(a)), find(int(b))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    representative = {b: find(b) for b in parent}
    fused = [b for b, r in representative.items() if r != b]
    if fused:
        # Reroute every element instead of pandapower.toolbox.fuse_buses, which would also drop
        # branches between fused buses and so shift the line/trafo positions results align to.
        for element, column in pp.toolbox.element_bus_tuples():  # type: ignore[attr-defined]
            if element in c and len(c[element]) and column in c[element]:
                c[element][column] = c[element][column].map(lambda b: representative.get(int(b), b))
        c.bus = c.bus.drop(index=fused)
    return representative


def _open_branch_sides(c: pandapowerNet) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """Sides of lines / trafos that an open switch disconnects."""
    lines: dict[int, set[str]] = {}
    trafos: dict[int, set[str]] = {}
    if not len(c.switch):
        return lines, trafos
    open_sw = c.switch[~c.switch["closed"].astype(bool)]
    for bus, element, et in zip(open_sw["bus"], open_sw["element"], open_sw["et"], strict=True):
        # Called before buses are fused, so switch and branch bus ids are comparable.
        if et == "l":
            side = "from" if int(c.line.at[element, "from_bus"]) == int(bus) else "to"
            lines.setdefault(int(element), set()).add(side)
        elif et == "t":
            side = "hv" if int(c.trafo.at[element, "hv_bus"]) == int(bus) else "lv"
            trafos.setdefault(int(element), set()).add(side)
        elif et == "t3":
            raise UnsupportedGridError("switches at three-winding transformers are not supported")
    return lines, trafos


def _drop_elements_at_out_of_service_buses(c: pandapowerNet) -> None:
    """Take out of service what touches an out-of-service bus, as pandapower's runpp does."""
    out = c.bus.index[~c.bus["in_service"].astype(bool)]
    if not len(out):
        return
    for table, columns in (
        ("load", ("bus",)),
        ("sgen", ("bus",)),
        ("storage", ("bus",)),
        ("gen", ("bus",)),
        ("shunt", ("bus",)),
        ("line", ("from_bus", "to_bus")),
        ("trafo", ("hv_bus", "lv_bus")),
    ):
        if table in c and len(c[table]):
            touches = np.zeros(len(c[table]), dtype=bool)
            for col in columns:
                touches |= c[table][col].isin(out).to_numpy()
            c[table].loc[touches, "in_service"] = False


def _normalise_taps(c: pandapowerNet) -> None:
    if not len(c.trafo):
        return
    t = c.trafo
    tap_type = t["tap_changer_type"].astype(object) if "tap_changer_type" in t else None
    tap_pos = t["tap_pos"].astype(float).to_numpy()
    neutral = t["tap_neutral"].astype(float).fillna(0.0).to_numpy()
    step = t["tap_step_percent"].astype(float).to_numpy()
    applied = np.isfinite(tap_pos) & np.isfinite(step)
    if tap_type is not None:
        applied &= tap_type.isin(_TAP_TYPES_APPLIED).to_numpy()
    t["tap_pos"] = np.where(applied, tap_pos - neutral, 0.0)
    t["tap_neutral"] = 0.0
    t["tap_step_percent"] = np.where(applied, step, 0.0)
    for col in ("tap_step_degree", "shift_degree"):
        if col in t:
            t[col] = t[col].astype(float).fillna(0.0)
    if "tap_step_degree" in t:
        t["tap_step_degree"] = np.where(applied, t["tap_step_degree"].to_numpy(), 0.0)
    t["tap_side"] = t["tap_side"].fillna("hv")


def _merge_parallel(c: pandapowerNet) -> None:
    if len(c.line) and (c.line["parallel"] != 1).any():
        n = c.line["parallel"].to_numpy(dtype=float)
        c.line["r_ohm_per_km"] = c.line["r_ohm_per_km"] / n
        c.line["x_ohm_per_km"] = c.line["x_ohm_per_km"] / n
        c.line["c_nf_per_km"] = c.line["c_nf_per_km"] * n
        c.line["g_us_per_km"] = c.line["g_us_per_km"] * n
        c.line["parallel"] = 1
    if len(c.trafo) and (c.trafo["parallel"] != 1).any():
        n = c.trafo["parallel"].to_numpy(dtype=float)
        c.trafo["sn_mva"] = c.trafo["sn_mva"] * n
        c.trafo["pfe_kw"] = c.trafo["pfe_kw"] * n
        c.trafo["parallel"] = 1
