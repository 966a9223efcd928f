"""EMS services: one module each (the service and its scenario spec); the registry finds them.

`build_service(spec)` turns a scenario entry into its service (`twin.ems.services.registry`).
"""

from __future__ import annotations

from twin.ems.services.base import Service, ServiceConfig
from twin.ems.services.co2_control import Co2LevelControl
from twin.ems.services.fems_schedule import FemsScheduleTracking
from twin.ems.services.flexibility_windows import FlexibilityWindows
from twin.ems.services.frequency_response import FrequencyResponse
from twin.ems.services.price_response import PriceResponse
from twin.ems.services.pv_surplus import PvSurplusCharging
from twin.ems.services.registry import build_service, service_specs
from twin.ems.services.regulation import RegulationTracking
from twin.ems.services.reserve import TertiaryReserve
from twin.ems.services.smart_charging import SmartCharging
from twin.ems.services.uncontrolled import Uncontrolled

__all__ = [
    "Co2LevelControl",
    "FemsScheduleTracking",
    "FlexibilityWindows",
    "FrequencyResponse",
    "PriceResponse",
    "PvSurplusCharging",
    "RegulationTracking",
    "Service",
    "ServiceConfig",
    "SmartCharging",
    "TertiaryReserve",
    "Uncontrolled",
    "build_service",
    "service_specs",
]
