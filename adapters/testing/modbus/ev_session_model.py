"""Physics of one plugged-in EV behind an emulated charger (plain Python, no I/O, no clock).

The charger's power follows its target with a finite ramp (IEC 61851 gives the EV seconds to
follow a PWM change); energy is the exact integral of that piecewise-linear power; the battery
stops charging when full and stops discharging at its floor.
"""

from __future__ import annotations

from dataclasses import dataclass

_MAX_SUBSTEP_S = 1.0


@dataclass
class EvSessionModel:
    """State of the EV session; advance it with `advance(dt_s, target_kw)`.

    Attributes:
        battery_kwh: usable battery capacity, kWh.
        soc: state of charge 0..1.
        plugged: EV connected.
        faulted: charger in fault (IEC 61851 state E/F): no power.
        max_charge_kw: EV/charger charge limit, kW.
        max_discharge_kw: EV/charger discharge limit, kW (0 = charge only).
        soc_min: discharge stops at this SoC.
        ramp_kw_per_s: rate at which the power follows its target, kW/s.
        efficiency: battery energy per grid energy when charging (inverse when discharging).
        power_kw: present power at the grid side, kW (+ charge).
        energy_import_kwh: grid energy into the EV since start, kWh.
        energy_export_kwh: energy back to the grid since start, kWh.
    """

    battery_kwh: float = 60.0
    soc: float = 0.5
    plugged: bool = True
    faulted: bool = False
    max_charge_kw: float = 22.0
    max_discharge_kw: float = 0.0
    soc_min: float = 0.05
    ramp_kw_per_s: float = 4.0
    efficiency: float = 1.0
    power_kw: float = 0.0
    energy_import_kwh: float = 0.0
    energy_export_kwh: float = 0.0

    def feasible_kw(self, target_kw: float) -> float:
        """Clip a target to what the EV accepts now (plug, fault, limits, SoC bounds)."""
        if not self.plugged or self.faulted:
            return 0.0
        if target_kw > 0:
            return 0.0 if self.soc >= 1.0 else min(target_kw, self.max_charge_kw)
        if target_kw < 0:
            return 0.0 if self.soc <= self.soc_min else max(target_kw, -self.max_discharge_kw)
        return 0.0

    def iec61851_state(self) -> str:
        """IEC 61851 state letter: A no EV, B connected idle, C power flowing, E fault."""
        if self.faulted:
            return "E"
        if not self.plugged:
            return "A"
        return "C" if abs(self.power_kw) > 1e-6 else "B"

    def advance(self, dt_s: float, target_kw: float) -> None:
        """Move time forward by `dt_s` seconds with a constant target (kW, + charge)."""
        remaining_s = dt_s
        while remaining_s > 1e-12:
            step_s = min(remaining_s, _MAX_SUBSTEP_S)
            self._substep(step_s, self.feasible_kw(target_kw))
            remaining_s -= step_s

    def _substep(self, dt_s: float, target_kw: float) -> None:
        p0 = self.power_kw
        gap_kw = target_kw - p0
        ramp_s = abs(gap_kw) / self.ramp_kw_per_s if self.ramp_kw_per_s > 0 else 0.0
        if ramp_s >= dt_s:
            p1 = p0 + (self.ramp_kw_per_s * dt_s if gap_kw > 0 else -self.ramp_kw_per_s * dt_s)
            energy_kwh = (p0 + p1) / 2.0 * dt_s / 3600.0
        else:
            p1 = target_kw
            energy_kwh = ((p0 + p1) / 2.0 * ramp_s + p1 * (dt_s - ramp_s)) / 3600.0
        # A ramp crossing zero mixes import and export; substeps are short, so book the net.
        if energy_kwh >= 0:
            self.energy_import_kwh += energy_kwh
            self.soc += energy_kwh * self.efficiency / self.battery_kwh
        else:
            self.energy_export_kwh += -energy_kwh
            self.soc += energy_kwh / self.efficiency / self.battery_kwh
        self.soc = min(max(self.soc, 0.0), 1.0)
        self.power_kw = p1 if abs(p1) > 1e-9 else 0.0
