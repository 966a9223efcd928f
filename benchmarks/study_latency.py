"""Latency sweep of scenarios/frequency_event.yaml: does the control survive charger dead time?

    python -m benchmarks.study_latency [--latency 0 1 3 5 10] [--duration 1h]

Runs the study with every charger's `latency_s` set to each value and prints, per latency: the
effective droop and its r2, the under-frequency response's time to 90 % and hold, and, in normal
operation (from 1 min to the event), the fleet power's deviation from the EMS target: as recorded
(p(t) - target(t)), against the target one latency earlier (the best any controller can do with
that dead time), and against a pure dead time (the deviation a perfect delayed follower would
show). "hunting" is the ratio of the fleet power's step-to-step variation to the target's: about 1
when the fleet follows, well above 1 when the loop oscillates. Not a test (the test at 5 s is
tests/integration/test_latency_robust.py); numbers depend only on the seed, not the machine.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from twin.catalog import load_scenario
from twin.results.readers import read_table
from twin.run.world import prepare_run

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "frequency_event.yaml"


def normal_operation_stats(table: Any, latency_s: float, step_s: float) -> dict[str, float]:
    """Tracking numbers of the fleet power in normal operation (1 min .. the under-frequency
    event), from the recorded table only."""
    f = table["signal.frequency_hz"].to_numpy()
    p = table["fleet.p_kw"].to_numpy()
    target = table["ems.target_kw"].to_numpy()
    below = np.flatnonzero(f < 49.8)
    end = int(below[0]) if below.size else len(f)
    start = min(int(60 / step_s), end)
    shift = int(round(latency_s / step_s))
    head = slice(start, end)
    err = p[head] - target[head]
    late = p[start + shift : end] - target[start : end - shift] if end - start > shift else err
    dead_time = target[start + shift : end] - target[start : end - shift]
    dp, dt = np.diff(p[head]), np.diff(target[head])
    return {
        "p_min_kw": float(p[head].min()),
        "p_max_kw": float(p[head].max()),
        "target_min_kw": float(target[head].min()),
        "target_max_kw": float(target[head].max()),
        "dev_rms_kw": float(np.sqrt(np.mean(err**2))),
        "dev_max_kw": float(np.abs(err).max()),
        "dev_late_rms_kw": float(np.sqrt(np.mean(late**2))),
        "dead_time_rms_kw": float(np.sqrt(np.mean(dead_time**2))) if shift else 0.0,
        "hunting": float(np.std(dp) / max(np.std(dt), 1e-12)),
    }


def run_at(latency_s: float, duration: str, out: Path) -> dict[str, float]:
    overrides = {"fleets.fleet.charger.latency_s": latency_s, "duration": duration}
    scenario = load_scenario(SCENARIO, overrides)
    outcome = prepare_run(scenario, out).run(progress=False)
    kpis = outcome.summary["kpis"]
    stats = normal_operation_stats(read_table(out), latency_s, float(scenario.step))
    return {
        "droop_pct": kpis.get("effective_droop_percent", float("nan")),
        "droop_r2": kpis.get("droop_r2", float("nan")),
        "t90_s": kpis.get("ufr_time_to_90_s", float("nan")),
        "hold_s": kpis.get("ufr_held_s", float("nan")),
        "ufr_passed": float(bool(kpis.get("ufr_passed"))),
        **stats,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 1.0, 3.0, 5.0, 10.0])
    parser.add_argument("--duration", default="1h")
    args = parser.parse_args(argv)
    table = Table(title=f"frequency_event, charger latency sweep ({args.duration})")
    cols = [
        ("latency s", None),
        ("droop %", "droop_pct"),
        ("r2", "droop_r2"),
        ("t90 s", "t90_s"),
        ("hold s", "hold_s"),
        ("fleet kW min..max", None),
        ("target kW min..max", None),
        ("dev rms kW", "dev_rms_kw"),
        ("dev max kW", "dev_max_kw"),
        ("dev vs target(t-L) rms", "dev_late_rms_kw"),
        ("pure dead time rms", "dead_time_rms_kw"),
        ("hunting", "hunting"),
    ]
    for name, _ in cols:
        table.add_column(name, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for latency in args.latency:
            r = run_at(latency, args.duration, Path(tmp) / f"lat_{latency:g}")
            row = []
            for name, key in cols:
                if name == "latency s":
                    row.append(f"{latency:g}")
                elif name.startswith("fleet kW"):
                    row.append(f"{r['p_min_kw']:.1f}..{r['p_max_kw']:.1f}")
                elif name.startswith("target kW"):
                    row.append(f"{r['target_min_kw']:.1f}..{r['target_max_kw']:.1f}")
                else:
                    assert key is not None
                    row.append(f"{r[key]:.3g}")
            table.add_row(*row)
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
