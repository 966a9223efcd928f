"""Power-flow stepping cost: pandapower.runpp vs runpp(recycle) vs the lightsim2grid path.

Runs the same sequence of steps (SimBench 15-min profiles + random EV power per bus) through

* ``pandapower.runpp`` (plain, ``lightsim2grid=False``: pandapower's own Newton-Raphson),
* ``pandapower.runpp`` with its default ``lightsim2grid="auto"`` (pandapower calls lightsim2grid's
  solver inside its own pipeline when it can),
* ``pandapower.runpp(recycle=...)`` (reuses the internal ppc / Ybus, only PQ injections change),
* ``grids.PowerFlow(backend="pandapower")`` (runpp with warm start, our reference backend),
* ``grids.PowerFlow(backend="lightsim2grid")`` (LSGrid.ac_pf, warm start, numpy only),

and prints per-step milliseconds, the speed-up over plain runpp and the largest voltage difference
from plain runpp, side by side. Not a test: numbers depend on the machine.

    python benchmarks/bench_powerflow.py [--grid simbench:1-MVLV-semiurb-3.202-1-no_sw]
        [--steps 40] [--lightsim-steps 2000]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import importlib.util
import statistics
import sys
import time
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grids import GridProfiles, PowerFlow, build_grid  # noqa: E402


def _inputs(net, n_steps: int, seed: int) -> list[tuple[np.ndarray, ...]]:
    start = dt.datetime(2025, 7, 14, tzinfo=ZoneInfo("Asia/Tokyo"))
    prof = GridProfiles.for_net(net, start, 900, n_steps)
    rng = np.random.default_rng(seed)
    steps: list[tuple[np.ndarray, ...]] = []
    for k in range(n_steps):
        s = prof.at(k)
        ev = rng.uniform(0.0, 0.022, len(net.bus)) * (rng.random(len(net.bus)) < 0.3)
        steps.append((s.load_p_mw, s.load_q_mvar, s.sgen_p_mw, ev, s.storage_p_mw))
    return steps


def _prepared_pandapower_net(net):
    import pandapower as pp

    work = copy.deepcopy(net)
    pp.create_loads(work, net.bus.index.to_numpy(), p_mw=0.0, q_mvar=0.0, name="ev")
    return work


def _set_step(work, n_load: int, step) -> None:
    load_p, load_q, sgen_p, ev, storage_p = step
    work.load["p_mw"] = np.concatenate([load_p, ev])
    work.load["q_mvar"] = np.concatenate([load_q, np.zeros_like(ev)])
    work.sgen["p_mw"] = sgen_p
    if len(work.storage):
        work.storage["p_mw"] = storage_p


def _time_runpp(net, steps, **options) -> tuple[list[float], list[np.ndarray]]:
    import pandapower as pp

    work = _prepared_pandapower_net(net)
    n_load = len(net.load)
    times, vms = [], []
    for step in steps:
        t0 = time.perf_counter()
        _set_step(work, n_load, step)
        pp.runpp(work, **options)
        times.append(time.perf_counter() - t0)
        vms.append(work.res_bus["vm_pu"].to_numpy().copy())
    return times, vms


def _time_powerflow(net, steps, backend: str) -> tuple[list[float], list[np.ndarray], list[float]]:
    pf = PowerFlow(net, backend=backend)
    times, vms, solver = [], [], []
    for load_p, load_q, sgen_p, ev, storage_p in steps:
        t0 = time.perf_counter()
        res = pf.solve(load_p, load_q, sgen_p, ev, storage_p_mw=storage_p)
        times.append(time.perf_counter() - t0)
        vms.append(res.vm_pu)
        if backend == "lightsim2grid":
            solver.append(pf._solver._grid.timer_last_ac_pf)  # noqa: SLF001 - benchmark only
    return times, vms, solver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="simbench:1-MVLV-semiurb-3.202-1-no_sw")
    parser.add_argument("--steps", type=int, default=40, help="steps for the runpp variants")
    parser.add_argument("--lightsim-steps", type=int, default=2000, help="steps for lightsim2grid")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    net = build_grid(args.grid)
    numba = importlib.util.find_spec("numba") is not None
    steps = _inputs(net, max(args.steps, args.lightsim_steps), args.seed)
    few = steps[: args.steps]
    print(
        f"grid {args.grid}: {len(net.bus)} buses, {len(net.line)} lines, {len(net.trafo)} trafos, "
        f"{len(net.load)} loads (+{len(net.bus)} EV loads), {len(net.sgen)} sgens; numba={numba}"
    )

    rows = []
    plain_t, plain_vm = _time_runpp(net, few, lightsim2grid=False, numba=numba)
    rows.append(("runpp (plain, lightsim2grid=False)", plain_t, plain_vm, len(few)))
    auto_t, auto_vm = _time_runpp(net, few, numba=numba)
    rows.append(("runpp (default, lightsim2grid='auto')", auto_t, auto_vm, len(few)))
    recycle = {"bus_pq": True, "trafo": False, "gen": False}
    rec_t, rec_vm = _time_runpp(net, few, lightsim2grid=False, numba=numba, recycle=recycle)
    rows.append(("runpp (recycle bus_pq)", rec_t, rec_vm, len(few)))
    ppb_t, ppb_vm, _ = _time_powerflow(net, few, "pandapower")
    rows.append(("PowerFlow(backend='pandapower')", ppb_t, ppb_vm, len(few)))
    ls_t, ls_vm, ls_solver = _time_powerflow(net, steps[: args.lightsim_steps], "lightsim2grid")
    rows.append(("PowerFlow(backend='lightsim2grid')", ls_t, ls_vm, args.lightsim_steps))

    base_ms = statistics.median(plain_t) * 1e3
    print(
        f"\n{'method':40s} {'steps':>6s} {'median ms':>10s} {'mean ms':>9s} {'speed-up':>9s} "
        f"{'max |dvm| vs plain':>19s}"
    )
    for name, times, vms, n in rows:
        med = statistics.median(times) * 1e3
        dvm = max(
            float(np.nanmax(np.abs(vms[k] - plain_vm[k])))
            for k in range(min(len(vms), len(plain_vm)))
        )
        print(
            f"{name:40s} {n:6d} {med:10.3f} {statistics.fmean(times) * 1e3:9.3f} "
            f"{base_ms / med:8.1f}x {dvm:19.2e}"
        )
    solver_ms = statistics.median(ls_solver) * 1e3
    ls_ms = statistics.median(ls_t) * 1e3
    print(
        f"\nlightsim2grid: ac_pf itself {solver_ms:.3f} ms of {ls_ms:.3f} ms per step "
        f"(our per-step overhead {ls_ms - solver_ms:.3f} ms)"
    )


if __name__ == "__main__":
    main()
