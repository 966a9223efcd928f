"""The benchmark harness: the twin vs a naive mosaik build of the same scenario, side by side.

    python -m benchmarks.run                       # all targets (city, day1s, realtime)
    python -m benchmarks.run --quick               # smaller spans, a couple of minutes
    python -m benchmarks.run --targets city --no-naive

Each variant runs in its own process (peak memory = that process's max RSS). The naive reference
(one mosaik entity per EV, plain pandapower.runpp per step; benchmarks/naive) runs a shorter span
and is extrapolated to the full run (setup + measured time per step x steps); the table says so.
It also checks that the naive build reproduces the twin's fleet powers over its span.
Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.targets import TARGETS, Target

ROOT = Path(__file__).resolve().parent.parent


def run_variant(
    kind: str,
    target: Target,
    quick: bool,
    work: Path,
    timeout_s: float,
    compare: Path | None = None,
) -> dict[str, Any]:
    """Run one variant in a fresh process; returns its JSON result or {'error': ...}."""
    out_json = work / f"{target.name}-{kind}.json"
    out_json.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.variant",
        kind,
        "--target",
        target.name,
        "--json",
        str(out_json),
        "--out",
        str(work / f"{target.name}-twin"),
    ]
    if quick:
        cmd.append("--quick")
    if compare is not None:
        cmd += ["--compare", str(compare)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return {"kind": kind, "target": target.name, "error": f"timed out after {timeout_s:.0f} s"}
    if proc.returncode != 0 or not out_json.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {
            "kind": kind,
            "target": target.name,
            "error": " | ".join(tail) or f"exit {proc.returncode}",
        }
    return json.loads(out_json.read_text(encoding="utf-8"))


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("[green]met[/]" if ok else "[red]MISSED[/]")


def summary_table(results: list[tuple[Target, dict[str, Any], dict[str, Any] | None]]) -> Table:
    table = Table(title=f"twin vs naive reference ({platform.node()}, {os.cpu_count()} cores)")
    for col in (
        "target",
        "build",
        "steps run",
        "wall s",
        "cpu s",
        "ms/step",
        "p99 ms/step",
        "peak MB",
        "speed-up",
        "limits",
    ):
        table.add_column(col, justify="left" if col in ("target", "build", "limits") else "right")
    for target, twin, naive in results:
        if "error" in twin:
            table.add_row(
                target.title, "twin", "", "", "", "", "", "", "", f"[red]{twin['error']}[/]"
            )
            continue
        speedup = (naive["wall_s"] / twin["wall_s"]) if naive and "error" not in naive else None
        checks = []
        if target.wall_max_s is not None:
            checks.append(
                f"wall <= {target.wall_max_s:.0f} s {_verdict(twin['wall_s'] <= target.wall_max_s)}"
            )
        if target.memory_max_mb is not None:
            checks.append(
                f"mem <= {target.memory_max_mb:.0f} MB {_verdict(twin['peak_mb'] <= target.memory_max_mb)}"
            )
        if target.speedup_min is not None and speedup is not None:
            checks.append(f">= {target.speedup_min:.0f}x {_verdict(speedup >= target.speedup_min)}")
        if target.p99_step_max_ms is not None:
            checks.append(
                f"p99 <= {target.p99_step_max_ms:.0f} ms "
                f"{_verdict(twin.get('p99_ms', 1e9) <= target.p99_step_max_ms)}"
            )
        table.add_row(
            target.title,
            "twin",
            f"{twin['steps_run']:,}",
            f"{twin['wall_s']:.1f}",
            f"{twin['cpu_s']:.1f}",
            f"{twin['per_step_ms']:.3f}",
            f"{twin.get('p99_ms', float('nan')):.2f}",
            f"{twin['peak_mb']:.0f}",
            "",
            "; ".join(checks),
        )
        if naive is None:
            continue
        if "error" in naive:
            table.add_row("", "naive", "", "", "", "", "", "", "", f"[red]{naive['error']}[/]")
            continue
        note = (
            f"extrapolated from {naive['steps_run']:,} of {naive['steps']:,} steps"
            if naive["extrapolated"]
            else "full run"
        )
        if "max_fleet_power_diff_kw" in naive:
            note += f"; fleet power = twin's within {naive['max_fleet_power_diff_kw']:.1e} kW"
        table.add_row(
            "",
            f"naive ({naive['entities']:,} entities)",
            f"{naive['steps_run']:,}",
            f"{naive['wall_s']:.1f}" + ("*" if naive["extrapolated"] else ""),
            f"{naive['cpu_s']:.1f}",
            f"{naive['per_step_ms']:.3f}",
            f"{naive.get('p99_ms', float('nan')):.2f}",
            f"{naive['peak_mb']:.0f}",
            f"{speedup:.1f}x" if speedup else "",
            note,
        )
    return table


def parts_table(target: Target, twin: dict[str, Any]) -> Table:
    table = Table(title=f"where the twin's time goes: {target.title}")
    for col in ("part", "s", "%", "us/step"):
        table.add_column(col, justify="left" if col == "part" else "right")
    parts = twin["parts_s"]
    total = sum(parts.values())
    for name, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
        table.add_row(
            name,
            f"{seconds:.2f}",
            f"{100 * seconds / total:.1f}",
            f"{seconds / twin['steps'] * 1e6:.0f}",
        )
    table.add_row("total", f"{total:.2f}", "100.0", f"{total / twin['steps'] * 1e6:.0f}")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated subset of {', '.join(TARGETS)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="shorter runs (smoke check of the harness)"
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive reference")
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "results" / "bench",
        help="folder for run results and JSON measurements",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="per-variant time limit, s")
    args = parser.parse_args(argv)
    console = Console(width=170)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        print(
            f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}",
            file=sys.stderr,
        )
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        target = TARGETS[name]
        console.print(f"[bold]{target.title}[/]: twin ...")
        twin = run_variant("twin", target, args.quick, args.work, args.timeout)
        naive = None
        if not args.no_naive:
            console.print(f"[bold]{target.title}[/]: naive reference ...")
            twin_dir = Path(twin["out_dir"]) if "out_dir" in twin else None
            naive = run_variant(
                "naive", target, args.quick, args.work, args.timeout, compare=twin_dir
            )
        results.append((target, twin, naive))
    console.print(summary_table(results))
    console.print("* extrapolated: setup + (measured s/step x all steps)")
    for target, twin, _ in results:
        if "parts_s" in twin:
            console.print(parts_table(target, twin))
    (args.work / "results.json").write_text(
        json.dumps(
            [{"target": t.name, "twin": tw, "naive": nv} for t, tw, nv in results], indent=2
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
