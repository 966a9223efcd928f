"""Tertiary reserve (1)/(2) commands (Toyota V2G demo, "down-DR").

The products' timing rules, baseline declaration and settlement baseline are product rules:
twin/products/reserve.py (the table of tertiary (1), (2) and the 2025 revision of (2)).

A command is a reduction of consumption (kW) versus the baseline, constant over each command
interval: target consumption = baseline - reduction. The command array of
`reserve_command_kw` is the reduction that must be delivered at each step (0 outside
blocks); the operator sends it `response_time_s` ahead, so an EMS may look that far ahead.

Block configuration (scenario): {at, reduction_kw} with `at` in seconds from start, a
duration string or an ISO time, and `reduction_kw` one number (whole block) or one number per
command interval; or {at, max_reduction_kw} to draw a seeded random level per interval in
[0, max_reduction_kw].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.products.errors import ProductRuleError
from twin.products.reserve import ReserveProduct
from twin.products.reserve import reserve_product as _product_rules
from twin.signals.errors import SignalConfigError
from twin.signals.timebase import check_timebase, offsets_s, seconds_from_start, stream_rng

_TIME_EPS_S = 1e-9


@dataclass(frozen=True)
class ReserveBlock:
    """One activated block.

    Attributes:
        start_s: Block start, s from the signal start.
        product: Its product rules.
        reduction_kw: Commanded reduction per command interval, kW.
    """

    start_s: float
    product: ReserveProduct
    reduction_kw: np.ndarray

    @property
    def end_s(self) -> float:
        return self.start_s + self.product.block_length_s

    @property
    def baseline_due_s(self) -> float:
        """Time by which the baseline must be declared, s from the signal start."""
        return self.start_s - self.product.baseline_lead_s

    def report_times_s(self) -> np.ndarray:
        """Report instants from `report_lead_s` before the block to its end, s from the signal start."""
        first = self.start_s - self.product.report_lead_s
        n = int(round((self.end_s - first) / self.product.report_interval_s))
        return first + np.arange(1, n + 1) * self.product.report_interval_s


def parse_reserve_blocks(
    config: Sequence[Mapping[str, Any]], start: dt.datetime, product: ReserveProduct, seed: int
) -> list[ReserveBlock]:
    """Turn scenario block mappings into ReserveBlock objects.

    Raises:
        SignalConfigError: Unknown key, missing at/reduction, wrong number of levels,
            negative reduction, or overlapping blocks.
    """
    rng = stream_rng(seed, "reserve")
    n_commands = int(round(product.block_length_s / product.command_interval_s))
    blocks: list[ReserveBlock] = []
    for i, raw in enumerate(config):
        where = f"blocks[{i}]"
        if not isinstance(raw, Mapping):
            raise SignalConfigError(
                where, "each block must be a mapping such as {at: '13:00', reduction_kw: 10}"
            )
        unknown = set(raw) - {"at", "reduction_kw", "max_reduction_kw"}
        if unknown:
            raise SignalConfigError(
                where,
                f"unknown key(s) {sorted(unknown)}; allowed: at, reduction_kw, max_reduction_kw",
            )
        if "at" not in raw or ("reduction_kw" in raw) == ("max_reduction_kw" in raw):
            raise SignalConfigError(
                where, "needs 'at' and exactly one of 'reduction_kw' or 'max_reduction_kw'"
            )
        try:
            if "reduction_kw" in raw:
                levels = np.asarray(raw["reduction_kw"], dtype=float).ravel()
                if levels.size == 1:
                    levels = np.full(n_commands, levels[0])
            else:
                levels = rng.uniform(0.0, float(raw["max_reduction_kw"]), n_commands)
        except (TypeError, ValueError):
            raise SignalConfigError(where, "reduction values must be numbers (kW)") from None
        if levels.size != n_commands:
            raise SignalConfigError(
                f"{where}.reduction_kw",
                f"{product.name} has {n_commands} command intervals per block, got {levels.size} values",
            )
        if np.any(levels < 0) or not np.all(np.isfinite(levels)):
            raise SignalConfigError(where, "a reduction must be a finite number >= 0 kW")
        block = ReserveBlock(seconds_from_start(start, raw["at"], f"{where}.at"), product, levels)
        if blocks and block.start_s < blocks[-1].end_s:
            raise SignalConfigError(where, "blocks must be in time order and must not overlap")
        blocks.append(block)
    return blocks


def reserve_command_kw(
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    seed: int,
    product: str = "tertiary_1",
    blocks: Sequence[Mapping[str, Any]] = (),
) -> np.ndarray:
    """Commanded consumption reduction per step, kW (0 outside blocks).

    Args:
        start: Time of step 0 (tz-aware).
        step_s: Step length, s.
        n_steps: Number of steps.
        seed: Random seed (used by blocks with max_reduction_kw).
        product: "tertiary_1", "tertiary_2" or "tertiary_2_2025".
        blocks: Block mappings as in the module doc.

    Returns:
        Reduction per step, kW (float64, length n_steps).

    Raises:
        SignalConfigError: Bad time base, product or blocks.
    """
    check_timebase(start, step_s, n_steps)
    rules = reserve_product(product)
    t_s = offsets_s(step_s, n_steps)
    command_kw = np.zeros(t_s.size)
    for block in parse_reserve_blocks(blocks, start, rules, seed):
        inside = (t_s >= block.start_s - _TIME_EPS_S) & (t_s < block.end_s - _TIME_EPS_S)
        interval = np.floor(
            (t_s[inside] - block.start_s) / rules.command_interval_s + _TIME_EPS_S
        ).astype(int)
        command_kw[inside] = block.reduction_kw[interval]
    return command_kw


def reserve_product(name: str) -> ReserveProduct:
    """The product's rules; a SignalConfigError (field `product`) lists the known ones."""
    try:
        return _product_rules(name)
    except ProductRuleError as err:
        raise SignalConfigError(err.field, err.problem) from None
