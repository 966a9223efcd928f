"""The tables the page shows (worst grid elements, HIL chargers, link events): pure pandas."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from twin.dashboard.formatting import format_value
from twin.dashboard.network import Topology
from twin.dashboard.view import GridNow
from twin.report.kpi_rows import (  # the report's rows (no matplotlib import)
    violation_rows,
    worst_rows,
)

WORST_COUNT = 5
EVENT_COUNT = 5
EVENT_FIELDS = ("sim_time_s", "charger_id", "kind", "detail")


def _names(table: pd.DataFrame | None, ids: pd.Index) -> list[str]:
    if table is None:
        return [""] * len(ids)
    return [str(table["name"].get(i, "")) for i in ids]


def worst_elements(grid_now: GridNow, topo: Topology | None) -> dict[str, pd.DataFrame]:
    """Highest and lowest bus voltages and most loaded lines and transformers now, by title
    (names from the topology when it is built, blank until then). Both voltage extremes: the
    evening export of V2H pushes LV buses over their band while nothing is under it."""
    out: dict[str, pd.DataFrame] = {}
    vm = grid_now.get("vm_pu")
    if vm is not None and vm.notna().any():
        for title, ascending in (("Highest bus voltages", False), ("Lowest bus voltages", True)):
            chosen = vm.dropna().sort_values(ascending=ascending).head(WORST_COUNT)
            out[title] = pd.DataFrame(
                {
                    "bus": chosen.index,
                    "name": _names(topo.bus if topo else None, chosen.index),
                    "voltage (pu)": [f"{v:.4f}" for v in chosen],
                }
            )
    for quantity, element, title, elements in (
        ("line_loading_pct", "line", "Most loaded lines", topo.line if topo else None),
        ("trafo_loading_pct", "trafo", "Most loaded transformers", topo.trafo if topo else None),
    ):
        values = grid_now.get(quantity)
        if values is not None and values.notna().any():
            high = values.dropna().sort_values(ascending=False).head(WORST_COUNT)
            out[title] = pd.DataFrame(
                {
                    element: high.index,
                    "name": _names(elements, high.index),
                    "loading (%)": [f"{v:.1f}" for v in high],
                }
            )
    return out


def _link(charger: dict[str, Any]) -> str:
    """Live telemetry says the link status in words; results have only an online flag."""
    if charger.get("status"):
        return str(charger["status"])
    online = charger.get("online")
    if online is None or (isinstance(online, float) and math.isnan(online)):
        return "?"  # a NaN flag (no reading recorded) is not "online" though NaN is truthy
    return "online" if online else "offline"


def hil_chargers(hil: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per physical charger, sorted by id."""
    return pd.DataFrame(
        [
            {
                "charger": cid,
                "link": _link(c),
                "power (kW)": format_value(c.get("power_kw"), 3),
                "state": c.get("charger_status") or "",
                "last message (s ago)": format_value(c.get("last_message_age_s"), 2),
            }
            for cid, c in sorted(hil.items())
        ]
    )


def last_events(events: list[dict[str, Any]]) -> pd.DataFrame:
    """The newest link events (hil_events.json), the fields a reader needs."""
    tail = pd.DataFrame(events[-EVENT_COUNT:])
    keep = [c for c in EVENT_FIELDS if c in tail]
    return tail[keep].rename(columns={"sim_time_s": "sim time (s)"})


def violations(block: dict[str, Any]) -> pd.DataFrame:
    """summary.json's `violations`: controlled vs the baseline (uncontrolled) grid, one row per
    measure, with the difference (the same rows as the report's table)."""
    rows = []
    for label, unit, controlled, baseline in violation_rows(block):
        diff = (
            controlled - baseline
            if isinstance(controlled, int | float) and isinstance(baseline, int | float)
            else None
        )
        rows.append(
            {
                "": label,
                "unit": unit,
                "controlled": format_value(controlled),
                "baseline (uncontrolled)": format_value(baseline),
                "controlled - baseline": format_value(diff),
            }
        )
    return pd.DataFrame(rows)


def violation_worst(block: dict[str, Any]) -> pd.DataFrame:
    """Each kind's worst element of the controlled and the baseline grid (summary.json's
    `violations.<grid>.worst`, the report's rows); empty when nothing was over a limit."""
    return pd.DataFrame(
        [
            {"grid": grid, "element": element, "beyond its limit by": excess, "at": at}
            for grid, element, excess, at, _ in worst_rows(block)
        ],
        columns=["grid", "element", "beyond its limit by", "at"],
    )


def violations_coverage(block: dict[str, Any], step_count: int) -> str:
    """What a live tally covers so far: it is counted a block of steps at a time, so it may lag
    the step shown (twin.telemetry.violations_so_far)."""
    steps = (block.get("controlled") or {}).get("steps")
    if not isinstance(steps, int):
        return "so far (steps counted not known)"
    if steps >= step_count:
        return f"all {step_count} steps of the run"
    return f"so far: the first {steps} of {step_count} steps (counted a block of steps at a time)"


_SETTLEMENT_FIELDS = (
    ("commanded_kwh", "commanded (kWh)"),
    ("delivered_kwh", "delivered (kWh)"),
    ("payment", "payment"),
    ("penalty", "penalty"),
    ("net", "net"),
    ("bill", "bill"),
    ("bill_without_service", "bill without service"),
)


def settlement(ledger: dict[str, Any]) -> pd.DataFrame:
    """summary.json's `ledger.totals`: one row per product (or `customer_bill:<fleet>`), money in
    the ledger's currency (the same totals as the report's Settlement section)."""
    totals = ledger.get("totals") or {}
    currency = str(ledger.get("currency", ""))
    rows = []
    for name, values in totals.items():
        if not isinstance(values, dict):
            continue
        row: dict[str, str] = {"product / party": str(name)}
        for key, label in _SETTLEMENT_FIELDS:
            if key in values:
                unit = "" if key.endswith("_kwh") else f" ({currency})"
                row[label + unit] = format_value(values[key])
        rows.append(row)
    return pd.DataFrame(rows)
