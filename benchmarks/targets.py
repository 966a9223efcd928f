"""The performance targets of issue 6 as runnable variants (scenario + overrides + limits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass(frozen=True)
class Target:
    """One benchmark target.

    Attributes:
        name: short key used on the command line.
        title: what it measures, for the table.
        scenario: scenario file.
        overrides: dotted-path overrides applied to it (as `twin run --set`).
        naive_span_s: simulated seconds the naive reference runs; the rest is extrapolated.
        wall_max_s, memory_max_mb, speedup_min, p99_step_max_ms: the limits (None = not a target).
        quick_overrides, quick_naive_span_s: smaller variant for `--quick`.
    """

    name: str
    title: str
    scenario: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    naive_span_s: int = 86400
    wall_max_s: float | None = None
    memory_max_mb: float | None = None
    speedup_min: float | None = None
    p99_step_max_ms: float | None = None
    quick_overrides: dict[str, Any] = field(default_factory=dict)
    quick_naive_span_s: int | None = None


def _default_fleet_of(n: int) -> dict[str, int]:
    # default.yaml mixes 120 commuters / 40 vans / 140 households (300 EVs); keep the mix.
    commuters, business = round(n * 0.4), round(n * 40 / 300)
    return {
        "fleets.commuters.count": commuters,
        "fleets.business.count": business,
        "fleets.households.count": n - commuters - business,
    }


_GRID_BLIND_SERVICES = [
    {"type": "smart_charging", "order": 0},
    {
        "type": "flexibility_windows",
        "order": 10,
        "push_up": {"start": "10:00", "end": "14:00"},
        "push_down": {"start": "16:00", "end": "20:00"},
        "push_up_soc_max": 1.0,
    },
]
"""default.yaml's and city_2030.yaml's services without grid protection."""

_DAY1S: dict[str, Any] = {
    "step": "1s",
    "outputs.grid_detail": False,
    "outputs.chunk_steps": 20000,
    **_default_fleet_of(1000),
}
"""The 1-s day's overrides (grid-aware, and under its grid-blind twin)."""

TARGETS: dict[str, Target] = {
    "city": Target(
        name="city",
        title="city_2030: 12,000 EVs, 1 year at 15 min, grid-aware (protection + baseline power flow)",
        scenario=SCENARIOS / "city_2030.yaml",
        naive_span_s=86400,
        wall_max_s=20.0,  # issue 12: grid-aware, with the baseline power flow
        memory_max_mb=1536.0,
        speedup_min=30.0,
        quick_overrides={"duration": "30d"},
        quick_naive_span_s=6 * 3600,
    ),
    "day1s": Target(
        name="day1s",
        title="1,000 EVs, 1 day at 1 s, grid-aware",
        scenario=SCENARIOS / "default.yaml",
        overrides=_DAY1S,
        naive_span_s=900,
        wall_max_s=20.0,  # issue 12: grid-aware
        quick_overrides={"duration": "2h", "start": "2025-06-04T07:00:00"},
        quick_naive_span_s=300,
    ),
    "realtime": Target(
        name="realtime",
        title="real time: 200 chargers at 1 s (07:00-09:00)",
        scenario=SCENARIOS / "default.yaml",
        # One model step per mosaik step, as a real-time (HIL) run steps: every step is timed alone.
        overrides={
            "step": "1s",
            "duration": "2h",
            "start": "2025-06-04T07:00:00",
            "block_steps": 1,
            **_default_fleet_of(200),
        },
        naive_span_s=600,
        p99_step_max_ms=50.0,
        quick_overrides={"duration": "30min"},
        quick_naive_span_s=300,
    ),
    # The grid-aware targets' grid-blind twins (issue 12): the same runs without grid protection,
    # the behind-the-meter policy or the baseline's own power flow, so one `benchmarks.run`
    # shows what grid awareness costs side by side.
    "city_blind": Target(
        name="city_blind",
        title="city_2030 grid-blind (no grid protection, no baseline power flow)",
        scenario=SCENARIOS / "city_2030.yaml",
        overrides={
            "ems.services": _GRID_BLIND_SERVICES,
            "outputs.baseline_grid": False,
            "fleets.households_v2h.discharge": "export",
        },
        naive_span_s=0,
        quick_overrides={"duration": "30d"},
    ),
    "day1s_blind": Target(
        name="day1s_blind",
        title="1,000 EVs, 1 day at 1 s, grid-blind",
        scenario=SCENARIOS / "default.yaml",
        overrides={
            **_DAY1S,
            "ems.services": _GRID_BLIND_SERVICES,
            "outputs.baseline_grid": False,
            "fleets.households.discharge": "export",
        },
        naive_span_s=0,
        quick_overrides={"duration": "2h", "start": "2025-06-04T07:00:00"},
    ),
}
