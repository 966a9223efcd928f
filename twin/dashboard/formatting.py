"""How numbers read on the page: no "-0", no float noise, "n/a" for what is missing."""

from __future__ import annotations

from typing import Any

import numpy as np


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return not np.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def format_value(value: Any, digits: int = 4) -> str:
    """A KPI or table value: `digits` significant digits, thousands separators, yes/no."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    value = float(value) + 0.0  # + 0.0 turns -0.0 into 0.0
    if abs(value) < 1e-9:  # floating-point noise around zero
        value = 0.0
    return f"{value:,.0f}" if abs(value) >= 10**digits else f"{value:,.{digits}g}"


def format_kw(value: Any) -> str:
    """Power with one decimal; the browser tests parse this format from the status line."""
    return "n/a" if _missing(value) else f"{float(value):,.1f} kW"


def format_pct(value: Any) -> str:
    return "n/a" if _missing(value) else f"{float(value):.1f} %"
