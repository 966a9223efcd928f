"""The progress bar of `twin run`: model steps recorded out of the steps planned.

mosaik's own bar (`world.run(print_progress=True)`) counts simulated seconds and labels them
steps ("86400/86400 ... steps/s" for a 96-step day); this one is a step observer, so it counts
what the results hold, and shows the simulated time reached.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any
from zoneinfo import ZoneInfo

from twin.results import columns as col


class StepProgress:
    """A tqdm bar over the run's model steps (observer protocol: called once per step)."""

    def __init__(
        self, total_steps: int, step_s: int, file: Any = None, timezone: str | None = None
    ) -> None:
        from tqdm import tqdm

        self.step_s = step_s
        self.zone = ZoneInfo(timezone) if timezone else None
        self.bar = tqdm(
            total=total_steps,
            unit=" steps",
            unit_scale=False,
            dynamic_ncols=True,
            mininterval=0.5,
            file=file if file is not None else sys.stderr,
            desc="run",
        )

    def on_block(self, n: int, last_utc: dt.datetime) -> None:
        """`n` more steps recorded, the last starting at `last_utc` (RecorderSim calls this
        instead of building a row per step for this observer)."""
        self.bar.update(n)
        t = last_utc.astimezone(self.zone) if self.zone is not None else last_utc
        self.bar.set_postfix_str(f"sim time {t:%Y-%m-%d %H:%M}", refresh=False)

    def __call__(self, row: dict[str, Any], detail: dict[str, Any]) -> None:
        """The observer protocol, for callers that hand rows one by one."""
        t = row.get(col.TIME)
        if t is None:
            self.bar.update(1)
        else:
            self.on_block(1, t)

    def close(self) -> None:
        self.bar.close()
