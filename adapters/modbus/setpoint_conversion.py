"""Twin power set-points (kW, + charge) <-> what a map's set-point register takes (A or W).

The shaping is adapters.setpoint's (zero below 1 W, clamp to the map's limits, per-phase current
rounded *down* to the register step and clamped to the rated current, pause below the IEC 61851
minimum, device sign); this module reads the map's numbers for it and says what the registers
hold: AC chargers take a per-phase current limit (I = P / (phases x V)); DC/DER devices take
watts, and SunSpec DER uses the generator sign convention (+ = injection), so a discharge
(negative twin power) is written as positive W.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters import setpoint
from adapters.modbus.register_map import ElectricalSpec, RegisterMap

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class DeviceSetpoint:
    """A set-point in the device's own terms.

    Attributes:
        value: engineering value for the set-point point (A, or W in the device's sign).
        enabled: False when the set-point means "pause".
        expected_power_kw: power the device should settle at, kW (+ charge).
    """

    value: float
    enabled: bool
    expected_power_kw: float


def current_to_power_kw(current_a: float, electrical: ElectricalSpec) -> float:
    """Per-phase current limit -> AC power, kW (phases x V x I)."""
    return electrical.phases * electrical.voltage_v * current_a / 1000.0


def power_to_current_a(power_kw: float, electrical: ElectricalSpec) -> float:
    """AC power -> per-phase current, A, rounded down to the register step and clamped.

    Returns 0.0 when the result is below the minimum current (pause).
    """
    return setpoint.ac_current_a(
        setpoint.shape_w(power_kw, setpoint.CHARGE_ONLY),
        phases=electrical.phases,
        voltage_v=electrical.voltage_v,
        step_a=electrical.current_step_a,
        min_a=electrical.min_current_a,
        max_a=electrical.max_current_a,
    )


def device_setpoint(power_kw: float, regmap: RegisterMap) -> DeviceSetpoint:
    """Twin power -> device set-point per the map (negative power clamps to 0 on AC maps).

    Args:
        power_kw: requested power, kW, + charge / - discharge.
        regmap: the charger's register map.
    """
    sp = regmap.setpoint
    if sp.quantity == "current_a":
        assert regmap.electrical is not None  # guaranteed by map validation
        current_a = power_to_current_a(power_kw, regmap.electrical)
        if current_a == 0.0:
            # With an enable point the current register keeps a legal value; the enable pauses.
            value = regmap.electrical.min_current_a if sp.enable_point else sp.pause_value
            return DeviceSetpoint(value=value, enabled=False, expected_power_kw=0.0)
        return DeviceSetpoint(
            value=current_a,
            enabled=True,
            expected_power_kw=current_to_power_kw(current_a, regmap.electrical),
        )
    assert sp.max_power_w is not None  # guaranteed by map validation
    limits = setpoint.PowerLimits(
        max_charge_w=sp.max_power_w,
        max_discharge_w=sp.max_power_w if regmap.can_discharge else 0.0,
    )
    import_w = setpoint.shape_w(power_kw, limits)
    device_w = setpoint.to_device_w(import_w, sp.power_sign == "export_positive")
    return DeviceSetpoint(
        value=device_w, enabled=abs(import_w) > _EPS, expected_power_kw=import_w / 1000.0
    )


def device_power_to_twin_kw(device_w: float, regmap: RegisterMap) -> float:
    """Measured device power (W, device sign) -> twin kW (+ charge)."""
    export_positive = regmap.setpoint.power_sign == "export_positive"
    return setpoint.from_device_w(device_w, export_positive) / 1000.0 + 0.0
