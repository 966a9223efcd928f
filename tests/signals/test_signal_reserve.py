"""Tertiary reserve commands, baseline declaration and settlement baseline with hand numbers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from twin.products.reserve import RESERVE_PRODUCTS
from twin.signals.errors import SignalConfigError
from twin.signals.reserve import parse_reserve_blocks, reserve_command_kw

START = dt.datetime(2024, 6, 3, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_tertiary_1_minute_commands() -> None:
    levels = np.arange(180, dtype=float)  # one per minute of the 3-h block
    cmd = reserve_command_kw(
        START,
        30.0,
        4 * 120 + 10,
        seed=0,
        product="tertiary_1",
        blocks=[{"at": "1h", "reduction_kw": levels.tolist()}],
    )
    # 30-s steps: the block covers indices 120 .. 479, two steps per command.
    np.testing.assert_array_equal(cmd[:120], 0.0)
    np.testing.assert_array_equal(cmd[120:480], np.repeat(levels, 2))
    np.testing.assert_array_equal(cmd[480:], 0.0)


def test_tertiary_2_constant_block_and_wrong_count() -> None:
    cmd = reserve_command_kw(
        START, 60.0, 300, seed=0, product="tertiary_2", blocks=[{"at": 0, "reduction_kw": 12.5}]
    )
    np.testing.assert_array_equal(cmd[:180], 12.5)
    np.testing.assert_array_equal(cmd[180:], 0.0)
    with pytest.raises(SignalConfigError, match="6 command intervals"):
        reserve_command_kw(
            START,
            60.0,
            10,
            seed=0,
            product="tertiary_2",
            blocks=[{"at": 0, "reduction_kw": [1, 2]}],
        )


def test_random_levels_are_seeded_and_bounded() -> None:
    blocks = [{"at": 0, "max_reduction_kw": 9.0}]
    a = reserve_command_kw(START, 60.0, 180, seed=1, product="tertiary_1", blocks=blocks)
    b = reserve_command_kw(START, 60.0, 180, seed=1, product="tertiary_1", blocks=blocks)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 9.0 and np.unique(a).size > 100


def test_overlap_and_unknown_product_raise() -> None:
    with pytest.raises(SignalConfigError, match="overlap"):
        reserve_command_kw(
            START,
            60.0,
            10,
            seed=0,
            blocks=[{"at": 0, "reduction_kw": 1}, {"at": "2h", "reduction_kw": 1}],
        )
    with pytest.raises(SignalConfigError, match="tertiary_1"):
        reserve_command_kw(START, 60.0, 10, seed=0, product="tertiary_9")


def test_report_times_and_baseline_due() -> None:
    block_1 = parse_reserve_blocks(
        [{"at": 7200, "reduction_kw": 1}], START, RESERVE_PRODUCTS["tertiary_1"], 0
    )[0]
    reports = block_1.report_times_s()
    # From 15 min before the block to its end, every minute: (900 + 10800) / 60 = 195 reports.
    assert reports.size == 195 and reports[0] == 7200 - 900 + 60 and reports[-1] == 7200 + 10800
    assert block_1.baseline_due_s == 3600.0
    block_2 = parse_reserve_blocks(
        [{"at": 7200, "reduction_kw": 1}], START, RESERVE_PRODUCTS["tertiary_2"], 0
    )[0]
    assert block_2.report_times_s().size == (3600 + 10800) // 1800
