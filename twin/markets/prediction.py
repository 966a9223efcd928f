"""Usage prediction from charging-session history: plugged count and energy need by time of day.

History format (CSV or DataFrame): one row per session, columns `ev_id, arrival, departure,
energy_kwh` (timestamps UTC). Prediction is honest empirical quantiles: for each hour of the day,
the P10/P50/P90 of the plugged count over the training days, and each EV's plug-in probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SESSION_COLUMNS = ("ev_id", "arrival", "departure", "energy_kwh")


def plugged_matrix(sessions: pd.DataFrame, hours: pd.DatetimeIndex) -> pd.DataFrame:
    """hour x ev_id: True where a session covers the hour's start (arrival <= t < departure)."""
    evs = sorted(sessions["ev_id"].unique())
    out = pd.DataFrame(False, index=hours, columns=evs)
    t = hours.to_numpy()
    for row in sessions.itertuples(index=False):
        arr, dep = np.datetime64(row.arrival), np.datetime64(row.departure)
        out.loc[(t >= arr) & (t < dep), row.ev_id] = True
    return out


def hourly_quantiles(plugged: pd.DataFrame) -> pd.DataFrame:
    """Per hour of day: P10/P50/P90 of the plugged count across days, and the mean."""
    count = plugged.sum(axis=1)
    by_hour = count.groupby(count.index.hour)
    return pd.DataFrame(
        {
            "p10": by_hour.quantile(0.1),
            "p50": by_hour.quantile(0.5),
            "p90": by_hour.quantile(0.9),
        }
    )


def plug_probability(plugged: pd.DataFrame) -> pd.DataFrame:
    """hour of day x ev_id: fraction of training days the EV was plugged at that hour."""
    return plugged.groupby(plugged.index.hour).mean()


def plan_accuracy(registered: pd.DataFrame, actual: pd.DataFrame) -> float:
    """Mean over hours of (registered vehicles actually parked / vehicles registered) x 100;
    hours with nobody registered are left out."""
    reg = registered.to_numpy(bool)
    hit = (reg & actual.to_numpy(bool)).sum(axis=1)
    n = reg.sum(axis=1)
    ok = n > 0
    return float(np.mean(hit[ok] / n[ok]) * 100.0) if ok.any() else float("nan")
