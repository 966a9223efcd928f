"""The scenario schema: one YAML file = one study, as pydantic models.

A leaf: imports no domain package. What only the domain knows (which services and charger
protocols exist, whether a grid or a signal entry can be built) arrives as a `ScenarioRules`
in the validation context (twin/config/rules.py); `twin.catalog` supplies it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from twin.config.durations import parse_clock_s, parse_duration_s
from twin.config.errors import ScenarioError
from twin.config.island_trips import IslandTripSpec
from twin.config.market import MarketSpec
from twin.config.rules import ScenarioRules
from twin.config.types import (
    Efficiency,
    Fraction,
    NonNegativeFloat,
    PositiveFloat,
    StrictModel,
)

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "default.yaml"

__all__ = ["DEFAULT_SCENARIO", "Scenario", "ScenarioError", "ServiceSpec"]

_Strict = StrictModel


def _rules(info: ValidationInfo) -> ScenarioRules:
    rules = (info.context or {}).get("rules")
    return rules if isinstance(rules, ScenarioRules) else ScenarioRules()


def _problems_error(title: str, problems: list[tuple[tuple[Any, ...], str]]) -> ValidationError:
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("scenario", "{problem}", {"problem": message}),
                loc=loc,
                input=None,
            )
            for loc, message in problems
        ],
    )


MAX_FLEETS = 1_000
MAX_HARDWARE = 10_000
MAX_CASES = 1_000
MAX_SERVICES = 100
MAX_EVS = 2_000_000
"""EVs of all fleets together (a year of 2 M EVs at 15 min already needs ~100 GB of results)."""
MAX_STEPS = 40_000_000
"""duration / step: a year at 1 s is 31.5 M steps; every signal holds one value per step."""
MIN_YEAR, MAX_YEAR = 1900, 2200
MAX_CHARGER_ID = 48
"""OCPP 1.6's identity limit (CiString48); also bounds the `hil.<id>.*` column names."""


def check_name(value: str, field_name: str, max_length: int = 100) -> str:
    """A name that becomes a folder or file name: never a path, never control characters."""
    if not value or len(value) > max_length:
        raise ValueError(f"{field_name} must have 1 to {max_length} characters")
    if not value[0].isalnum() or not all(c.isalnum() or c in " _-." for c in value):
        raise ValueError(
            f"{field_name} {value!r} may only contain letters, digits, spaces, '_', '-' and '.', "
            "and must start with a letter or digit (it names a folder, it is not a path)"
        )
    return value


def _duration_field(value: Any) -> int:
    return parse_duration_s(value)


class ServiceSpec(StrictModel):
    """Scenario parameters of one EMS service. Each service's module subclasses this (through
    twin.ems.services.base.ServiceConfig) with `type: Literal["<name>"]`; the registry of the
    installed services resolves `type` (ScenarioRules.service_specs)."""

    type: str
    order: int = 0
    """Services apply in ascending order; a later one overrides an earlier one's target."""


def _resolve_service(value: Any, info: ValidationInfo) -> ServiceSpec:
    if isinstance(value, ServiceSpec):
        return value
    specs = _rules(info).service_specs
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(value, dict) or kind is None:
        raise PydanticCustomError(
            "service",
            "a service is a mapping with a `type` (one of: {known})",
            {"known": ", ".join(sorted(specs)) or "none registered"},
        )
    if not isinstance(kind, str) or kind not in specs:
        raise PydanticCustomError(
            "service",
            "unknown service type '{kind}' (known: {known})",
            {"kind": str(kind), "known": ", ".join(sorted(specs)) or "none registered"},
        )
    return specs[kind].model_validate(value, context=info.context)


def _dump_service(spec: ServiceSpec) -> dict[str, Any]:
    # Serialise the concrete spec, not the base class's two fields.
    return spec.model_dump(mode="json")


ResolvedService = Annotated[
    ServiceSpec, PlainValidator(_resolve_service), PlainSerializer(_dump_service)
]


class SeasonalEfficiency(_Strict):
    """Driving efficiency in km/kWh by season (Oki islands study: 6.3 summer, 7.9 mid-season, 4.0 winter)."""

    summer: PositiveFloat = 6.3
    mid: PositiveFloat = 7.9
    winter: PositiveFloat = 4.0


