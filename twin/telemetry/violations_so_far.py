"""The run's grid violation tally so far, for the `violations` block of a message.

The grid simulator counts violations (twin.metrics.grid_violations.GridViolations: controlled and
baseline grid, steps over a limit per kind, element-hours, worst element) a whole block of model
steps at a time, before the recorder hands the block's rows to the observers one by one. Read
as it is while those rows are sent, the tally would already count steps the message has not
reached (a virtual run's block is 96 steps, a day of 15-min steps). So the block is taken only
when the tally covers exactly the steps up to the accounted one (the last row of each block),
and a message in the middle of a block carries the tally of the block before: never ahead of
its own time, and equal to summary.json's `violations` at the end of the run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


class ViolationsSoFar:
    """summary.json's `violations` block (limits, controlled, baseline) as of the newest accounted
    step the run's tally covers exactly.

    Args:
        tally: The run's twin.metrics.grid_violations.GridViolations (read, never written).
        element_ids, element_names: Per kind ("trafo", "line", "voltage" = buses), the net's ids
            and names in element order (twin.run.build.GridViews).
        start_local: The scenario's start (worst elements' times are counted from it).
        step_s: Model step length, s.
    """

    def __init__(
        self,
        tally: Any,
        element_ids: dict[str, Any],
        element_names: dict[str, list[str]],
        start_local: dt.datetime,
        step_s: int,
    ):
        self.tally = tally
        self.element_ids = element_ids
        self.element_names = element_names
        self.start_local = start_local
        self.step_s = step_s
        self.block: dict[str, Any] | None = None
        """The newest aligned block; None until the first block of steps is counted."""

    @classmethod
    def of_run(cls, prepared: Any) -> ViolationsSoFar | None:
        """The tally of a twin.run.world.PreparedRun; None when it has no grid views (no grid
        limits checked) or is a stand-in without them."""
        views = getattr(prepared, "grid_views", None)
        if views is None or getattr(views, "violations", None) is None:
            return None
        scenario = prepared.scenario
        return cls(
            views.violations,
            views.element_ids,
            views.element_names,
            scenario.start_local,
            int(scenario.step),
        )

    def step_time(self, k: int) -> str:
        """Model step k's start, local ISO time (as summary.json says it)."""
        return (self.start_local + dt.timedelta(seconds=k * self.step_s)).isoformat()

    def account(self, time_s: int) -> None:
        """Take the tally if it covers exactly the steps up to the one starting at `time_s`."""
        if self.tally.controlled.steps == time_s // self.step_s + 1:
            self.block = self.tally.summary(self.element_ids, self.element_names, self.step_time)

    def values(self) -> dict[str, Any] | None:
        """The `violations` block (JSON-safe: the tally's summary holds no NaN), or None."""
        return self.block
