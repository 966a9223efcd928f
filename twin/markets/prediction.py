"""Usage prediction from session history (twin/markets/history.py): who is plugged in when, and
how much energy each session needs, by time of week.

Honest and simple on purpose (issue 14: "start with empirical quantiles per time-of-week,
measure it"):

* the plugged count of every training day is sampled at each 30-min slot of the local week
  (slot start, weekday x time of day); the prediction for a slot is the empirical distribution
  of those counts over the training weeks, so "available at confidence c" is its (1 - c)
  quantile: P90 = the count reached on 9 slots in 10;
* each EV's plug-in probability per slot is the share of training weeks it was plugged then;
  the plan registers the EVs most likely plugged (a bid for n cars registers the n likeliest);
* energy need: each EV's sessions' energy (what it drove before plugging in), P50 / P90 of its
  own training sessions (an EV's daily distance is its own habit), the fleet's when it has none.

Evaluated on held-out days (`evaluate_holdout`): plan accuracy as the Toyota V2G demo defines it
(mean over slots of registered vehicles actually parked / vehicles registered x 100), how often
the fleet had fewer cars than bid, the count's error and the P10-P90 band's coverage, and the
energy need's error, next to naive predictors (every registered EV always there; last week's
count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SLOT_S = 1800
WEEK_S = 7 * 86_400
SLOTS_PER_WEEK = WEEK_S // SLOT_S


def slot_times(start: pd.Timestamp, end: pd.Timestamp, slot_s: int = SLOT_S) -> pd.DatetimeIndex:
    """Slot starts in [start, end), UTC."""
    return pd.date_range(
        pd.Timestamp(start).tz_convert("UTC"),
        pd.Timestamp(end).tz_convert("UTC"),
        freq=f"{slot_s}s",
        inclusive="left",
    )


def week_slot(times: pd.DatetimeIndex, timezone: str, slot_s: int = SLOT_S) -> np.ndarray:
    """Slot of the local week (Monday 00:00 = 0) of each time."""
    local = times.tz_convert(timezone)
    seconds = local.weekday * 86_400 + local.hour * 3600 + local.minute * 60 + local.second
    return (np.asarray(seconds) // slot_s).astype(np.int64)


def plugged_matrix(sessions: pd.DataFrame, times: pd.DatetimeIndex, evs: list[str]) -> np.ndarray:
    """[time, ev] True where a session of the EV covers the time (arrival <= t < departure)."""
    t = times.asi8
    col = {ev: j for j, ev in enumerate(evs)}
    out = np.zeros((t.size, len(evs)), dtype=bool)
    if sessions.empty or t.size == 0:
        return out
    j = sessions["ev_id"].map(col)
    known = j.notna().to_numpy()
    arr = pd.DatetimeIndex(sessions["arrival"]).asi8[known]
    dep = pd.DatetimeIndex(sessions["departure"]).asi8[known]
    jj = j[known].astype(int).to_numpy()
    # Each session covers the times in [first index >= arrival, first index >= departure).
    a = np.searchsorted(t, arr, side="left")
    b = np.searchsorted(t, dep, side="left")
    cover = np.zeros((t.size + 1, len(evs)), dtype=np.int32)
    np.add.at(cover, (a, jj), 1)
    np.add.at(cover, (b, jj), -1)
    return np.cumsum(cover, axis=0)[:-1] > 0


@dataclass(frozen=True)
class UsagePrediction:
    """What the history says about each slot of the week.

    Attributes:
        evs: The registered EVs (columns of `plug_probability`).
        counts: [week, slot] plugged count of each training week (NaN where not observed).
        plug_probability: [slot, ev] share of training weeks the EV was plugged then.
        energy_p50_kwh, energy_p90_kwh: per EV, the P50 / P90 of its sessions' energy.
        timezone: The local time zone the week is counted in.
        train_start, train_end: The training window (UTC).
        slot_s: Slot length, s.
    """

    evs: list[str]
    counts: np.ndarray
    plug_probability: np.ndarray
    energy_p50_kwh: np.ndarray
    energy_p90_kwh: np.ndarray
    timezone: str
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    slot_s: int = SLOT_S

    @property
    def weeks(self) -> int:
        return int(self.counts.shape[0])

    def count_at(self, times: pd.DatetimeIndex, confidence: float) -> np.ndarray:
        """Plugged count reached with the confidence at each time: the (1 - confidence)
        quantile of the training weeks' counts at its slot (0.5 = median)."""
        slots = week_slot(times, self.timezone, self.slot_s)
        q = np.nanquantile(self.counts, 1.0 - confidence, axis=0, method="inverted_cdf")
        return np.floor(q[slots] + 1e-9).astype(np.int64)

    def band_at(self, times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """P10 and P90 of the plugged count at each time."""
        slots = week_slot(times, self.timezone, self.slot_s)
        lo = np.nanquantile(self.counts, 0.1, axis=0, method="inverted_cdf")
        hi = np.nanquantile(self.counts, 0.9, axis=0, method="inverted_cdf")
        return lo[slots], hi[slots]

    def register(self, times: pd.DatetimeIndex, counts: np.ndarray) -> np.ndarray:
        """[time, ev] the plan: at each time the `counts[k]` EVs most likely plugged (ties: in
        the order of `evs`)."""
        slots = week_slot(times, self.timezone, self.slot_s)
        prob = self.plug_probability[slots]  # [time, ev]
        order = np.argsort(-prob, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(prob.shape[1])[None, :], axis=1)
        return rank < np.asarray(counts)[:, None]


def fit_usage(
    sessions: pd.DataFrame,
    evs: list[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    timezone: str,
    slot_s: int = SLOT_S,
) -> UsagePrediction:
    """Learn the time-of-week picture from the sessions seen in [start, end)."""
    start, end = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    if end - start < pd.Timedelta(seconds=WEEK_S):
        # Some slot of the week would never be seen: its quantiles would be undefined.
        raise ValueError(f"a time-of-week prediction needs a week of history, got {end - start}")
    times = slot_times(start, end, slot_s)
    seen = sessions[(sessions["arrival"] < end) & (sessions["departure"] > start)]
    plugged = plugged_matrix(seen, times, evs)
    slots = week_slot(times, timezone, slot_s)
    week = (np.asarray((times - times[0]).total_seconds()) // WEEK_S).astype(np.int64)
    n_weeks = int(week.max()) + 1 if week.size else 0
    n_slots = WEEK_S // slot_s
    counts = np.full((n_weeks, n_slots), np.nan)
    counts[week, slots] = plugged.sum(axis=1)
    probability = np.zeros((n_slots, len(evs)))
    seen_slots = np.zeros(n_slots)
    np.add.at(probability, slots, plugged.astype(float))
    np.add.at(seen_slots, slots, 1.0)
    probability = np.divide(
        probability,
        seen_slots[:, None],
        out=np.zeros_like(probability),
        where=seen_slots[:, None] > 0,
    )
    # Slots never observed (a training window shorter than a week) borrow the whole mean.
    probability[seen_slots == 0] = plugged.mean(axis=0) if plugged.size else 0.0
    energy = seen.groupby("ev_id")["energy_kwh"]
    fleet_p50 = float(seen["energy_kwh"].median()) if len(seen) else 0.0
    fleet_p90 = float(seen["energy_kwh"].quantile(0.9)) if len(seen) else 0.0
    p50 = energy.median().reindex(evs).fillna(fleet_p50).to_numpy(dtype=float)
    p90 = energy.quantile(0.9).reindex(evs).fillna(fleet_p90).to_numpy(dtype=float)
    return UsagePrediction(
        evs=list(evs),
        counts=counts,
        plug_probability=probability,
        energy_p50_kwh=p50,
        energy_p90_kwh=p90,
        timezone=timezone,
        train_start=start,
        train_end=end,
        slot_s=slot_s,
    )


def plan_accuracy_percent(registered: np.ndarray, plugged: np.ndarray) -> float:
    """Mean over slots with someone registered of (registered EVs actually plugged / registered)
    x 100 (the Toyota V2G demo's plan accuracy)."""
    n = registered.sum(axis=1)
    hit = (registered & plugged).sum(axis=1)
    ok = n > 0
    return float(np.mean(hit[ok] / n[ok]) * 100.0) if ok.any() else float("nan")


def evaluate_holdout(
    prediction: UsagePrediction,
    sessions: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    confidences: tuple[float, ...] = (0.5, 0.9),
    slots_mask: np.ndarray | None = None,
) -> pd.DataFrame:
    """Score the prediction on the held-out window [start, end) (after its training window).

    One row per predictor: `p50` / `p90` (count at that confidence, its likeliest EVs
    registered), `all_registered` (every EV registered in every slot: plan accuracy = the mean
    plugged share) and `last_week` (the count of the same slot one week before; it registers as
    the P50 row does). Columns: registered EVs per slot (mean), plan accuracy (%), share of slots
    with fewer EVs plugged than bid (%), mean absolute error of the count (EVs), and, once per
    table, the P10-P90 band's coverage (%) and the energy need's error (kWh per session, P50 of
    the EV's own history) on the held-out sessions. `slots_mask` keeps only some slots (e.g. the
    delivery hours).
    """
    start, end = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    if start < prediction.train_end:
        raise ValueError("the held-out window must start after the training window")
    times = slot_times(start, end, prediction.slot_s)
    actual = plugged_matrix(sessions, times, prediction.evs)
    keep = np.ones(times.size, dtype=bool) if slots_mask is None else np.asarray(slots_mask)
    times, actual = times[keep], actual[keep]
    count = actual.sum(axis=1)
    lo, hi = prediction.band_at(times)
    coverage = float(np.mean((count >= lo) & (count <= hi)) * 100.0) if count.size else np.nan
    held = sessions[(sessions["arrival"] >= start) & (sessions["arrival"] < end)]
    index = {ev: j for j, ev in enumerate(prediction.evs)}
    j = held["ev_id"].map(index)
    j_ok = j.notna().to_numpy()
    predicted_kwh = prediction.energy_p50_kwh[j[j_ok].astype(int).to_numpy()]
    energy_mae = (
        float(np.mean(np.abs(held["energy_kwh"].to_numpy()[j_ok] - predicted_kwh)))
        if j_ok.any()
        else np.nan
    )
    fleet_kwh = float(np.median(prediction.energy_p50_kwh)) if len(prediction.evs) else 0.0
    energy_mae_fleet = (
        float(np.mean(np.abs(held["energy_kwh"].to_numpy()[j_ok] - fleet_kwh)))
        if j_ok.any()
        else np.nan
    )

    def row(name: str, bid: np.ndarray, registered: np.ndarray) -> dict[str, float | str]:
        return {
            "predictor": name,
            "registered_evs_mean": float(registered.sum(axis=1).mean()) if count.size else np.nan,
            "plan_accuracy_percent": plan_accuracy_percent(registered, actual),
            "short_slots_percent": float(np.mean(count < bid) * 100.0) if count.size else np.nan,
            "count_mae_evs": float(np.mean(np.abs(count - bid))) if count.size else np.nan,
        }

    rows = []
    for c in confidences:
        bid = prediction.count_at(times, c)
        rows.append(row(f"p{round(c * 100)}", bid, prediction.register(times, bid)))
    everyone = np.ones_like(actual)
    rows.append(row("all_registered", everyone.sum(axis=1), everyone))
    before = times - pd.Timedelta(days=7)
    last = plugged_matrix(sessions, before, prediction.evs).sum(axis=1)
    rows.append(row("last_week", last, prediction.register(times, last)))
    table = pd.DataFrame(rows)
    table["band_coverage_percent"] = coverage
    table["energy_mae_kwh"] = energy_mae
    table["energy_mae_fleet_median_kwh"] = energy_mae_fleet
    table["held_out_slots"] = int(count.size)
    table["training_weeks"] = prediction.weeks
    return table
