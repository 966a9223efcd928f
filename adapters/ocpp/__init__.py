"""OCPP 1.6J / 2.0.1 / 2.1 central system, charger adapter and charge point emulator."""

from adapters.ocpp.adapter import OcppChargerAdapter
from adapters.ocpp.central_system import CentralSystem, serve_forever
from adapters.ocpp.config import ChargerAuth, CsmsConfig, OcppConfigError
from adapters.ocpp.emulator import (
    ChargePointEmulator,
    EmulatorConfig,
    EmulatorError,
    run_emulator,
)
from adapters.ocpp.session import ChargerInfo, SetpointCallError

__all__ = [
    "CentralSystem",
    "ChargePointEmulator",
    "ChargerAuth",
    "ChargerInfo",
    "CsmsConfig",
    "EmulatorConfig",
    "EmulatorError",
    "OcppChargerAdapter",
    "OcppConfigError",
    "SetpointCallError",
    "run_emulator",
    "serve_forever",
]
