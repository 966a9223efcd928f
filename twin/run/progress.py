"""The progress bar of `twin run`: model steps recorded out of the steps planned.

mosaik's own bar (`world.run(print_progress=True)`) counts simulated seconds and labels them
steps ("86400/86400 ... steps/s" for a 96-step day); this one is a step observer, so it counts
what the results hold, and shows the simulated time reached.
"""

from __future__ import annotations

import sys
from typing import Any

from twin.results import columns as col


class StepProgress:
    """A tqdm bar over the run's model steps (observer protocol: called once per step)."""

    def __init__(self, total_steps: int, step_s: int, file: Any = None) -> None:
        from tqdm import tqdm

        self.step_s = step_s
        self.bar = tqdm(
            total=total_steps,
            unit=" steps",
            unit_scale=False,
            dynamic_ncols=True,
            mininterval=0.5,
            file=file if file is not None else sys.stderr,
            desc="run",
        )

    def __call__(self, row: dict[str, Any], detail: dict[str, Any]) -> None:
        self.bar.update(1)
        if self.bar.n == self.bar.total or self.bar.n % 256 == 0:
            t = row.get(col.TIME_LOCAL) or row.get(col.TIME)
            if t is not None:
                self.bar.set_postfix_str(f"sim time {t:%Y-%m-%d %H:%M}", refresh=False)

    def close(self) -> None:
        self.bar.close()
