"""Shared pieces of the telemetry tests: a stand-in for a PreparedRun, recorder rows, and the
socket helpers that beat the slow-joiner race (real pyzmq sockets on 127.0.0.1)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from twin.catalog import load_scenario
from twin.config import DEFAULT_SCENARIO
from twin.telemetry import TelemetryPublisher, TelemetrySubscriber

FLEETS = ("commuters", "business", "households")  # the default scenario's fleets, 300 EVs
STEP_S = 900


def fake_fleets(
    soc: dict[str, np.ndarray] | None = None, plugged: dict[str, np.ndarray] | None = None
) -> dict[str, SimpleNamespace]:
    """What telemetry reads of a live fleet: its SOC and plugged state."""
    soc = soc or {n: np.array([0.05, 0.55, 1.0]) for n in FLEETS}
    plugged = plugged or {n: np.array([True, False, True]) for n in FLEETS}
    return {
        n: SimpleNamespace(state=SimpleNamespace(soc=soc[n]), plugged=plugged[n]) for n in FLEETS
    }


def fake_prepared(
    out_dir: Path,
    soc: dict[str, np.ndarray] | None = None,
    plugged: dict[str, np.ndarray] | None = None,
    scenario=None,
) -> SimpleNamespace:
    """What the publisher reads of a PreparedRun, without building a grid: scenario, fleets,
    powerflow ids, out_dir - nothing else (no observers, no hardware link to probe)."""
    return SimpleNamespace(
        scenario=scenario or load_scenario(DEFAULT_SCENARIO),
        out_dir=out_dir,
        fleets=fake_fleets(soc, plugged),
        powerflow=SimpleNamespace(bus_ids=[0, 2, 4], line_ids=[10, 11], trafo_ids=[7]),
    )


def make_row(
    time_s: int, p_kw: tuple[float, float, float], pb_kw: tuple[float, float, float], **extra: float
) -> dict:
    """A recorder row as the run writes it (names spelt out: the test checks the contract)."""
    row: dict = {"time_s": time_s}
    for name, p, pb in zip(FLEETS, p_kw, pb_kw, strict=True):
        row |= {
            f"{name}.p_kw": p,
            f"{name}_baseline.p_kw": pb,
            f"{name}.plugged_count": 2,
            f"{name}.soc_mean": 0.5,
            f"{name}.soc_min": 0.05,
        }
    row |= {
        "ems.target_kw": sum(p_kw),
        "ems.contribution.smart_charging_kw": 1.5,
        "ems.contribution.flexibility_windows_kw": -0.5,
        "signal.price_per_kwh": 0.32,
        "grid.vm_min_pu": 0.97,
        "grid.vm_max_pu": 1.02,
        "grid.line_loading_max_pct": 40.0,
        "grid.trafo_loading_max_pct": 55.0,
    }
    row |= extra
    return row


def detail(scale: float = 1.0) -> dict[str, np.ndarray]:
    return {
        "vm_pu": np.array([1.0, 0.99, 0.98]) * scale,
        "line_loading_pct": np.array([12.0, 34.0]),
        "trafo_loading_pct": np.array([55.0]),
    }


def receive_until(sub: TelemetrySubscriber, wanted, timeout_s: float = 3.0):
    """Newest snapshots until one satisfies `wanted` (earlier ones may still be in flight)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        snap = sub.receive(timeout_s=0.05)
        if snap is not None and wanted(snap):
            return snap
    raise AssertionError(f"no wanted snapshot within {timeout_s} s")


def is_end(snap) -> bool:
    return snap.kind == "end"


def connect_pair(pub: TelemetryPublisher, sub: TelemetrySubscriber, timeout_s: float = 5.0) -> int:
    """Beat the slow-joiner race: publish zero-power probe steps 0, 1, ... until the subscriber
    sees one (bounded in time); returns how many steps were sent."""
    deadline = time.monotonic() + timeout_s
    sent = 0
    while time.monotonic() < deadline:
        pub(make_row(sent * STEP_S, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)), detail())
        sent += 1
        if sub.receive(timeout_s=0.05) is not None:
            return sent
    raise AssertionError("subscriber never received the probe")
