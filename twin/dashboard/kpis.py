"""Which KPIs become cards, in which order, and how their keys read as label and unit."""

from __future__ import annotations

from typing import Any

import pandas as pd

from twin.dashboard.formatting import format_value

# Longest suffix first: "_kwh_per_ev_day" must win over "_kwh".
UNITS = (
    ("_kwh_per_ev_day", "kWh/EV/day"),
    ("_kwh_per_ev", "kWh/EV"),
    ("_kwh", "kWh"),
    ("_kw", "kW"),
    ("_mw", "MW"),
    ("_pu", "pu"),
    ("_pct", "%"),
    ("_percent", "%"),
    ("_hz", "Hz"),
    ("_s", "s"),
    ("_steps", "steps"),
)
LABELS = {
    "push_up_kwh_per_ev_day": "Push-up",
    "push_down_kwh_per_ev_day": "Push-down",
    "push_up_kwh_per_ev": "Push-up so far",
    "push_down_kwh_per_ev": "Push-down so far",
    "pjm_score": "PJM score",
    "kwh_accuracy_percent": "kWh accuracy",
    "effective_droop_percent": "Droop",
    "ufr_time_to_90_s": "Under-freq.: to 90 %",
    "ufr_held_s": "Under-freq.: held",
    "plan_accuracy_percent": "Plan accuracy",
}
HEADLINE = (
    "push_up_kwh_per_ev_day",
    "push_down_kwh_per_ev_day",
    "push_up_kwh_per_ev",
    "push_down_kwh_per_ev",
    "pjm_score",
    "kwh_accuracy_percent",
    "effective_droop_percent",
    "ufr_time_to_90_s",
    "ufr_held_s",
    "in_band_rate*",
    "*violation*",
)
"""KPIs the study is judged by (Kashiwa EV project, Toyota V2G demo): cards when present, in this order; a
pattern ending in "*" matches a prefix, one in "*...*" a substring."""
FILL = (
    "min_bus_voltage_pu",
    "max_trafo_loading_pct",
    "max_line_loading_pct",
    "unmet_departure_energy_kwh",
    "peak_fleet_kw",
)
"""Cards that fill up a row the headline KPIs leave part empty."""
CARDS_PER_ROW = 4  # wide enough for "Push-down (kWh/EV/day)" on a 1366 px laptop screen
MAX_CARDS = 8
ERROR_SUFFIX = "_error"


def label_unit(key: str) -> tuple[str, str]:
    """ "push_up_kwh_per_ev_day" -> ("Push-up", "kWh/EV/day"); unknown keys by their suffix."""
    unit = ""
    stem = key
    for suffix, name in UNITS:
        if key.endswith(suffix):
            unit, stem = name, key[: -len(suffix)]
            break
    label = LABELS.get(key) or stem.replace("_", " ").strip().capitalize()
    return label, unit


def card_label(key: str) -> str:
    """The card's title: the label with its unit in brackets (the value has no room for it)."""
    label, unit = label_unit(key)
    return f"{label} ({unit})" if unit else label


def _matches(key: str, pattern: str) -> bool:
    if pattern.startswith("*") and pattern.endswith("*"):
        return pattern.strip("*") in key
    if pattern.endswith("*"):
        return key.startswith(pattern[:-1])
    return key == pattern


def headline_rank(key: str) -> int | None:
    """Position of the first HEADLINE pattern the key matches, None if it is no headline KPI."""
    return next((i for i, p in enumerate(HEADLINE) if _matches(key, p)), None)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def ordered_kpis(kpis: dict[str, Any]) -> list[tuple[str, Any]]:
    """Scalar KPIs, headline ones first (in HEADLINE order); errors and per-slot lists left out."""
    scalars = [(k, v) for k, v in kpis.items() if _is_scalar(v) and not k.endswith(ERROR_SUFFIX)]

    def rank(item: tuple[str, Any]) -> int:
        r = headline_rank(item[0])
        return len(HEADLINE) if r is None else r

    return sorted(scalars, key=rank)  # stable: the summary's order within a rank


def cards(kpis: dict[str, Any]) -> list[tuple[str, Any]]:
    """The KPIs shown as cards: headline ones, then FILL ones until a row is full, at most
    MAX_CARDS."""
    chosen = [kv for kv in ordered_kpis(kpis) if headline_rank(kv[0]) is not None]
    for key in FILL:
        if chosen and len(chosen) % CARDS_PER_ROW == 0:
            break
        if key in kpis and _is_scalar(kpis[key]) and (key, kpis[key]) not in chosen:
            chosen.append((key, kpis[key]))
    return chosen[:MAX_CARDS]


def errors(kpis: dict[str, Any]) -> list[str]:
    """One message per KPI that could not be computed (`<key>_error` entries)."""
    return [
        f"{label_unit(k.removesuffix(ERROR_SUFFIX))[0]}: not computed ({v})"
        for k, v in kpis.items()
        if k.endswith(ERROR_SUFFIX)
    ]


def table(items: list[tuple[str, Any]]) -> pd.DataFrame:
    """Every scalar KPI as a row: label, formatted value, unit and the summary.json key."""
    return pd.DataFrame(
        [
            {"KPI": label_unit(k)[0], "value": format_value(v), "unit": label_unit(k)[1], "key": k}
            for k, v in items
        ],
        columns=["KPI", "value", "unit", "key"],
    )