class VehicleSpec(_Strict):
    battery_kwh: PositiveFloat = 40.0
    efficiency_km_per_kwh: SeasonalEfficiency = SeasonalEfficiency()
    ac_max_kw: PositiveFloat = 6.0
    bidirectional: bool = False
    eta_charge: Efficiency = 0.92
    eta_discharge: Efficiency = 0.92


class ChargerSpec(_Strict):
    max_kw: PositiveFloat = 6.0
    bidirectional: bool = False
    response_time_s: NonNegativeFloat = 2.0
    """Time to reach ~95 % of a new set-point (first-order lag with tau = response_time_s / 3)."""
    latency_s: NonNegativeFloat = 0.0
    """Communication latency: a set-point takes effect this long after the EMS sends it, s."""


class TripSpec(_Strict):
    """Plug-in behaviour and driving; defaults depend on the fleet type (see twin.fleet.trips)."""

    arrive: str | None = None
    arrive_std: str | None = None
    depart: str | None = None
    depart_std: str | None = None
    daily_km_median: PositiveFloat | None = None
    daily_km_sigma: NonNegativeFloat | None = None
    plug_in_probability: Fraction | None = None
    weekend_trip_probability: Fraction | None = None
    work_days: list[Annotated[int, Field(ge=0, le=6)]] | None = None

    @field_validator("arrive", "depart")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None:
            parse_clock_s(value)
        return value

    @field_validator("arrive_std", "depart_std")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration_s(value)
        return value


class FleetSpec(_Strict):
    type: Literal["commuter", "business", "home", "island"]
    count: Annotated[int, Field(ge=0, le=MAX_EVS)]
    vehicle: VehicleSpec = VehicleSpec()
    charger: ChargerSpec = ChargerSpec()
    soc_floor: Fraction = 0.3
    """Battery floor never crossed by the EMS (Oki islands study: 30 %; business-use floor such as 50 %, Toyota V2G demo)."""
    soc_target: Fraction = 0.9
    """What the driver wants at departure; the baseline charges to it at full power."""
    soc_initial: tuple[Fraction, Fraction] = (0.4, 0.8)
    trips: TripSpec = TripSpec()
    sites: int | list[int] = 1
    """Number of charging sites spread automatically over load buses, or explicit bus ids."""
    discharge: Literal["export", "behind_the_meter"] = "export"
    """What a bidirectional fleet's discharge may feed: `export` (V2G: reverse flow into the
    grid, within its limits) or `behind_the_meter` (V2H: at most the house/site load net of
    local generation on the EV's own bus, so nothing is exported)."""
    island: IslandTripSpec | None = None
    """Trips of an `island` fleet (None there = the study's defaults); ignored by other types."""
    engine: bool = False
    """A plug-in hybrid: when the battery reaches its floor the car drives on fuel, so driving
    never needs a forced charge (Toyota V2G demo: Prius PHV)."""

    @model_serializer(mode="wrap")
    def _omit_unset_extensions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Studies that use neither field store the same scenario.yaml as before they existed.
        data: dict[str, Any] = handler(self)
        if self.island is None:
            data.pop("island", None)
        if not self.engine:
            data.pop("engine", None)
        return data

    @field_validator("sites")
    @classmethod
    def _sites(cls, value: int | list[int]) -> int | list[int]:
        n = value if isinstance(value, int) else len(value)
        if isinstance(value, int) and value <= 0:
            raise ValueError("the number of sites must be at least 1")
        if isinstance(value, list) and not value:
            raise ValueError("an explicit site list needs at least one bus id")
        if n > MAX_EVS:
            raise ValueError(f"{n:,} sites; at most {MAX_EVS:,} (one per EV at most)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FleetSpec:
        if self.soc_target <= self.soc_floor:
            raise ValueError(
                f"soc_target ({self.soc_target}) must be above soc_floor ({self.soc_floor})"
            )
        lo, hi = self.soc_initial
        if lo > hi:
            raise ValueError(f"soc_initial range is reversed: ({lo}, {hi})")
        return self


class VoltageBand(_Strict):
    """The allowed voltage of the buses up to `up_to_kv` nominal (the lowest band that covers a
    bus applies)."""

    up_to_kv: Annotated[float, Field(gt=0.0)]
    vm_min_pu: Annotated[float, Field(gt=0.0, lt=2.0)]
    vm_max_pu: Annotated[float, Field(gt=0.0, lt=2.0)]

    @model_validator(mode="after")
    def _ordered(self) -> VoltageBand:
        if self.vm_min_pu >= self.vm_max_pu:
            raise ValueError(
                f"vm_min_pu ({self.vm_min_pu}) must be below vm_max_pu ({self.vm_max_pu})"
            )
        return self


class GridLimitsSpec(_Strict):
    """The limits violations are counted against (and the grid-protection service keeps).

    Unset fields come from the grid itself (SimBench's `max_loading_percent`, `min_vm_pu`,
    `max_vm_pu`), else 100 % and 0.9-1.1 pu. `preset: japan` sets the Japanese service bands:
    LV 101 +- 6 V on the 100 V service (0.95-1.07 pu; the 200 V service's 202 +- 20 V is wider)
    and 6.6 kV distribution 6.3-6.9 kV (0.955-1.045 pu, utility practice)."""

    preset: Literal["grid", "japan"] = "grid"
    line_max_loading_pct: Annotated[float, Field(gt=0.0, le=1000.0)] | None = None
    trafo_max_loading_pct: Annotated[float, Field(gt=0.0, le=1000.0)] | None = None
    voltage_bands: list[VoltageBand] | None = None


class EnvelopeSpec(_Strict):
    """A DSO's dynamic operating envelope: import/export limits per interval on one element.

    `element`: `trafo:<id>` (the active power into the transformer at its HV side) or `bus:<id>`
    (a site: the bus's load net of local generation, plus its EVs). `path`: a CSV (relative to
    the scenario's folder) with columns `time`, `import_kw`, `export_kw`, each row holding until
    the next (as signal files)."""

    element: Annotated[str, Field(pattern=r"^(trafo|bus):\d{1,9}$")]
    path: Annotated[str, Field(min_length=1, max_length=4096)]

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str, info: ValidationInfo) -> str:
        if "\x00" in value:
            raise ValueError("path contains a NUL character")
        base = Path((info.context or {}).get("base_dir") or ".")
        return value if Path(value).is_absolute() else str((base / value).resolve())


