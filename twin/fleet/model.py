"""EV fleet model: a struct of numpy arrays, stepped in one vectorised call per time step.

Sign convention: power in kW at the grid connection, + charging (import), - discharging (export).
Battery energy changes by p * dt * eta_charge when charging and p * dt / eta_discharge when
discharging; driving draws energy from the battery while the EV is away. So per EV, exactly:
    grid_in_kwh * eta_charge - grid_out_kwh / eta_discharge - driven_kwh = (soc_end - soc_0) * battery_kwh
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin.fleet import kernels
from twin.fleet.charger import lag_margin_s, lagged_power
from twin.fleet.trips import Sessions

DRIVING, PLUGGED, PARKED = 0, 1, 2
"""Location states: driving (in a trip gap), plugged at its site, parked there unplugged."""


@dataclass(frozen=True)
class FleetTable:
    """Static per-EV parameters, one row per EV (units in names, like pandapower tables)."""

    battery_kwh: np.ndarray
    p_charge_max_kw: np.ndarray
    p_discharge_max_kw: np.ndarray
    """>= 0; zero where the vehicle or the charger is not bidirectional."""
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    soc_floor: np.ndarray
    soc_target: np.ndarray
    response_time_s: np.ndarray
    plug_in_probability: np.ndarray
    site: np.ndarray
    """Charging-site index of each EV (the site-to-bus map lives with the grid)."""
    latency_s: np.ndarray | None = None
    """Communication latency: a set-point takes effect this long after it is sent, s
    (None = no latency)."""
    engine: np.ndarray | None = None
    """Per EV, whether it has an engine (plug-in hybrid: drives on fuel once the battery is at
    its floor, so driving never forces a charge); None = none has."""

    def engine_flags(self) -> np.ndarray:
        """`engine` as a boolean array (all False when None)."""
        if self.engine is None:
            return np.zeros(self.count, dtype=np.bool_)
        return np.ascontiguousarray(self.engine, dtype=np.bool_)

    @property
    def count(self) -> int:
        return len(self.battery_kwh)


@dataclass
class FleetState:
    """Dynamic per-EV state at the current time (start of the next step)."""

    soc: np.ndarray
    location: np.ndarray
    p_kw: np.ndarray
    """Charger output at this instant (end of the last step, carried by the lag)."""
    session: np.ndarray
    """Index of the current session (plugged/parked) or of the next one (driving)."""
    session_target_soc: np.ndarray
    """SOC promised at the current session's departure (driver target, capped by what is reachable)."""
    e_grid_in_kwh: np.ndarray
    e_grid_out_kwh: np.ndarray
    e_driven_kwh: np.ndarray
    e_drive_unserved_kwh: np.ndarray
    """Driving energy the battery could not supply (EV ran empty): a failure indicator, ideally 0."""
    e_fuel_kwh: np.ndarray
    """Driving energy a plug-in hybrid drove on fuel (in battery kWh it would have taken)."""
    unmet_departure_kwh: np.ndarray
    departures: np.ndarray
    soc_initial: np.ndarray


@dataclass(frozen=True)
class StepTotals:
    """Fleet totals after a step: what the results record per step."""

    p_kw: float
    """Sum of the EVs' average grid power over the step, kW."""
    plugged_count: int
    soc_mean: float
    soc_min: float
    """NaN for an empty fleet."""


