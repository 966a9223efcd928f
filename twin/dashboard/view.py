"""The data one page draws, from a live snapshot or from a results folder at the slider time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from twin.dashboard.history import History

GridNow = dict[str, pd.Series]
"""Per-element grid values at `now` by quantity (vm_pu, line_loading_pct, trafo_loading_pct),
each indexed by element id as a string."""


@dataclass(frozen=True)
class Timeline:
    """What every time chart shares: its zone, span, shaded windows and the "now" marker."""

    timezone: str
    windows: dict[str, tuple[int, int]]
    """Flexibility windows by name, (start, end) seconds of the local day; start > end wraps."""
    now: pd.Timestamp
    x_range: tuple[pd.Timestamp, pd.Timestamp] | None = None
    """The whole run (live), so windows ahead of the last step show; None: the data's span."""
    mark_now: bool = False
    """Draw a line at `now` (replay: the slider time is not the last point)."""


@dataclass
class View:
    """Everything the page shows for one moment of one run."""

    source: str  # "live" or "replay"
    scenario: str
    timeline: Timeline
    step_s: int
    grid_name: str | None
    grid_params: dict[str, Any]
    history: History
    total: dict[str, float | None]  # p_kw, baseline_p_kw, target_kw, plugged_count now
    fleets: dict[str, dict[str, Any]]  # per fleet now; live adds "soc_hist" (EVs per SOC bin)
    grid_now: GridNow
    grid_scalars: dict[str, Any]  # grid quantity -> value now
    kpis: dict[str, Any]
    kpi_title: str
    contributions: dict[str, float | None]
    frequency: dict[str, float | None] | None
    hil: dict[str, dict[str, Any]] | None  # charger id -> its fields now
    soc_bins: list[float] | None = None  # live only: SOC bin edges (0..1) of fleets' soc_hist
    step_index: int = 0
    step_count: int = 0
    step_lateness_s: float | None = None  # paced runs: how far the last step was behind the clock
    hil_events: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    violations: dict[str, Any] | None = None
    """summary.json's `violations` (controlled vs baseline) of a grid-checked run: replay reads
    the finished run's, live the tally so far (twin.telemetry.violations_so_far; its
    `controlled.steps` says how many steps it covers)."""
    ledger: dict[str, Any] | None = None
    """summary.json's `ledger` (settlement totals, head hash), replay of a run with `market:`."""

    @property
    def now(self) -> pd.Timestamp:
        return self.timeline.now

    @property
    def timezone(self) -> str:
        return self.timeline.timezone
