"""One EV as a plain Python object with scalar state: the physics of twin.fleet.model, EV by EV.

Same sessions, same equations and the same event order as the vectorised `Fleet.step`, written as a
naive per-object model would be (floats and `math`), so a naive build reproduces the twin's powers.
"""

from __future__ import annotations

import math

DRIVING, PLUGGED, PARKED = 0, 1, 2


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


class ScalarEV:
    """One EV: static parameters, its padded session rows, and scalar state."""

    def __init__(
        self,
        params: dict[str, float],
        sessions: dict[str, list[float]],
        soc_initial: float,
        step_s: int,
        start_s: int = 0,
    ):
        self.battery_kwh = params["battery_kwh"]
        self.p_charge_max_kw = params["p_charge_max_kw"]
        self.p_discharge_max_kw = params["p_discharge_max_kw"]
        self.eta_charge = params["eta_charge"]
        self.eta_discharge = params["eta_discharge"]
        self.soc_floor = params["soc_floor"]
        self.soc_target = params["soc_target"]
        self.response_time_s = params["response_time_s"]
        self.plug_in_probability = params["plug_in_probability"]
        self.arrive_s = sessions["arrive_s"]
        self.depart_s = sessions["depart_s"]
        self.gap_start_s = sessions["gap_start_s"]
        self.away_kwh = sessions["away_kwh"]
        self.plug_draw = sessions["plug_draw"]
        self.n_sessions = len(self.arrive_s)
        self.step_s = step_s
        self.time_s = start_s
        self.soc = float(soc_initial)
        self.location = DRIVING
        self.p_kw = 0.0
        self.session_target_soc = self.soc_target
        self.e_grid_in_kwh = self.e_grid_out_kwh = self.e_driven_kwh = 0.0
        self.e_drive_unserved_kwh = self.unmet_departure_kwh = 0.0
        self.session = next((k for k, d in enumerate(self.depart_s) if d > start_s), 0)
        if self._col(self.arrive_s) <= start_s:
            self._arrive()

    def _col(self, row: list[float]) -> float:
        return row[min(self.session, self.n_sessions - 1)]

    @property
    def plugged(self) -> bool:
        return self.location == PLUGGED

    def depart_view_s(self) -> float:
        return math.inf if self.location == DRIVING else self._col(self.depart_s)

    def _next_trip_kwh(self) -> float:
        k = self.session + 1
        return self.away_kwh[min(k, self.n_sessions - 1)] if k < self.n_sessions else 0.0

    def _arrive(self) -> None:
        need_soc = min(1.0, self.soc_floor + self._next_trip_kwh() / self.battery_kwh)
        plugs = self._col(self.plug_draw) < self.plug_in_probability or self.soc < need_soc + 0.05
        self.location = PLUGGED if plugs else PARKED
        dwell_s = self._col(self.depart_s) - self.time_s - (60.0 + 3.0 * self.response_time_s)
        dwell_h = max(dwell_s, 0.0) / 3600.0
        reachable = self.soc + self.p_charge_max_kw * self.eta_charge * dwell_h / self.battery_kwh
        target = max(self.soc_target, need_soc)
        self.session_target_soc = min(min(target, reachable), 1.0)

    def _depart(self) -> None:
        short = max(self.session_target_soc - self.soc, 0.0) * self.battery_kwh
        if self.location == PLUGGED and short > 1e-3:
            self.unmet_departure_kwh += short
        self.location = DRIVING
        self.session += 1
        self.p_kw = 0.0

    def uncontrolled_kw(self) -> float:
        """Full power up to the session's SOC promise (the baseline's set-point)."""
        if not self.plugged:
            return 0.0
        dt_h = self.step_s / 3600.0
        e_to_target = (self.session_target_soc - self.soc) * self.battery_kwh
        return min(self.p_charge_max_kw, max(e_to_target, 0.0) / (self.eta_charge * dt_h))

    def step(self, setpoint_kw: float) -> float:
        """Advance one step; returns the average grid power over it, kW (+ charging)."""
        dt_s = float(self.step_s)
        dt_h = dt_s / 3600.0
        plugged = self.location == PLUGGED
        p_set = (
            _clip(setpoint_kw, -self.p_discharge_max_kw, self.p_charge_max_kw) if plugged else 0.0
        )
        tau = self.response_time_s / 3.0
        if tau <= 0.0:
            decay = mean_factor = 0.0
        else:
            decay = math.exp(-dt_s / tau)
            mean_factor = tau / dt_s * (1.0 - decay)
        gap = self.p_kw - p_set
        p_end = p_set + gap * decay
        p_avg = p_set + gap * mean_factor if plugged else 0.0

        e_want = p_avg * dt_h * self.eta_charge if p_avg >= 0 else p_avg * dt_h / self.eta_discharge
        e_batt = _clip(
            e_want,
            -max(self.soc - self.soc_floor, 0.0) * self.battery_kwh,
            (1.0 - self.soc) * self.battery_kwh,
        )
        p_avg = (e_batt / self.eta_charge if e_batt >= 0 else e_batt * self.eta_discharge) / dt_h
        if e_batt != e_want and abs(p_avg) < abs(p_end):  # only a BMS cut drops the end power
            p_end = p_avg

        e_drive_want = 0.0
        if self.location == DRIVING:
            gap_start = self._col(self.gap_start_s)
            arrive = self._col(self.arrive_s)
            gap_len_s = arrive - gap_start
            if math.isfinite(gap_len_s) and gap_len_s > 0:
                overlap_s = _clip(
                    min(self.time_s + dt_s, arrive) - max(self.time_s, gap_start), 0.0, dt_s
                )
                if math.isfinite(overlap_s):
                    e_drive_want = self._col(self.away_kwh) / gap_len_s * overlap_s
        e_avail = self.soc * self.battery_kwh + e_batt
        e_drive = min(e_drive_want, max(e_avail, 0.0))

        self.e_grid_in_kwh += max(p_avg, 0.0) * dt_h
        self.e_grid_out_kwh += max(-p_avg, 0.0) * dt_h
        self.e_driven_kwh += e_drive
        self.e_drive_unserved_kwh += e_drive_want - e_drive
        self.soc = _clip(self.soc + (e_batt - e_drive) / self.battery_kwh, 0.0, 1.0)
        self.p_kw = p_end if plugged else 0.0
        self.time_s += self.step_s

        if self.location != DRIVING and self._col(self.depart_s) <= self.time_s:
            self._depart()
        if self.location == DRIVING and self._col(self.arrive_s) <= self.time_s:
            self._arrive()
        return p_avg
