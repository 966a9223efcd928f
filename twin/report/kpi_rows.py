"""Which KPIs of summary.json apply to a study, in which group, with which label and unit.

One list of rows serves the terminal table (`twin report`), the HTML page and `twin compare`.
A KPI is left out when it does not apply: push-up / push-down without the flexibility_windows
service (the reserve study's "negative push-up" is not a result, only the absence of windows),
a value that is missing or not finite, or an `<x>_error` entry (listed as a note instead).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Flexibility windows", ("push_",)),
    ("Frequency response", ("effective_droop", "droop_", "ufr_")),
    ("Regulation (PJM)", ("pjm_",)),
    ("FEMS schedule", ("kwh_accuracy", "fems_", "plan_accuracy")),
    ("Reserve", ("reserve_", "in_band_")),
    (
        "CO2 and PV",
        (
            "co2",
            "net_co2",
            "mean_charging",
            "baseline_co2",
            "baseline_net_co2",
            "baseline_mean",
            "pv_",
            "area_",
        ),
    ),
    ("Energy", ("energy_", "unmet_", "drive_", "peak_")),
    ("Grid", ("min_bus", "max_bus", "max_line", "max_trafo", "nonconverged", "grid_")),
)
"""(group, key prefixes) in the order the tables show them; the first match wins."""
OTHER = "Other"

LABELS: dict[str, tuple[str, str]] = {
    "push_up_kwh_per_ev_day": ("Push-up", "kWh/EV/day"),
    "push_down_kwh_per_ev_day": ("Push-down", "kWh/EV/day"),
    "push_up_mw_mean": ("Push-up, mean over days", "MW"),
    "push_up_mw_firm90": ("Push-up, firm on 9 days in 10", "MW"),
    "push_down_mw_mean": ("Push-down, mean over days", "MW"),
    "push_down_mw_firm90": ("Push-down, firm on 9 days in 10", "MW"),
    "unmet_departure_energy_kwh": ("Unmet departure energy", "kWh"),
    "energy_charged_kwh": ("Energy charged (grid in)", "kWh"),
    "energy_discharged_kwh": ("Energy discharged (grid out)", "kWh"),
    "energy_baseline_kwh": ("Energy of the uncontrolled baseline", "kWh"),
    "energy_driven_kwh": ("Energy driven", "kWh"),
    "drive_energy_unserved_kwh": ("Drive energy unserved", "kWh"),
    "peak_fleet_kw": ("Peak fleet power", "kW"),
    "peak_baseline_kw": ("Peak baseline power", "kW"),
    "min_bus_voltage_pu": ("Lowest bus voltage", "pu"),
    "max_bus_voltage_pu": ("Highest bus voltage", "pu"),
    "max_line_loading_pct": ("Highest line loading", "%"),
    "max_trafo_loading_pct": ("Highest transformer loading", "%"),
    "nonconverged_steps": ("Power flows not converged", "steps"),
    "effective_droop_percent": ("Effective droop", "%"),
    "droop_r2": ("Droop fit R^2", ""),
    "droop_slope_kw_per_hz": ("Droop slope", "kW/Hz"),
    "ufr_event_s": ("Under-frequency event at", "s"),
    "ufr_available_kw": ("Under-frequency: available power", "kW"),
    "ufr_target_kw": ("Under-frequency: 90 % target", "kW"),
    "ufr_time_to_90_s": ("Under-frequency: time to 90 %", "s"),
    "ufr_held_s": ("Under-frequency: held", "s"),
    "ufr_max_response_kw": ("Under-frequency: largest response", "kW"),
    "ufr_passed": ("Under-frequency: passed", ""),
    "ufr_window_s": ("Under-frequency: pre-disturbance window", "s"),
    "ufr_window_available_kw": ("Under-frequency: available (window)", "kW"),
    "ufr_window_baseline_kw": ("Under-frequency: power before (window mean)", "kW"),
    "ufr_window_time_to_90_s": ("Under-frequency: time to 90 % (window)", "s"),
    "ufr_window_held_s": ("Under-frequency: held (window)", "s"),
    "ufr_window_passed": ("Under-frequency: passed (window)", ""),
    "ufr_firm_kw": ("Under-frequency: held 10 s - 5 min 10 s", "kW"),
    "ufr_plugged_evs": ("Under-frequency: EVs plugged at the event", "EVs"),
    "ufr_registered_evs": ("Under-frequency: EVs registered", "EVs"),
    "pjm_score": ("PJM performance score", "0-1"),
    "pjm_correlation": ("PJM correlation", "0-1"),
    "pjm_delay": ("PJM delay score", "0-1"),
    "pjm_precision": ("PJM precision", "0-1"),
    "pjm_passed": ("PJM: passed (score >= 0.75)", ""),
    "pjm_hours_scored": ("PJM hours scored", "h"),
    "kwh_accuracy_percent": ("FEMS kWh accuracy", "%"),
    "kwh_accuracy_capped_percent": ("FEMS kWh accuracy, capped per slot", "%"),
    "fems_requested_kwh": ("FEMS requested", "kWh"),
    "fems_delivered_kwh": ("FEMS delivered", "kWh"),
    "plan_accuracy_percent": ("Plan accuracy (plugged / registered)", "%"),
    "reserve_product": ("Reserve product", ""),
    "in_band_rate_per_slot_percent": ("In band, per 30-min slot", "%"),
    "in_band_slots": ("30-min slots judged", "slots"),
    "in_band_rate_per_minute_percent": ("In band, per minute", "%"),
    "in_band_minutes": ("Minutes judged", "min"),
    "reserve_commanded_kwh": ("Reserve commanded", "kWh"),
    "reserve_delivered_kwh": ("Reserve delivered", "kWh"),
    "co2_charged_kg": ("CO2 of the energy charged", "kg"),
    "co2_displaced_kg": ("CO2 displaced by discharging", "kg"),
    "net_co2_kg": ("Net CO2 (charged - displaced)", "kg"),
    "mean_charging_intensity_kg_per_kwh": ("Mean intensity charged at", "kg/kWh"),
    "baseline_co2_charged_kg": ("Baseline: CO2 of the energy charged", "kg"),
    "baseline_co2_displaced_kg": ("Baseline: CO2 displaced", "kg"),
    "baseline_net_co2_kg": ("Baseline: net CO2", "kg"),
    "baseline_mean_charging_intensity_kg_per_kwh": (
        "Baseline: mean intensity charged at",
        "kg/kWh",
    ),
    "pv_surplus_without_evs_kwh": ("PV surplus without EVs", "kWh"),
    "pv_surplus_absorbed_kwh": ("PV surplus absorbed by the EVs", "kWh"),
    "pv_surplus_with_evs_kwh": ("PV surplus left with EVs", "kWh"),
    "area_pv_kwh": ("Area PV generation", "kWh"),
    "area_load_kwh": ("Area load", "kWh"),
}

# Longest suffix first: "_kwh_per_ev_day" must win over "_kwh".
UNIT_SUFFIXES = (
    ("_kwh_per_ev_day", "kWh/EV/day"),
    ("_kwh_per_ev", "kWh/EV"),
    ("_kg_per_kwh", "kg/kWh"),
    ("_kw_per_hz", "kW/Hz"),
    ("_kwh", "kWh"),
    ("_mwh", "MWh"),
    ("_kw", "kW"),
    ("_mw", "MW"),
    ("_kg", "kg"),
    ("_t", "t"),
    ("_pu", "pu"),
    ("_pct", "%"),
    ("_percent", "%"),
    ("_hz", "Hz"),
    ("_h", "h"),
    ("_s", "s"),
    ("_steps", "steps"),
)
ERROR_SUFFIX = "_error"
WINDOW_KPI_PREFIX = "push_"


@dataclass(frozen=True)
class KpiRow:
    group: str
    key: str
    label: str
    unit: str
    value: Any


def label_unit(key: str) -> tuple[str, str]:
    """A KPI's label and unit: from LABELS, else read off the key's unit suffix."""
    if key in LABELS:
        return LABELS[key]
    for suffix, unit in UNIT_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)].replace("_", " ").strip().capitalize(), unit
    return key.replace("_", " ").capitalize(), ""


def group_of(key: str) -> str:
    for group, prefixes in GROUPS:
        if any(key.startswith(p) for p in prefixes):
            return group
    return OTHER


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool | str):
        return False
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def applies(key: str, value: Any, has_windows: bool) -> bool:
    """Whether the KPI belongs in the study's table."""
    if key.endswith(ERROR_SUFFIX) or not _scalar(value) or is_missing(value):
        return False
    return has_windows or not key.startswith(WINDOW_KPI_PREFIX)


