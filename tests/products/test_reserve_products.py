"""Reserve product rules: baseline declaration and the settlement baseline, by hand."""

from __future__ import annotations

import numpy as np

from twin.products.reserve import declare_baseline_kw, settlement_baseline_kw


def test_baseline_declaration_and_settlement_by_hand() -> None:
    # Forecast every 30 s over one hour: 2 values per minute.
    forecast_kw = np.repeat(np.arange(60, dtype=float), 2) + np.tile([0.0, 1.0], 60)
    declared = declare_baseline_kw(forecast_kw, 30.0, "tertiary_1")
    np.testing.assert_allclose(declared, np.arange(60) + 0.5)  # mean of m and m + 1
    settled = settlement_baseline_kw(declared, "tertiary_1")
    # 30-min means: mean(0.5 .. 29.5) = 15.0, mean(30.5 .. 59.5) = 45.0.
    np.testing.assert_allclose(settled, [15.0, 45.0])
    declared_2 = declare_baseline_kw(np.full(6, 4.0), 1800.0, "tertiary_2")
    np.testing.assert_array_equal(settlement_baseline_kw(declared_2, "tertiary_2"), declared_2)
