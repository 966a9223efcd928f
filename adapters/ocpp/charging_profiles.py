"""Build the OCPP requests that command power, per protocol version.

All profiles are one-period *Relative* schedules (start period 0), so no clock has to be shared
with the charger: "from now on, this power". Rates are in W. The twin's kW set-point is shaped
by adapters.setpoint (zero below 1 W, W, charge-only clamp where the version cannot discharge,
0.1 W resolution); this module only encodes the shaped value.

- 1.6J: TxProfile (with a transaction) or TxDefaultProfile; `limit` rounded to 0.1 W because the
  1.6 schema demands a multiple of 0.1. Charging only.
- 2.0.1: same purposes, `chargingSchedule` is a list, `evseId` instead of `connectorId`.
- 2.1: operationMode CentralSetpoint with `setpoint` (negative = discharge), and a `limit` /
  `dischargeLimit` envelope equal to the set-point so an EV may not overshoot it. Per-phase
  fields are avoided (ocpp 2.1.0 serialises them wrongly).
- 2.1 LocalFrequency: a `v2xFreqWattCurve` (frequency Hz -> power W, + charge / - discharge)
  that the charger follows itself from its own frequency measurement, within `limit` /
  `dischargeLimit`: seconds response without a set-point per second from the CSMS.
- 2.1 CentralFrequency: a `v2xSignalWattCurve` (AFRR signal -> power W) on top of a
  `v2xBaseline`; the CSMS then sends `AFRRSignal` requests {timestamp, signal} and the charger
  moves its power along the curve: one small message per signal update instead of a profile.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from ocpp.v16 import call as call16
from ocpp.v21 import call as call21
from ocpp.v21.enums import ChargingProfilePurposeEnumType, OperationModeEnumType
from ocpp.v201 import call as call201

from adapters import setpoint

PROFILE_ID = 7001
"""Id of the twin's profile: re-sending replaces it instead of stacking new ones."""
STACK_LEVEL = 1
RESOLUTION_DECIMALS = 1
"""Rates are sent in W with one decimal (the 1.6 schema demands a multiple of 0.1)."""

METER_SAMPLED_DATA = (
    "Power.Active.Import",
    "Power.Active.Export",
    "Energy.Active.Import.Register",
    "Energy.Active.Export.Register",
    "SoC",
)


def _rate_w(power_kw: float, limits: setpoint.PowerLimits) -> float:
    """The shaped set-point at the profile's resolution, W."""
    return setpoint.round_w(setpoint.shape_w(power_kw, limits), RESOLUTION_DECIMALS)


def _purpose(transaction_id: object | None) -> str:
    return "TxProfile" if transaction_id is not None else "TxDefaultProfile"


def set_power_v16(
    power_kw: float, connector_id: int, transaction_id: int | None
) -> call16.SetChargingProfile:
    """1.6J SetChargingProfile limiting the charging power to `power_kw` (>= 0)."""
    limit_w = _rate_w(power_kw, setpoint.CHARGE_ONLY)
    profile: dict = {
        "charging_profile_id": PROFILE_ID,
        "stack_level": STACK_LEVEL,
        "charging_profile_purpose": _purpose(transaction_id),
        "charging_profile_kind": "Relative",
        "charging_schedule": {
            "charging_rate_unit": "W",
            "charging_schedule_period": [{"start_period": 0, "limit": limit_w}],
        },
    }
    if transaction_id is not None:
        profile["transaction_id"] = transaction_id
    return call16.SetChargingProfile(connector_id=connector_id, cs_charging_profiles=profile)


def _profile_2x(transaction_id: str | None, period: dict) -> dict:
    profile: dict = {
        "id": PROFILE_ID,
        "stack_level": STACK_LEVEL,
        "charging_profile_purpose": _purpose(transaction_id),
        "charging_profile_kind": "Relative",
        "charging_schedule": [
            {"id": PROFILE_ID, "charging_rate_unit": "W", "charging_schedule_period": [period]}
        ],
    }
    if transaction_id is not None:
        profile["transaction_id"] = transaction_id
    return profile


def set_power_v201(
    power_kw: float, evse_id: int, transaction_id: str | None
) -> call201.SetChargingProfile:
    """2.0.1 SetChargingProfile limiting the charging power to `power_kw` (>= 0)."""
    period = {"start_period": 0, "limit": _rate_w(power_kw, setpoint.CHARGE_ONLY)}
    return call201.SetChargingProfile(
        evse_id=evse_id, charging_profile=_profile_2x(transaction_id, period)
    )


