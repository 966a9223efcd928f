"""`twin report` wall time on a results folder: N runs of the command as a user types it (a fresh
process each: imports, reading, drawing, PNG, HTML), the median and the CPU time per run.

Not a test: the numbers depend on the machine and on what else runs on it. CPU seconds (user +
system of the child) move less than wall seconds when other processes share the cores, so both
are printed. The report goes to a temporary folder (`--out`), so the results folder is not
changed; `--in-place` writes it into the folder as plain `twin report DIR` does.

    python benchmarks/bench_report.py RESULTS_DIR [--runs 5] [--in-place]
    python benchmarks/bench_report.py /tmp/city --runs 3   # city_2030: a year at 15 min
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

LIMIT_S = 10.0
"""Issue 17: a year-long city report within 10 s on the standard 2-core machine."""


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float


def twin_command() -> list[str]:
    """The `twin` next to this interpreter (the venv's entry point), else `python -m twin.cli`."""
    script = Path(sys.executable).with_name("twin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "twin.cli"]


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(command: list[str]) -> Timing:
    """One run of the command; raises CalledProcessError (with its output) if it fails."""
    cpu0 = children_cpu_s()
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)
    return Timing(wall_s=wall, cpu_s=children_cpu_s() - cpu0)


def bench(run_dir: Path, runs: int, in_place: bool) -> list[Timing]:
    out = None if in_place else Path(tempfile.mkdtemp(prefix="bench_report_"))
    command = [*twin_command(), "report", str(run_dir)]
    if out is not None:
        command += ["--out", str(out)]
    try:
        return [time_once(command) for _ in range(runs)]
    finally:
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a results folder (twin run --out DIR)")
    parser.add_argument("--runs", type=int, default=5, help="runs to take the median of")
    parser.add_argument(
        "--in-place", action="store_true", help="write report.html into the results folder"
    )
    args = parser.parse_args(argv)
    if not (args.run_dir / "timeseries.parquet").exists():
        parser.error(f"{args.run_dir}: no timeseries.parquet (not a results folder)")
    print(f"twin report {args.run_dir}: {args.runs} runs, {os.cpu_count()} cores")
    timings = bench(args.run_dir, max(1, args.runs), args.in_place)
    for k, t in enumerate(timings, 1):
        print(f"  run {k}: {t.wall_s:.2f} s wall, {t.cpu_s:.2f} s CPU")
    wall = statistics.median(t.wall_s for t in timings)
    cpu = statistics.median(t.cpu_s for t in timings)
    verdict = "met" if wall <= LIMIT_S else "missed"
    print(f"median: {wall:.2f} s wall, {cpu:.2f} s CPU (limit {LIMIT_S:g} s wall: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
