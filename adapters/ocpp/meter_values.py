"""Turn OCPP MeterValues (1.6: strings with `unit`; 2.x: numbers with `unitOfMeasure`) into kW/kWh/SoC.

Payload keys arrive in snake_case (the `ocpp` library converts them). Sign convention of the
twin: power + charge / - discharge, so power = Power.Active.Import - Power.Active.Export and
energy = Energy.Active.Import.Register - Energy.Active.Export.Register.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

POWER_IMPORT = "Power.Active.Import"
POWER_EXPORT = "Power.Active.Export"
ENERGY_IMPORT = "Energy.Active.Import.Register"
ENERGY_EXPORT = "Energy.Active.Export.Register"
SOC = "SoC"
MEASURANDS = (POWER_IMPORT, POWER_EXPORT, ENERGY_IMPORT, ENERGY_EXPORT, SOC)
"""What the CSMS asks chargers to sample (a charger may support only some)."""

_DEFAULT_MEASURAND = ENERGY_IMPORT  # per OCPP when `measurand` is absent
_PHASES = {"L1", "L2", "L3", "L1-N", "L2-N", "L3-N"}
# Factor to the twin's units: kW for power, kWh for energy, fraction for SoC.
_UNIT_FACTORS = {
    "W": 1e-3,
    "kW": 1.0,
    "Wh": 1e-3,
    "kWh": 1.0,
    "Percent": 1e-2,
}
_DEFAULT_UNITS = {
    POWER_IMPORT: "W",
    POWER_EXPORT: "W",
    ENERGY_IMPORT: "Wh",
    ENERGY_EXPORT: "Wh",
    SOC: "Percent",
}


@dataclass(frozen=True, slots=True)
class MeterSample:
    """What one MeterValues message says, in the twin's units; None = not reported.

    Attributes:
        power_kw: net active power, kW (+ charge / - discharge).
        energy_kwh: net energy register, kWh.
        soc: EV state of charge 0..1.
        timestamp: the charger's ISO timestamp of the sample, if any.
    """

    power_kw: float | None
    energy_kwh: float | None
    soc: float | None
    timestamp: str | None = None


def parse_meter_values(meter_value: list[dict] | None) -> MeterSample | None:
    """Read the latest entry of a `meterValue` list.

    Args:
        meter_value: list of {timestamp, sampled_value: [...]} (snake_case keys).

    Returns:
        The sample, or None when no usable measurand is present.
    """
    if not meter_value:
        return None
    latest = meter_value[-1]
    totals: dict[str, float] = {}
    phase_sums: dict[str, float] = {}
    for sampled in latest.get("sampled_value") or []:
        measurand = sampled.get("measurand") or _DEFAULT_MEASURAND
        if measurand not in _DEFAULT_UNITS:
            continue
        value = _value_in_twin_units(sampled, measurand)
        if value is None:
            continue
        if sampled.get("phase") in _PHASES:
            phase_sums[measurand] = phase_sums.get(measurand, 0.0) + value
        elif sampled.get("phase") is None:
            totals[measurand] = value
    # A total (no phase) wins over the sum of the phases when both are sent.
    values = {**phase_sums, **totals}
    power = _net(values.get(POWER_IMPORT), values.get(POWER_EXPORT))
    energy = _net(values.get(ENERGY_IMPORT), values.get(ENERGY_EXPORT))
    soc = values.get(SOC)
    if power is None and energy is None and soc is None:
        return None
    return MeterSample(
        power_kw=power,
        energy_kwh=energy,
        soc=None if soc is None else min(max(soc, 0.0), 1.0),
        timestamp=latest.get("timestamp"),
    )


def _value_in_twin_units(sampled: dict, measurand: str) -> float | None:
    if sampled.get("format") == "SignedData":
        return None
    try:
        raw = float(sampled.get("value"))
    except (TypeError, ValueError):
        return None
    if not math.isfinite(raw):
        return None
    unit_of_measure = sampled.get("unit_of_measure") or {}
    unit = sampled.get("unit") or unit_of_measure.get("unit") or _DEFAULT_UNITS[measurand]
    factor = _UNIT_FACTORS.get(unit)
    if factor is None:
        return None
    multiplier = unit_of_measure.get("multiplier") or 0
    return raw * factor * 10.0**multiplier


def _net(imported: float | None, exported: float | None) -> float | None:
    if imported is None and exported is None:
        return None
    return (imported or 0.0) - (exported or 0.0)


def non_finite_measurands(meter_value: list[dict] | None) -> list[str]:
    """Measurands of the latest entry whose value is not a finite number (NaN, inf, or one that
    overflows in the twin's units); parse_meter_values leaves them out, this names them."""
    if not meter_value:
        return []
    bad = []
    for sampled in meter_value[-1].get("sampled_value") or []:
        measurand = sampled.get("measurand") or _DEFAULT_MEASURAND
        if measurand not in _DEFAULT_UNITS or sampled.get("format") == "SignedData":
            continue
        try:
            raw = float(sampled.get("value"))
        except (TypeError, ValueError):
            continue
        unit_of_measure = sampled.get("unit_of_measure") or {}
        try:
            scaled = raw * 10.0 ** (unit_of_measure.get("multiplier") or 0)
        except OverflowError:
            scaled = math.inf
        if not math.isfinite(scaled):
            bad.append(f"{measurand}={sampled.get('value')!r}")
    return bad
