"""Set-point correction for the charger lag, with the set-points still in flight (a Smith predictor).

The EMS allocates *average* power per step. A charger follows a new set-point with a first-order
lag (twin.fleet.charger) and only after its communication latency L; sending the average itself
would lose (p_set - p0) * tau per ramp, so the set-point is the inverse of the lag.

The inverse must start from the power the charger will have when this set-point *takes effect*
(t + L), not from the power measured now: with seconds of dead time, correcting from the
measurement alone is a high-gain loop with a delay and hunts (frequency_event at 5 s latency
swung -104..+119 kW around an 11 kW target). So the charger's power at t + L is predicted from
the measurement at t through the set-points already sent but not yet effective (the model the
fleet itself follows, exact for a first-order lag), and the set-point is chosen so that its own
window [t + L, t + L + dt) averages the allocated power. With an exact model the loop has no
feedback through the dead time at all: the prediction uses measured power only through decay
factors, and the inverse's own map from start power to end power has a gain of magnitude < 1.

Chargers whose dynamics are not known (physical chargers in a HIL run) get no inverse: they
receive the allocated average as it is, never a value corrected for the *simulated* charger's lag.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from twin.fleet.charger import lag_mean_factor
from twin.fleet.model import FleetTable


class LagCompensator:
    """Per-EV inverse of the charger lag, starting from the power predicted at t + latency."""

    def __init__(self) -> None:
        self._unknown: dict[str, set[int]] = {}
        self._key: tuple | None = None
        self._tables: tuple = ()  # held so that the ids in the key cannot be reused
        self._static: tuple = ()
        self._history = np.zeros((1, 0))  # row j-1 = the set-points sent j steps ago

    def mark_unknown(self, fleet: str, index: int) -> None:
        """The charger of EV `index` of `fleet` has dynamics the model does not know (a physical
        charger): its set-points are the allocated average, uncorrected."""
        self._unknown.setdefault(fleet, set()).add(int(index))
        self._key = None

    def _prepare(self, names: Sequence[str], tables: Sequence[FleetTable], dt_s: float) -> tuple:
        key = (tuple(names), tuple(id(t) for t in tables), dt_s)
        if key == self._key:
            return self._static
        known = np.concatenate(
            [
                ~np.isin(np.arange(t.count), sorted(self._unknown.get(name, ())))
                for name, t in zip(names, tables, strict=True)
            ]
        )
        response_s = np.concatenate([t.response_time_s for t in tables])
        latency = np.concatenate(
            [
                np.broadcast_to(t.latency_s if t.latency_s is not None else 0.0, (t.count,))
                for t in tables
            ]
        )
        latency = np.maximum(latency.astype(float), 0.0)
        n = np.floor(latency / dt_s + 1e-9).astype(np.int64)
        r = np.maximum(latency - n * dt_s, 0.0)
        tau = response_s.astype(float) / 3.0
        instant = tau <= 0.0
        safe_tau = np.where(instant, 1.0, tau)
        decay_dt = np.where(instant, 0.0, np.exp(-dt_s / safe_tau))
        decay_r = np.where(instant, np.where(r > 0, 0.0, 1.0), np.exp(-r / safe_tau))
        mean_factor = np.where(known, lag_mean_factor(response_s, dt_s), 0.0)
        p_min = -np.concatenate([t.p_discharge_max_kw for t in tables])
        p_max = np.concatenate([t.p_charge_max_kw for t in tables])
        # Before the first set-point arrives the chargers hold 0 kW (as the fleet model).
        self._history = np.zeros((int(n.max(initial=0)) + 1, known.size))
        self._static = (known, n, r, decay_dt, decay_r, mean_factor, p_min, p_max)
        self._key, self._tables = key, tuple(tables)
        return self._static

    def predicted_kw(
        self,
        p_now_kw: np.ndarray,
        n: np.ndarray,
        r: np.ndarray,
        decay_dt: np.ndarray,
        decay_r: np.ndarray,
    ) -> np.ndarray:
        """Each charger's power at t + L, from its power at t through the set-points in flight:
        the oldest one still acting for the head r of the step, then each later one for a step."""
        history = self._history
        p = np.asarray(p_now_kw, dtype=float)
        if np.any(r > 0):
            oldest = history[n, np.arange(p.size)]  # sent n + 1 steps ago
            p = np.where(r > 0, oldest + (p - oldest) * decay_r, p)
        for j in range(history.shape[0] - 1, 0, -1):  # sent j steps ago, j = max n .. 1
            p = np.where(n >= j, history[j - 1] + (p - history[j - 1]) * decay_dt, p)
        return p

    def setpoints(
        self,
        names: Sequence[str],
        tables: Sequence[FleetTable],
        p_avg_kw: np.ndarray,
        p_now_kw: np.ndarray,
        dt_s: float,
    ) -> np.ndarray:
        """Set-points to send now so that each charger's window [t + L, t + L + dt) averages
        `p_avg_kw`, within the charger limits; remembers them as in flight.

        Args:
            names, tables: the fleets in the order of the per-EV arrays.
            p_avg_kw: the allocated average power per EV.
            p_now_kw: each charger's power at t (measured or modelled).
        """
        known, n, r, decay_dt, decay_r, f, p_min, p_max = self._prepare(names, tables, dt_s)
        p = self.predicted_kw(p_now_kw, n, r, decay_dt, decay_r)
        inverse = (p_avg_kw - p * f) / (1.0 - f)
        # The inverse can overshoot past a limit (e.g. a tiny negative set-point to bring a
        # charge-only charger to 0 kW on average); a charger would reject that, so set-points
        # stay within the charger limits, exactly as the fleet model clips them.
        sent = np.clip(np.where(known, inverse, p_avg_kw), p_min, p_max)
        history = self._history
        if history.shape[0] > 1:
            history[1:] = history[:-1].copy()
        history[0] = sent
        return sent
