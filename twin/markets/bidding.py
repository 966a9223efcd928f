"""Bid sizing at gate closure: registered EVs at a confidence, net of bookings and services."""

from __future__ import annotations

import pandas as pd


def registered_evs(
    probability: pd.DataFrame, hours: pd.DatetimeIndex, confidence: float
) -> pd.DataFrame:
    """hour x ev: registered in the plan where the EV's plug-in probability >= confidence
    (P90 = conservative registers fewer cars than P50)."""
    prob = probability.reindex(hours.hour).to_numpy()
    return pd.DataFrame(prob >= confidence, index=hours, columns=probability.columns)


def bid_kw(
    registered: pd.DataFrame,
    power_kw: float,
    booked_kw: float = 0.0,
    higher_priority_kw: float = 0.0,
) -> pd.Series:
    """Per hour: registered cars x charger power, less bookings (hard) and higher-priority
    services' capacity, never below zero."""
    return (registered.sum(axis=1) * power_kw - booked_kw - higher_priority_kw).clip(lower=0.0)
