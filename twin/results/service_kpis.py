"""KPIs of the grid services (Kashiwa EV project, the Toyota V2G demo, Oki islands study), computed from the results table of a run.

Each function takes the scenario, the table (one row per step, columns as recorded by the
sims) and the fleet's measured grid power P (sum of the fleets' `<name>.p_kw`, kW, + charging),
and returns a plain dict for summary.json, or {} when the run did not have that service/signal.
Formulas live in the metric modules they call; what is specific to a run is stated here:

* effective droop: regression of P on the frequency over steps in normal operation (the
  under-frequency mode off, and not in the minute after it while the fleet returns), rated power = mean recorded `ems.fcr_rated_kw` over those steps;
* under-frequency response: available power = P just before the event - the fleet's lowest
  feasible power at the event (`ems.fcr_min_kw`), i.e. what the plugged fleet could add from
  where it was;
* PJM score: signal = `signal.regulation_pu`, response = sign x (P - basepoint) / capacity
  with the recorded basepoint (`ems.reg_basepoint_kw`) and sign (`ems.reg_sign`);
* kWh accuracy: per full 30-min slot of the local clock, delivered = sum P x dt, requested =
  the slot's FEMS request; slots with a zero request are left out;
* in-band rate (reserve): per full 30-min slot inside blocks, delivered = mean(baseline - P),
  commanded = mean(command); 1-min reports the same per minute (tertiary (1));
* plan accuracy: per 30-min slot, mean number of plugged EVs / EVs registered in the plan
  (every EV of the scenario);
* energy and CO2 with `signal.co2_kg_per_kwh`; PV surplus with the buildings signal;
  the CO2 round trip's break-even: a kWh discharged at intensity c_d displaces c_d, and needed
  1 / (eta_charge x eta_discharge) kWh charged, so charging lowers net CO2 only below
  c_charge = eta_charge x eta_discharge x c_d (`co2_break_even_charge_kg_per_kwh`, with c_d the
  run's mean discharging intensity and the fleets' mean efficiencies);
* area balance (twin.metrics.area_balance): net = area load + P - area PV, with and without
  the EVs; primary energy of the import and its reduction against no PV and no EVs; surplus
  days per local month.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.config.schema import Scenario
from twin.ems.services.fems_schedule import FemsScheduleSpec
from twin.ems.services.frequency_response import FrequencyResponseSpec
from twin.ems.services.regulation import RegulationSpec
from twin.ems.services.reserve import ReserveSpec
from twin.metrics.area_balance import area_balance
from twin.metrics.co2 import energy_co2_totals
from twin.metrics.droop import effective_droop
from twin.metrics.errors import MetricInputError
from twin.metrics.frequency_response import under_frequency_response
from twin.metrics.kwh_accuracy import in_band_rate, kwh_accuracy, plan_accuracy
from twin.metrics.pjm import pjm_performance_score
from twin.results import columns as col

SLOT_S = 1800
DROOP_RECOVERY_S = 60.0
"""Steps this long after the under-frequency mode are left out of the droop regression."""


def _spec(scenario: Scenario, kind: type) -> Any:
    return next((s for s in scenario.ems.services if isinstance(s, kind)), None)


def _plain(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def wall_slot_index(table: pd.DataFrame, scenario: Scenario, period_s: int) -> np.ndarray:
    """Index of the local-clock period (e.g. 30-min slot) of every row, counted from the epoch."""
    local = (
        pd.to_datetime(table[col.TIME], utc=True)
        .dt.tz_convert(scenario.timezone)
        .dt.tz_localize(None)
    )
    wall_s = np.round((local - pd.Timestamp(0)).dt.total_seconds().to_numpy()).astype(np.int64)
    return wall_s // period_s


def _full_slots(
    slot: np.ndarray, steps_per_slot: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Slot ids whose every step is in the table (and in `mask`)."""
    ids, counts = np.unique(slot if mask is None else slot[mask], return_counts=True)
    return ids[counts == steps_per_slot]


