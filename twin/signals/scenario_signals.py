"""The signal series a scenario asks for, one value per step, as served to the EMS."""

from __future__ import annotations

import numpy as np

from twin.durations import parse_clock_s
from twin.scenario import Scenario
from twin.signals.tariff import tou_price_series


def price_signals(scenario: Scenario) -> dict[str, np.ndarray]:
    """Price per step and its quantile within the local day (share of the day's steps priced <= it)."""
    periods = [(parse_clock_s(p.start), p.price_per_kwh) for p in scenario.signals.prices.periods]
    day_steps = max(1, 86400 // scenario.step)
    start_midnight = scenario.start_local.replace(hour=0, minute=0, second=0, microsecond=0)
    day = tou_price_series(periods, start_midnight, scenario.step, day_steps)
    price = tou_price_series(periods, scenario.start_local, scenario.step, scenario.n_steps)
    quantile = np.searchsorted(np.sort(day), price, side="right") / len(day)
    return {"price_per_kwh": price, "price_quantile": quantile}


def build_signal_series(scenario: Scenario) -> dict[str, np.ndarray]:
    """Every signal of the scenario, by name (the EMS sees them in ctx.signals)."""
    return price_signals(scenario)
