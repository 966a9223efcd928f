"""EMS services: one class each; `build_service` turns a scenario spec into an instance."""

from __future__ import annotations

from collections.abc import Callable

from twin.ems.services.base import Service
from twin.ems.services.flexibility_windows import FlexibilityWindows
from twin.ems.services.smart_charging import SmartCharging
from twin.ems.services.specs import (
    FlexibilityWindowsSpec,
    SmartChargingSpec,
    UncontrolledSpec,
)
from twin.ems.services.uncontrolled import Uncontrolled

_BUILDERS: dict[type, Callable[..., Service]] = {
    UncontrolledSpec: lambda s: Uncontrolled(order=s.order),
    SmartChargingSpec: lambda s: SmartCharging(s.cheap_price_quantile, order=s.order),
    FlexibilityWindowsSpec: lambda s: FlexibilityWindows(
        s.push_up, s.push_down, s.discharge_in_push_down, s.push_up_soc_max, order=s.order),
}


def build_service(spec: object) -> Service:
    return _BUILDERS[type(spec)](spec)


__all__ = ["Service", "Uncontrolled", "SmartCharging", "FlexibilityWindows", "build_service"]
