"""A results table into the chart series: pure pandas/numpy, one `History` per run.

The charts never parse column names: this module (for results) and `live` (for telemetry)
sort the open-ended sets - services, transformers, fleets - into their own frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twin.results import columns as col

P_KW = "p_kw"
BASELINE_P_KW = "baseline_p_kw"
TARGET_KW = "target_kw"
FREQUENCY_HZ = "frequency_hz"
RESPONSE_KW = "response_kw"
TRAFO_LOADING_MAX_PCT = "trafo_loading_max_pct"
GRID_SERIES = ("vm_min_pu", "vm_max_pu", "line_loading_max_pct", TRAFO_LOADING_MAX_PCT)
"""Grid quantities (as in col.GRID_QUANTITIES) the charts draw over time."""
MAX_TRAFO_SERIES = 8
"""More transformers than this: only the maximum loading is drawn (one line each is unreadable)."""


def baseline_series(quantity: str) -> str:
    """The History series of a grid quantity on the baseline (uncontrolled) grid."""
    return f"baseline_{quantity}"


def _empty(index: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame(index=index)


@dataclass(frozen=True)
class History:
    """The series the charts draw, all on one local-time index.

    `main` has P_KW and BASELINE_P_KW (fleet totals), and TARGET_KW, FREQUENCY_HZ, RESPONSE_KW
    and the GRID_SERIES when the run has them; the other frames have one column per service
    (kW), per transformer id (%) or per fleet (SOC in %).
    """

    main: pd.DataFrame
    contributions: pd.DataFrame = field(default_factory=pd.DataFrame)
    trafo_loading: pd.DataFrame = field(default_factory=pd.DataFrame)
    soc_mean_pct: pd.DataFrame = field(default_factory=pd.DataFrame)
    soc_min_pct: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.main.index

    def has(self, series: str) -> bool:
        return series in self.main.columns

    def at(self, series: str, i: int) -> float | None:
        """The value of a `main` series at row i, None if the run has no such series."""
        return float(self.main[series].iloc[i]) if self.has(series) else None


def local_times(times: Iterable[pd.Timestamp] | pd.Series, timezone: str) -> pd.DatetimeIndex:
    """UTC step starts (aware, or naive meaning UTC) as local time of the scenario."""
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(times), utc=True)).tz_convert(timezone)


def _floats(table: pd.DataFrame, column: str) -> np.ndarray:
    return table[column].to_numpy(dtype=float)


def _fleet_sum(table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    total = np.zeros(len(table))
    for c in columns:
        total = total + _floats(table, c)
    return total


def history_from_table(
    table: pd.DataFrame, timezone: str, trafo_loading: pd.DataFrame | None = None
) -> History:
    """The chart series of a results `timeseries` table (and its per-transformer table, if any).

    The response to frequency is fleet power minus baseline: what the control changed.
    """
    index = local_times(table[col.TIME], timezone)
    names = col.fleet_names(table.columns)
    main = _empty(index)
    main[P_KW] = _fleet_sum(table, [col.fleet_p_kw(n) for n in names])
    main[BASELINE_P_KW] = _fleet_sum(table, [col.baseline_p_kw(n) for n in names])
    if col.EMS_TARGET_KW in table:
        main[TARGET_KW] = _floats(table, col.EMS_TARGET_KW)
    if col.SIGNAL_FREQUENCY_HZ in table:
        main[FREQUENCY_HZ] = _floats(table, col.SIGNAL_FREQUENCY_HZ)
        main[RESPONSE_KW] = main[P_KW] - main[BASELINE_P_KW]
    grid = col.grid_columns(table.columns)
    for quantity in GRID_SERIES:
        if quantity in grid:
            main[quantity] = _floats(table, grid[quantity])
    # the same grid with the fleet charging uncontrolled (runs with a grid-aware EMS record it)
    baseline_grid = col.grid_baseline_columns(table.columns)
    for quantity in GRID_SERIES:
        if quantity in baseline_grid:
            main[baseline_series(quantity)] = _floats(table, baseline_grid[quantity])

    contributions = _empty(index)
    for service, c in col.contributions(table.columns).items():
        contributions[service] = _floats(table, c)

    trafo = _empty(index)
    if trafo_loading is not None and len(trafo_loading) == len(table):
        ids = [c for c in trafo_loading.columns if c != col.TIME]
        if len(ids) <= MAX_TRAFO_SERIES:
            for t in ids:
                trafo[str(t)] = _floats(trafo_loading, t)

    soc_mean, soc_min = _empty(index), _empty(index)
    for n in names:
        if col.fleet_soc_mean(n) in table:
            soc_mean[n] = 100.0 * _floats(table, col.fleet_soc_mean(n))
        if col.fleet_soc_min(n) in table:
            soc_min[n] = 100.0 * _floats(table, col.fleet_soc_min(n))
    return History(
        main=main,
        contributions=contributions,
        trafo_loading=trafo,
        soc_mean_pct=soc_mean,
        soc_min_pct=soc_min,
    )
