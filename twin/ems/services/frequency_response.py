"""Primary frequency response (Kashiwa EV project): a droop with deadband in normal operation, and an
under-frequency mode that frees (nearly) all available power and holds it.

Droop (power is consumption, + = charging):

    x = sign(df) * max(|df| - deadband, 0),    df = f - f_nom
    delta_kw = (x / f_nom) / (R / 100) * P_rated

so at R = 5 % on 50 Hz a fall of 0.2 Hz beyond the deadband cuts consumption by 8 % of the
rating. The delta sits on top of the plan of the services before this one (the basepoint) and
is limited to what the fleet can do: down to the sum of the EVs' lower bounds (charging
stopped, discharging as far as floors and departure needs allow), up to the sum of the upper
bounds.

Under-frequency: once f < `under_frequency_hz`, the target becomes
basepoint - share x available, with available = basepoint - sum(lo) ("what the plugged fleet
can add": charge reduction + discharge where allowed). It stays so while f is below the
threshold and at least `hold_s` after the trigger (Kashiwa EV project: >= 5 min).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator

from twin.config.durations import parse_duration_s
from twin.ems.plan import EmsContext, FleetPlan
from twin.ems.services.base import Service, ServiceConfig

# What the meter reads: the service acts on it when the scenario models the meter's error
# (signals.frequency.measurement_noise_std_hz), on the grid frequency itself otherwise.
from twin.signals.frequency_measurement import MEASURED_FREQUENCY_SIGNAL

FREQUENCY_SIGNAL = "frequency_hz"


class FrequencyResponse(Service):
    name = "frequency_response"

    def __init__(
        self,
        nominal_hz: float = 50.0,
        droop_percent: float = 5.0,
        deadband_hz: float = 0.01,
        rated_kw: float | None = None,
        under_frequency_hz: float = 49.8,
        under_frequency_share: float = 1.0,
        hold_s: float = 360.0,
        order: int = 100,
    ):
        super().__init__(order)
        self.nominal_hz = nominal_hz
        self.droop_percent = droop_percent
        self.deadband_hz = deadband_hz
        self.rated_kw = rated_kw
        self.under_frequency_hz = under_frequency_hz
        self.under_frequency_share = under_frequency_share
        self.hold_s = hold_s
        self._triggered_at_s: float | None = None

    def droop_delta_kw(self, frequency_hz: float, rated_kw: float) -> float:
        """Unlimited droop response, kW of consumption (negative below nominal)."""
        deviation_hz = frequency_hz - self.nominal_hz
        beyond_hz = np.sign(deviation_hz) * max(abs(deviation_hz) - self.deadband_hz, 0.0)
        return float(beyond_hz / self.nominal_hz / (self.droop_percent / 100.0) * rated_kw)

    def _under_frequency(self, time_s: float, frequency_hz: float) -> bool:
        below = frequency_hz < self.under_frequency_hz
        if below and self._triggered_at_s is None:
            self._triggered_at_s = time_s
        if self._triggered_at_s is None:
            return False
        if below or time_s < self._triggered_at_s + self.hold_s:
            return True
        self._triggered_at_s = None
        return False

    def apply(self, ctx: EmsContext, plan: FleetPlan) -> FleetPlan:
        frequency_hz = float(
            ctx.signals.get(
                MEASURED_FREQUENCY_SIGNAL, ctx.signals.get(FREQUENCY_SIGNAL, self.nominal_hz)
            )
        )
        basepoint_kw = plan.target_kw
        floor_kw = float(ctx.lo_kw.sum())
        ceiling_kw = float(ctx.hi_kw.sum())
        available_kw = max(basepoint_kw - floor_kw, 0.0)
        rated_kw = (
            self.rated_kw
            if self.rated_kw is not None
            else float(ctx.p_charge_max_kw[ctx.plugged].sum())
        )
        emergency = self._under_frequency(ctx.time_s, frequency_hz)
        if emergency:
            delta_kw = -self.under_frequency_share * available_kw
        else:
            delta_kw = float(
                np.clip(
                    self.droop_delta_kw(frequency_hz, rated_kw),
                    floor_kw - basepoint_kw,
                    max(ceiling_kw - basepoint_kw, 0.0),
                )
            )
        plan = plan.with_target(self.name, basepoint_kw + delta_kw)
        return plan.with_records(
            fcr_basepoint_kw=basepoint_kw,
            fcr_available_kw=available_kw,
            fcr_min_kw=floor_kw,
            fcr_rated_kw=rated_kw,
            fcr_delta_kw=delta_kw,
            fcr_under_frequency=float(emergency),
            fcr_frequency_hz=frequency_hz,
        )


class FrequencyResponseSpec(ServiceConfig):
    """Primary frequency response (Kashiwa EV project): droop with deadband, and an under-frequency mode."""

    type: Literal["frequency_response"]
    order: int = 100
    nominal_hz: Annotated[float, Field(ge=40.0, le=70.0)] = 50.0
    droop_percent: Annotated[float, Field(gt=0.0, le=100.0)] = 5.0
    """R: the deviation (% of nominal) that moves 100 % of the rated power; the Kashiwa EV project asks for <= 5 %."""
    deadband_hz: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01
    rated_kw: Annotated[float, Field(gt=0.0)] | None = None
    """Power the droop refers to, kW; None = the charger rating of the plugged EVs."""
    under_frequency_hz: Annotated[float, Field(ge=40.0, le=70.0)] = 49.8
    under_frequency_share: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """Share of the available power delivered once the frequency falls below the threshold."""
    hold_s: Annotated[float, Field(ge=0.0)] = 360.0
    """The under-frequency response is held at least this long after it starts, s (Kashiwa EV project: asks for
    >= 5 min of delivery; the extra minute covers the time to reach it)."""

    @field_validator("hold_s", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration_s(value) if isinstance(value, str) else value

    def build(self) -> Service:
        return FrequencyResponse(
            self.nominal_hz,
            self.droop_percent,
            self.deadband_hz,
            self.rated_kw,
            self.under_frequency_hz,
            self.under_frequency_share,
            self.hold_s,
            order=self.order,
        )
