"""Energy, CO2 and PV-surplus totals of a power series (smart-grid survey, Oki islands study).

Power is consumption (+ = charging, - = discharging); each sample holds for `step_s`, so the
energy of sample i is E_i = P_i * step_s / 3600 (kWh).

* charged = sum of E_i over E_i > 0; discharged = sum of -E_i over E_i < 0; net = sum E_i.
* CO2 of charging = sum over charging samples of E_i * c_i (c = grid intensity, kg/kWh);
  CO2 displaced by discharging = sum over discharging samples of |E_i| * c_i (the grid
  energy it replaces); net CO2 = sum E_i * c_i.
* Mean charging intensity = CO2 of charging / charged energy (what a kWh in the battery cost).

PV surplus absorbed (the smart-grid survey/the Oki islands study "charge the surplus"): with surplus S_i = max(PV - load, 0) at the
site (kW), the charging power that soaks it up is min(max(P_i, 0), S_i), so

    absorbed = sum_i min(max(P_i, 0), S_i) * step_s / 3600
    absorbed share = absorbed / sum_i S_i * step_s / 3600 x 100
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.metrics.errors import MetricInputError

_S_PER_H = 3600.0


@dataclass(frozen=True)
class EnergyCo2Totals:
    """Energy and CO2 totals of a consumption series.

    Attributes:
        charged_kwh: Energy drawn from the grid, kWh.
        discharged_kwh: Energy fed back, kWh (positive number).
        net_kwh: charged - discharged, kWh.
        co2_charged_kg: CO2 of the charged energy, kg.
        co2_displaced_kg: CO2 of the grid energy the discharge replaced, kg.
        net_co2_kg: co2_charged - co2_displaced, kg.
        mean_charging_intensity_kg_per_kwh: co2_charged / charged (NaN if nothing was charged).
    """

    charged_kwh: float
    discharged_kwh: float
    net_kwh: float
    co2_charged_kg: float
    co2_displaced_kg: float
    net_co2_kg: float
    mean_charging_intensity_kg_per_kwh: float


@dataclass(frozen=True)
class PvSurplusAbsorption:
    """How much PV surplus the EVs soaked up.

    Attributes:
        surplus_kwh: PV surplus energy available, kWh.
        absorbed_kwh: Part of it taken by EV charging, kWh.
        absorbed_percent: absorbed / surplus x 100 (NaN if there was no surplus).
    """

    surplus_kwh: float
    absorbed_kwh: float
    absorbed_percent: float


def _energy_kwh(power_kw: np.ndarray, step_s: float) -> np.ndarray:
    if not step_s > 0:
        raise MetricInputError(f"step_s must be positive, got {step_s}")
    power_kw = np.asarray(power_kw, dtype=float).ravel()
    if not np.all(np.isfinite(power_kw)):
        raise MetricInputError("power series must not contain NaN or infinite values")
    return power_kw * step_s / _S_PER_H


def energy_co2_totals(
    power_kw: np.ndarray, co2_kg_per_kwh: np.ndarray | float, step_s: float
) -> EnergyCo2Totals:
    """Energy and CO2 totals of a consumption series.

    Args:
        power_kw: Consumption per step, kW (+ charging, - discharging).
        co2_kg_per_kwh: Grid CO2 intensity per step (or one value), kg/kWh.
        step_s: Step length, s.

    Returns:
        EnergyCo2Totals.

    Raises:
        MetricInputError: Length mismatch, NaN, negative intensity or a non-positive step.
    """
    energy_kwh = _energy_kwh(power_kw, step_s)
    intensity = np.asarray(co2_kg_per_kwh, dtype=float).ravel()
    if intensity.size == 1:
        intensity = np.full(energy_kwh.size, intensity[0])
    if intensity.size != energy_kwh.size:
        raise MetricInputError(
            f"power_kw and co2_kg_per_kwh differ in length ({energy_kwh.size} vs {intensity.size})"
        )
    if not np.all(np.isfinite(intensity)) or np.any(intensity < 0):
        raise MetricInputError("co2_kg_per_kwh must be finite and not negative")
    charged = np.where(energy_kwh > 0, energy_kwh, 0.0)
    discharged = np.where(energy_kwh < 0, -energy_kwh, 0.0)
    charged_kwh = float(charged.sum())
    co2_charged = float(charged @ intensity)
    co2_displaced = float(discharged @ intensity)
    return EnergyCo2Totals(
        charged_kwh=charged_kwh,
        discharged_kwh=float(discharged.sum()),
        net_kwh=float(energy_kwh.sum()),
        co2_charged_kg=co2_charged,
        co2_displaced_kg=co2_displaced,
        net_co2_kg=co2_charged - co2_displaced,
        mean_charging_intensity_kg_per_kwh=co2_charged / charged_kwh
        if charged_kwh > 0
        else float("nan"),
    )


def pv_surplus_absorbed(
    pv_surplus_kw: np.ndarray, ev_power_kw: np.ndarray, step_s: float
) -> PvSurplusAbsorption:
    """PV surplus energy and the part of it EV charging absorbed.

    Args:
        pv_surplus_kw: PV generation minus local load per step, kW (negative values = no surplus).
        ev_power_kw: EV consumption at the same place per step, kW (+ charging).
        step_s: Step length, s.

    Returns:
        PvSurplusAbsorption.

    Raises:
        MetricInputError: Length mismatch, NaN or a non-positive step.
    """
    surplus_kwh = np.maximum(_energy_kwh(pv_surplus_kw, step_s), 0.0)
    charging_kwh = np.maximum(_energy_kwh(ev_power_kw, step_s), 0.0)
    if surplus_kwh.size != charging_kwh.size:
        raise MetricInputError(
            f"pv_surplus_kw and ev_power_kw differ in length ({surplus_kwh.size} vs {charging_kwh.size})"
        )
    total = float(surplus_kwh.sum())
    absorbed = float(np.minimum(surplus_kwh, charging_kwh).sum())
    return PvSurplusAbsorption(
        surplus_kwh=total,
        absorbed_kwh=absorbed,
        absorbed_percent=absorbed / total * 100.0 if total > 0 else float("nan"),
    )