@dataclass(frozen=True)
class FleetView:
    """Read-only per-EV snapshot handed to the EMS (arrays are views; the EMS must not write)."""

    name: str
    time_s: int
    plugged: np.ndarray
    soc: np.ndarray
    p_kw: np.ndarray
    depart_s: np.ndarray
    """Departure time of the current session (inf while driving or for open-ended sessions)."""
    session_target_soc: np.ndarray
    table: FleetTable
    e_grid_in_kwh: np.ndarray | None = None
    e_grid_out_kwh: np.ndarray | None = None
    """Per-EV grid energy since the start, kWh (the live accumulators; None = not known)."""
    lag_margin_s: np.ndarray | None = None
    """Per-EV time reserved before departure for the charger lag (None: feasible_range computes
    twin.fleet.charger.lag_margin_s of the response times)."""
    place: np.ndarray | None = None
    """Per-EV place of the current session (twin.fleet.places codes; None = the fleet's site)."""

    @property
    def e_net_kwh(self) -> float:
        """Grid energy of the fleet since the start, kWh (in - out): what schedules settle on.
        Summed when asked (only schedule services need it), from the state at that moment."""
        if self.e_grid_in_kwh is None or self.e_grid_out_kwh is None:
            return 0.0
        return float(self.e_grid_in_kwh.sum() - self.e_grid_out_kwh.sum())


