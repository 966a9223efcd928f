"""Scenario-side parameters of each EMS service (one pydantic model per service `type`).

Adding a service = one class in twin/ems/services/ + one spec here added to `ServiceSpec`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin.config.durations import parse_clock_s, parse_duration_s


class _ServiceSpecBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order: int = 0
    """Services apply in ascending order; a later one overrides an earlier one's target."""


class ClockWindow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock_s(value)
        return value

    def contains(self, second_of_day: int) -> bool:
        lo, hi = parse_clock_s(self.start), parse_clock_s(self.end)
        if lo <= hi:
            return lo <= second_of_day < hi
        return second_of_day >= lo or second_of_day < hi


class UncontrolledSpec(_ServiceSpecBase):
    type: Literal["uncontrolled"]


class SmartChargingSpec(_ServiceSpecBase):
    type: Literal["smart_charging"]
    cheap_price_quantile: Annotated[float, Field(ge=0.0, le=1.0)] = 0.34
    """Hours whose price is at or below this quantile of the day's prices count as cheap."""


class FlexibilityWindowsSpec(_ServiceSpecBase):
    type: Literal["flexibility_windows"]
    push_up: ClockWindow | None = ClockWindow(start="10:00", end="14:00")
    push_down: ClockWindow | None = ClockWindow(start="16:00", end="20:00")
    discharge_in_push_down: bool = True
    """Bidirectional EVs may discharge (never below floor or departure need) in push-down."""
    push_up_soc_max: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    """In push-up, EVs may charge above the driver's target up to this SOC (store PV surplus);
    None = never above the target (pure time shifting)."""


class FrequencyResponseSpec(_ServiceSpecBase):
    """Primary frequency response (R1): droop with deadband, and an under-frequency mode."""

    type: Literal["frequency_response"]
    order: int = 100
    nominal_hz: Annotated[float, Field(ge=40.0, le=70.0)] = 50.0
    droop_percent: Annotated[float, Field(gt=0.0, le=100.0)] = 5.0
    """R: the deviation (% of nominal) that moves 100 % of the rated power; R1 asks for <= 5 %."""
    deadband_hz: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01
    rated_kw: Annotated[float, Field(gt=0.0)] | None = None
    """Power the droop refers to, kW; None = the charger rating of the plugged EVs."""
    under_frequency_hz: Annotated[float, Field(ge=40.0, le=70.0)] = 49.8
    under_frequency_share: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """Share of the available power delivered once the frequency falls below the threshold."""
    hold_s: Annotated[float, Field(ge=0.0)] = 360.0
    """The under-frequency response is held at least this long after it starts, s (R1 asks for
    >= 5 min of delivery; the extra minute covers the time to reach it)."""

    @field_validator("hold_s", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration_s(value) if isinstance(value, str) else value


class RegulationSpec(_ServiceSpecBase):
    """Regulation tracking (R3, secondary reserve (1)): basepoint +- signal x offered capacity."""

    type: Literal["regulation"]
    order: int = 90
    capacity_kw: Annotated[float, Field(gt=0.0)]
    """Offered regulation capacity: signal +-1 moves the fleet by this much, kW."""
    positive: Literal["discharge", "charge"] = "discharge"
    """What a positive signal asks for (grid convention: + = inject = discharge / charge less)."""
    priority: Literal["schedule", "regulation"] = "schedule"
    """When schedule +- regulation does not fit the fleet's range, which one gives way (R3:
    the kWh schedule wins)."""


class FemsScheduleSpec(_ServiceSpecBase):
    """kWh schedule tracking of the FEMS 30-min requests (R3), closed loop on delivered energy."""

    type: Literal["fems_schedule"]
    order: int = 50
    slot_s: Annotated[int, Field(gt=0)] = 1800


class ReserveSpec(_ServiceSpecBase):
    """Tertiary reserve (1)/(2) (R3 "down-DR"): consume `reduction` less than the baseline."""

    type: Literal["reserve"]
    order: int = 60
    product: Literal["tertiary_1", "tertiary_2", "tertiary_2_2025"] = "tertiary_1"
    baseline_kw: float | None = None
    """Declared baseline, kW (constant); None = the plan of the services before this one."""


Place = Literal["home", "workplace", "other"]


class Co2ControlSpec(_ServiceSpecBase):
    """CO2-level control with the 10-level table and the per-place rules of R5."""

    type: Literal["co2_control"]
    order: int = 20
    station_kw: Annotated[float, Field(gt=0.0)] = 6.0
    places: dict[str, Place] = Field(default_factory=dict)
    """Fleet name -> where its EVs are plugged; fleets not listed use `default_place`."""
    default_place: Place = "home"
    charge_to_soc: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """R5: charging goes up to 100 %."""
    v2h_until_soc: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    """A full EV at home without surplus covers the house demand by discharging until its SOC
    falls to this level (never below its floor), then charges again."""


class PvSurplusSpec(_ServiceSpecBase):
    """Charge the PV surplus of the building each EV is plugged at (R4, R5)."""

    type: Literal["pv_surplus"]
    order: int = 30
    soc_max: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """EVs may charge surplus above the driver's target up to this SOC."""


class PriceResponseSpec(_ServiceSpecBase):
    """Time-of-use / dynamic price response (R4)."""

    type: Literal["price_response"]
    order: int = 5
    charge_below: float
    """At or below this price per kWh the fleet charges at full power."""
    discharge_above: float | None = None
    """At or above this price bidirectional EVs discharge (within their floors); None = never."""

    @model_validator(mode="after")
    def _ordered(self) -> PriceResponseSpec:
        if self.discharge_above is not None and self.discharge_above <= self.charge_below:
            raise ValueError(
                f"discharge_above ({self.discharge_above}) must be above charge_below ({self.charge_below})"
            )
        return self


ServiceSpec = Annotated[
    UncontrolledSpec
    | SmartChargingSpec
    | FlexibilityWindowsSpec
    | FrequencyResponseSpec
    | RegulationSpec
    | FemsScheduleSpec
    | ReserveSpec
    | Co2ControlSpec
    | PvSurplusSpec
    | PriceResponseSpec,
    Field(discriminator="type"),
]