def set_power_v21(
    power_kw: float, evse_id: int, transaction_id: str | None
) -> call21.SetChargingProfile:
    """2.1 SetChargingProfile with a central set-point (+ charge, - discharge), kW."""
    setpoint_w = _rate_w(power_kw, setpoint.UNLIMITED)
    period = {
        "start_period": 0,
        "operation_mode": "CentralSetpoint",
        "setpoint": setpoint_w,
        "limit": max(setpoint_w, 0.0),
        "discharge_limit": min(setpoint_w, 0.0),
    }
    return call21.SetChargingProfile(
        evse_id=evse_id, charging_profile=_profile_2x(transaction_id, period)
    )


def frequency_curve_problems(points: list[tuple[float, float]]) -> list[str]:
    """Why `points` (frequency Hz, power W) is not a usable v2xFreqWattCurve (empty = fine)."""
    problems = []
    if not 2 <= len(points) <= 20:
        problems.append(f"a frequency-watt curve needs 2..20 points, got {len(points)}")
    freqs = [f for f, _ in points]
    if any(not 40.0 <= f <= 70.0 for f in freqs):
        problems.append("curve frequencies must be grid frequencies (40..70 Hz)")
    if any(b <= a for a, b in zip(freqs, freqs[1:], strict=False)):
        problems.append("curve frequencies must increase strictly")
    return problems


def set_local_frequency_v21(
    points: list[tuple[float, float]], evse_id: int, transaction_id: str | None
) -> call21.SetChargingProfile:
    """2.1 SetChargingProfile in LocalFrequency mode: the charger sets its power from the
    frequency it measures along `points` (frequency Hz, power W; + charge / - discharge),
    linearly between points and held beyond the ends, within the curve's own power range.

    Raises:
        ValueError: the curve is unusable (see frequency_curve_problems).
    """
    problems = frequency_curve_problems(points)
    if problems:
        raise ValueError("; ".join(problems))
    curve = [
        {"frequency": float(f), "power": setpoint.round_w(float(w), RESOLUTION_DECIMALS)}
        for f, w in points
    ]
    powers = [c["power"] for c in curve]
    period = {
        "start_period": 0,
        "operation_mode": "LocalFrequency",
        "v2x_freq_watt_curve": curve,
        "limit": max(max(powers), 0.0),
        "discharge_limit": min(min(powers), 0.0),
    }
    return call21.SetChargingProfile(
        evse_id=evse_id, charging_profile=_profile_2x(transaction_id, period)
    )


AFRR_MAX_SIGNAL = 100
"""Signal of full regulation capacity: the twin's [-1, 1] pu signal is sent in % (integers)."""
_MAX_CURVE_POINTS = 20  # the 2.1 schema's maxItems of v2xSignalWattCurve


def signal_curve_problems(points: list[tuple[int, float]]) -> list[str]:
    """Why `points` (AFRR signal, power W) is not a usable v2xSignalWattCurve (empty = fine).

    The signals must be integers (the AFRRSignal schema's type) increasing strictly, the powers
    finite and monotone (either way round: the sign convention of a TSO's signal is its own),
    so every signal maps to one power and a bigger signal never reverses the response.
    """
    problems = []
    if not 2 <= len(points) <= _MAX_CURVE_POINTS:
        problems.append(
            f"a signal-watt curve needs 2..{_MAX_CURVE_POINTS} points, got {len(points)}"
        )
    signals = [s for s, _ in points]
    powers = [w for _, w in points]
    if any(isinstance(s, bool) or not isinstance(s, int) for s in signals):
        problems.append("curve signals must be integers (AFRRSignal.signal is an integer)")
    elif any(b <= a for a, b in zip(signals, signals[1:], strict=False)):
        problems.append("curve signals must increase strictly")
    if any(not isinstance(w, int | float) or not math.isfinite(w) for w in powers):
        problems.append("curve powers must be finite numbers (W)")
    else:
        steps = [b - a for a, b in zip(powers, powers[1:], strict=False)]
        if any(d < 0 for d in steps) and any(d > 0 for d in steps):
            problems.append("curve powers must be monotone in the signal")
    return problems


