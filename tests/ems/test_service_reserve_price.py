"""Tertiary reserve and price response with plain arrays."""

import numpy as np
import pytest

from tests.ems.ems_context import make_ctx, plan_at
from twin.ems.services.price_response import PriceResponse
from twin.ems.services.reserve import TertiaryReserve

LO, HI = [-5.9, -2.0, 0.0], [5.9, 5.9, 3.0]


def test_reserve_declared_baseline_minus_command():
    service = TertiaryReserve("tertiary_1", baseline_kw=1.5)
    plan = service.apply(make_ctx(LO, HI, signals={"reserve_reduction_kw": 4.0}), plan_at(6.0, 3))
    assert plan.target_kw == pytest.approx(1.5 - 4.0)
    assert plan.records == {
        "reserve_baseline_kw": 1.5,
        "reserve_command_kw": 4.0,
        "reserve_target_kw": -2.5,
        "reserve_active": 1.0,
    }


def test_price_response_three_regimes():
    service = PriceResponse(charge_below=0.2, discharge_above=0.4)
    cheap = service.apply(make_ctx(LO, HI, signals={"price_per_kwh": 0.18}), plan_at(0.0, 3))
    assert cheap.target_kw == pytest.approx(14.8)
    dear = service.apply(make_ctx(LO, HI, signals={"price_per_kwh": 0.45}), plan_at(0.0, 3))
    assert dear.target_kw == pytest.approx(-7.9)
    mid = service.apply(
        make_ctx([-1.0, 2.0, 0.5], HI, signals={"price_per_kwh": 0.3}), plan_at(0.0, 3)
    )
    assert np.allclose(mid.preferred_kw, [0.0, 2.0, 0.5]) and mid.target_kw == pytest.approx(2.5)
