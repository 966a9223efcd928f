"""The decimated history: bounded rows, evenly spaced over the whole run."""

from __future__ import annotations

import numpy as np

from twin.telemetry.history import DecimatedHistory


def test_full_history_halves_and_doubles_its_stride():
    h = DecimatedHistory(columns=1, capacity=4)
    for k in range(10):
        h.append([float(k)])
    # 0-3 fill it; at 4 keep 0, 2 (stride 2) and add 4; 6 fills it; at 8 keep 0, 4 (stride 4), add 8
    assert h.block()[:, 0].tolist() == [0.0, 4.0, 8.0]
    assert h.stride == 4 and h.count == 10


def test_rows_stay_whole_and_capacity_is_even_and_at_least_two():
    h = DecimatedHistory(columns=2, capacity=5)
    assert h.capacity == 4
    assert DecimatedHistory(columns=1, capacity=1).capacity == 2
    for k in range(6):
        h.append([float(k), 10.0 * k])
    np.testing.assert_array_equal(h.block(), [[0.0, 0.0], [2.0, 20.0], [4.0, 40.0]])


def test_a_history_under_capacity_keeps_every_row():
    h = DecimatedHistory(columns=1, capacity=480)
    for k in range(96):
        h.append([float(k)])
    assert h.block()[:, 0].tolist() == [float(k) for k in range(96)] and h.stride == 1