def signal_watt_curve(
    capacity_w: float, max_signal: int = AFRR_MAX_SIGNAL
) -> list[tuple[int, float]]:
    """The symmetric regulation curve: signal -max..+max -> -capacity..+capacity W (linear,
    + charge more / - charge less or discharge), added to the profile's baseline."""
    if not (capacity_w > 0 and math.isfinite(capacity_w)):
        raise ValueError(f"regulation capacity must be a finite power > 0 W, got {capacity_w}")
    if isinstance(max_signal, bool) or not isinstance(max_signal, int) or max_signal < 1:
        raise ValueError(f"max_signal must be an integer >= 1, got {max_signal}")
    return [(-max_signal, -float(capacity_w)), (max_signal, float(capacity_w))]


def set_central_frequency_v21(
    points: list[tuple[int, float]],
    evse_id: int,
    transaction_id: str | None,
    baseline_w: float = 0.0,
) -> call21.SetChargingProfile:
    """2.1 SetChargingProfile in CentralFrequency mode: the charger's power is `baseline_w` +
    the curve `points` (AFRR signal, power W) at the latest AFRRSignal, linear between points and
    held beyond the ends; `limit` / `dischargeLimit` bound it to the curve's own range.

    Raises:
        ValueError: the curve is unusable (see signal_curve_problems) or the baseline is not
            finite.
    """
    problems = signal_curve_problems(points)
    if not math.isfinite(baseline_w):
        problems.append(f"the baseline must be a finite power, got {baseline_w}")
    if problems:
        raise ValueError("; ".join(problems))
    curve = [
        {"signal": int(s), "power": setpoint.round_w(float(w), RESOLUTION_DECIMALS)}
        for s, w in points
    ]
    baseline = setpoint.round_w(float(baseline_w), RESOLUTION_DECIMALS)
    powers = [baseline + c["power"] for c in curve]
    period = {
        "start_period": 0,
        "operation_mode": OperationModeEnumType.central_frequency.value,
        "v2x_baseline": baseline,
        "v2x_signal_watt_curve": curve,
        "limit": max(max(powers), 0.0),
        "discharge_limit": min(min(powers), 0.0),
    }
    return call21.SetChargingProfile(
        evse_id=evse_id, charging_profile=_profile_2x(transaction_id, period)
    )


def afrr_signal_from_pu(signal_pu: float, max_signal: int = AFRR_MAX_SIGNAL) -> int:
    """The integer AFRR signal of a [-1, 1] pu regulation signal (clipped, rounded)."""
    if not math.isfinite(signal_pu):
        raise ValueError(f"the regulation signal must be finite, got {signal_pu}")
    return int(round(min(max(signal_pu, -1.0), 1.0) * max_signal))


def afrr_signal_v21(signal: int, timestamp: datetime | None = None) -> call21.AFRRSignal:
    """2.1 AFRRSignal request: `signal` (an integer on the curve's signal axis) in force from
    `timestamp` (default now, UTC).

    Raises:
        ValueError: `signal` is not an integer (a bool or float would violate the schema).
    """
    if isinstance(signal, bool) or not isinstance(signal, int):
        raise ValueError(f"an AFRR signal must be an integer, got {signal!r}")
    when = datetime.now(UTC) if timestamp is None else timestamp.astimezone(UTC)
    return call21.AFRRSignal(
        timestamp=when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", signal=signal
    )


EXTERNAL_PROFILE_ID = 7002
"""Id of the DSO envelope profile (beside the set-point profile, not replacing it)."""
STATION_EVSE_ID = 0
"""evseId 0: the envelope is on the whole station's grid connection."""


def set_external_limits_v21(import_kw: float, export_kw: float) -> call21.SetChargingProfile:
    """2.1 ChargingStationExternalConstraints profile in ExternalLimits mode: the DSO's
    envelope on the station (import <= `import_kw`, export <= `export_kw`, both >= 0).

    Raises:
        ValueError: a bound is negative or not finite.
    """
    for name, value in (("import_kw", import_kw), ("export_kw", export_kw)):
        if not (value >= 0.0 and value < float("inf")):
            raise ValueError(f"{name} must be a finite power >= 0, got {value}")
    period = {
        "start_period": 0,
        "operation_mode": OperationModeEnumType.external_limits.value,
        "limit": setpoint.round_w(import_kw * 1000.0, RESOLUTION_DECIMALS),
        "discharge_limit": -setpoint.round_w(export_kw * 1000.0, RESOLUTION_DECIMALS),
    }
    profile = _profile_2x(None, period)
    profile["id"] = EXTERNAL_PROFILE_ID
    profile["charging_schedule"][0]["id"] = EXTERNAL_PROFILE_ID
    profile["charging_profile_purpose"] = (
        ChargingProfilePurposeEnumType.charging_station_external_constraints.value
    )
    return call21.SetChargingProfile(evse_id=STATION_EVSE_ID, charging_profile=profile)


