"""Reserve products: timing rules, baseline declaration and settlement baseline (Toyota V2G demo: table).

| product          | response | command interval | block | baseline step | settlement baseline  | report   | report from |
|------------------|----------|------------------|-------|---------------|----------------------|----------|-------------|
| tertiary_1       | 15 min   | 1 min            | 3 h   | 1 min         | 30-min mean of decl. | 1 min    | 15 min before |
| tertiary_2       | 45 min   | 30 min           | 3 h   | 30 min        | the declared values  | 30 min   | 60 min before |
| tertiary_2_2025  | 60 min   | 30 min           | 30 min| 30 min        | the declared values  | 30 min   | 60 min before |

The baseline is a forecast of the resource's consumption, declared 1 h before the block at
the product's baseline step: declared_j = mean of the forecast over baseline interval j.
The settlement baseline is the 30-min mean of the declared values (tertiary (1)) or the
declared values themselves (tertiary (2)). Both the reserve signal (twin.signals.reserve) and
the reserve service (twin.ems.services.reserve) read these rules from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.products.errors import ProductRuleError


@dataclass(frozen=True)
class ReserveProduct:
    """Timing rules of one reserve product (all in seconds).

    Attributes:
        name: Product key.
        response_time_s: Time from command to delivery.
        command_interval_s: Commands change at this interval.
        block_length_s: Length of one block.
        baseline_step_s: Granularity of the declared baseline.
        settlement_average_s: Settlement averages the declared baseline over this (None = as declared).
        report_interval_s: Interval of the delivery reports.
        report_lead_s: Reports start this long before the block.
        baseline_lead_s: The baseline is declared this long before the block.
    """

    name: str
    response_time_s: float
    command_interval_s: float
    block_length_s: float
    baseline_step_s: float
    settlement_average_s: float | None
    report_interval_s: float
    report_lead_s: float
    baseline_lead_s: float = 3600.0


RESERVE_PRODUCTS: dict[str, ReserveProduct] = {
    "tertiary_1": ReserveProduct("tertiary_1", 900.0, 60.0, 10800.0, 60.0, 1800.0, 60.0, 900.0),
    "tertiary_2": ReserveProduct(
        "tertiary_2", 2700.0, 1800.0, 10800.0, 1800.0, None, 1800.0, 3600.0
    ),
    "tertiary_2_2025": ReserveProduct(
        "tertiary_2_2025", 3600.0, 1800.0, 1800.0, 1800.0, None, 1800.0, 3600.0
    ),
}


def reserve_product(name: str) -> ReserveProduct:
    """Look a product up by key; ProductRuleError lists the known ones."""
    try:
        return RESERVE_PRODUCTS[name]
    except (KeyError, TypeError):
        raise ProductRuleError(
            "product", f"'{name}' is unknown; use one of {sorted(RESERVE_PRODUCTS)}"
        ) from None


def _block_means(
    values: np.ndarray, values_step_s: float, period_s: float, field: str
) -> np.ndarray:
    ratio = period_s / values_step_s
    per = int(round(ratio))
    if per < 1 or abs(ratio - per) > 1e-9:
        raise ProductRuleError(
            field, f"{period_s} s is not a whole number of {values_step_s} s steps"
        )
    if values.size % per:
        raise ProductRuleError(
            field, f"{values.size} values do not fill whole {period_s:.0f} s intervals"
        )
    return values.reshape(-1, per).mean(axis=1)


def declare_baseline_kw(
    forecast_kw: np.ndarray, forecast_step_s: float, product: str
) -> np.ndarray:
    """Baseline to declare for a block: the forecast averaged over each baseline interval.

    Args:
        forecast_kw: Forecast consumption over the block, one value per forecast step, kW.
        forecast_step_s: Step of the forecast, s (must divide the product's baseline step).
        product: Product key.

    Returns:
        Declared baseline, one value per baseline step, kW.
    """
    rules = reserve_product(product)
    return _block_means(
        np.asarray(forecast_kw, dtype=float).ravel(),
        forecast_step_s,
        rules.baseline_step_s,
        "forecast_step_s",
    )


def settlement_baseline_kw(declared_kw: np.ndarray, product: str) -> np.ndarray:
    """Baseline used for settlement: 30-min mean of the declared values (tertiary (1)) or as declared."""
    rules = reserve_product(product)
    declared_kw = np.asarray(declared_kw, dtype=float).ravel()
    if rules.settlement_average_s is None:
        return declared_kw.copy()
    return _block_means(
        declared_kw, rules.baseline_step_s, rules.settlement_average_s, "declared_kw"
    )