def frequency_kpis(scenario: Scenario, table: pd.DataFrame, p_kw: np.ndarray) -> dict[str, Any]:
    spec = _spec(scenario, FrequencyResponseSpec)
    if spec is None or col.SIGNAL_FREQUENCY_HZ not in table or col.FCR_MIN_KW not in table:
        return {}
    freq = table[col.SIGNAL_FREQUENCY_HZ].to_numpy()
    emergency = table[col.FCR_UNDER_FREQUENCY].to_numpy() > 0.5
    out: dict[str, Any] = {}
    # Normal operation: not in (and not recovering from) the under-frequency mode.
    recovery_steps = int(np.ceil(DROOP_RECOVERY_S / scenario.step))
    recent = np.convolve(emergency.astype(float), np.ones(recovery_steps + 1))[: emergency.size] > 0
    normal = ~recent
    try:
        droop = effective_droop(
            freq[normal],
            p_kw[normal],
            float(table[col.FCR_RATED_KW][normal].mean()),
            spec.nominal_hz,
            spec.deadband_hz,
        )
        out.update(
            effective_droop_percent=droop.droop_percent,
            droop_r2=droop.r2,
            droop_slope_kw_per_hz=droop.slope_kw_per_hz,
        )
    except MetricInputError as err:
        out["effective_droop_error"] = str(err)
    below = freq < spec.under_frequency_hz
    if below.any() and not below[0]:
        event = int(np.argmax(below))
        available_kw = float(p_kw[event - 1] - table[col.FCR_MIN_KW].iloc[event])
        if available_kw > 0:
            ufr = under_frequency_response(
                table["time_s"].to_numpy(dtype=float),
                freq,
                p_kw,
                available_kw,
                threshold_hz=spec.under_frequency_hz,
            )
            if ufr is not None:
                out.update(
                    ufr_event_s=ufr.t_event_s,
                    ufr_available_kw=available_kw,
                    ufr_target_kw=ufr.target_kw,
                    ufr_time_to_90_s=ufr.t_to_90_s,
                    ufr_held_s=ufr.held_s,
                    ufr_max_response_kw=ufr.max_response_kw,
                    ufr_passed=ufr.passed,
                )
        out.update(_pre_event_window_ufr(scenario, table, freq, p_kw, spec, event))
    return out


UFR_PRE_EVENT_WINDOW_S = 60.0
UFR_DEADLINE_S = 10.0
UFR_HOLD_S = 300.0
"""The pre-disturbance window of the `ufr_window_*` KPIs (issue 16: one sample before the
trigger is fragile when the fleet moves, e.g. under droop just before the event)."""


def _pre_event_window_ufr(
    scenario: Scenario,
    table: pd.DataFrame,
    freq: np.ndarray,
    p_kw: np.ndarray,
    spec: Any,
    event: int,
) -> dict[str, Any]:
    """Under-frequency response with "available" from a pre-disturbance window: over the
    UFR_PRE_EVENT_WINDOW_S before the event, the mean of P minus the mean of the fleet's lowest
    feasible power (`ems.fcr_min_kw`), and the response measured from that window's mean P."""
    t = table["time_s"].to_numpy(dtype=float)
    window = (t >= t[event] - UFR_PRE_EVENT_WINDOW_S) & (t < t[event])
    if not window.any():
        return {}
    fcr_min = table[col.FCR_MIN_KW].to_numpy()
    available_kw = float(p_kw[window].mean() - fcr_min[window].mean())
    if available_kw <= 0:
        return {}
    ufr = under_frequency_response(
        t,
        freq,
        p_kw,
        available_kw,
        threshold_hz=spec.under_frequency_hz,
        baseline_window_s=UFR_PRE_EVENT_WINDOW_S,
    )
    if ufr is None:
        return {}
    # Firm power: what the response never fell below from the 10-s deadline to 5 min after it
    # (the Kashiwa EV project's "within 10 s, held >= 5 min"), measured from the window's mean P.
    # This is what the fleet could have offered for this event, whatever its target was.
    firm = (t >= t[event] + UFR_DEADLINE_S) & (t < t[event] + UFR_DEADLINE_S + UFR_HOLD_S)
    firm_kw = float((ufr.baseline_kw - p_kw[firm]).min()) if firm.any() else None
    plugged = sum(
        table[col.fleet_plugged_count(f)].to_numpy()[event - 1]
        for f in scenario.fleets
        if col.fleet_plugged_count(f) in table
    )
    return {
        "ufr_window_s": UFR_PRE_EVENT_WINDOW_S,
        "ufr_window_available_kw": available_kw,
        "ufr_window_baseline_kw": ufr.baseline_kw,
        "ufr_window_time_to_90_s": ufr.t_to_90_s,
        "ufr_window_held_s": ufr.held_s,
        "ufr_window_passed": ufr.passed,
        "ufr_firm_kw": firm_kw,
        "ufr_plugged_evs": int(plugged),
        "ufr_registered_evs": int(sum(f.count for f in scenario.fleets.values())),
    }


