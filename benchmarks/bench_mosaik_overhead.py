"""What mosaik itself costs per step: per-step wiring (one mosaik step per model step) against
block stepping, and whether the cost grows with the number of fleet entities.

    python -m benchmarks.bench_mosaik_overhead [--duration 1h]

Runs the default study at 1-s steps with the same 1,000 EVs as one fleet and as three
(commuters / business / households, each with its baseline shadow), each with `block_steps: 1`
(FleetSim and EmsSim as their own simulators) and with the default block, and prints the time per
model step of every part side by side. "mosaik overhead" = world.run time not spent inside a
simulator method (scheduling, data routing between simulators). Not a test: numbers depend on the
machine.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from benchmarks.targets import SCENARIOS, Target
from benchmarks.variant import measure_twin


def _variants(duration: str) -> dict[str, dict]:
    data = yaml.safe_load((SCENARIOS / "default.yaml").read_text(encoding="utf-8"))
    common = {
        "step": "1s",
        "duration": duration,
        "start": "2025-06-04T08:00:00",
        "outputs": {"grid_detail": False, "chunk_steps": 20000},
    }
    three = {**data, **common, "fleets": {k: dict(v) for k, v in data["fleets"].items()}}
    for name, count in (("commuters", 400), ("business", 133), ("households", 467)):
        three["fleets"][name]["count"] = count
    one = {
        **data,
        **common,
        "fleets": {"households": {**data["fleets"]["households"], "count": 1000}},
    }
    block = 96
    return {
        "1 fleet, per step": {**one, "block_steps": 1},
        "3 fleets, per step": {**three, "block_steps": 1},
        f"1 fleet, blocks of {block}": {**one, "block_steps": block},
        f"3 fleets, blocks of {block}": {**three, "block_steps": block},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", default="1h", help="simulated span at 1-s steps")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in _variants(args.duration).items():
            path = Path(tmp) / f"{len(results)}.yaml"
            path.write_text(yaml.safe_dump(data), encoding="utf-8")
            results[name] = measure_twin(
                Target(name="overhead", title=name, scenario=path),
                False,
                Path(tmp) / f"out{len(results)}",
            )
    table = Table(title="us per 1-s step, 1,000 EVs")
    table.add_column("part")
    for name in results:
        table.add_column(name, justify="right")
    parts = [
        p
        for p in next(iter(results.values()))["parts_s"]
        if p not in ("setup (prepare_run)", "results + KPIs")
    ]
    for part in [*parts, "total (world.run)"]:
        cells = []
        for r in results.values():
            seconds = (
                (r["per_step_ms"] / 1000.0 * r["steps"])
                if part.startswith("total")
                else r["parts_s"].get(part, 0.0)
            )
            cells.append(f"{seconds / r['steps'] * 1e6:,.0f}")
        table.add_row(part, *cells)
    Console(width=120).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