def kpi_rows(kpis: Mapping[str, Any], has_windows: bool) -> list[KpiRow]:
    """The scalar KPIs that apply, grouped (GROUPS order, the summary's order within a group)."""
    order = {g: i for i, (g, _) in enumerate(GROUPS)}
    rows = [
        KpiRow(group_of(k), k, *label_unit(k), v)
        for k, v in kpis.items()
        if applies(k, v, has_windows)
    ]
    return sorted(rows, key=lambda r: order.get(r.group, len(order)))


def kpi_errors(kpis: Mapping[str, Any]) -> list[str]:
    """One line per KPI that could not be computed (`<key>_error`)."""
    return [
        f"{label_unit(k.removesuffix(ERROR_SUFFIX))[0]}: not computed ({v})"
        for k, v in kpis.items()
        if k.endswith(ERROR_SUFFIX)
    ]


PER_FLEET_COLUMNS = (
    ("ev_count", "EVs", ""),
    ("push_up_kwh_per_ev_day", "push-up", "kWh/EV/day"),
    ("push_down_kwh_per_ev_day", "push-down", "kWh/EV/day"),
    ("energy_charged_kwh", "charged", "kWh"),
    ("energy_discharged_kwh", "discharged", "kWh"),
    ("soc_min", "lowest SOC", "%"),
)


