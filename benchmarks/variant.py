"""Run ONE benchmark variant in this process and write its measurements as JSON.

    python -m benchmarks.variant twin  --target city [--quick] --out DIR --json FILE
    python -m benchmarks.variant naive --target city [--quick] --compare TWIN_DIR --json FILE

`benchmarks.run` starts each variant in its own process, so peak memory (ru_maxrss) is that
variant's alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.targets import TARGETS, Target


def load_target_scenario(target: Target, quick: bool) -> Any:
    from twin.catalog import load_scenario

    overrides = {**target.overrides, **(target.quick_overrides if quick else {})}
    return load_scenario(target.scenario, overrides)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _cpu_s() -> float:
    # CPU time next to wall time: on a shared machine the gap shows how much others took.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _step_stats_ms(step_wall_s: np.ndarray) -> dict[str, float]:
    if not step_wall_s.size:
        return {}
    ms = step_wall_s * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def _step_wall_s(stamps: np.ndarray, block: int) -> np.ndarray:
    """Wall time per model step from the recorder's per-row stamps. Rows of a block are recorded
    together after it, so each step of a block is given the block's time / its size."""
    # stamps[0] is the run's start; stamps[k * block] the last row of block k (a short last
    # block is left out).
    return np.repeat(np.diff(stamps[::block]) / block, block)


def measure_twin(target: Target, quick: bool, out_dir: Path) -> dict[str, Any]:
    from benchmarks.part_timers import TWIN_PARTS, PartTimers
    from twin.run.world import prepare_run

    scenario = load_target_scenario(target, quick)
    stamps: list[float] = []
    timers = PartTimers(TWIN_PARTS).install()
    t0 = time.perf_counter()
    prepared = prepare_run(
        scenario, out_dir, observers=[lambda row, detail: stamps.append(time.perf_counter())]
    )
    t1 = time.perf_counter()
    world_run = prepared.world.run
    spans: dict[str, float] = {}

    def timed_run(*args: Any, **kwargs: Any) -> Any:
        s = time.perf_counter()
        try:
            return world_run(*args, **kwargs)
        finally:
            spans["world_run_s"] = time.perf_counter() - s

    prepared.world.run = timed_run
    outcome = prepared.run(progress=False)
    t2 = time.perf_counter()
    timers.restore()
    parts = dict(timers.seconds)
    in_sims = parts.pop("in simulators")
    parts["simulators besides the models (loop, blocks, recorder)"] = in_sims - sum(parts.values())
    parts["mosaik overhead"] = spans["world_run_s"] - in_sims
    parts["setup (prepare_run)"] = t1 - t0
    parts["results + KPIs"] = (t2 - t1) - spans["world_run_s"]
    steps = scenario.n_steps
    return {
        "kind": "twin",
        "target": target.name,
        "steps": steps,
        "steps_run": steps,
        "sim_seconds": scenario.duration,
        "ev_count": scenario.ev_count,
        "setup_s": t1 - t0,
        "run_s": t2 - t1,
        "wall_s": t2 - t0,
        "extrapolated": False,
        "per_step_ms": spans["world_run_s"] / steps * 1000.0,
        "peak_mb": _peak_mb(),
        "cpu_s": _cpu_s(),
        "parts_s": parts,
        "block_steps": prepared.block_steps,
        **_step_stats_ms(_step_wall_s(np.asarray([t1, *stamps]), prepared.block_steps)),
        "status": outcome.summary.get("status"),
        "out_dir": str(out_dir),
    }


def measure_naive(target: Target, quick: bool, compare: Path | None) -> dict[str, Any]:
    from benchmarks.naive.world import run_naive

    scenario = load_target_scenario(target, quick)
    span_s = min(
        scenario.duration,
        (target.quick_naive_span_s if quick and target.quick_naive_span_s else target.naive_span_s),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_naive(scenario, span_s)
    per_step_s = run.run_s / run.steps
    wall_s = run.setup_s + per_step_s * scenario.n_steps
    result = {
        "kind": "naive",
        "target": target.name,
        "steps": scenario.n_steps,
        "steps_run": run.steps,
        "sim_seconds": scenario.duration,
        "ev_count": scenario.ev_count,
        "entities": run.entities,
        "setup_s": run.setup_s,
        "run_s": run.run_s,
        "wall_s": wall_s,
        "extrapolated": run.steps < scenario.n_steps,
        "per_step_ms": per_step_s * 1000.0,
        "peak_mb": _peak_mb(),
        "cpu_s": _cpu_s(),
        **_step_stats_ms(np.asarray(run.step_wall_s)),
    }
    if compare is not None:
        result["max_fleet_power_diff_kw"] = _compare(run.rows, compare)
    return result


def _compare(rows: list[dict[str, Any]], twin_dir: Path) -> float:
    """Largest difference in any fleet's power between the naive rows and the twin's first steps."""
    from twin.results.readers import read_table

    table = read_table(twin_dir)
    worst = 0.0
    for col in (c for c in table.columns if c.endswith(".p_kw")):
        naive = np.array([row.get(col, 0.0) for row in rows])
        worst = max(worst, float(np.max(np.abs(table[col].to_numpy()[: len(naive)] - naive))))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["twin", "naive"])
    parser.add_argument("--target", choices=sorted(TARGETS), required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    parser.add_argument("--compare", type=Path, default=None)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    target = TARGETS[args.target]
    if args.kind == "twin":
        result = measure_twin(target, args.quick, args.out)
    else:
        result = measure_naive(target, args.quick, args.compare)
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
