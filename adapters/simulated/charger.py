"""A software charger behind the same `ChargerAdapter` protocol as the physical ones.

The charger follows its set-point with either a first-order lag (time constant) or a ramp-rate
limit, bounded by its charge/discharge power limits; it integrates an energy meter and, when a
battery size is given, the EV's state of charge. Time comes only from the injected clock, so the
model is deterministic under a manual clock and real-time under `time.monotonic`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from adapters.base import (
    AdapterError,
    ChargerReading,
    ChargerStatus,
    ChargerUnavailable,
    SetpointRejected,
)

# Below this magnitude the charger is considered idle (measurement noise of a real meter).
_IDLE_THRESHOLD_KW = 0.01


class SimulatedChargerConfigError(AdapterError):
    """The simulated charger was given inconsistent parameters (message says which)."""


class SimulatedCharger:
    """A charger + EV model implementing `adapters.base.ChargerAdapter`.

    Args:
        charger_id: identity used in scenarios and results.
        max_charge_kw: charging power limit, kW (> 0).
        clock: returns the current time in seconds; never read from the wall inside the model.
        max_discharge_kw: discharging power limit as a positive number, kW (0 = no V2G).
        time_constant_s: first-order response time constant, s (0 = instantaneous).
        ramp_kw_per_s: alternative response: maximum power change rate, kW/s (None = no limit).
            Only one of `time_constant_s` and `ramp_kw_per_s` may be set.
        battery_kwh: usable EV battery capacity, kWh; None = no SoC tracking (infinite sink).
        soc_initial: initial state of charge 0..1 (used only with `battery_kwh`).
        soc_min: discharge stops at this state of charge, 0..1.
        soc_max: charging stops at this state of charge, 0..1.
        plugged: whether an EV is connected at start.

    Raises:
        SimulatedChargerConfigError: on inconsistent parameters.
    """

    def __init__(
        self,
        charger_id: str,
        max_charge_kw: float,
        clock: Callable[[], float],
        *,
        max_discharge_kw: float = 0.0,
        time_constant_s: float = 0.0,
        ramp_kw_per_s: float | None = None,
        battery_kwh: float | None = None,
        soc_initial: float = 0.5,
        soc_min: float = 0.0,
        soc_max: float = 1.0,
        plugged: bool = True,
    ) -> None:
        _check_config(
            charger_id,
            max_charge_kw,
            max_discharge_kw,
            time_constant_s,
            ramp_kw_per_s,
            battery_kwh,
            soc_initial,
            soc_min,
            soc_max,
        )
        self.charger_id = charger_id
        self.can_discharge = max_discharge_kw > 0
        self.max_charge_kw = float(max_charge_kw)
        self.max_discharge_kw = float(max_discharge_kw)
        self.time_constant_s = float(time_constant_s)
        self.ramp_kw_per_s = ramp_kw_per_s
        self.battery_kwh = battery_kwh
        self.soc_min = soc_min
        self.soc_max = soc_max
        self.plugged = plugged
        # Fault injection for tests of whatever drives this charger (e.g. the hardware bridge).
        self.online = True
        self.reject_setpoints = False

        self._clock = clock
        self._connected = False
        self._setpoint_kw = 0.0
        self._power_kw = 0.0
        self._energy_kwh = 0.0
        self._soc = soc_initial if battery_kwh is not None else None
        self._last_s = clock()

    # -- ChargerAdapter -------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the (simulated) link; raises ChargerUnavailable when set offline."""
        self._require_online()
        self._advance()
        self._connected = True

    async def set_power(self, power_kw: float) -> None:
        """Command a set-point, kW (+ charge, - discharge); the charger clips it to its limits.

        Raises:
            ChargerUnavailable: not connected or set offline.
            SetpointRejected: discharge asked of a charger without discharge, or fault injected.
        """
        self._require_link()
        if self.reject_setpoints:
            raise SetpointRejected(f"{self.charger_id}: set-point rejected (fault injected)")
        if power_kw < 0 and not self.can_discharge:
            raise SetpointRejected(
                f"{self.charger_id}: {power_kw:.3f} kW asked but this charger cannot discharge"
            )
        if not math.isfinite(power_kw):
            raise SetpointRejected(f"{self.charger_id}: set-point {power_kw!r} is not a number")
        self.command(power_kw)

    async def read(self) -> ChargerReading:
        """Latest measurement at the clock's current time; raises ChargerUnavailable if offline."""
        self._require_link()
        return self.reading()

    async def close(self) -> None:
        """Release the set-point (back to 0 kW) and drop the link."""
        self._advance()
        self._setpoint_kw = 0.0
        self._connected = False

    # -- model ----------------------------------------------------------------------------

    def reading(self) -> ChargerReading:
        """Advance the model to the clock's time and return the measurement (no link check)."""
        self._advance()
        return ChargerReading(
            power_kw=self._power_kw,
            energy_kwh=self._energy_kwh,
            soc=self._soc,
            status=self._status(),
            timestamp_s=self._last_s,
        )

    def command(self, power_kw: float) -> None:
        """Set the set-point without link checks, kW (for an owner that models the link
        itself, e.g. the OCPP emulator); limits, plug and SoC still apply."""
        self._advance()
        self._setpoint_kw = float(power_kw)

    def set_plugged(self, plugged: bool) -> None:
        """Plug in or unplug the EV (unplugging stops the power at once)."""
        self._advance()
        self.plugged = plugged
        if not plugged:
            self._power_kw = 0.0

    @property
    def setpoint_kw(self) -> float:
        """Set-point currently commanded, kW (before limits)."""
        return self._setpoint_kw

    def _target_kw(self) -> float:
        """Set-point clipped to the power limits, the plug and the SoC window, kW."""
        if not self.plugged:
            return 0.0
        target = min(max(self._setpoint_kw, -self.max_discharge_kw), self.max_charge_kw)
        if self._soc is not None:
            if target > 0 and self._soc >= self.soc_max:
                return 0.0
            if target < 0 and self._soc <= self.soc_min:
                return 0.0
        return target

    def _advance(self) -> None:
        """Integrate power, energy and SoC from the last update to the clock's time."""
        now_s = self._clock()
        dt_s = now_s - self._last_s
        if dt_s <= 0:
            return
        self._last_s = now_s
        target_kw = self._target_kw()
        p0_kw = self._power_kw
        p1_kw, energy_kwh = _respond(
            p0_kw, target_kw, dt_s, self.time_constant_s, self.ramp_kw_per_s
        )
        if self._soc is not None and self.battery_kwh is not None:
            # Stop exactly at the SoC bound: only the energy that fits is metered.
            headroom_kwh = (self.soc_max - self._soc) * self.battery_kwh
            floor_kwh = (self.soc_min - self._soc) * self.battery_kwh
            if energy_kwh >= headroom_kwh and energy_kwh > 0:
                energy_kwh = max(headroom_kwh, 0.0)
                p1_kw = 0.0
            elif energy_kwh <= floor_kwh and energy_kwh < 0:
                energy_kwh = min(floor_kwh, 0.0)
                p1_kw = 0.0
            self._soc = min(max(self._soc + energy_kwh / self.battery_kwh, 0.0), 1.0)
        self._energy_kwh += energy_kwh
        self._power_kw = p1_kw

    def _status(self) -> ChargerStatus:
        if not self.plugged:
            return ChargerStatus.AVAILABLE
        if self._power_kw > _IDLE_THRESHOLD_KW:
            return ChargerStatus.CHARGING
        if self._power_kw < -_IDLE_THRESHOLD_KW:
            return ChargerStatus.DISCHARGING
        if self._setpoint_kw != 0.0:
            # Asked for power but none flows: the EV (full/empty battery) paused the session.
            return ChargerStatus.SUSPENDED
        return ChargerStatus.PLUGGED

    def _require_online(self) -> None:
        if not self.online:
            raise ChargerUnavailable(f"{self.charger_id}: simulated charger is offline")

    def _require_link(self) -> None:
        self._require_online()
        if not self._connected:
            raise ChargerUnavailable(f"{self.charger_id}: not connected, call connect() first")


