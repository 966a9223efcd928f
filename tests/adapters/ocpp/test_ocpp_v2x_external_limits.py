"""OCPP 2.1 ExternalLimits (ChargingStationExternalConstraints), Idle and ChargingOnly over real
websockets: the charger's power is min(set-point, DSO envelope) in both directions."""

from __future__ import annotations

import pytest
from ocpp_lab import eventually

from adapters.base import SetpointRejected
from adapters.ocpp import charging_profiles


def test_external_limits_clamp_the_setpoint_and_modes(run_lab):
    async def scenario(lab):
        system = await lab.csms()
        emulator = await lab.emulator(
            system, "CP1", "2.1", can_discharge=True, max_power_kw=11.0, meter_interval_s=1.0
        )
        adapter = system.adapter("CP1")
        await adapter.connect()
        await eventually(lambda: adapter.can_discharge, what="EV reported bidirectional")
        await adapter.set_power(9.0)
        await eventually(lambda: abs(emulator.power_kw - 9.0) < 0.01, what="9 kW set-point")
        # The DSO envelope: import <= 4 kW, export <= 2.5 kW.
        await adapter.set_external_limits(4.0, 2.5)
        held = emulator.profiles.history[-1]
        assert held["charging_profile_purpose"] == "ChargingStationExternalConstraints"
        assert held["charging_schedule"][0]["charging_schedule_period"][0]["operation_mode"] == (
            "ExternalLimits"
        )
        await eventually(lambda: abs(emulator.power_kw - 4.0) < 0.01, what="clamped to import")
        await eventually(
            lambda: abs(system.session("CP1").power_kw - 4.0) < 0.05, what="twin sees 4 kW"
        )
        await adapter.set_power(-6.0)
        await eventually(lambda: abs(emulator.power_kw + 2.5) < 0.01, what="clamped to export")
        await adapter.set_power(1.5)  # inside the envelope: the set-point itself
        await eventually(lambda: abs(emulator.power_kw - 1.5) < 0.01, what="inside envelope")
        # Idle: no power flow; ChargingOnly: charge up to the limit, never discharge.
        await adapter.set_operation_mode("Idle")
        await eventually(lambda: abs(emulator.power_kw) < 0.01, what="idle")
        await adapter.set_operation_mode("ChargingOnly", 3.0)
        await eventually(lambda: abs(emulator.power_kw - 3.0) < 0.01, what="charging only")
        with pytest.raises(SetpointRejected, match="operation mode must be"):
            await adapter.set_operation_mode("CentralSetpoint")
        with pytest.raises(SetpointRejected, match="finite power"):
            await adapter.set_external_limits(-1.0, 0.0)

    run_lab(scenario, timeout_s=90.0)


def test_charging_only_needs_a_limit():
    with pytest.raises(ValueError, match="ChargingOnly needs"):
        charging_profiles.set_operation_mode_v21("ChargingOnly", None, 1, None)