class GridSpec(_Strict):
    name: str
    params: dict[str, Any] = {}
    load_scale: NonNegativeFloat = 1.0
    pv_scale: NonNegativeFloat = 1.0
    backend: Literal["lightsim2grid", "pandapower"] = "lightsim2grid"
    limits: GridLimitsSpec = GridLimitsSpec()
    envelopes: Annotated[list[EnvelopeSpec], Field(max_length=10_000)] = []
    """Operating envelopes the grid-protection service keeps (import/export per interval)."""

    @field_validator("name")
    @classmethod
    def _known(cls, name: str, info: ValidationInfo) -> str:
        problem = _rules(info).grid_problem(name)
        if problem:
            raise ValueError(problem)
        return name


class TouPeriod(_Strict):
    start: str
    price_per_kwh: float

    @field_validator("start")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock_s(value)
        return value


class PriceSpec(_Strict):
    """Electricity price: a time-of-use tariff (`tou`: each period runs from its start to the
    next one, wrapping at midnight) or a price series from a CSV file (`csv`: columns `time` and
    `price_per_kwh`, currency per kWh, e.g. day-ahead prices; `path` relative to the scenario's folder)."""

    source: Literal["tou", "csv"] = "tou"
    path: str | None = None
    file_step_s: PositiveFloat | None = None
    periods: list[TouPeriod] = Field(
        default_factory=lambda: [
            TouPeriod(start="00:00", price_per_kwh=0.18),
            TouPeriod(start="07:00", price_per_kwh=0.32),
            TouPeriod(start="23:00", price_per_kwh=0.18),
        ],
        min_length=1,
    )

    @model_validator(mode="after")
    def _csv_needs_path(self) -> PriceSpec:
        if self.source == "csv" and not self.path:
            raise ValueError(
                "a csv price source needs `path` (a CSV with columns time, price_per_kwh)"
            )
        return self