def regulation_signal_and_response(
    table: pd.DataFrame, p_kw: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The regulation signal and the response per unit of capacity (sign x (P - basepoint) /
    capacity). Steps of a block bid at 0 kW are not committed: both are 0 there, so an hour with
    no capacity is flat and the PJM score leaves it out."""
    signal = (
        table[col.SIGNAL_REGULATION_PU].to_numpy(dtype=float)
        if col.SIGNAL_REGULATION_PU in table
        else table[col.REG_SIGNAL_PU].to_numpy(dtype=float)
    )
    capacity = table[col.REG_CAPACITY_KW].to_numpy(dtype=float)
    moved = table[col.REG_SIGN].to_numpy(dtype=float) * (
        p_kw - table[col.REG_BASEPOINT_KW].to_numpy(dtype=float)
    )
    committed = capacity > 0
    response = np.divide(moved, capacity, out=np.zeros_like(moved), where=committed)
    return np.where(committed, signal, 0.0), response


def regulation_kpis(scenario: Scenario, table: pd.DataFrame, p_kw: np.ndarray) -> dict[str, Any]:
    if _spec(scenario, RegulationSpec) is None or col.REG_BASEPOINT_KW not in table:
        return {}
    signal, response = regulation_signal_and_response(table, p_kw)
    try:
        score = pjm_performance_score(signal, response, scenario.step)
    except MetricInputError as err:
        return {"pjm_error": str(err)}
    out: dict[str, Any] = {
        **score.summary(),
        "pjm_hourly_score": [_plain(v) for v in score.hourly_score],
    }
    if col.SIGNAL_FEMS_KWH in table:
        # The same response against the FEMS request as declared (kWh per 30-min slot as mean
        # power): a basepoint the EMS does not move. The EMS's own basepoint follows what the
        # schedule still needs (it closes the loop on delivered energy), so it absorbs part of
        # the tracking error.
        declared_kw = table[col.SIGNAL_FEMS_KWH].to_numpy() * 3600.0 / SLOT_S
        capacity = table[col.REG_CAPACITY_KW].to_numpy(dtype=float)
        response_declared = np.divide(
            table[col.REG_SIGN].to_numpy(dtype=float) * (p_kw - declared_kw),
            capacity,
            out=np.zeros(len(table)),
            where=capacity > 0,
        )
        try:
            declared = pjm_performance_score(signal, response_declared, scenario.step)
            out["pjm_score_vs_declared_fems_baseline"] = _plain(declared.score)
        except MetricInputError as err:
            out["pjm_vs_declared_fems_baseline_error"] = str(err)
    return out


def fems_kpis(scenario: Scenario, table: pd.DataFrame, p_kw: np.ndarray) -> dict[str, Any]:
    if _spec(scenario, FemsScheduleSpec) is None or col.SIGNAL_FEMS_KWH not in table:
        return {}
    slot = wall_slot_index(table, scenario, SLOT_S)
    full = (
        _full_slots(slot, SLOT_S // scenario.step) if SLOT_S % scenario.step == 0 else np.array([])
    )
    frame = pd.DataFrame(
        {
            "slot": slot,
            "e_kwh": p_kw * scenario.step / 3600.0,
            "req": table[col.SIGNAL_FEMS_KWH].to_numpy(),
            "time": table[col.TIME],
        }
    )
    per = (
        frame[frame["slot"].isin(full)]
        .groupby("slot")
        .agg(delivered=("e_kwh", "sum"), req=("req", "first"), start=("time", "first"))
    )
    per = per[per["req"] != 0]
    if per.empty:
        return {"kwh_accuracy_error": "no full 30-min slot with a non-zero FEMS request"}
    acc = kwh_accuracy(per["delivered"].to_numpy(), per["req"].to_numpy())
    return {
        "kwh_accuracy_percent": acc.overall_percent,
        "kwh_accuracy_capped_percent": acc.overall_capped_percent,
        "fems_requested_kwh": acc.requested_kwh,
        "fems_delivered_kwh": acc.delivered_kwh,
        "kwh_accuracy_per_slot": [
            {
                "start": pd.Timestamp(t).isoformat(),
                "requested_kwh": float(r),
                "delivered_kwh": float(d),
                "percent": _plain(pc),
            }
            for t, r, d, pc in zip(
                per["start"], per["req"], per["delivered"], acc.per_slot_percent, strict=True
            )
        ],
    }


def reserve_kpis(
    scenario: Scenario,
    table: pd.DataFrame,
    p_kw: np.ndarray,
    p_base_kw: np.ndarray | None = None,
) -> dict[str, Any]:
    spec = _spec(scenario, ReserveSpec)
    if spec is None or col.RESERVE_COMMAND_KW not in table:
        return {}
    active = table[col.RESERVE_ACTIVE].to_numpy() > 0.5
    command_kw = table[col.RESERVE_COMMAND_KW].to_numpy()
    out = _in_band_kpis(
        scenario, table, table[col.RESERVE_BASELINE_KW].to_numpy() - p_kw, command_kw, active
    )
    out = {"reserve_product": spec.product, **out}
    if spec.baseline_kw is None:
        out["reserve_baseline"] = "forecast declared 1 h ahead"
    if p_base_kw is not None:
        # Against the true uncontrolled fleet (the baseline shadow, same trips and seed): what
        # the reduction was physically, whatever baseline was declared.
        true = _in_band_kpis(scenario, table, p_base_kw - p_kw, command_kw, active)
        for key in ("in_band_rate_per_slot_percent", "in_band_slots"):
            if key in true:
                out[key.replace("in_band_", "in_band_vs_uncontrolled_", 1)] = true[key]
        if "reserve_delivered_kwh" in true:
            out["reserve_delivered_vs_uncontrolled_kwh"] = true["reserve_delivered_kwh"]
    return out


def _in_band_kpis(
    scenario: Scenario,
    table: pd.DataFrame,
    delivered_kw: np.ndarray,
    command_kw: np.ndarray,
    active: np.ndarray,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, period_s in (("slot", SLOT_S), ("minute", 60)):
        if period_s % scenario.step:
            continue
        slot = wall_slot_index(table, scenario, period_s)
        full = _full_slots(slot, period_s // scenario.step, active)
        if full.size == 0:
            continue
        frame = pd.DataFrame(
            {
                "slot": slot,
                "delivered": delivered_kw,
                "command": command_kw,
                "time": table[col.TIME],
            }
        )
        per = (
            frame[frame["slot"].isin(full) & active]
            .groupby("slot")
            .agg(
                delivered=("delivered", "mean"),
                command=("command", "mean"),
                start=("time", "first"),
            )
        )
        rate = in_band_rate(per["delivered"].to_numpy(), per["command"].to_numpy())
        out[f"in_band_rate_per_{label}_percent"] = rate.rate_percent
        out[f"in_band_{label}s"] = rate.n_slots
        if label == "slot":
            out["in_band_per_slot"] = [
                {
                    "start": pd.Timestamp(t).isoformat(),
                    "commanded_kw": float(c),
                    "delivered_kw": float(d),
                    "in_band": bool(ok),
                }
                for t, c, d, ok in zip(
                    per["start"], per["command"], per["delivered"], rate.in_band, strict=True
                )
            ]
    if active.any():
        out["reserve_commanded_kwh"] = float(command_kw[active].sum() * scenario.step / 3600.0)
        out["reserve_delivered_kwh"] = float(delivered_kw[active].sum() * scenario.step / 3600.0)
    return out


def plan_accuracy_kpis(scenario: Scenario, table: pd.DataFrame) -> dict[str, Any]:
    if _spec(scenario, RegulationSpec) is None and _spec(scenario, FemsScheduleSpec) is None:
        return {}
    slot = wall_slot_index(table, scenario, SLOT_S)
    plugged = sum(table[col.fleet_plugged_count(n)].to_numpy(dtype=float) for n in scenario.fleets)
    per = (
        pd.DataFrame({"slot": slot, "plugged": plugged})
        .groupby("slot")["plugged"]
        .mean()
        .to_numpy()
    )
    return {
        "plan_accuracy_percent": plan_accuracy(per, np.full(per.size, float(scenario.ev_count)))
    }


def energy_kpis(
    scenario: Scenario, table: pd.DataFrame, p_kw: np.ndarray, p_base_kw: np.ndarray
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dt_h = scenario.step / 3600.0
    if col.SIGNAL_CO2_KG_PER_KWH in table:
        co2 = table[col.SIGNAL_CO2_KG_PER_KWH].to_numpy()
        for label, power in (("", p_kw), ("baseline_", p_base_kw)):
            t = energy_co2_totals(power, co2, scenario.step)
            out.update(
                {
                    f"{label}co2_charged_kg": t.co2_charged_kg,
                    f"{label}co2_displaced_kg": t.co2_displaced_kg,
                    f"{label}net_co2_kg": t.net_co2_kg,
                    f"{label}mean_charging_intensity_kg_per_kwh": _plain(
                        t.mean_charging_intensity_kg_per_kwh
                    ),
                }
            )
            if label == "" and t.discharged_kwh > 0:
                specs = list(scenario.fleets.values())
                round_trip = float(
                    np.mean([f.vehicle.eta_charge * f.vehicle.eta_discharge for f in specs])
                )
                c_discharge = t.co2_displaced_kg / t.discharged_kwh
                out.update(
                    mean_discharging_intensity_kg_per_kwh=c_discharge,
                    co2_round_trip_efficiency=round_trip,
                    co2_break_even_charge_kg_per_kwh=round_trip * c_discharge,
                )
    if col.SIGNAL_AREA_PV_SURPLUS_KW in table:
        without = float(table[col.SIGNAL_AREA_PV_SURPLUS_KW].sum() * dt_h)
        absorbed = (
            float(table[col.PV_ABSORBED_KW].sum() * dt_h) if col.PV_ABSORBED_KW in table else 0.0
        )
        out.update(
            pv_surplus_without_evs_kwh=without,
            pv_surplus_absorbed_kwh=absorbed,
            pv_surplus_with_evs_kwh=without - absorbed,
            area_pv_kwh=float(table[col.SIGNAL_AREA_PV_KW].sum() * dt_h),
            area_load_kwh=float(table[col.SIGNAL_AREA_LOAD_KW].sum() * dt_h),
        )
        out.update(area_kpis(scenario, table, p_kw))
    return out


def area_kpis(scenario: Scenario, table: pd.DataFrame, p_kw: np.ndarray) -> dict[str, Any]:
    """The area power balance with the EVs and without them (see the module docstring)."""
    local = (
        pd.to_datetime(table[col.TIME], utc=True)
        .dt.tz_convert(scenario.timezone)
        .dt.tz_localize(None)
    )
    month = local.dt.month.to_numpy()
    day = local.dt.normalize().to_numpy()
    load = table[col.SIGNAL_AREA_LOAD_KW].to_numpy()
    pv = table[col.SIGNAL_AREA_PV_KW].to_numpy()
    out: dict[str, Any] = {}
    co2 = (
        table[col.SIGNAL_CO2_KG_PER_KWH].to_numpy() if col.SIGNAL_CO2_KG_PER_KWH in table else None
    )
    for label, ev in (("", p_kw), ("without_evs_", np.zeros_like(p_kw))):
        b = area_balance(load, pv, ev, scenario.step, month, day, co2_kg_per_kwh=co2)
        out.update(
            {
                f"area_{label}import_kwh": b.import_kwh,
                f"area_{label}pv_surplus_kwh": b.surplus_kwh,
                f"area_{label}peak_import_kw": b.peak_import_kw,
                f"area_{label}primary_energy_gj": b.primary_energy_gj,
                f"area_{label}primary_energy_reduction_percent": _plain(
                    b.primary_energy_reduction_percent
                ),
                f"area_{label}surplus_days_by_month": {
                    str(m): n for m, n in sorted(b.surplus_days_by_month.items())
                },
            }
        )
        if co2 is not None:
            out[f"area_{label}co2_kg"] = b.co2_kg
    out["area_reference_primary_energy_gj"] = b.reference_primary_energy_gj
    out["area_days_by_month"] = {str(m): n for m, n in sorted(b.days_by_month.items())}
    return out


def service_kpis(
    scenario: Scenario, table: pd.DataFrame, p_kw: np.ndarray, p_base_kw: np.ndarray
) -> dict[str, Any]:
    """All service KPIs of a run (only those whose service or signal the scenario has)."""
    out: dict[str, Any] = {}
    for part in (
        frequency_kpis(scenario, table, p_kw),
        regulation_kpis(scenario, table, p_kw),
        fems_kpis(scenario, table, p_kw),
        reserve_kpis(scenario, table, p_kw, p_base_kw),
        plan_accuracy_kpis(scenario, table),
        energy_kpis(scenario, table, p_kw, p_base_kw),
    ):
        out.update(part)
    return out
