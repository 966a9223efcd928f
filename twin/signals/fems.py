"""FEMS 30-min kWh requests (Toyota V2G demo, simultaneous control).

The factory EMS sends, every 30 min, a 24-h plan of 48 kWh requests (one per 30-min slot,
+ = the EV fleet charges, - = it discharges). Slots are aligned to the wall clock of the
start's time zone (hh:00 and hh:30); a start off the grid begins inside a slot.

Synthetic plan (PV self-consumption + peak shaving):

* in the PV window (default 10:00-14:00) the fleet is asked to charge
  charge_kw x 0.5 h x sin(pi x (slot mid - window start) / window length);
* in the peak window (default 17:00-20:00) it is asked to discharge discharge_kw x 0.5 h;
* zero elsewhere; each day's amplitudes are scaled by (1 + day_variation x u), u ~ U(-1, 1).

Revisions: the final request of slot j is the day shape plus N(0, revision_std_kwh). The plan
sent at the start of slot i holds, for every slot j in i..i+47, the final value plus an error
N(0, revision_std_kwh^2 x (j - i) / 47): the nearer the slot, the better the plan; a slot's
value in the plan sent at its own start is the final value. With revision_std_kwh = 0
("same plan") every plan repeats the same numbers.

`fems_request_kwh` returns, per simulation step, the request of the slot the step is in (as
the latest plan states it); `fems_plans` returns the plans themselves for an EMS that plans
ahead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twin.config.durations import parse_clock_s
from twin.signals.errors import SignalConfigError
from twin.signals.timebase import check_timebase, local_clock, stream_rng

SLOT_S = 1800.0
SLOTS_PER_PLAN = 48
_SLOT_H = SLOT_S / 3600.0


@dataclass(frozen=True)
class FemsPlan:
    """One plan as sent by the FEMS.

    Attributes:
        issued_slot: Index of the slot at whose start the plan was sent (0 = the slot holding
            the start time).
        slot_index: Indices of the 48 slots it covers.
        kwh: Requested energy per covered slot, kWh (+ charge, - discharge).
    """

    issued_slot: int
    slot_index: np.ndarray
    kwh: np.ndarray


def _window_s(window: Sequence[str], field: str) -> tuple[float, float]:
    if isinstance(window, str) or len(window) != 2:
        raise SignalConfigError(field, f"expected [start, end] as 'HH:MM' strings, got {window!r}")
    try:
        lo, hi = (float(parse_clock_s(w)) for w in window)
    except ValueError as err:
        raise SignalConfigError(field, str(err)) from None
    if hi <= lo:
        raise SignalConfigError(field, f"end {window[1]} must be after start {window[0]}")
    return lo, hi


def _final_slot_kwh(
    slot_mid_sod_s: np.ndarray,
    slot_day: np.ndarray,
    rng: np.random.Generator,
    charge_kw: float,
    discharge_kw: float,
    pv_window_s: tuple[float, float],
    peak_window_s: tuple[float, float],
    day_variation: float,
    revision_std_kwh: float,
) -> np.ndarray:
    days, day_of_slot = np.unique(slot_day, return_inverse=True)
    day_scale = 1.0 + day_variation * rng.uniform(-1.0, 1.0, (days.size, 2))
    pv_lo, pv_hi = pv_window_s
    in_pv = (slot_mid_sod_s >= pv_lo) & (slot_mid_sod_s < pv_hi)
    bell = np.sin(np.pi * (slot_mid_sod_s - pv_lo) / (pv_hi - pv_lo))
    in_peak = (slot_mid_sod_s >= peak_window_s[0]) & (slot_mid_sod_s < peak_window_s[1])
    kwh = np.where(in_pv, charge_kw * _SLOT_H * bell * day_scale[day_of_slot, 0], 0.0)
    kwh = kwh - np.where(in_peak, discharge_kw * _SLOT_H * day_scale[day_of_slot, 1], 0.0)
    if revision_std_kwh > 0:
        kwh = kwh + rng.normal(0.0, revision_std_kwh, kwh.size)
    return kwh


def _slot_layout(
    start: dt.datetime, step_s: float, n_steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slot index per step, and local second-of-day of each slot's middle and its day number."""
    clock = local_clock(start, step_s, n_steps)
    first_slot_wall_s = np.floor(clock.wall_s[0] / SLOT_S) * SLOT_S if n_steps else 0.0
    slot_of_step = np.floor((clock.wall_s - first_slot_wall_s) / SLOT_S + 1e-9).astype(np.int64)
    n_slots = (int(slot_of_step[-1]) + 1 if n_steps else 0) + SLOTS_PER_PLAN
    slot_mid_wall_s = first_slot_wall_s + (np.arange(n_slots) + 0.5) * SLOT_S
    return slot_of_step, np.mod(slot_mid_wall_s, 86400.0), np.floor(slot_mid_wall_s / 86400.0)


