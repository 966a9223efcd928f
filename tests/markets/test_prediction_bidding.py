import numpy as np
import pandas as pd

from twin.markets.bidding import bid_kw, registered_evs
from twin.markets.prediction import (
    hourly_quantiles,
    plan_accuracy,
    plug_probability,
    plugged_matrix,
)


def _history(days: int) -> pd.DataFrame:
    # EV "a" plugged 00:00-08:00 every day; EV "b" only on even days.
    rows = []
    for d in range(days):
        day = pd.Timestamp("2026-01-01") + pd.Timedelta(days=d)
        rows.append(("a", day, day + pd.Timedelta(hours=8), 10.0))
        if d % 2 == 0:
            rows.append(("b", day, day + pd.Timedelta(hours=8), 5.0))
    return pd.DataFrame(rows, columns=["ev_id", "arrival", "departure", "energy_kwh"])


def test_quantiles_probability_and_bids():
    hours = pd.date_range("2026-01-01", periods=24 * 10, freq="h")
    plugged = plugged_matrix(_history(10), hours)
    q = hourly_quantiles(plugged)
    # hour 3: counts are 2 on 5 days and 1 on 5 days -> median 1.5, P10 1, P90 2
    assert (q.loc[3, "p10"], q.loc[3, "p50"], q.loc[3, "p90"]) == (1.0, 1.5, 2.0)
    assert q.loc[12, "p90"] == 0.0
    prob = plug_probability(plugged)
    assert prob.loc[3, "a"] == 1.0 and prob.loc[3, "b"] == 0.5
    day = pd.date_range("2026-01-11", periods=24, freq="h")
    p90 = bid_kw(registered_evs(prob, day, 0.9), 11.0)
    p50 = bid_kw(registered_evs(prob, day, 0.5), 11.0)
    assert (p90 <= p50).all() and p90.iloc[3] == 11.0 and p50.iloc[3] == 22.0
    assert bid_kw(registered_evs(prob, day, 0.5), 11.0, booked_kw=30.0).iloc[3] == 0.0


def test_plan_accuracy_by_hand():
    reg = pd.DataFrame([[True, True], [True, False], [False, False]])
    act = pd.DataFrame([[True, False], [True, True], [True, True]])
    # hour 0: 1/2, hour 1: 1/1, hour 2: none registered -> mean 75 %
    assert np.isclose(plan_accuracy(reg, act), 75.0)
