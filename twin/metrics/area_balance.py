"""The area power balance of the island study (Oki islands study): what the area draws from its
grid, the PV it cannot use, and the primary energy of what it draws.

Per step (kW, each sample held for step_s): net = load + P_ev - PV, with P_ev the EVs' grid power
(+ charging, - discharging: V2H and V2G both lower the area's draw). Then

    import_kwh  = sum max(net, 0) x dt        (supplied by the island's power plants)
    surplus_kwh = sum max(-net, 0) x dt       (PV the area cannot use: exported or curtailed)
    primary_GJ  = import_kwh x 9.76 MJ/kWh / 1000

9.76 MJ/kWh is the primary-energy factor of grid electricity of Japan's Energy Conservation Act
(receiving end, daytime and night-time average); the reference is the same area with neither PV
nor EVs (Case 0/0: import = load), so reduction = 1 - primary / primary_reference. A surplus day
is a local calendar day with net < 0 in at least one step. With a grid CO2 intensity c (kg/kWh)
per step, the area's CO2 = sum c x max(net, 0) x dt: what control by CO2 or by the balance
finally changes (the EVs' own "net CO2" credits discharge at the intensity of the moment even
when it only displaces PV the area would otherwise have spilled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIMARY_MJ_PER_KWH = 9.76


@dataclass(frozen=True)
class AreaBalance:
    import_kwh: float
    surplus_kwh: float
    reference_import_kwh: float
    primary_energy_gj: float
    reference_primary_energy_gj: float
    primary_energy_reduction_percent: float
    peak_import_kw: float
    surplus_days_by_month: dict[int, int]
    days_by_month: dict[int, int]
    co2_kg: float = float("nan")


def area_balance(
    load_kw: np.ndarray,
    pv_kw: np.ndarray,
    ev_kw: np.ndarray,
    step_s: float,
    month: np.ndarray,
    day_id: np.ndarray,
    primary_mj_per_kwh: float = PRIMARY_MJ_PER_KWH,
    co2_kg_per_kwh: np.ndarray | None = None,
) -> AreaBalance:
    """Area balance of per-step series (equal length); `month` (1..12) and `day_id` (any id of
    the local calendar day) per step."""
    load, pv, ev = (np.asarray(a, dtype=float) for a in (load_kw, pv_kw, ev_kw))
    dt_h = step_s / 3600.0
    net = load + ev - pv
    imp = float(np.maximum(net, 0.0).sum() * dt_h)
    ref = float(np.maximum(load, 0.0).sum() * dt_h)
    primary = imp * primary_mj_per_kwh / 1000.0
    primary_ref = ref * primary_mj_per_kwh / 1000.0
    surplus_days: dict[int, int] = {}
    days: dict[int, int] = {}
    day_id = np.asarray(day_id)
    month = np.asarray(month, dtype=int)
    if day_id.size:
        ids, first = np.unique(day_id, return_index=True)
        short = np.zeros(ids.size, dtype=bool)
        np.logical_or.at(short, np.searchsorted(ids, day_id), net < 0.0)
        for m, s in zip(month[first], short, strict=True):
            days[int(m)] = days.get(int(m), 0) + 1
            surplus_days[int(m)] = surplus_days.get(int(m), 0) + int(s)
    return AreaBalance(
        import_kwh=imp,
        surplus_kwh=float(np.maximum(-net, 0.0).sum() * dt_h),
        reference_import_kwh=ref,
        primary_energy_gj=primary,
        reference_primary_energy_gj=primary_ref,
        primary_energy_reduction_percent=(1.0 - primary / primary_ref) * 100.0
        if primary_ref > 0
        else float("nan"),
        peak_import_kw=float(net.max()) if net.size else float("nan"),
        surplus_days_by_month=surplus_days,
        days_by_month=days,
        co2_kg=float((np.asarray(co2_kg_per_kwh) * np.maximum(net, 0.0)).sum() * dt_h)
        if co2_kg_per_kwh is not None
        else float("nan"),
    )
