"""The EMS: builds the context from fleet snapshots, runs the services in order, allocates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from twin.ems.allocation import allocate_proportional, allocate_relay
from twin.ems.feasibility import feasible_bounds
from twin.ems.grid_access import GridAccess, behind_the_meter_floor
from twin.ems.lag_compensation import LagCompensator
from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service
from twin.fleet.charger import lag_margin_s
from twin.fleet.model import FleetView
from twin.fleet.places import concat_places


@dataclass(frozen=True)
class EmsDecision:
    """Set-points per fleet, and the numbers worth recording about how they came about."""

    setpoints_kw: dict[str, np.ndarray]
    target_kw: float
    feasible_lo_kw: float
    feasible_hi_kw: float
    contributions_kw: dict[str, float]
    records: dict[str, float] = field(default_factory=dict)
    """Per-step numbers from the services (FleetPlan.records) plus the controller's own
    (`pv_surplus_kw`, `pv_absorbed_kw` when a service reported site surpluses)."""


class EnergyManagementSystem:
    """Priority-ordered services over one allocation core, for one or more fleets."""

    def __init__(
        self,
        services: Sequence[Service],
        allocation: Literal["proportional", "relay"] = "proportional",
    ):
        self.services = sorted(services, key=lambda s: s.order)
        self.allocation = allocation
        # Static per-EV parameters of the fleets, concatenated once per set of fleet tables.
        self._static: dict[str, Any] = {}
        # Set-point correction for the charger lag and latency (the set-points in flight).
        self.lag = LagCompensator()
        self.grid_access: GridAccess | None = None
        self.forecast: dict[str, np.ndarray] = {}

    def attach_grid(self, access: GridAccess) -> None:
        """Let the EMS see the network (its grid model, where each EV connects, discharge
        policies); services then find it in `EmsContext.grid_model`."""
        self.grid_access = access
        self._static.pop("key", None)

    def attach_forecast(self, forecast: Mapping[str, np.ndarray]) -> None:
        """Series the services may read ahead (EmsContext.forecast), e.g. the tariff."""
        self.forecast = dict(forecast)

    def decide(
        self,
        views: Mapping[str, FleetView],
        dt_s: float,
        second_of_day: int,
        signals: Mapping[str, float] | None = None,
        grid: Mapping[str, Any] | None = None,
        offline: Mapping[str, np.ndarray] | None = None,
    ) -> EmsDecision:
        """Set-points for the step starting at the views' time.

        Args:
            offline: per fleet, a boolean mask of chargers known to be unreachable; their EVs get
                a zero range so the rest of the fleet takes over their share.
        """
        names = list(views)
        cat = (
            (lambda attr: getattr(views[names[0]], attr))
            if len(names) == 1
            # noqa: E731
            else (lambda attr: np.concatenate([getattr(views[n], attr) for n in names]))
        )
        # Static per-EV parameters are concatenated once per set of fleet tables, not every step.
        static = self._static
        tables_key = tuple(id(views[n].table) for n in names)
        if static.get("key") != tables_key:
            static.clear()
            # The tables are held here too, so their ids cannot be reused while cached.
            static.update(key=tables_key, tables=tuple(views[n].table for n in names))
            sizes = [len(views[n].soc) for n in names]
            static["fleet_index"] = np.repeat(np.arange(len(names)), sizes)
            static["bounds"] = np.concatenate([[0], np.cumsum(sizes)])

        def tab(attr: str) -> np.ndarray:
            if attr not in static:
                static[attr] = np.concatenate([getattr(views[n].table, attr) for n in names])
            return static[attr]

        if "lag_margin_s" not in static:

            def margin(view: FleetView) -> np.ndarray | float:
                known = view.lag_margin_s
                return known if known is not None else lag_margin_s(view.table.response_time_s)

            static["lag_margin_s"] = np.concatenate(
                [np.broadcast_to(margin(views[n]), (len(views[n].soc),)) for n in names]
            )
        soc, plugged, depart_s, target_soc = (
            cat("soc"),
            cat("plugged"),
            cat("depart_s"),
            cat("session_target_soc"),
        )
        time_s = views[names[0]].time_s
        # One compiled pass over all fleets' EVs (the same bounds as feasible_range per fleet).
        ranges = feasible_bounds(
            plugged,
            soc,
            target_soc,
            depart_s,
            time_s,
            dt_s,
            tab("battery_kwh"),
            tab("p_charge_max_kw"),
            tab("p_discharge_max_kw"),
            tab("eta_charge"),
            tab("eta_discharge"),
            tab("soc_floor"),
            static["lag_margin_s"],
        )
        lo, hi = ranges.lo_kw, ranges.hi_kw
        if offline:
            mask = np.concatenate(
                [offline.get(n, np.zeros(len(views[n].soc), bool)) for n in names]
            )
            lo, hi = np.where(mask, 0.0, lo), np.where(mask, 0.0, hi)
        access = self.grid_access
        step_index = int(round(time_s / dt_s)) if dt_s > 0 else 0
        ev_bus = None
        if access is not None:
            if "ev_bus" not in static:
                static["ev_bus"], static["btm"], static["bus_pos"] = access.per_ev(names)
                static["house_share"] = access.house_share(names)
            ev_bus = static["ev_bus"]
            if static["btm"].any():
                lo = behind_the_meter_floor(
                    lo,
                    static["btm"],
                    static["bus_pos"],
                    access.model.site_net_load_kw(step_index),
                    static["house_share"],
                )
        ctx = EmsContext(
            time_s=time_s,
            second_of_day=second_of_day,
            dt_s=dt_s,
            lo_kw=lo,
            hi_kw=hi,
            soc=soc,
            plugged=plugged,
            depart_s=depart_s,
            target_soc=target_soc,
            battery_kwh=tab("battery_kwh"),
            eta_charge=tab("eta_charge"),
            p_charge_max_kw=tab("p_charge_max_kw"),
            signals=dict(signals or {}),
            grid=dict(grid or {}),
            p_kw=cat("p_kw"),
            p_discharge_max_kw=tab("p_discharge_max_kw"),
            soc_floor=tab("soc_floor"),
            fleet_index=static["fleet_index"],
            fleet_names=tuple(names),
            energy_net_kwh=float(sum(views[n].e_net_kwh for n in names)),
            place=concat_places(views, names),
            grid_model=None if access is None else access.model,
            ev_bus=ev_bus,
            step_index=step_index,
            forecast=self.forecast,
        )
        plan = FleetPlan(target_kw=float(lo.sum()), preferred_kw=lo)
        for service in self.services:
            plan = service.apply(ctx, plan)
        if plan.hi_kw is not None:
            # Services may only raise the upper bound within what is physically possible.
            hi = np.where(ctx.plugged, np.clip(plan.hi_kw, hi, ctx.p_charge_max_kw), 0.0)
        if self.allocation == "relay":
            laxity_s = np.where(np.isfinite(ctx.depart_s), ctx.depart_s - ctx.time_s, 1e12)
            p = allocate_relay(lo, hi, plan.preferred_kw, plan.target_kw, rank=laxity_s)
        else:
            p = allocate_proportional(lo, hi, plan.preferred_kw, plan.target_kw)
        records = dict(plan.records)
        contributions = dict(plan.contributions_kw)
        for service in self.services:
            # Constraints on the allocation itself (e.g. grid limits), after every target is set;
            # what one changes in the fleet total is its contribution.
            before = float(p.sum())
            p = service.constrain(ctx, p, lo, hi, records)
            if float(p.sum()) != before:
                contributions[service.name] = contributions.get(service.name, 0.0) + (
                    float(p.sum()) - before
                )
        if plan.site_surplus_kw is not None:
            surplus = np.maximum(np.where(ctx.plugged, plan.site_surplus_kw, 0.0), 0.0)
            records["pv_surplus_at_evs_kw"] = float(surplus.sum())
            records["pv_absorbed_kw"] = float(np.minimum(np.maximum(p, 0.0), surplus).sum())
        # The lag inverse, from the power each charger will have when this set-point takes effect
        # (after its latency, through the set-points still in flight), within the charger limits;
        # chargers of unknown dynamics (physical ones) get the allocation as it is.
        p = self.lag.setpoints(names, static["tables"], p, ctx.per_ev("p_kw"), dt_s)
        edges = static["bounds"]
        return EmsDecision(
            setpoints_kw={n: p[edges[i] : edges[i + 1]] for i, n in enumerate(names)},
            target_kw=plan.target_kw,
            feasible_lo_kw=float(lo.sum()),
            feasible_hi_kw=float(hi.sum()),
            contributions_kw=contributions,
            records=records,
        )
