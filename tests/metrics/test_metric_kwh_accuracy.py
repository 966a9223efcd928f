"""kWh accuracy, in-band rate and plan accuracy with hand numbers."""

from __future__ import annotations

import numpy as np
import pytest

from twin.metrics.errors import MetricInputError
from twin.metrics.kwh_accuracy import in_band_rate, kwh_accuracy, plan_accuracy


def test_kwh_accuracy_mixed_signs_by_hand() -> None:
    result = kwh_accuracy(np.array([2.0, 4.0, -1.5, 0.3]), np.array([2.5, 4.0, -2.0, 0.0]))
    # In the requested direction: 2 + 4 + 1.5 = 7.5 of |2.5| + 4 + |-2| = 8.5 (the 0-request slot does not count).
    assert result.overall_percent == pytest.approx(7.5 / 8.5 * 100)
    assert result.overall_capped_percent == pytest.approx(7.5 / 8.5 * 100)
    np.testing.assert_allclose(result.per_slot_percent[:3], [80.0, 100.0, 75.0])
    assert np.isnan(result.per_slot_percent[3])


def test_kwh_accuracy_same_sign_is_ratio_of_sums() -> None:
    delivered = np.array([3.0, 1.0, 4.634])
    requested = np.array([2.0, 2.0, 6.0])
    result = kwh_accuracy(delivered, requested)
    assert result.overall_percent == pytest.approx(
        8.634 / 10 * 100
    )  # 86.34 %, as in the Toyota V2G demo
    # Capped: min(3, 2) + 1 + 4.634 = 7.634 of 10.
    assert result.overall_capped_percent == pytest.approx(76.34)


def test_kwh_accuracy_without_requests_raises() -> None:
    with pytest.raises(MetricInputError, match="no energy was requested"):
        kwh_accuracy(np.ones(3), np.zeros(3))


def test_in_band_rate_by_hand() -> None:
    commanded = np.array([100.0, 100.0, 100.0, 50.0, 0.0, 0.0])
    delivered = np.array([110.0, 89.9, 95.0, 55.0, 0.0, 0.5])
    result = in_band_rate(delivered, commanded)
    # 110 (edge, in), 89.9 (out by 0.1), 95 (in), 55 (edge, in), 0 on 0 (in), 0.5 on 0 (out).
    np.testing.assert_array_equal(result.in_band, [True, False, True, True, True, False])
    assert result.rate_percent == pytest.approx(4 / 6 * 100)
    assert result.n_slots == 6


def test_plan_accuracy_by_hand() -> None:
    # Slot 4 has one car beyond the plan: it does not count.
    assert plan_accuracy(np.array([3, 2, 3, 4]), np.array([3, 3, 3, 3])) == pytest.approx(
        11 / 12 * 100
    )
    with pytest.raises(MetricInputError, match="no vehicle"):
        plan_accuracy(np.array([1, 2]), np.array([0, 0]))
