"""kpis and formatting: which KPIs become cards, and how values read."""

from __future__ import annotations

import math

import numpy as np

from twin.dashboard import kpis
from twin.dashboard.formatting import format_kw, format_pct, format_value


def test_label_and_unit_from_the_key():
    assert kpis.label_unit("push_up_kwh_per_ev_day") == ("Push-up", "kWh/EV/day")
    assert kpis.label_unit("energy_charged_kwh") == ("Energy charged", "kWh")
    assert kpis.label_unit("nonconverged_steps") == ("Nonconverged", "steps")
    assert kpis.label_unit("pjm_score") == ("PJM score", "")
    assert kpis.card_label("min_bus_voltage_pu") == "Min bus voltage (pu)"


def test_headline_kpis_first_in_their_order_then_the_rest():
    values = {
        "energy_charged_kwh": 1.0,
        "push_down_kwh_per_ev_day": 2.0,
        "freq_violation_count": 0,
        "push_up_kwh_per_ev_day": 3.0,
        "per_slot": [1, 2],
        "pjm_error": "no regulation signal",
    }
    keys = [k for k, _ in kpis.ordered_kpis(values)]
    assert keys == [
        "push_up_kwh_per_ev_day",
        "push_down_kwh_per_ev_day",
        "freq_violation_count",
        "energy_charged_kwh",
    ]
    assert kpis.errors(values) == ["Pjm: not computed (no regulation signal)"]


def test_cards_fill_the_row_then_stop():
    values = {
        "push_up_kwh_per_ev_day": 3.0,
        "push_down_kwh_per_ev_day": 2.0,
        "peak_fleet_kw": 700.0,
        "max_line_loading_pct": 40.0,
        "min_bus_voltage_pu": 0.99,
        "max_trafo_loading_pct": 90.0,
        "energy_charged_kwh": 1.0,
    }
    cards = [k for k, _ in kpis.cards(values)]
    # two headline cards, then FILL ones in FILL order up to a full row of four
    assert cards == [
        "push_up_kwh_per_ev_day",
        "push_down_kwh_per_ev_day",
        "min_bus_voltage_pu",
        "max_trafo_loading_pct",
    ]
    assert kpis.cards({"energy_charged_kwh": 1.0}) == []


def test_cards_are_capped():
    values = {f"x_violation_{k}": k for k in range(12)}
    assert len(kpis.cards(values)) == kpis.MAX_CARDS


def test_kpi_table_has_one_row_per_kpi():
    frame = kpis.table([("peak_fleet_kw", 720.0), ("pjm_score", 0.91234)])
    assert frame.to_dict("records") == [
        {"KPI": "Peak fleet", "value": "720", "unit": "kW", "key": "peak_fleet_kw"},
        {"KPI": "PJM score", "value": "0.9123", "unit": "", "key": "pjm_score"},
    ]


def test_numbers_read_without_noise():
    assert format_value(-0.0) == "0"
    assert format_value(-1e-12) == "0"
    assert format_value(12345.6) == "12,346"
    assert format_value(3.29312) == "3.293"
    assert format_value(np.int64(1500)) == "1,500"
    assert format_value(np.bool_(True)) == "yes"
    assert format_value(math.nan) == "n/a" and format_value(None) == "n/a"
    assert format_kw(1234.56) == "1,234.6 kW" and format_kw(None) == "n/a"
    assert format_kw(math.inf) == "n/a"
    assert format_pct(98.07) == "98.1 %"
