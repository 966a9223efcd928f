"""Charging-session history: what an aggregator knows of its fleet before a gate closure.

One row per session (`SESSION_COLUMNS`): `ev_id` (text), `arrival`, `departure` (tz-aware UTC
timestamps; the EV is plugged in over [arrival, departure)), `energy_kwh` (the energy driven
before the session, i.e. what it has to put back). Two sources:

* a CSV file in that format (`market.bidding.history`; times ISO-8601 with a zone offset), e.g.
  exported from a CSMS's transaction log;
* the fleet's own behaviour model over the days before the run (`history_days`), drawn from a
  stream of its own (`fleet_rng(seed, fleet, "history")`): the same drivers' habits on other
  days, never the days the run simulates, so a bid sized on it is tested out of sample.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from twin.config.schema import FleetSpec
from twin.fleet.build import fleet_rng
from twin.fleet.trips import draw_sessions, trip_params

SESSION_COLUMNS = ("ev_id", "arrival", "departure", "energy_kwh")
HISTORY_STEP_S = 60
"""Sessions are drawn on a 1-min grid (what a CSMS log resolves)."""


class HistoryError(ValueError):
    """A session history that cannot be used; names the file and what is wrong."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


def ev_ids(fleet: str, count: int) -> list[str]:
    """The ids the history and the bids use for a fleet's EVs (`<fleet>:<index>`)."""
    return [f"{fleet}:{i}" for i in range(count)]


def fleet_session_history(
    fleet: str, spec: FleetSpec, before: dt.datetime, days: int, seed: int
) -> pd.DataFrame:
    """Sessions of `fleet` over the `days` days that end at `before` (tz-aware), from its model.

    A session still open at `before` ends there (nothing after the information cutoff is known);
    one already open when the history starts begins at its start. Home-type drivers who would
    not plug in on arrival (plug-in probability < 1) leave no session.
    """
    if spec.type == "island":
        raise HistoryError("fleets." + fleet, "island fleets have no history model; give a CSV")
    if days < 1:
        raise HistoryError("history_days", f"must be >= 1, got {days}")
    start = before - dt.timedelta(days=days)
    duration_s = days * 86_400
    sessions = draw_sessions(
        spec, start, duration_s, HISTORY_STEP_S, fleet_rng(seed, fleet, "history")
    )
    p_plug = trip_params(spec.type, spec.trips).plug_in_probability
    arrive = np.clip(sessions.arrive_s, 0.0, duration_s)
    depart = np.clip(sessions.depart_s, 0.0, duration_s)
    keep = (depart > arrive) & (sessions.plug_draw < p_plug)
    ev, _ = np.nonzero(keep)
    origin = pd.Timestamp(start).tz_convert("UTC")
    ids = np.array(ev_ids(fleet, spec.count), dtype=object)
    frame = pd.DataFrame(
        {
            "ev_id": ids[ev],
            "arrival": origin + pd.to_timedelta(arrive[keep], unit="s"),
            "departure": origin + pd.to_timedelta(depart[keep], unit="s"),
            "energy_kwh": sessions.away_kwh[keep],
        }
    )
    return frame.sort_values(["arrival", "ev_id"], kind="stable").reset_index(drop=True)


def read_session_history(path: Path | str) -> pd.DataFrame:
    """A sessions CSV, checked: columns, zone-aware times, departure after arrival, energy >= 0.

    Raises:
        HistoryError: naming the file (and the line where it helps) and the problem.
    """
    path = Path(path)
    where = str(path)
    try:
        raw = pd.read_csv(path, dtype={"ev_id": str}, comment="#")
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise HistoryError(where, f"cannot read: {err}") from None
    missing = [c for c in SESSION_COLUMNS if c not in raw.columns]
    if missing:
        raise HistoryError(where, f"missing column(s) {', '.join(missing)}")
    out = raw[list(SESSION_COLUMNS)].copy()
    for name in ("arrival", "departure"):
        text = out[name].astype(str)
        zoned = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).to_numpy()
        if not zoned.all():
            line = int(np.argmax(~zoned)) + 2  # + header, 1-based (data rows; comments not counted)
            raise HistoryError(f"{where}:{line}", f"{name} needs a zone offset, e.g. +09:00")
        try:
            out[name] = pd.to_datetime(text, utc=True, format="ISO8601")
        except (ValueError, TypeError) as err:
            raise HistoryError(where, f"{name}: not an ISO-8601 time ({err})") from None
    energy = pd.to_numeric(out["energy_kwh"], errors="coerce")
    bad = ~np.isfinite(energy.to_numpy(dtype=float)) | (energy.to_numpy(dtype=float) < 0)
    if bad.any():
        raise HistoryError(f"{where}:{int(np.argmax(bad)) + 2}", "energy_kwh must be a number >= 0")
    out["energy_kwh"] = energy.astype(float)
    backwards = (out["departure"] <= out["arrival"]).to_numpy()
    if backwards.any():
        raise HistoryError(
            f"{where}:{int(np.argmax(backwards)) + 2}", "departure must be after arrival"
        )
    if out["ev_id"].isna().any():
        raise HistoryError(where, "ev_id must not be empty")
    return out.sort_values(["arrival", "ev_id"], kind="stable").reset_index(drop=True)