def per_fleet_columns(
    per_fleet: Mapping[str, Mapping[str, Any]], has_windows: bool
) -> list[tuple[str, str, str]]:
    """The per-fleet table's columns (key, header, unit) that some fleet has and that apply."""
    present = {k for v in per_fleet.values() for k in v}
    return [
        c
        for c in PER_FLEET_COLUMNS
        if c[0] in present and (has_windows or not c[0].startswith(WINDOW_KPI_PREFIX))
    ]


def per_fleet_value(key: str, value: Any) -> Any:
    """soc_min is stored 0..1; the table shows percent."""
    if key == "soc_min" and not is_missing(value):
        return 100.0 * float(value)
    return value


def format_value(value: Any, digits: int = 4) -> str:
    """4 significant digits, thousands separators, yes/no, no "-0", "n/a" for what is missing."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if is_missing(value):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    v = float(value) + 0.0
    if abs(v) < 1e-9:
        v = 0.0
    return f"{v:,.0f}" if abs(v) >= 10**digits else f"{v:,.{digits}g}"


VIOLATION_ROWS = (
    ("trafo_overload_steps", "Transformer overload", "steps"),
    ("line_overload_steps", "Line overload", "steps"),
    ("voltage_band_steps", "Voltage outside its band", "steps"),
    ("max_trafo_loading_pct", "Highest transformer loading", "%"),
    ("max_line_loading_pct", "Highest line loading", "%"),
    ("min_vm_pu", "Lowest bus voltage", "pu"),
    ("max_vm_pu", "Highest bus voltage", "pu"),
)


def violation_rows(
    violations: Mapping[str, Any],
) -> list[tuple[str, str, Any, Any]]:
    """(label, unit, controlled, baseline) for summary.json's `violations` block; element-hours
    per kind become one row each."""
    ctrl = violations.get("controlled") or {}
    base = violations.get("baseline") or {}
    rows: list[tuple[str, str, Any, Any]] = []
    for key, label, unit in VIOLATION_ROWS:
        if key in ctrl or key in base:
            rows.append((label, unit, ctrl.get(key), base.get(key)))
    kinds: Iterable[str] = dict.fromkeys(
        [*(ctrl.get("element_hours") or {}), *(base.get("element_hours") or {})]
    )
    for kind in kinds:
        rows.append(
            (
                f"Element-hours in violation: {kind.replace('_', ' ')}",
                "h",
                (ctrl.get("element_hours") or {}).get(kind),
                (base.get("element_hours") or {}).get(kind),
            )
        )
    return rows


def worst_rows(violations: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(grid, element, how far beyond its limit, at) for each kind's worst element of the
    controlled and the baseline grid (`violations.<grid>.worst.<kind>`)."""
    rows: list[tuple[str, str, str, str, str]] = []
    for which in ("controlled", "baseline"):
        worst = (violations.get(which) or {}).get("worst") or {}
        if not isinstance(worst, Mapping):
            continue
        if "element" in worst:  # a single {kind, element, value, time}
            worst = {str(worst.get("kind", "element")): worst}
        for kind, w in worst.items():
            if not isinstance(w, Mapping):
                continue
            element = f"{str(kind).replace('_', ' ')} {w.get('element', '?')}"
            if w.get("name"):
                element += f" ({w['name']})"
            value = w.get("excess", w.get("value"))
            unit = str(w.get("excess_unit", ""))
            rows.append(
                (
                    which,
                    element,
                    f"{format_value(value)} {unit}".strip(),
                    str(w.get("time", "")),
                    "",
                )
            )
    return [r[:4] + ("",) for r in rows]
