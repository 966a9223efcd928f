"""Where a plugged EV is: the place codes the per-place EMS rules read (Oki islands study, Table 4).

Fleets whose sessions carry a place (fleet type `island`) report it per EV in
`FleetView.place`; the EMS concatenates the fleets' places into `EmsContext.place`, with
UNKNOWN for the EVs of fleets without one (services then use their per-fleet setting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

UNKNOWN, HOME, WORKPLACE, OTHER = -1, 0, 1, 2
PLACE_CODES = {"home": HOME, "workplace": WORKPLACE, "other": OTHER}


def concat_places(views: Mapping[str, Any], names: Sequence[str]) -> np.ndarray | None:
    """Per-EV place of every fleet in `names` order, or None when no fleet reports one."""
    places = [getattr(views[n], "place", None) for n in names]
    if all(p is None for p in places):
        return None
    return np.concatenate(
        [
            p if p is not None else np.full(len(views[n].soc), UNKNOWN, dtype=np.int8)
            for n, p in zip(names, places, strict=True)
        ]
    )
