"""Settle a finished run per interval, product and party from its result columns alone.

Products settled (when the scenario prices them and the run has their columns):
- `reserve` (tertiary, down-DR): commanded = the reserve command, delivered = declared baseline
  - fleet power, over the block's active steps; paid energy (capped at (1 + band) x commanded) and
  availability (kW commanded x hours active); penalty per kWh short of (1 - band) x commanded.
- `regulation` (secondary (1)): capacity kW x hours, paid x the hour's PJM score; an hour below
  the pass score earns nothing and pays the penalty on its capacity.
- `fems` (30-min kWh schedule): requested vs delivered kWh; paid up to the request, penalty on
  the shortfall.
- `capacity`: in the peak window, availability = fleet power - its lowest feasible power
  (what it could shed), paid up to the commitment, penalty on the kW short of it.
- `customer_bill` per fleet: the energy bill with the service and without it (the fleet's
  uncontrolled baseline shadow: same trips and seed), at the price signal or a flat tariff.
The aggregator is the party of the products; each fleet is the party of its own bill. Results
hold fleet totals, not EVs, so the finest party here is the fleet.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.config.market import MarketSpec
from twin.metrics.errors import MetricInputError
from twin.metrics.flexibility import window_mask
from twin.metrics.pjm import pjm_performance_score
from twin.results import columns as col
from twin.results.service_kpis import regulation_signal_and_response

AGGREGATOR = "aggregator"


def _interval_starts(table: pd.DataFrame, interval_s: int) -> tuple[np.ndarray, list[str]]:
    time_s = table[col.TIME_S].to_numpy(dtype=float)
    index = np.floor(time_s / interval_s).astype(np.int64)
    first = pd.to_datetime(table[col.TIME], utc=True)
    starts: list[str] = []
    for k in np.unique(index):
        i = int(np.argmax(index == k))
        start = first.iloc[i] - pd.Timedelta(seconds=float(time_s[i] - k * interval_s))
        starts.append(start.isoformat())
    return index, starts


def _fleet_power_kw(table: pd.DataFrame) -> np.ndarray:
    fleets = col.fleet_names(table.columns)
    return np.sum([table[col.fleet_p_kw(f)].to_numpy(dtype=float) for f in fleets], axis=0)


def _local_second_of_day(table: pd.DataFrame) -> np.ndarray:
    """Second of the local day of each row (`time_local` is the study's wall clock)."""
    local = pd.to_datetime(table[col.TIME_LOCAL])
    return (local.dt.hour * 3600 + local.dt.minute * 60 + local.dt.second).to_numpy()


def _booking_conflict(
    plugged: np.ndarray,
    active: np.ndarray,
    dt_h: float,
    ev_kw: float,
    shortfall_kwh: float,
    penalty_per_kwh: float,
) -> dict[str, float]:
    """Bookings come first (the car leaves whatever was bid): the net fall of plugged EVs over
    the active steps (departures less arrivals; the results hold counts, not EV ids), the
    reserve energy their power could have given for the rest of the active time, and the
    penalty on the part of the shortfall that energy would have covered."""
    idx = np.flatnonzero(active)
    if idx.size < 2:
        return {"booking_departures": 0.0, "booking_lost_kwh": 0.0, "booking_conflict_cost": 0.0}
    drops = np.maximum(plugged[idx[:-1]] - plugged[idx[1:]], 0.0)
    remaining_h = (idx.size - 1 - np.arange(idx.size - 1)) * dt_h
    lost_kwh = float((drops * ev_kw * remaining_h).sum())
    return {
        "booking_departures": float(drops.sum()),
        "booking_lost_kwh": lost_kwh,
        "booking_conflict_cost": penalty_per_kwh * min(shortfall_kwh, lost_kwh),
    }


def settle(table: pd.DataFrame, step_s: int, market: MarketSpec) -> list[dict[str, Any]]:
    """Ledger entries (not yet chained), in interval order, then product order."""
    index, starts = _interval_starts(table, market.interval)
    keys = np.unique(index)
    dt_h = step_s / 3600.0
    p_kw = _fleet_power_kw(table)
    per_interval: dict[int, list[dict[str, Any]]] = {int(k): [] for k in keys}

    def add(k: int, product: str, party: str, **values: Any) -> None:
        per_interval[k].append(
            {
                "interval_start": starts[int(np.searchsorted(keys, k))],
                "product": product,
                "party": party,
                **values,
            }
        )

    if market.reserve is not None and col.RESERVE_COMMAND_KW in table:
        rp = market.reserve
        plugged = np.sum(
            [
                table[col.fleet_plugged_count(f)].to_numpy(dtype=float)
                for f in col.fleet_names(table.columns)
            ],
            axis=0,
        )
        active = table[col.RESERVE_ACTIVE].to_numpy(dtype=float) > 0.5
        cmd = table[col.RESERVE_COMMAND_KW].to_numpy(dtype=float) * active
        base = table[col.RESERVE_BASELINE_KW].to_numpy(dtype=float) * active
        dlv = (table[col.RESERVE_BASELINE_KW].to_numpy(dtype=float) - p_kw) * active
        for k in keys:
            m = index == k
            if not active[m].any():
                continue
            commanded = float(cmd[m].sum() * dt_h)
            delivered = float(dlv[m].sum() * dt_h)
            paid_kwh = min(max(delivered, 0.0), (1 + rp.band) * commanded)
            payment = (
                rp.energy_price_per_kwh * paid_kwh + rp.availability_price_per_kw_h * commanded
            )
            shortfall = max(0.0, (1 - rp.band) * commanded - delivered)
            conflict = {}
            if rp.ev_kw is not None:
                conflict = _booking_conflict(
                    plugged, m & active, dt_h, rp.ev_kw, shortfall, rp.penalty_per_kwh
                )
            add(
                int(k),
                "reserve",
                AGGREGATOR,
                commanded_kwh=commanded,
                baseline_kwh=float(base[m].sum() * dt_h),
                delivered_kwh=delivered,
                performance=delivered / commanded if commanded > 0 else None,
                payment=payment,
                penalty=rp.penalty_per_kwh * shortfall,
                **conflict,
            )

    if market.regulation is not None and col.REG_BASEPOINT_KW in table:
        gp = market.regulation
        signal, response_pu = regulation_signal_and_response(table, p_kw)
        capacity = table[col.REG_CAPACITY_KW].to_numpy(dtype=float)
        response = table[col.REG_SIGN].to_numpy(dtype=float) * (
            p_kw - table[col.REG_BASEPOINT_KW].to_numpy(dtype=float)
        )
        try:
            hourly = pjm_performance_score(signal, response_pu, step_s).hourly_score
        except MetricInputError:  # too short to score: no hour is paid
            hourly = np.array([])
        hour = np.floor(table[col.TIME_S].to_numpy(dtype=float) / 3600.0).astype(np.int64)
        for k in keys:
            m = index == k
            cap_kwh = float(capacity[m].sum() * dt_h)
            if cap_kwh <= 0:
                continue
            h = int(hour[m][0])
            score = float(hourly[h]) if h < len(hourly) and np.isfinite(hourly[h]) else None
            passed = score is not None and score >= gp.pass_score
            add(
                int(k),
                "regulation",
                AGGREGATOR,
                capacity_kwh=cap_kwh,
                commanded_kwh=float((signal[m] * capacity[m]).sum() * dt_h),
                delivered_kwh=float(response[m].sum() * dt_h),
                performance=score,
                payment=gp.capacity_price_per_kw_h * cap_kwh * score if passed and score else 0.0,
                penalty=0.0 if passed else gp.penalty_per_kw_h * cap_kwh,
            )

    if market.fems is not None and col.SIGNAL_FEMS_KWH in table:
        fp = market.fems
        # The request is kWh per 30-min slot, held over the slot: its share per step.
        req = table[col.SIGNAL_FEMS_KWH].to_numpy(dtype=float) * step_s / 1800.0
        for k in keys:
            m = index == k
            requested = float(req[m].sum())
            if requested == 0:
                continue
            delivered = float(p_kw[m].sum() * dt_h)
            # Requests and deliveries share a sign (charge > 0, discharge < 0): compare magnitudes.
            sgn = 1.0 if requested > 0 else -1.0
            within = min(max(sgn * delivered, 0.0), sgn * requested)
            add(
                int(k),
                "fems",
                AGGREGATOR,
                commanded_kwh=requested,
                delivered_kwh=delivered,
                performance=sgn * delivered / (sgn * requested),
                payment=fp.energy_price_per_kwh * within,
                penalty=fp.penalty_per_kwh * max(0.0, sgn * requested - sgn * delivered),
            )

    if market.capacity is not None and col.EMS_FEASIBLE_LO_KW in table:
        cp = market.capacity
        start_s, end_s = cp.window.seconds
        clock = _local_second_of_day(table)
        in_window = window_mask(clock, start_s, end_s)
        available = p_kw - table[col.EMS_FEASIBLE_LO_KW].to_numpy(dtype=float)
        for k in keys:
            m = (index == k) & in_window
            if not m.any():
                continue
            hours = float(m.sum() * dt_h)
            avail = float(available[m].mean())
            short = max(cp.committed_kw - avail, 0.0)
            add(
                int(k),
                "capacity",
                AGGREGATOR,
                commanded_kwh=cp.committed_kw * hours,
                delivered_kwh=min(avail, cp.committed_kw) * hours,
                available_kw=avail,
                performance=min(avail / cp.committed_kw, 1.0),
                payment=cp.availability_price_per_kw_h * min(avail, cp.committed_kw) * hours,
                penalty=cp.penalty_per_kw_h * short * hours,
            )

    ct = market.customer
    if ct.use_price_signal and col.SIGNAL_PRICE_PER_KWH in table:
        price = table[col.SIGNAL_PRICE_PER_KWH].to_numpy(dtype=float)
    else:
        price = np.full(len(table), ct.energy_price_per_kwh)
    for fleet in col.fleet_names(table.columns):
        with_kw = table[col.fleet_p_kw(fleet)].to_numpy(dtype=float)
        without_kw = table[col.baseline_p_kw(fleet)].to_numpy(dtype=float)
        for k in keys:
            m = index == k
            bill = float((with_kw[m] * price[m]).sum() * dt_h)
            bill0 = float((without_kw[m] * price[m]).sum() * dt_h)
            add(
                int(k),
                "customer_bill",
                fleet,
                energy_kwh=float(with_kw[m].sum() * dt_h),
                baseline_energy_kwh=float(without_kw[m].sum() * dt_h),
                bill=bill,
                bill_without_service=bill0,
                payment=0.0,
                penalty=0.0,
            )

    return [e for k in keys for e in per_interval[int(k)]]


def totals(entries: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per product (and per party for bills): sums of the entries' money and energy fields."""
    out: dict[str, dict[str, float]] = {}
    for e in entries:
        key = e["product"] if e["party"] == AGGREGATOR else f"{e['product']}:{e['party']}"
        acc = out.setdefault(key, {})
        for field, value in e.items():
            if field.endswith(
                (
                    "_kwh",
                    "payment",
                    "penalty",
                    "bill",
                    "bill_without_service",
                    "_cost",
                    "_departures",
                )
            ) and isinstance(value, (int, float)):
                acc[field] = acc.get(field, 0.0) + float(value)
    for acc in out.values():
        if "payment" in acc:
            acc["net"] = acc["payment"] - acc.get("penalty", 0.0)
    return out