class BuildingsSpec(_Strict):
    """Buildings where the EVs park (Oki islands study): PV on a share of them and a residential demand.

    Gives the signals `building_pv_kw` (one PV building's output: pv_kw x clear-sky factor x
    clear_sky_share), `building_load_kw` (one building's demand: peak_load_kw x the residential
    daily/seasonal shape), `building_pv_share`, and the area totals over `count` buildings
    (`area_pv_kw`, `area_load_kw`, `area_pv_surplus_kw` = PV buildings' surplus without EVs).
    """

    count: Annotated[int, Field(gt=0)] = 6174
    pv_share: Fraction = 0.3
    pv_kw: NonNegativeFloat = 4.5
    peak_load_kw: NonNegativeFloat = 1.5
    clear_sky_share: Fraction = 0.7
    """Mean PV output as a share of clear-sky output (clouds, soiling, inverter)."""
    latitude_deg: Annotated[float, Field(ge=-90.0, le=90.0)] = 36.2
    longitude_deg: Annotated[float, Field(ge=-180.0, le=180.0)] = 133.3
    others: Annotated[int, Field(ge=0)] = 0
    """Non-residential buildings (Oki islands study: 1,179), with PV on the same share; signals
    `other_building_*` and their part of the area totals."""
    other_peak_load_kw: NonNegativeFloat = 8.0
    """Peak demand of one non-residential building (daytime shape; our assumption)."""
    house_roof_m2: PositiveFloat | None = None
    """Roof area of a house (Oki islands study: 81.5 m2); set, it sizes the PV instead of
    `pv_kw`: roof x pv_roof_share x pv_kw_per_m2."""
    other_roof_m2: PositiveFloat = 262.2
    pv_roof_share: Fraction = 0.5
    pv_kw_per_m2: PositiveFloat = 0.15
    """Module rating per m2 (15 % efficient modules)."""
    weather: Literal["clear_sky", "daily"] = "clear_sky"
    """`clear_sky`: every day clear-sky x clear_sky_share; `daily`: a clearness drawn per day
    (Markov chain of clear / cloudy / overcast days, twin.signals.pv_weather) x
    performance_ratio."""
    performance_ratio: Fraction = 0.85


SIGNAL_KINDS = ("frequency", "regulation", "fems", "reserve", "co2")


class SignalsSpec(_Strict):
    """Signals the EMS sees. Each of frequency / regulation / fems / reserve / co2 is a mapping
    for twin.signals.registry.build_signal: optional `source` (synthetic or csv) plus the
    generator's parameters (regulation / fems / reserve may also be `source: openadr`, live from
    a VTN in real-time runs: docs/openadr.md); a CSV source takes `path` (relative to the
    scenario's folder when the loader passes it as validation context `base_dir`, else to the
    working directory)."""

    prices: PriceSpec = PriceSpec()
    frequency: dict[str, Any] | None = None
    regulation: dict[str, Any] | None = None
    fems: dict[str, Any] | None = None
    reserve: dict[str, Any] | None = None
    co2: dict[str, Any] | None = None
    buildings: BuildingsSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _absolute_paths(cls, data: Any, info: ValidationInfo) -> Any:
        # Resolved once here, so the run does not depend on the working directory it starts in.
        if not isinstance(data, dict):
            return data
        base = Path((info.context or {}).get("base_dir") or ".")
        data = dict(data)
        for kind in (*SIGNAL_KINDS, "prices"):
            entry = data.get(kind)
            # `credentials_file`: an OpenADR source's credentials (docs/openadr.md).
            for key in ("path", "credentials_file"):
                if (
                    isinstance(entry, dict)
                    and isinstance(entry.get(key), str)
                    and not Path(entry[key]).is_absolute()
                ):
                    entry = data[kind] = {**entry, key: str((base / entry[key]).resolve())}
        return data

    @model_validator(mode="after")
    def _signals_build(self, info: ValidationInfo) -> SignalsSpec:
        problems = _rules(info).signal_problems(self)
        if problems:
            raise _problems_error("SignalsSpec", problems)
        return self


class EmsSpec(_Strict):
    services: list[ResolvedService] = Field(default_factory=list, max_length=MAX_SERVICES)
    allocation: Literal["proportional", "relay"] = "proportional"


