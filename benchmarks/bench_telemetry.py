"""Telemetry overhead: the default scenario's run time without telemetry, with a publisher and no
subscriber, and with a subscriber (a separate process decoding every message it gets).

Only `PreparedRun.run()` is timed (building the grid is the same in every case). Each case is
run `--repeat` times; the median is shown with its ratio to the run without telemetry, side by
side, for the default 15-min steps and for the same day at 1-min steps. "every step" turns the
publisher's throttle off (min_interval_s=0) to show the worst case. Not a test: numbers depend on
the machine.

    python benchmarks/bench_telemetry.py [--repeat 3] [--steps 15min 1min]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import socket
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twin.catalog import load_scenario  # noqa: E402
from twin.config import DEFAULT_SCENARIO  # noqa: E402
from twin.run.world import prepare_run  # noqa: E402
from twin.telemetry import TelemetryPublisher, TelemetrySubscriber  # noqa: E402

CASES = (
    ("no telemetry", None, None),
    ("publisher, no subscriber", 0.1, False),
    ("publisher + subscriber", 0.1, True),
    ("every step + subscriber", 0.0, True),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _subscribe(address: str, ready, stop, counts) -> None:
    sub = TelemetrySubscriber(address)
    ready.set()
    received = 0
    while not stop.is_set():
        snap = sub.receive(timeout_s=0.05)
        if snap is not None:
            received += 1
            if snap.kind == "end":
                break
    counts.put(received)
    sub.close()


def run_case(step: str, min_interval_s: float | None, subscriber: bool, out: Path) -> dict:
    scenario = load_scenario(DEFAULT_SCENARIO, {"step": step})
    prepared = prepare_run(scenario, out)
    publisher = proc = None
    ctx = mp.get_context("spawn")
    stop, counts = ctx.Event(), ctx.Queue()
    if min_interval_s is not None:
        address = f"tcp://127.0.0.1:{_free_port()}"
        publisher = TelemetryPublisher(address, prepared, min_interval_s=min_interval_s)
        prepared.observers.append(publisher)
        if subscriber:
            ready = ctx.Event()
            proc = ctx.Process(target=_subscribe, args=(address, ready, stop, counts), daemon=True)
            proc.start()
            ready.wait(30)
            time.sleep(0.5)  # TCP connection and subscription up before the first step
    t0 = time.perf_counter()
    prepared.run(progress=False)
    wall_s = time.perf_counter() - t0
    result = {
        "wall_s": wall_s,
        "steps": scenario.n_steps,
        "sent": None,
        "received": None,
        "call_us": None,
    }
    if publisher is not None:
        publisher.close()
        result |= {"sent": publisher.stats.sent, "call_us": publisher.stats.mean_call_us}
    if proc is not None:
        proc.join(5)
        stop.set()
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
        result["received"] = counts.get(timeout=5) if not counts.empty() else 0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", nargs="+", default=["15min", "1min"])
    args = parser.parse_args()
    rows = []
    with TemporaryDirectory() as tmp:
        for step in args.steps:
            # cases interleaved per repetition, so a slow spell of the machine hits all of them
            runs: dict[str, list[dict]] = {name: [] for name, _, _ in CASES}
            for k in range(args.repeat):
                for name, interval, subscriber in CASES:
                    out = Path(tmp) / f"{step}-{k}-{len(runs[name])}-{name[:3]}"
                    runs[name].append(run_case(step, interval, bool(subscriber), out))
            base_s = statistics.median(r["wall_s"] for r in runs[CASES[0][0]])
            for name, _, _ in CASES:
                median = statistics.median(r["wall_s"] for r in runs[name])
                last = runs[name][-1]
                share = (
                    None
                    if last["call_us"] is None
                    else 100 * last["call_us"] * 1e-6 * last["steps"] / last["wall_s"]
                )
                rows.append(
                    (
                        step,
                        name,
                        last["steps"],
                        median,
                        1000 * median / last["steps"],
                        median / base_s,
                        last["call_us"],
                        share,
                        last["sent"],
                        last["received"],
                    )
                )
    header = (
        "step",
        "case",
        "steps",
        "run s",
        "ms/step",
        "x no-telemetry",
        "us/call",
        "in obs %",
        "sent",
        "received",
    )
    widths = (6, 26, 6, 8, 8, 14, 8, 8, 6, 9)
    print(
        "  ".join(
            h.rjust(w) if i > 1 else h.ljust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for r in rows:
        cells = (
            r[0],
            r[1],
            str(r[2]),
            f"{r[3]:.3f}",
            f"{r[4]:.2f}",
            f"{r[5]:.3f}",
            "-" if r[6] is None else f"{r[6]:.0f}",
            "-" if r[7] is None else f"{r[7]:.1f}",
            "-" if r[8] is None else str(r[8]),
            "-" if r[9] is None else str(r[9]),
        )
        print(
            "  ".join(
                c.rjust(w) if i > 1 else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )


if __name__ == "__main__":
    main()
