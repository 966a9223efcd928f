"""Scenario files: the pydantic schema and the loader.

A scenario is one YAML file = one study. Every error a user can make is reported as
`file: field.path: what is wrong`, all problems at once, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from twin.config.durations import parse_clock_s, parse_duration_s
from twin.ems.services.specs import ServiceSpec

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "default.yaml"


class ScenarioError(Exception):
    """A scenario file that cannot be used; `problems` holds (field path, message) pairs."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [
            f"{self.path}: {field}: {message}" if field else f"{self.path}: {message}"
            for field, message in self.problems
        ]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Efficiency = Annotated[float, Field(gt=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


def _duration_field(value: Any) -> int:
    return parse_duration_s(value)


def _clock_field(value: Any) -> int:
    return parse_clock_s(value)


class SeasonalEfficiency(_Strict):
    """Driving efficiency in km/kWh by season (R5: 6.3 summer, 7.9 mid-season, 4.0 winter)."""

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
    type: Literal["commuter", "business", "home"]
    count: Annotated[int, Field(ge=0, le=2_000_000)]
    vehicle: VehicleSpec = VehicleSpec()
    charger: ChargerSpec = ChargerSpec()
    soc_floor: Fraction = 0.3
    """Battery floor never crossed by the EMS (R5: 30 %; business-use floor such as 50 %, R3)."""
    soc_target: Fraction = 0.9
    """What the driver wants at departure; the baseline charges to it at full power."""
    soc_initial: tuple[Fraction, Fraction] = (0.4, 0.8)
    trips: TripSpec = TripSpec()
    sites: Annotated[int, Field(gt=0)] | list[int] = 1
    """Number of charging sites spread automatically over load buses, or explicit bus ids."""

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


class GridSpec(_Strict):
    name: str
    params: dict[str, Any] = {}
    load_scale: NonNegativeFloat = 1.0
    pv_scale: NonNegativeFloat = 1.0
    backend: Literal["lightsim2grid", "pandapower"] = "lightsim2grid"

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        from grids import check_grid_name

        check_grid_name(name)
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
    """Buildings where the EVs park (R5): PV on a share of them and a residential demand.

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


SIGNAL_KINDS = ("frequency", "regulation", "fems", "reserve", "co2")


class SignalsSpec(_Strict):
    """Signals the EMS sees. Each of frequency / regulation / fems / reserve / co2 is a mapping
    for twin.signals.registry.build_signal: optional `source` (synthetic or csv) plus the
    generator's parameters; a CSV source takes `path` (relative to the scenario's folder when
    the loader passes it as validation context `base_dir`, else to the working directory)."""

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
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("path"), str)
                and not Path(entry["path"]).is_absolute()
            ):
                data[kind] = {**entry, "path": str((base / entry["path"]).resolve())}
        return data

    @model_validator(mode="after")
    def _signals_build(self) -> SignalsSpec:
        from twin.signals.scenario_signals import signal_problems

        problems = signal_problems(self)
        if problems:
            raise ValidationError.from_exception_data(
                "SignalsSpec",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("signal", "{problem}", {"problem": message}),
                        loc=loc,
                        input=None,
                    )
                    for loc, message in problems
                ],
            )
        return self


class EmsSpec(_Strict):
    services: list[ServiceSpec] = Field(default_factory=list)
    allocation: Literal["proportional", "relay"] = "proportional"


class OutputSpec(_Strict):
    dir: str = "results"
    per_ev: bool = False
    """Also write `ev_p_kw.<fleet>.parquet` (each EV's average grid power per step) and
    `ev_soc.<fleet>.parquet` (its SOC after the step), one column per EV index: steps x EVs x 2
    values, so large for big fleets (a year of 12,000 EVs at 15 min is ~7 GB)."""
    grid_detail: bool = True
    """Write per-bus voltages and per-line/trafo loading for the grid view of the dashboard."""
    chunk_steps: Annotated[int, Field(gt=0)] = 2000
    """Steps per Parquet part file: a killed run loses at most this many steps."""


class HardwareBinding(_Strict):
    charger: str
    """`<fleet>/<index>`: which simulated charger the physical one replaces."""
    adapter: Literal["ocpp", "modbus"]
    id: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)] | None = None
    map: str | None = None
    password: str | None = None

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
    meter_interval_s: Annotated[int, Field(ge=1)] = 1
    connect_timeout_s: PositiveFloat = 30.0
    rt_factor: PositiveFloat = 1.0
    """Wall seconds per simulated second when run with --realtime (1.0 = real time)."""
    degraded_hold_s: PositiveFloat = 30.0
    """A charger that refused a set-point is planned out of the EMS until it has accepted
    set-points for this long (wall clock), s."""


class Scenario(_Strict):
    name: str
    description: str = ""
    start: dt.datetime
    timezone: str = "Asia/Tokyo"
    duration: Annotated[int, Field(gt=0)]
    step: Annotated[int, Field(gt=0)]
    seed: int = 0
    grid: GridSpec
    fleets: dict[str, FleetSpec] = Field(min_length=1)
    signals: SignalsSpec = SignalsSpec()
    ems: EmsSpec = EmsSpec()
    outputs: OutputSpec = OutputSpec()
    hardware: list[HardwareBinding] = Field(default_factory=list)
    hil: HilSpec = HilSpec()
    cases: dict[str, dict[str, Any]] = Field(default_factory=dict)
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

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
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
    def _cross_checks(self) -> Scenario:
        problems: list[tuple[tuple[Any, ...], str]] = []
        if self.duration % self.step:
            problems.append(
                (
                    ("duration",),
                    f"duration ({self.duration} s) is not a whole number of steps ({self.step} s)",
                )
            )
        seen: set[str] = set()
        for i, binding in enumerate(self.hardware):
            where = ("hardware", i)
            if binding.charger in seen:
                problems.append(
                    ((*where, "charger"), f"hardware charger '{binding.charger}' is bound twice")
                )
            seen.add(binding.charger)
            if binding.adapter == "ocpp" and not binding.id:
                problems.append(
                    (
                        (*where, "id"),
                        f"hardware charger '{binding.charger}': an OCPP binding "
                        "needs `id` (the charger identity)",
                    )
                )
            if binding.adapter == "modbus" and (binding.port is None or binding.map is None):
                problems.append(
                    (
                        (*where, "port" if binding.port is None else "map"),
                        f"hardware charger '{binding.charger}': a Modbus binding needs `port` and `map`",
                    )
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
            raise ValidationError.from_exception_data(
                "Scenario",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("scenario", "{problem}", {"problem": message}),
                        loc=loc,
                        input=None,
                    )
                    for loc, message in problems
                ],
            )
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


def _service_tags() -> frozenset[str]:
    from typing import get_args

    union = get_args(ServiceSpec)[0]
    return frozenset(get_args(m.model_fields["type"].annotation)[0] for m in get_args(union))


def _field_path(loc: tuple[Any, ...]) -> str:
    # Pydantic puts union-member names in the location ("function-after[...]", the discriminator
    # tag after a list index); users only know their own field names.
    tags = _service_tags()
    parts: list[str] = []
    for i, p in enumerate(loc):
        text = str(p)
        if text.startswith(("function-", "tagged-union[")):
            continue
        if i > 0 and isinstance(loc[i - 1], int) and text in tags:
            continue
        parts.append(text)
    return ".".join(parts)


def _message(error: dict[str, Any]) -> str:
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if error["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    if error["type"] == "missing":
        msg = "required field is missing"
    return msg


def validate_scenario_data(data: Any, path: Path | str = "<scenario>") -> Scenario:
    """Validate already-parsed YAML data; raises ScenarioError listing every problem.

    Relative file paths inside the scenario (signal CSVs) resolve against the scenario file's
    folder, so a study runs the same from any working directory."""
    if not isinstance(data, dict):
        raise ScenarioError(
            path, [("", "the file must contain a mapping of fields (name, start, ...)")]
        )
    base_dir = Path(path).parent if str(path) != "<scenario>" else Path(".")
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as err:
        problems = [(_field_path(e["loc"]), _message(e)) for e in err.errors()]
        raise ScenarioError(path, problems) from None
    if str(path) != "<scenario>":
        scenario._source = str(path)
    return scenario


def load_scenario(path: Path | str, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file.

    Args:
        path: YAML file.
        overrides: dotted field paths to replace before validation, e.g. {"seed": 3}.

    Raises:
        ScenarioError: file missing, YAML syntax error, or schema problems (all of them).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, [("", "file not found")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise ScenarioError(path, [("", f"cannot read the file: {err}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(path, [("", f"YAML syntax error at {where}{problem}")]) from None
    if isinstance(data, dict):
        apply_overrides(data, overrides or {}, path)
    return validate_scenario_data(data, path)


def apply_overrides(
    data: dict[str, Any], overrides: dict[str, Any], path: Path | str = "<scenario>"
) -> None:
    """Apply the selected case (`case`, from the file or the overrides), then the overrides.

    The case's values come first, so an explicit override still wins over them.

    Raises:
        ScenarioError: unknown case, or an override path that does not fit the data.
    """
    case = overrides.get("case", data.get("case"))
    if case is not None:
        cases = data.get("cases") or {}
        if not isinstance(cases, dict) or str(case) not in cases:
            known = (
                ", ".join(map(str, cases)) if isinstance(cases, dict) and cases else "none defined"
            )
            raise ScenarioError(
                path, [("case", f"unknown case '{case}'; cases of this file: {known}")]
            )
        chosen = cases[str(case)]
        if not isinstance(chosen, dict):
            raise ScenarioError(
                path, [(f"cases.{case}", "a case is a mapping of field.path: value")]
            )
        for dotted, value in chosen.items():
            apply_override(data, str(dotted), value)
        data["case"] = str(case)
    for dotted, value in overrides.items():
        apply_override(data, dotted, value)


def apply_override(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested data, creating mapping levels as needed (used by --set and sweeps).

    A numeric key indexes a list (`hardware.0.port=5021`, `fleets.home.sites.2=17`); it must
    name an existing element, since a list cannot be extended by position meaningfully."""
    keys = dotted.split(".")
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[:depth]) or "<top>"
        if isinstance(node, list):
            if not key.lstrip("-").isdigit():
                raise ScenarioError(
                    "<override>", [(dotted, f"'{where}' is a list: use an index, not '{key}'")]
                )
            index = int(key)
            if not -len(node) <= index < len(node):
                raise ScenarioError(
                    "<override>",
                    [
                        (
                            dotted,
                            f"'{where}' has {len(node)} elements; index {index} is out of range",
                        )
                    ],
                )
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise ScenarioError(
                "<override>", [(dotted, f"'{where}' is a single value, not a mapping or list")]
            )


def scenario_as_run(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, as plain data (stored with the results)."""
    data = scenario.model_dump(mode="json")
    data["duration"] = f"{scenario.duration}s"
    data["step"] = f"{scenario.step}s"
    return data