def _check(
    charge_kw: float, discharge_kw: float, day_variation: float, revision_std_kwh: float
) -> None:
    if charge_kw < 0 or discharge_kw < 0:
        raise SignalConfigError(
            "charge_kw/discharge_kw", "give magnitudes (>= 0); the sign comes from the window"
        )
    if not 0 <= day_variation < 1:
        raise SignalConfigError("day_variation", f"must be in [0, 1), got {day_variation}")
    if revision_std_kwh < 0:
        raise SignalConfigError("revision_std_kwh", f"must not be negative, got {revision_std_kwh}")


def fems_plans(
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    seed: int,
    charge_kw: float = 10.0,
    discharge_kw: float = 5.0,
    pv_window: Sequence[str] = ("10:00", "14:00"),
    peak_window: Sequence[str] = ("17:00", "20:00"),
    day_variation: float = 0.2,
    revision_std_kwh: float = 0.0,
) -> list[FemsPlan]:
    """Every plan the FEMS sends during the run (one per slot start), 48 slots each.

    Args: as `fems_request_kwh`.

    Returns:
        Plans in the order sent; plan i is sent at the start of slot i.
    """
    check_timebase(start, step_s, n_steps)
    _check(charge_kw, discharge_kw, day_variation, revision_std_kwh)
    slot_of_step, slot_mid_sod_s, slot_day = _slot_layout(start, step_s, n_steps)
    rng = stream_rng(seed, "fems")
    final = _final_slot_kwh(
        slot_mid_sod_s,
        slot_day,
        rng,
        charge_kw,
        discharge_kw,
        _window_s(pv_window, "pv_window"),
        _window_s(peak_window, "peak_window"),
        day_variation,
        revision_std_kwh,
    )
    n_issued = int(slot_of_step[-1]) + 1 if n_steps else 0
    horizon = np.arange(SLOTS_PER_PLAN)
    error_scale = revision_std_kwh * np.sqrt(horizon / (SLOTS_PER_PLAN - 1))
    plans = []
    for issued in range(n_issued):
        covered = issued + horizon
        kwh = final[covered] + (
            rng.standard_normal(SLOTS_PER_PLAN) * error_scale if revision_std_kwh > 0 else 0.0
        )
        plans.append(FemsPlan(issued_slot=issued, slot_index=covered, kwh=kwh))
    return plans


def fems_request_kwh(
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    seed: int,
    charge_kw: float = 10.0,
    discharge_kw: float = 5.0,
    pv_window: Sequence[str] = ("10:00", "14:00"),
    peak_window: Sequence[str] = ("17:00", "20:00"),
    day_variation: float = 0.2,
    revision_std_kwh: float = 0.0,
) -> np.ndarray:
    """kWh request of the current 30-min slot, per simulation step (latest plan's value).

    Args:
        start: Time of step 0 (tz-aware).
        step_s: Step length, s.
        n_steps: Number of steps.
        seed: Random seed (same seed -> same array).
        charge_kw: Fleet charging power behind the PV-window requests, kW.
        discharge_kw: Fleet discharging power behind the peak-window requests, kW.
        pv_window: ["HH:MM", "HH:MM"] local window of PV self-consumption (charging).
        peak_window: ["HH:MM", "HH:MM"] local window of peak shaving (discharging).
        day_variation: Relative day-to-day variation of both amplitudes.
        revision_std_kwh: Standard deviation of plan revisions, kWh (0 = same plan).

    Returns:
        Requested kWh of the slot each step is in (float64, length n_steps); divide by 0.5 h
        for the equivalent power.

    Raises:
        SignalConfigError: Bad time base or parameters.
    """
    check_timebase(start, step_s, n_steps)
    _check(charge_kw, discharge_kw, day_variation, revision_std_kwh)
    slot_of_step, slot_mid_sod_s, slot_day = _slot_layout(start, step_s, n_steps)
    final = _final_slot_kwh(
        slot_mid_sod_s,
        slot_day,
        stream_rng(seed, "fems"),
        charge_kw,
        discharge_kw,
        _window_s(pv_window, "pv_window"),
        _window_s(peak_window, "peak_window"),
        day_variation,
        revision_std_kwh,
    )
    return final[slot_of_step]
