"""Charging profiles held by a charge point and the power they allow now (emulator side).

A deliberately small subset of OCPP smart charging: profiles are replaced by id (or by
purpose + stack level), the highest stack level of TxProfile wins over TxDefaultProfile, and
ChargePointMaxProfile / ChargingStationMaxProfile cap the result. Schedules are evaluated as
relative to the moment the profile was received (Absolute/Recurring schedules are treated the
same way - enough for the emulator, whose CSMS only sends one-period profiles).
OCPP 2.1 operation modes: CentralSetpoint, Idle, ChargingOnly, ExternalLimits (the station's
envelope), LocalFrequency (v2xFreqWattCurve at the measured frequency) and CentralFrequency
(v2xSignalWattCurve at the latest AFRRSignal), the curves on top of v2xBaseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_VOLTS_PER_PHASE = 230.0
_TX_PURPOSES = ("TxProfile",)
_DEFAULT_PURPOSES = ("TxDefaultProfile",)
_CAP_PURPOSES = ("ChargePointMaxProfile", "ChargingStationMaxProfile")
_EXTERNAL_PURPOSES = ("ChargingStationExternalConstraints",)
_NUMERIC = (
    "start_period",
    "limit",
    "discharge_limit",
    "setpoint",
    "number_phases",
    "v2x_baseline",
)


@dataclass
class _Held:
    profile_id: int
    purpose: str
    stack_level: int
    unit: str
    periods: list[dict]
    received_s: float
    transaction_id: str | None


class ReceivedProfiles:
    """Profiles a charge point currently holds."""

    def __init__(self) -> None:
        self._held: dict[int, _Held] = {}
        self.history: list[dict] = []
        """Every accepted profile (snake_case dict as received), oldest first."""

    def __len__(self) -> int:
        return len(self._held)

    def install(self, profile: dict, received_s: float, version: str) -> None:
        """Hold `profile` (a 1.6 `cs_charging_profiles` or 2.x `charging_profile` dict).

        Raises:
            ValueError: the profile lacks a schedule or a usable period.
        """
        if version == "1.6":
            profile_id = int(profile["charging_profile_id"])
            schedule = profile["charging_schedule"]
        else:
            profile_id = int(profile["id"])
            schedules = profile["charging_schedule"]
            if not schedules:
                raise ValueError("charging profile without a schedule")
            schedule = schedules[0]
        # 1.6 payloads may carry decimal.Decimal numbers (schema validation parses them so).
        periods = sorted(
            (
                {key: float(v) if key in _NUMERIC else v for key, v in period.items()}
                for period in schedule["charging_schedule_period"]
            ),
            key=lambda p: p["start_period"],
        )
        if not periods:
            raise ValueError("charging schedule without periods")
        held = _Held(
            profile_id=profile_id,
            purpose=profile["charging_profile_purpose"],
            stack_level=int(profile["stack_level"]),
            unit=schedule["charging_rate_unit"],
            periods=periods,
            received_s=received_s,
            transaction_id=(
                None if profile.get("transaction_id") is None else str(profile["transaction_id"])
            ),
        )
        # Same purpose + stack level replaces, as does the same id.
        for other in list(self._held.values()):
            if other.purpose == held.purpose and other.stack_level == held.stack_level:
                del self._held[other.profile_id]
        self._held[profile_id] = held
        self.history.append(profile)

    def clear(self, profile_id: int | None = None, purpose: str | None = None) -> int:
        """Remove matching profiles (all when no criterion); returns how many were removed."""
        doomed = [
            held.profile_id
            for held in self._held.values()
            if (profile_id is None or held.profile_id == profile_id)
            and (purpose is None or held.purpose == purpose)
        ]
        for key in doomed:
            del self._held[key]
        return len(doomed)

    def end_transaction(self) -> None:
        """TxProfiles end with their transaction."""
        self.clear(purpose="TxProfile")

    def allowed_kw(
        self,
        now_s: float,
        default_kw: float,
        frequency_hz: float = 50.0,
        afrr_signal: int | None = None,
    ) -> float:
        """Power the held profiles ask for now, kW (+ charge, - discharge).

        Args:
            now_s: current time on the clock used for `received_s`, s.
            default_kw: power when no Tx/TxDefault profile applies (the EV's own maximum).
            frequency_hz: the grid frequency the charger measures (LocalFrequency mode).
            afrr_signal: the latest AFRRSignal value in force (CentralFrequency mode; None =
                none yet, read as 0: no regulation, the baseline alone).
        """
        chosen = self._chosen()
        value_kw = (
            default_kw
            if chosen is None
            else self._value_kw(chosen, now_s, frequency_hz, afrr_signal)
        )
        for held in self._held.values():
            if held.purpose in _CAP_PURPOSES:
                cap = self._value_kw(held, now_s, frequency_hz, afrr_signal)
                if value_kw > 0:
                    value_kw = min(value_kw, max(cap, 0.0))
            elif held.purpose in _EXTERNAL_PURPOSES:
                # The DSO envelope clamps both directions: min(set-point, external limit).
                lower_kw, upper_kw = self._bounds_kw(held, now_s)
                value_kw = min(max(value_kw, lower_kw), upper_kw)
        return value_kw

    def operation_mode(self, now_s: float) -> str | None:
        """The 2.1 operation mode of the set-point profile (Tx over TxDefault) in force now."""
        chosen = self._chosen()
        return None if chosen is None else self._period(chosen, now_s)[0].get("operation_mode")

    def _chosen(self) -> _Held | None:
        return self._top(_TX_PURPOSES) or self._top(_DEFAULT_PURPOSES)

    def external_limits_kw(self, now_s: float) -> tuple[float, float] | None:
        """The held external envelope (discharge bound <= 0, charge bound), kW, or None."""
        bounds = [
            self._bounds_kw(h, now_s)
            for h in self._held.values()
            if h.purpose in _EXTERNAL_PURPOSES
        ]
        if not bounds:
            return None
        return max(b[0] for b in bounds), min(b[1] for b in bounds)

    @classmethod
    def _bounds_kw(cls, held: _Held, now_s: float) -> tuple[float, float]:
        period, scale_kw = cls._period(held, now_s)
        limit = period.get("limit")
        discharge_limit = period.get("discharge_limit")
        return (
            -math.inf if discharge_limit is None else discharge_limit * scale_kw,
            math.inf if limit is None else limit * scale_kw,
        )

    def _top(self, purposes: tuple[str, ...]) -> _Held | None:
        candidates = [h for h in self._held.values() if h.purpose in purposes]
        return max(candidates, key=lambda h: h.stack_level) if candidates else None

    @staticmethod
    def _period(held: _Held, now_s: float) -> tuple[dict, float]:
        """The period in force now and its unit's kW per unit."""
        elapsed_s = now_s - held.received_s
        period = held.periods[0]
        for candidate in held.periods:
            if candidate["start_period"] <= elapsed_s:
                period = candidate
        scale_kw = 1e-3
        if held.unit == "A":
            scale_kw = _VOLTS_PER_PHASE * (period.get("number_phases") or 3) * 1e-3
        return period, scale_kw

    @classmethod
    def _value_kw(
        cls,
        held: _Held,
        now_s: float,
        frequency_hz: float = 50.0,
        afrr_signal: int | None = None,
    ) -> float:
        period, scale_kw = cls._period(held, now_s)
        mode = period.get("operation_mode")
        if mode == "Idle":
            return 0.0
        limit = period.get("limit")
        upper_kw = math.inf if limit is None else limit * scale_kw
        discharge_limit = period.get("discharge_limit")
        lower_kw = -math.inf if discharge_limit is None else discharge_limit * scale_kw
        setpoint = period.get("setpoint")
        if period.get("operation_mode") == "CentralSetpoint" and setpoint is not None:
            return min(max(setpoint * scale_kw, lower_kw), upper_kw)
        # v2xBaseline: the power the curves' values are added to (2.1 schema).
        baseline_kw = float(period.get("v2x_baseline") or 0.0) * scale_kw
        curve = period.get("v2x_freq_watt_curve")
        if mode == "LocalFrequency" and curve:
            # Linear between the curve's points, held beyond its ends (OCPP 2.1 Q-use cases).
            power_kw = baseline_kw + _along(curve, "frequency", frequency_hz) * scale_kw
            return min(max(power_kw, lower_kw), upper_kw)
        curve = period.get("v2x_signal_watt_curve")
        if mode == "CentralFrequency" and curve:
            signal = 0.0 if afrr_signal is None else float(afrr_signal)
            power_kw = baseline_kw + _along(curve, "signal", signal) * scale_kw
            return min(max(power_kw, lower_kw), upper_kw)
        if mode == "ChargingOnly":
            return max(upper_kw, 0.0) if math.isfinite(upper_kw) else 0.0
        return upper_kw if math.isfinite(upper_kw) else 0.0


def _along(curve: list[dict], axis: str, x: float) -> float:
    """A v2x curve's power at `x` on its `axis`: linear between points, held beyond the ends."""
    points = sorted((float(c[axis]), float(c["power"])) for c in curve)
    return float(np.interp(x, [a for a, _ in points], [w for _, w in points]))