_PLAIN_MODES = (OperationModeEnumType.idle.value, OperationModeEnumType.charging_only.value)


def set_operation_mode_v21(
    mode: str, limit_kw: float | None, evse_id: int, transaction_id: str | None
) -> call21.SetChargingProfile:
    """2.1 SetChargingProfile in Idle (no power flow) or ChargingOnly (charge up to
    `limit_kw`, never discharge) mode, in place of the twin's set-point profile.

    Raises:
        ValueError: another mode, or ChargingOnly without a limit >= 0.
    """
    if mode not in _PLAIN_MODES:
        raise ValueError(f"operation mode must be one of {', '.join(_PLAIN_MODES)}, got {mode}")
    period: dict = {"start_period": 0, "operation_mode": mode}
    if mode == OperationModeEnumType.charging_only.value:
        if limit_kw is None or not limit_kw >= 0.0:
            raise ValueError(f"ChargingOnly needs a charging limit >= 0 kW, got {limit_kw}")
        period["limit"] = _rate_w(limit_kw, setpoint.CHARGE_ONLY)
    else:
        period["limit"] = 0.0
    period["discharge_limit"] = 0.0
    return call21.SetChargingProfile(
        evse_id=evse_id, charging_profile=_profile_2x(transaction_id, period)
    )


def droop_curve(
    rated_w: float,
    droop_percent: float,
    nominal_hz: float = 50.0,
    deadband_hz: float = 0.0,
    baseline_w: float = 0.0,
    discharge: bool = True,
) -> list[tuple[float, float]]:
    """The v2xFreqWattCurve of a proportional droop: full rating (charge above nominal,
    discharge below) at a frequency deviation of droop % x nominal beyond the deadband, around
    `baseline_w` (charge-only when not `discharge`)."""
    span_hz = droop_percent / 100.0 * nominal_hz
    low_w = -rated_w if discharge else 0.0
    points = [
        (nominal_hz - deadband_hz - span_hz, max(baseline_w - rated_w, low_w)),
        (nominal_hz - deadband_hz, baseline_w),
        (nominal_hz + deadband_hz, baseline_w),
        (nominal_hz + deadband_hz + span_hz, min(baseline_w + rated_w, rated_w)),
    ]
    return points if deadband_hz > 0 else [points[0], points[1], points[3]]


def clear_v16() -> call16.ClearChargingProfile:
    """1.6J request removing the twin's profile."""
    return call16.ClearChargingProfile(id=PROFILE_ID)


def clear_v201() -> call201.ClearChargingProfile:
    """2.0.1 request removing the twin's profile."""
    return call201.ClearChargingProfile(charging_profile_id=PROFILE_ID)


def clear_v21() -> call21.ClearChargingProfile:
    """2.1 request removing the twin's profile."""
    return call21.ClearChargingProfile(charging_profile_id=PROFILE_ID)


def meter_config_v16(interval_s: int) -> list[call16.ChangeConfiguration]:
    """1.6J ChangeConfiguration requests for the sample interval and the measurands."""
    return [
        call16.ChangeConfiguration(key="MeterValueSampleInterval", value=str(int(interval_s))),
        call16.ChangeConfiguration(
            key="MeterValuesSampledData", value=",".join(METER_SAMPLED_DATA)
        ),
    ]


def meter_config_2x(call_module, interval_s: int):
    """2.0.1/2.1 SetVariables on SampledDataCtrlr (TxUpdatedInterval, TxUpdatedMeasurands).

    Args:
        call_module: `ocpp.v201.call` or `ocpp.v21.call`.
        interval_s: sampling interval, s.
    """
    component = {"name": "SampledDataCtrlr"}
    return call_module.SetVariables(
        set_variable_data=[
            {
                "attribute_value": str(int(interval_s)),
                "component": component,
                "variable": {"name": "TxUpdatedInterval"},
            },
            {
                "attribute_value": ",".join(METER_SAMPLED_DATA),
                "component": component,
                "variable": {"name": "TxUpdatedMeasurands"},
            },
        ]
    )