class OutputSpec(_Strict):
    dir: Annotated[str, Field(min_length=1, max_length=4096)] = "results"
    """Folder the run folder `<dir>/<name>` goes in."""

    @field_validator("dir")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("outputs.dir contains a control character (NUL, newline, ...)")
        if os.path.dirname(os.path.abspath(value)) == os.path.abspath(value):
            # `dir: /` put the run folder straight into the file-system root (`/default`).
            raise ValueError(f"outputs.dir '{value}' is the file-system root; name a folder")
        return value

    per_ev: bool = False
    """Also write `ev_p_kw.<fleet>.parquet` (each EV's average grid power per step) and
    `ev_soc.<fleet>.parquet` (its SOC after the step), one column per EV index: steps x EVs x 2
    values, so large for big fleets (a year of 12,000 EVs at 15 min is ~7 GB)."""
    grid_detail: bool = True
    """Write per-bus voltages and per-line/trafo loading for the grid view of the dashboard."""
    baseline_grid: bool = True
    """Solve the uncontrolled baseline's own power flow every step (`grid_baseline.*` columns,
    `violations.baseline` in summary.json; per-element `grid_baseline_*` tables with
    `grid_detail`): what the controller does to the grid, next to what the fleet alone would."""
    chunk_steps: Annotated[int, Field(gt=0)] = 2000
    """Steps per Parquet part file: a killed run loses at most this many steps."""


class HardwareBinding(_Strict):
    charger: str
    """`<fleet>/<index>`: which simulated charger the physical one replaces."""
    adapter: str
    """Charger protocol (a name of adapters.registry: `ocpp`, `modbus`, ...)."""
    id: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)] | None = None
    map: str | None = None
    password: str | None = None
    bidirectional: bool | None = None
    """The physical charger can discharge (e.g. an OCPP 2.1 V2X charger whose EV reports no
    bidirectional mode); None = as the charger and its protocol report it. Discharge set-points
    go only to a charger that can discharge; the others are sent 0 kW."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        # The id is the charger's OCPP identity (the last segment of its URL, CiString48 in OCPP
        # 1.6) and names its `hil.<id>.*` result columns: a name, not a path.
        if value is None:
            return value
        if not 1 <= len(value) <= MAX_CHARGER_ID:
            raise ValueError(f"a charger id has 1 to {MAX_CHARGER_ID} characters")
        if not value.isprintable() or any(c in value for c in "/\\?#% "):
            raise ValueError(
                f"charger id {value!r} may not contain '/', '\\', '?', '#', '%', spaces or "
                "control characters (it is the last segment of the charger's URL)"
            )
        return value

    @field_validator("charger")
    @classmethod
    def _ref(cls, value: str) -> str:
        fleet, sep, index = value.partition("/")
        if not sep or not fleet or not index.isdigit():
            raise ValueError(f"'{value}' must look like '<fleet>/<index>', e.g. 'commuters/3'")
        return value


class HilSpec(_Strict):
    """Lab settings for hardware-in-the-loop runs (used only when `hardware` binds chargers)."""

    csms_host: str = "127.0.0.1"
    csms_port: Annotated[int, Field(ge=0, lt=65536)] = 9000
    tls_cert: str | None = None
    tls_key: str | None = None
    client_ca: str | None = None
    """PEM CA of the chargers' client certificates: OCPP security profile 3 (needs tls_cert)."""
    meter_interval_s: Annotated[int, Field(ge=1)] = 1
    connect_timeout_s: PositiveFloat = 30.0
    rt_factor: PositiveFloat = 1.0
    """Wall seconds per simulated second when run with --realtime (1.0 = real time)."""
    degraded_hold_s: PositiveFloat = 30.0
    """A charger that refused a set-point is planned out of the EMS until it has accepted
    set-points for this long (wall clock), s."""