def _respond(
    p0_kw: float,
    target_kw: float,
    dt_s: float,
    time_constant_s: float,
    ramp_kw_per_s: float | None,
) -> tuple[float, float]:
    """Power after `dt_s` and the exact energy integral over the interval.

    Returns:
        (power at the end, kW; energy delivered during dt_s, kWh).
    """
    if time_constant_s > 0:
        decay = math.exp(-dt_s / time_constant_s)
        p1_kw = target_kw + (p0_kw - target_kw) * decay
        energy_kws = target_kw * dt_s + (p0_kw - target_kw) * time_constant_s * (1.0 - decay)
        return p1_kw, energy_kws / 3600.0
    if ramp_kw_per_s is not None:
        gap_kw = target_kw - p0_kw
        t_reach_s = abs(gap_kw) / ramp_kw_per_s
        if t_reach_s >= dt_s:
            p1_kw = p0_kw + math.copysign(ramp_kw_per_s * dt_s, gap_kw)
            return p1_kw, 0.5 * (p0_kw + p1_kw) * dt_s / 3600.0
        energy_kws = 0.5 * (p0_kw + target_kw) * t_reach_s + target_kw * (dt_s - t_reach_s)
        return target_kw, energy_kws / 3600.0
    return target_kw, target_kw * dt_s / 3600.0


def _check_config(
    charger_id: str,
    max_charge_kw: float,
    max_discharge_kw: float,
    time_constant_s: float,
    ramp_kw_per_s: float | None,
    battery_kwh: float | None,
    soc_initial: float,
    soc_min: float,
    soc_max: float,
) -> None:
    problems = []
    if not charger_id:
        problems.append("charger_id must not be empty")
    if not max_charge_kw > 0:
        problems.append(f"max_charge_kw must be > 0 (got {max_charge_kw})")
    if max_discharge_kw < 0:
        problems.append(f"max_discharge_kw is a positive magnitude (got {max_discharge_kw})")
    if time_constant_s < 0:
        problems.append(f"time_constant_s must be >= 0 (got {time_constant_s})")
    if ramp_kw_per_s is not None and not ramp_kw_per_s > 0:
        problems.append(f"ramp_kw_per_s must be > 0 or None (got {ramp_kw_per_s})")
    if ramp_kw_per_s is not None and time_constant_s > 0:
        problems.append("set either time_constant_s or ramp_kw_per_s, not both")
    if battery_kwh is not None and not battery_kwh > 0:
        problems.append(f"battery_kwh must be > 0 or None (got {battery_kwh})")
    if not 0.0 <= soc_min < soc_max <= 1.0:
        problems.append(f"need 0 <= soc_min < soc_max <= 1 (got {soc_min}, {soc_max})")
    if not 0.0 <= soc_initial <= 1.0:
        problems.append(f"soc_initial must be within 0..1 (got {soc_initial})")
    if problems:
        raise SimulatedChargerConfigError(
            f"simulated charger {charger_id!r}: " + "; ".join(problems)
        )