@dataclass
class Fleet:
    """One fleet: static table, drawn sessions, and the state it steps forward."""

    name: str
    table: FleetTable
    sessions: Sessions
    step_s: int
    state: FleetState = field(init=False)
    time_s: int = field(init=False, default=0)
    totals: StepTotals = field(init=False, default=StepTotals(0.0, 0, float("nan"), float("nan")))
    """Totals after the last step (kept by step(); at creation: 0 kW and the initial SOC)."""
    _events: int = field(init=False, default=0, repr=False)
    """Count of steps with an arrival or departure so far: what view() caches on."""
    _sent_kw: np.ndarray | None = field(init=False, default=None, repr=False)
    """Set-points sent in the last steps (row -1 = this step's), for the communication latency."""
    # Caches of values that depend only on the table or change only at events (declared here so
    # every attribute of a Fleet is visible in one place).
    _col_cache: dict[int, tuple[np.ndarray, np.ndarray]] = field(
        init=False, default_factory=dict, repr=False
    )
    _lag_margin: np.ndarray | None = field(init=False, default=None, repr=False)
    _view_cache: tuple[int, np.ndarray, np.ndarray, np.ndarray | None] | None = field(
        init=False, default=None, repr=False
    )
    _no_latency: bool | None = field(init=False, default=None, repr=False)
    _lag_factors: dict[float, tuple[np.ndarray, np.ndarray]] = field(
        init=False, default_factory=dict, repr=False
    )
    _engine: np.ndarray | None = field(init=False, default=None, repr=False)

    def _engine_flags(self) -> np.ndarray:
        if self._engine is None:
            self._engine = self.table.engine_flags()
        return self._engine

    @classmethod
    def create(
        cls,
        name: str,
        table: FleetTable,
        sessions: Sessions,
        soc_initial: np.ndarray,
        step_s: int,
        start_s: int = 0,
    ) -> Fleet:
        fleet = cls(name=name, table=table, sessions=sessions, step_s=step_s)
        n = table.count
        zeros = np.zeros(n)
        fleet.state = FleetState(
            soc=soc_initial.astype(float).copy(),
            location=np.full(n, DRIVING, dtype=np.int8),
            p_kw=zeros.copy(),
            session=np.zeros(n, dtype=np.int64),
            session_target_soc=table.soc_target.copy(),
            e_grid_in_kwh=zeros.copy(),
            e_grid_out_kwh=zeros.copy(),
            e_driven_kwh=zeros.copy(),
            e_drive_unserved_kwh=zeros.copy(),
            e_fuel_kwh=zeros.copy(),
            unmet_departure_kwh=zeros.copy(),
            departures=np.zeros(n, dtype=np.int64),
            soc_initial=soc_initial.astype(float).copy(),
        )
        fleet.time_s = start_s
        # Current session = first one not yet departed; plug in if it has already begun.
        fleet.state.session = (
            np.argmax(sessions.depart_s > start_s, axis=1)
            if sessions.depart_s.size
            else np.zeros(n, dtype=np.int64)
        )  # an empty fleet (adoption 0 %)
        plugged = fleet._settle_events()  # plug in the EVs whose first session has already begun
        fleet._set_totals(
            0.0,
            plugged,
            float(fleet.state.soc.sum()),
            float(fleet.state.soc.min()) if n else np.nan,
        )
        return fleet

    # -- small accessors -------------------------------------------------------------------
    def _col(self, table: np.ndarray) -> np.ndarray:
        # The current session's column of a per-session table, gathered once and then kept up to
        # date by settle_events for the EVs whose session advanced (a year of sessions is hundreds of
        # columns; regathering all EVs whenever any EV leaves was the hot path of long runs).
        # Callers treat the result as read-only.
        cache = self._col_cache
        hit = cache.get(id(table))
        if hit is not None and hit[0] is table:
            return hit[1]
        k = np.minimum(self.state.session, table.shape[1] - 1)
        column = table[np.arange(len(k)), k]
        cache[id(table)] = (table, column)
        return column

    @property
    def plugged(self) -> np.ndarray:
        return self.state.location == PLUGGED

    def next_trip_kwh(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Energy of the drive after the current session (gap before session k+1), of every EV
        or of the EVs at `rows`."""
        rows = np.arange(self.table.count) if rows is None else rows
        n_sessions = self.sessions.away_kwh.shape[1]
        after = self.state.session[rows] + 1
        return np.where(
            after < n_sessions, self.sessions.away_kwh[rows, np.minimum(after, n_sessions - 1)], 0.0
        )

    def _lag_margin_s(self) -> np.ndarray:
        # Per-EV time kept before departure for the charger lag; depends only on the table.
        margin = self._lag_margin
        if margin is None:
            margin = self._lag_margin = np.ascontiguousarray(
                np.broadcast_to(lag_margin_s(self.table.response_time_s), (self.table.count,)),
                dtype=float,
            )
        return margin

    def apply_ev_needs(self, index: int, depart_s: float | None, energy_kwh: float | None) -> bool:
        """What a plugged EV says it needs (OCPP NotifyEVChargingNeeds) replaces the model's
        guess for its current session: its departure (s from the start; later than now) and the
        SOC it leaves with (now + energy / battery, at most 1). Returns whether anything changed;
        an EV that is not plugged in keeps its model session."""
        if not 0 <= index < self.table.count or self.state.location[index] != PLUGGED:
            return False
        changed = False
        k = int(min(self.state.session[index], self.sessions.depart_s.shape[1] - 1))
        if depart_s is not None and np.isfinite(depart_s):
            # Sessions stay in order: the stay ends before the model's next arrival of the EV.
            nxt = k + 1
            arrivals = self.sessions.arrive_s
            if nxt < arrivals.shape[1] and np.isfinite(arrivals[index, nxt]):
                depart_s = min(depart_s, float(arrivals[index, nxt]) - self.step_s)
        if depart_s is not None and np.isfinite(depart_s) and depart_s > self.time_s:
            self.sessions.depart_s[index, k] = depart_s
            self._col(self.sessions.depart_s)[index] = depart_s  # the gathered column too
            changed = True
        if energy_kwh is not None and np.isfinite(energy_kwh) and energy_kwh >= 0:
            target = self.state.soc[index] + energy_kwh / self.table.battery_kwh[index]
            self.state.session_target_soc[index] = min(1.0, float(target))
            changed = True
        if changed:
            self._events += 1  # the views derived from the session are rebuilt
        return changed

    def view(self) -> FleetView:
        # Location and session only change at events, so the derived arrays are rebuilt only
        # after one (at 1-s steps most steps have none).
        cache = self._view_cache
        if cache is None or cache[0] != self._events:
            depart = np.where(
                self.state.location == DRIVING, np.inf, self._col(self.sessions.depart_s)
            )
            place = None
            if self.sessions.place is not None:
                k = np.minimum(self.state.session, self.sessions.place.shape[1] - 1)
                place = self.sessions.place[np.arange(len(k)), k]
            cache = self._view_cache = (self._events, self.plugged, depart, place)
        _, plugged, depart, place = cache
        return FleetView(
            name=self.name,
            time_s=self.time_s,
            plugged=plugged,
            soc=self.state.soc,
            p_kw=self.state.p_kw,
            depart_s=depart,
            session_target_soc=self.state.session_target_soc,
            table=self.table,
            e_grid_in_kwh=self.state.e_grid_in_kwh,
            e_grid_out_kwh=self.state.e_grid_out_kwh,
            lag_margin_s=self._lag_margin_s(),
            place=place,
        )

    # -- events ----------------------------------------------------------------------------
    def _set_totals(self, p_sum: float, plugged: int, soc_sum: float, soc_min: float) -> None:
        n = self.table.count
        self.totals = StepTotals(
            p_kw=p_sum,
            plugged_count=plugged,
            soc_mean=soc_sum / n if n else float("nan"),
            soc_min=soc_min if n else float("nan"),
        )

    def _settle_events(self) -> int:
        """Departures, then arrivals, due at the current time (kernels.settle_events); returns
        how many EVs are plugged in afterwards."""
        st, tb, se = self.state, self.table, self.sessions
        if not tb.count:
            return 0
        col = self._col
        events, plugged = kernels.settle_events(
            float(self.time_s),
            PLUGGED,
            PARKED,
            DRIVING,
            st.location,
            st.session,
            st.soc,
            st.p_kw,
            st.session_target_soc,
            st.unmet_departure_kwh,
            st.departures,
            se.arrive_s,
            se.depart_s,
            se.gap_start_s,
            se.away_kwh,
            se.plug_draw,
            col(se.arrive_s),
            col(se.depart_s),
            col(se.gap_start_s),
            col(se.away_kwh),
            col(se.plug_draw),
            tb.soc_floor,
            tb.soc_target,
            tb.battery_kwh,
            tb.p_charge_max_kw,
            tb.eta_charge,
            tb.plug_in_probability,
            self._lag_margin_s(),
            self._engine_flags(),
        )
        if events:
            self._events += 1
        return plugged

    def _delayed_response(
        self, p_set: np.ndarray, plugged: np.ndarray, dt_s: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Charger response when set-points arrive `latency_s` late (exact for a first-order lag).

        With latency L = n dt + r (0 <= r < dt), the charger follows over [t, t + r) the
        set-point sent n + 1 steps ago and over [t + r, t + dt) the one sent n steps ago.
        Before the first set-point arrives the chargers hold 0 kW.
        """
        tb = self.table
        latency_s = np.maximum(np.asarray(tb.latency_s, dtype=float), 0.0)
        n = np.floor(latency_s / dt_s + 1e-9).astype(np.int64)
        r = np.maximum(latency_s - n * dt_s, 0.0)
        depth = int(n.max()) + 2
        if self._sent_kw is None or self._sent_kw.shape[0] != depth:
            self._sent_kw = np.zeros((depth, tb.count))
        self._sent_kw = np.roll(self._sent_kw, -1, axis=0)
        self._sent_kw[-1] = p_set
        rows = np.arange(tb.count)
        new = np.where(plugged, self._sent_kw[depth - 1 - n, rows], 0.0)
        old = np.where(plugged, self._sent_kw[depth - 2 - n, rows], 0.0)
        head = r > 0
        r_safe = np.where(head, r, dt_s)
        p_mid, avg_head = lagged_power(self.state.p_kw, old, tb.response_time_s, r_safe)
        p_mid = np.where(head, p_mid, self.state.p_kw)
        p_end, avg_tail = lagged_power(p_mid, new, tb.response_time_s, dt_s - r)
        p_avg = np.where(head, (avg_head * r + avg_tail * (dt_s - r)) / dt_s, avg_tail)
        return p_end, p_avg

    # -- the step --------------------------------------------------------------------------
    def step(self, setpoint_kw: np.ndarray, measured_kw: np.ndarray | None = None) -> np.ndarray:
        """Advance one step with the given set-points; returns average grid power per EV, kW.

        Args:
            setpoint_kw: per-EV set-point for [t, t + step), + charge / - discharge; ignored
                for EVs that are not plugged.
            measured_kw: optional per-EV measured power (NaN = not measured) from physical
                chargers; it replaces the simulated charger's power for those EVs.
        """
        st, tb = self.state, self.table
        dt_s = float(self.step_s)
        setpoint_kw = np.ascontiguousarray(setpoint_kw, dtype=float)
        has_measured = measured_kw is not None
        if has_measured:
            measured_kw = np.ascontiguousarray(measured_kw, dtype=float)
        col = self._col
        no_latency = self._no_latency
        if no_latency is None:
            no_latency = self._no_latency = tb.latency_s is None or not np.any(tb.latency_s > 0)
        if no_latency:
            # The lag's decay and mean factors depend only on the response times and dt: computed
            # once (lagged_power of a unit step from 1 to 0 returns exactly them), not every step.
            factors = self._lag_factors
            if dt_s not in factors:
                factors[dt_s] = lagged_power(
                    np.ones(tb.count), np.zeros(tb.count), tb.response_time_s, dt_s
                )
            decay, mean_factor = factors[dt_s]
            p_avg = np.empty(tb.count)
            due, p_sum, soc_sum, soc_min = kernels.step_without_latency(
                st.location,
                PLUGGED,
                DRIVING,
                st.p_kw,
                setpoint_kw,
                tb.p_charge_max_kw,
                tb.p_discharge_max_kw,
                decay,
                mean_factor,
                measured_kw if measured_kw is not None else setpoint_kw,
                has_measured,
                st.soc,
                tb.soc_floor,
                tb.battery_kwh,
                tb.eta_charge,
                tb.eta_discharge,
                col(self.sessions.gap_start_s),
                col(self.sessions.arrive_s),
                col(self.sessions.away_kwh),
                col(self.sessions.depart_s),
                float(self.time_s),
                dt_s,
                st.e_grid_in_kwh,
                st.e_grid_out_kwh,
                st.e_driven_kwh,
                st.e_drive_unserved_kwh,
                p_avg,
                self._engine_flags(),
                st.e_fuel_kwh,
            )
        else:
            plugged = st.location == PLUGGED
            p_set = np.where(
                plugged, np.clip(setpoint_kw, -tb.p_discharge_max_kw, tb.p_charge_max_kw), 0.0
            )
            p_end, p_avg = self._delayed_response(p_set, plugged, dt_s)
            kernels.battery_and_driving(
                p_end,
                p_avg,
                measured_kw if measured_kw is not None else p_end,
                has_measured,
                plugged,
                st.location == DRIVING,
                st.soc,
                tb.soc_floor,
                tb.battery_kwh,
                tb.eta_charge,
                tb.eta_discharge,
                col(self.sessions.gap_start_s),
                col(self.sessions.arrive_s),
                col(self.sessions.away_kwh),
                float(self.time_s),
                dt_s,
                st.e_grid_in_kwh,
                st.e_grid_out_kwh,
                st.e_driven_kwh,
                st.e_drive_unserved_kwh,
                st.p_kw,
                self._engine_flags(),
                st.e_fuel_kwh,
            )
            due, p_sum, soc_sum = 1, float(p_avg.sum()), float(st.soc.sum())
            soc_min = float(st.soc.min()) if tb.count else float("nan")
        self.time_s += self.step_s
        # Events at the new time: departures first (a session ends), then arrivals; without any
        # due, the plugged count stays as it was.
        plugged = self._settle_events() if due else self.totals.plugged_count
        self._set_totals(p_sum, plugged, soc_sum, soc_min)
        return p_avg
