"""The one place a twin power set-point becomes what a physical charger is sent.

The EMS hands out kW, + charge / - discharge (adapters.base), already corrected for the
charger's lag (twin.fleet.charger's inverse, not touched here). Every physical protocol shapes
that value here, and only its encoding (OCPP charging profile, Modbus register values) stays in
its folder:

1. zero: |p| below the charger's resolution (`PowerLimits.resolution_w`, at least
   `SETPOINT_RESOLUTION_KW`) is 0 (the lag inverse leaves round-off such as
   -1e-12 kW where it means 0; a charge-only charger would be asked to discharge and refuse);
2. watts: p x 1000 (every protocol's unit is W or derived from it);
3. limits: clamped to the charger's `PowerLimits` (no discharge limit = charge only);
4. per protocol, where it applies: `ac_current_a` (AC chargers regulate a per-phase current:
   rounded *down* to the register step so the charger never draws more than allocated, clamped
   to the rated current, and 0 = pause below the IEC 61851 minimum rather than raised to it),
   `round_w` (a protocol's resolution, e.g. OCPP 1.6's multiple of 0.1 W) and `to_device_w` /
   `from_device_w` (a device that counts export as positive, e.g. SunSpec DER).

The arithmetic is the adapters' as it was, so the values on the wire are unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SETPOINT_RESOLUTION_KW = 1e-3
"""Set-points smaller than this (1 W) in magnitude are sent as 0."""

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class PowerLimits:
    """What a charger can be asked for, W (magnitudes; inf = no limit known at this level).

    Attributes:
        max_charge_w: largest charging set-point.
        max_discharge_w: largest discharging set-point as a positive number (0 = charge only).
        resolution_w: the charger's resolution: a set-point smaller than this in magnitude is
            0 (never a tiny charge or discharge it cannot regulate, or would refuse).
    """

    max_charge_w: float = math.inf
    max_discharge_w: float = math.inf
    resolution_w: float = 1.0


UNLIMITED = PowerLimits()
"""No clamp (the charger or a later step enforces its own limits)."""
CHARGE_ONLY = PowerLimits(max_discharge_w=0.0)
"""Charging without a known limit; any discharge request becomes 0."""


def shape_w(power_kw: float, limits: PowerLimits = UNLIMITED) -> float:
    """The twin's set-point (kW, + charge) as the physical set-point, W: zero below the
    resolution (the charger's, at least SETPOINT_RESOLUTION_KW), clamped into
    [-max_discharge_w, max_charge_w]; never -0.0."""
    if abs(power_kw) < max(SETPOINT_RESOLUTION_KW, limits.resolution_w / 1000.0):
        return 0.0
    low_w = -limits.max_discharge_w if limits.max_discharge_w > 0 else 0.0
    return min(max(power_kw * 1000.0, low_w), limits.max_charge_w) + 0.0


def round_w(power_w: float, decimals: int) -> float:
    """`power_w` rounded to `decimals` decimal places (OCPP 1.6: 1, a multiple of 0.1 W)."""
    return round(power_w, decimals) + 0.0


def ac_current_a(
    power_w: float,
    *,
    phases: int,
    voltage_v: float,
    step_a: float,
    min_a: float,
    max_a: float,
) -> float:
    """Per-phase current for a charging power, A: I = P / (phases x V) rounded down to `step_a`,
    clamped to `max_a`; 0.0 (pause) when not charging or below `min_a`."""
    if power_w <= 0:
        return 0.0
    exact_a = power_w / (phases * voltage_v)
    stepped_a = math.floor(exact_a / step_a + _EPS) * step_a
    stepped_a = round(min(stepped_a, max_a), 6)
    if stepped_a < min_a - _EPS:
        return 0.0
    return stepped_a


def to_device_w(import_w: float, export_positive: bool) -> float:
    """Twin-sign watts (+ import) in the device's sign (export positive: + = injection)."""
    return (-import_w if export_positive else import_w) + 0.0


def from_device_w(device_w: float, export_positive: bool) -> float:
    """Watts in the device's sign back in the twin's sign (+ import)."""
    return -device_w if export_positive else device_w
