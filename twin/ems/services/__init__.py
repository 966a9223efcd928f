"""EMS services: one class each; `build_service` turns a scenario spec into an instance."""

from __future__ import annotations

from collections.abc import Callable

from twin.ems.services.base import Service
from twin.ems.services.co2_control import Co2LevelControl
from twin.ems.services.fems_schedule import FemsScheduleTracking
from twin.ems.services.flexibility_windows import FlexibilityWindows
from twin.ems.services.frequency_response import FrequencyResponse
from twin.ems.services.price_response import PriceResponse
from twin.ems.services.pv_surplus import PvSurplusCharging
from twin.ems.services.regulation import RegulationTracking
from twin.ems.services.reserve import TertiaryReserve
from twin.ems.services.smart_charging import SmartCharging
from twin.ems.services.specs import (
    Co2ControlSpec,
    FemsScheduleSpec,
    FlexibilityWindowsSpec,
    FrequencyResponseSpec,
    PriceResponseSpec,
    PvSurplusSpec,
    RegulationSpec,
    ReserveSpec,
    SmartChargingSpec,
    UncontrolledSpec,
)
from twin.ems.services.uncontrolled import Uncontrolled

_BUILDERS: dict[type, Callable[..., Service]] = {
    UncontrolledSpec: lambda s: Uncontrolled(order=s.order),
    SmartChargingSpec: lambda s: SmartCharging(s.cheap_price_quantile, order=s.order),
    FlexibilityWindowsSpec: lambda s: FlexibilityWindows(
        s.push_up, s.push_down, s.discharge_in_push_down, s.push_up_soc_max, order=s.order
    ),
    FrequencyResponseSpec: lambda s: FrequencyResponse(
        s.nominal_hz,
        s.droop_percent,
        s.deadband_hz,
        s.rated_kw,
        s.under_frequency_hz,
        s.under_frequency_share,
        s.hold_s,
        order=s.order,
    ),
    RegulationSpec: lambda s: RegulationTracking(
        s.capacity_kw, s.positive, s.priority, order=s.order
    ),
    FemsScheduleSpec: lambda s: FemsScheduleTracking(s.slot_s, order=s.order),
    ReserveSpec: lambda s: TertiaryReserve(s.product, s.baseline_kw, order=s.order),
    Co2ControlSpec: lambda s: Co2LevelControl(
        s.station_kw, s.places, s.default_place, s.charge_to_soc, s.v2h_until_soc, order=s.order
    ),
    PvSurplusSpec: lambda s: PvSurplusCharging(s.soc_max, order=s.order),
    PriceResponseSpec: lambda s: PriceResponse(s.charge_below, s.discharge_above, order=s.order),
}


def build_service(spec: object) -> Service:
    return _BUILDERS[type(spec)](spec)


__all__ = [
    "Service",
    "Uncontrolled",
    "SmartCharging",
    "FlexibilityWindows",
    "FrequencyResponse",
    "RegulationTracking",
    "FemsScheduleTracking",
    "TertiaryReserve",
    "Co2LevelControl",
    "PvSurplusCharging",
    "PriceResponse",
    "build_service",
]