class Scenario(_Strict):
    name: str
    """The study's name: the results folder is `<outputs.dir>/<name>`, so it is a name, not a path
    (letters of any script, digits, space, `_`, `-`, `.`; starts with a letter or digit)."""
    description: Annotated[str, Field(max_length=10_000)] = ""
    start: dt.datetime
    timezone: str = "Asia/Tokyo"
    duration: Annotated[int, Field(gt=0)]
    step: Annotated[int, Field(gt=0)]
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    grid: GridSpec
    fleets: dict[str, FleetSpec] = Field(min_length=1, max_length=MAX_FLEETS)
    signals: SignalsSpec = SignalsSpec()
    ems: EmsSpec = EmsSpec()
    outputs: OutputSpec = OutputSpec()
    hardware: list[HardwareBinding] = Field(default_factory=list, max_length=MAX_HARDWARE)
    hil: HilSpec = HilSpec()
    market: MarketSpec | None = None
    """Settlement of the run's services into a hash-chained ledger (twin/markets)."""
    cases: dict[str, dict[str, Any]] = Field(default_factory=dict, max_length=MAX_CASES)
    """Named sets of overrides (dotted field path -> value), e.g. the adoption cases of a study."""
    case: str | None = None
    """The case this run applies (its overrides are in the fields above)."""
    block_steps: Annotated[int, Field(gt=0, le=10_000)] = 96
    """Model steps per mosaik step in virtual runs: fleets and EMS step together inside one
    simulator, the grid solves the block's power flows in one call (twin/run/control_loop.py says why).
    Results do not depend on it; the EMS sees the grid state of the previous block. HIL and
    real-time runs always use 1. At most 10,000: a block's grid results are held in memory
    (steps x elements) until it is recorded."""
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str:
        """The file this scenario was loaded from (for error messages), or its name."""
        return self._source or f"scenario '{self.name}'"

    @field_validator("duration", "step", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> int:
        return _duration_field(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "name")

    @field_validator("start")
    @classmethod
    def _start(cls, value: dt.datetime) -> dt.datetime:
        # Years outside this range overflow the clock arithmetic of a run (year 1 minus a UTC
        # offset, year 9999 plus a year) and no study needs them.
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"start year {value.year} is outside {MIN_YEAR}..{MAX_YEAR}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a zone-database folder such as "America" is not a zone.
            raise ValueError(
                f"unknown time zone '{value}' (use an IANA name such as 'Asia/Tokyo')"
            ) from None
        return value

    @field_validator("fleets")
    @classmethod
    def _fleet_names(cls, fleets: dict[str, FleetSpec]) -> dict[str, FleetSpec]:
        for name in fleets:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(
                    f"fleet name '{name}' may only contain letters, digits, '_' and '-'"
                )
        return fleets

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Scenario:
        problems: list[tuple[tuple[Any, ...], str]] = []
        if self.duration % self.step:
            problems.append(
                (
                    ("duration",),
                    f"duration ({self.duration} s) is not a whole number of steps ({self.step} s)",
                )
            )
        if self.duration // self.step > MAX_STEPS:
            problems.append(
                (
                    ("duration",),
                    f"{self.duration // self.step:,} steps; at most {MAX_STEPS:,} "
                    "(a year at 1 s is 31.5 M): use a longer step or a shorter duration",
                )
            )
        if self.ev_count > MAX_EVS:
            problems.append((("fleets",), f"{self.ev_count:,} EVs in all; at most {MAX_EVS:,}"))
        seen: set[str] = set()
        for i, binding in enumerate(self.hardware):
            where = ("hardware", i)
            if binding.charger in seen:
                problems.append(
                    ((*where, "charger"), f"hardware charger '{binding.charger}' is bound twice")
                )
            seen.add(binding.charger)
            rules = _rules(info)
            if rules.protocols and binding.adapter not in rules.protocols:
                problems.append(
                    (
                        (*where, "adapter"),
                        f"unknown charger protocol '{binding.adapter}' "
                        f"(known: {', '.join(rules.protocols)})",
                    )
                )
            else:
                for field_name, message in rules.binding_problems(binding):
                    problems.append(
                        ((*where, field_name), f"hardware charger '{binding.charger}': {message}")
                    )
            fleet, _, index = binding.charger.partition("/")
            if fleet not in self.fleets:
                problems.append(
                    (
                        (*where, "charger"),
                        f"hardware charger '{binding.charger}': no fleet named '{fleet}'",
                    )
                )
            elif int(index) >= self.fleets[fleet].count:
                problems.append(
                    (
                        (*where, "charger"),
                        f"hardware charger '{binding.charger}': fleet '{fleet}' "
                        f"has only {self.fleets[fleet].count} EVs",
                    )
                )
        if problems:
            raise _problems_error("Scenario", problems)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start_local(self) -> dt.datetime:
        """Start as an aware datetime in the scenario's time zone."""
        if self.start.tzinfo is None:
            return self.start.replace(tzinfo=self.tz)
        return self.start.astimezone(self.tz)

    @property
    def n_steps(self) -> int:
        return self.duration // self.step

    @property
    def ev_count(self) -> int:
        return sum(f.count for f in self.fleets.values())
