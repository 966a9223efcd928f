"""The one definition of the result tables' column and table names.

Every writer (fleet and EMS records, grid, signals, per-EV detail) builds its names here and
every reader (KPIs, telemetry, dashboard, report) parses them back here, so a column is renamed
in one place. The results are a contract with users too: README.md's "What a run gives you"
documents these names.

Naming: `<entity>.<quantity>_<unit>`; the entity is a fleet name, `<fleet>_baseline` (the same
fleet charging uncontrolled), `ems`, `grid` or `signal`. Fleet names may contain only letters,
digits, `_` and `-` (twin.config checks it), so the first `.` always ends the entity.
"""

from __future__ import annotations

from collections.abc import Iterable

TIME = "time"
"""First column of every table: the step's start, UTC (timezone-aware)."""
TIME_LOCAL = "time_local"
"""The step's start in the study's local time (timezone-aware, the scenario's `timezone`; the
same instant as `time`). summary.json's `timezone` names the zone."""
TIME_S = "time_s"
"""The step's start in simulated seconds from the scenario's start."""

TIMESERIES = "timeseries"
"""The main table: one row per step, the columns below."""

BASELINE_SUFFIX = "_baseline"


def _by_suffix(columns: Iterable[str], prefix: str) -> dict[str, str]:
    """What follows `prefix` -> the column, for the columns that start with it."""
    return {c[len(prefix) :]: c for c in columns if c.startswith(prefix)}


# --- fleets -------------------------------------------------------------------------------------

FLEET_QUANTITIES = ("p_kw", "plugged_count", "soc_mean", "soc_min")
"""Per fleet and step: average grid power over the step, plugged EVs, SOC mean/min after it."""


def baseline_entity(fleet: str) -> str:
    """The entity name of a fleet's uncontrolled shadow (same trips and seed)."""
    return f"{fleet}{BASELINE_SUFFIX}"


def fleet_column(fleet: str, quantity: str) -> str:
    """`<fleet>.<quantity>`, e.g. `home.p_kw`; pass `baseline_entity(fleet)` for the baseline."""
    return f"{fleet}.{quantity}"


def fleet_p_kw(fleet: str) -> str:
    return fleet_column(fleet, "p_kw")


def baseline_p_kw(fleet: str) -> str:
    return fleet_column(baseline_entity(fleet), "p_kw")


def fleet_plugged_count(fleet: str) -> str:
    return fleet_column(fleet, "plugged_count")


def fleet_soc_mean(fleet: str) -> str:
    return fleet_column(fleet, "soc_mean")


def fleet_soc_min(fleet: str) -> str:
    return fleet_column(fleet, "soc_min")


def fleet_names(columns: Iterable[str]) -> list[str]:
    """Controlled fleets of a table, in column order: those with both `<f>.p_kw` and a baseline."""
    cols = list(columns)
    present = set(cols)
    names: list[str] = []
    for c in cols:
        entity, sep, quantity = c.partition(".")
        if (
            sep
            and quantity == "p_kw"
            and not entity.endswith(BASELINE_SUFFIX)
            and entity not in (EMS, GRID, SIGNAL)
            and baseline_p_kw(entity) in present
        ):
            names.append(entity)
    return names


# --- EMS ------------------------------------------------------------------------------------------

EMS = "ems"
EMS_TARGET_KW = "ems.target_kw"
EMS_FEASIBLE_LO_KW = "ems.feasible_lo_kw"
EMS_FEASIBLE_HI_KW = "ems.feasible_hi_kw"
_CONTRIBUTION = "ems.contribution."


def ems_contribution(service: str) -> str:
    """How much a service moved the fleet target this step, kW."""
    return f"{_CONTRIBUTION}{service}_kw"


def ems_record(key: str) -> str:
    """A service's own number (EmsDecision.records), e.g. `ems.reg_basepoint_kw`."""
    return f"{EMS}.{key}"


def contributions(columns: Iterable[str]) -> dict[str, str]:
    """Service name -> its contribution column."""
    return {k.removesuffix("_kw"): c for k, c in _by_suffix(columns, _CONTRIBUTION).items()}


# Service records read back by the metrics (written by the services through ems_record).
FCR_MIN_KW = ems_record("fcr_min_kw")
FCR_RATED_KW = ems_record("fcr_rated_kw")
FCR_UNDER_FREQUENCY = ems_record("fcr_under_frequency")
REG_BASEPOINT_KW = ems_record("reg_basepoint_kw")
REG_SIGNAL_PU = ems_record("reg_signal_pu")
REG_SIGN = ems_record("reg_sign")
REG_CAPACITY_KW = ems_record("reg_capacity_kw")
RESERVE_ACTIVE = ems_record("reserve_active")
RESERVE_BASELINE_KW = ems_record("reserve_baseline_kw")
RESERVE_COMMAND_KW = ems_record("reserve_command_kw")
PV_ABSORBED_KW = ems_record("pv_absorbed_kw")
GRID_PROTECTION_RECORDS = tuple(
    ems_record(k)
    for k in (
        "grid_curtailed_kw",
        "grid_moved_kw",
        "grid_conflict",
        "grid_binding_kind",
        "grid_binding_element",
        "grid_uncontrollable",
    )
)
"""What the grid-protection service records per step (twin/ems/services/grid_protection.py)."""
GRID_BINDING_KIND = ems_record("grid_binding_kind")
GRID_CONFLICT = ems_record("grid_conflict")

# --- grid -----------------------------------------------------------------------------------------

GRID = "grid"
GRID_QUANTITIES = (
    "converged",
    "vm_min_pu",
    "vm_max_pu",
    "line_loading_max_pct",
    "trafo_loading_max_pct",
    "slack_p_mw",
    "ev_p_mw",
    "load_p_mw",
    "pv_p_mw",
    "wind_p_mw",
    "other_gen_p_mw",
)
"""Scalars per step the EMS sees and the results record as `grid.<quantity>`. Generation by
kind: `pv_p_mw` (static generators whose type names PV), `wind_p_mw`, `other_gen_p_mw` (the rest:
biomass, hydro, ...)."""


def grid_column(quantity: str) -> str:
    return f"{GRID}.{quantity}"


GRID_CONVERGED = grid_column("converged")
GRID_VM_MIN_PU = grid_column("vm_min_pu")
GRID_VM_MAX_PU = grid_column("vm_max_pu")
GRID_LINE_LOADING_MAX_PCT = grid_column("line_loading_max_pct")
GRID_TRAFO_LOADING_MAX_PCT = grid_column("trafo_loading_max_pct")


def grid_columns(columns: Iterable[str]) -> dict[str, str]:
    """Grid quantity -> its column."""
    return _by_suffix(columns, f"{GRID}.")


GRID_BASELINE = "grid_baseline"
"""The same grid with the fleets charging uncontrolled (the baseline shadows' power)."""


def grid_baseline_column(quantity: str) -> str:
    """`grid_baseline.<quantity>`, next to `grid.<quantity>` (e.g. trafo_loading_max_pct)."""
    return f"{GRID_BASELINE}.{quantity}"


def grid_baseline_columns(columns: Iterable[str]) -> dict[str, str]:
    """Grid quantity -> its baseline column."""
    return _by_suffix(columns, f"{GRID_BASELINE}.")


GRID_DETAIL_TABLES = {
    "vm_pu": "grid_vm_pu",
    "ev_p_mw": "grid_ev_p_mw",
    "line_loading_pct": "grid_line_loading_pct",
    "trafo_loading_pct": "grid_trafo_loading_pct",
}
"""Per-element grid results: detail key -> table (`<table>.parquet`, one column per element id)."""
GRID_BASELINE_DETAIL_TABLES = {
    "baseline_vm_pu": "grid_baseline_vm_pu",
    "baseline_ev_p_mw": "grid_baseline_ev_p_mw",
    "baseline_line_loading_pct": "grid_baseline_line_loading_pct",
    "baseline_trafo_loading_pct": "grid_baseline_trafo_loading_pct",
}
"""The same per-element tables for the uncontrolled baseline's own grid."""
GRID_TOPOLOGY_TABLE = "grid_topology"
"""The simulated net once (written with the detail tables, not per step): one row per bus, line
and transformer whose `id` is its column name in the detail tables, so a results folder alone
says what the ids are, how they connect and where to draw them."""
TOPOLOGY_ELEMENT = "element"
"""`bus`, `line` or `trafo`."""
TOPOLOGY_ID = "id"
"""The element's pandapower index as a string: its column in grid_vm_pu / grid_*_loading_pct."""
TOPOLOGY_NAME = "name"
"""The pandapower name, "" if the net gives none."""
TOPOLOGY_VN_KV = "vn_kv"
"""Nominal kV: the bus's; a line's from-bus; a transformer's high-voltage side."""
TOPOLOGY_FROM_BUS = "from_bus"
"""Line: from-bus id; transformer: high-voltage bus id; bus: ""."""
TOPOLOGY_TO_BUS = "to_bus"
"""Line: to-bus id; transformer: low-voltage bus id; bus: ""."""
TOPOLOGY_X = "x"
TOPOLOGY_Y = "y"
"""Bus drawing coordinates (NaN for lines and transformers): the net's geodata when every bus has
some (SimBench: longitude, latitude), else a computed tree layout (see `xy_source`)."""
TOPOLOGY_XY_SOURCE = "xy_source"
"""Where a bus's x, y come from: `geodata` or `layout` (not geographic); "" for lines, trafos."""
TOPOLOGY_COLUMNS = (
    TOPOLOGY_ELEMENT,
    TOPOLOGY_ID,
    TOPOLOGY_NAME,
    TOPOLOGY_VN_KV,
    TOPOLOGY_FROM_BUS,
    TOPOLOGY_TO_BUS,
    TOPOLOGY_X,
    TOPOLOGY_Y,
    TOPOLOGY_XY_SOURCE,
)
TOPOLOGY_BUS, TOPOLOGY_LINE, TOPOLOGY_TRAFO = "bus", "line", "trafo"

# --- signals --------------------------------------------------------------------------------------

SIGNAL = "signal"


def signal_column(name: str) -> str:
    return f"{SIGNAL}.{name}"


def signal_columns(columns: Iterable[str]) -> dict[str, str]:
    """Signal name -> its column."""
    return _by_suffix(columns, f"{SIGNAL}.")


SIGNAL_FREQUENCY_HZ = signal_column("frequency_hz")
SIGNAL_REGULATION_PU = signal_column("regulation_pu")
SIGNAL_FEMS_KWH = signal_column("fems_kwh")
SIGNAL_PRICE_PER_KWH = signal_column("price_per_kwh")
SIGNAL_CO2_KG_PER_KWH = signal_column("co2_kg_per_kwh")
SIGNAL_AREA_PV_KW = signal_column("area_pv_kw")
SIGNAL_AREA_LOAD_KW = signal_column("area_load_kw")
SIGNAL_AREA_PV_SURPLUS_KW = signal_column("area_pv_surplus_kw")


def frequency_column(columns: Iterable[str]) -> str | None:
    """The table's grid frequency: `signal.frequency_hz`, else the first signal in Hz; None if none."""
    signals = signal_columns(columns)
    if SIGNAL_FREQUENCY_HZ in signals.values():
        return SIGNAL_FREQUENCY_HZ
    return next((c for c in signals.values() if c.endswith("_hz")), None)


# --- hardware in the loop ------------------------------------------------------------------------

HIL = "hil"
HIL_QUANTITIES = ("power_kw", "online", "degraded")
"""Per physical charger and step: measured power (NaN without a reading), online and degraded
(a set-point was refused) flags as 0/1."""


def hil_column(charger_id: str, quantity: str) -> str:
    """`hil.<charger id>.<quantity>`; a charger id may contain dots, the quantity never does."""
    return f"{HIL}.{charger_id}.{quantity}"


def hil_columns(columns: Iterable[str]) -> dict[str, dict[str, str]]:
    """Charger id -> quantity -> column, for the HIL columns of a table."""
    prefix = f"{HIL}."
    out: dict[str, dict[str, str]] = {}
    for c in columns:
        if c.startswith(prefix):
            charger, _, quantity = c[len(prefix) :].rpartition(".")
            if charger:
                out.setdefault(charger, {})[quantity] = c
    return out


# --- per-EV detail (outputs.per_ev) ---------------------------------------------------------------

EV_QUANTITIES = ("ev_p_kw", "ev_soc")


def ev_table(quantity: str, fleet: str) -> str:
    """`ev_p_kw.<fleet>` / `ev_soc.<fleet>`: one column per EV index, one row per step."""
    return f"{quantity}.{fleet}"


# --- files of a run folder ------------------------------------------------------------------------

SUMMARY_FILE = "summary.json"
SCENARIO_FILE = "scenario.yaml"
ERROR_LOG = "error.log"
REPORT_FILE = "report.html"
"""`twin report`: the run's figures and KPI tables in one self-contained page."""
LEDGER_FILE = "ledger.jsonl"
"""Settlement per interval, product and party, hash-chained (twin/markets/ledger.py)."""
BIDS_TABLE = "bids"
"""`bids.parquet`, with `market.bidding`: one row per delivery block, written before the first
step (product, gate, gate_closure, information_cutoff, start, end, confidence, plugged_evs,
registered_evs, schedule_kw, capacity_kw; times UTC)."""
PREDICTION_HOLDOUT_FILE = "prediction_holdout.csv"
"""With `market.bidding`: the usage prediction scored on the history's held-out days."""
FIGURES_DIR = "figures"
"""`twin report`: one PNG per figure of report.html (`figures/<figure>.png`)."""
COMPARE_DIR = "compare"
"""`twin compare`: the comparison's folder (compare.html, figures/), by default beside the runs."""
COMPARE_FILE = "compare.html"
HIL_EVENTS_FILE = "hil_events.json"
"""HIL runs: the link events of the chargers (charger_id, kind, detail, sim_time_s), `{"events": [...]}`."""
PARTS_SUFFIX = ".parts"
RUN_LOCK_FILE = ".twin-run.lock"
"""Held (flock) by the run writing the folder; holds its pid. A second run into the folder stops."""
RUN_MANIFEST_FILE = ".twin-files"
"""Every path a run wrote in its folder, one per line: the only files a later run may remove."""


def table_file(table: str) -> str:
    return f"{table}.parquet"


def parts_dir(table: str) -> str:
    return f"{table}{PARTS_SUFFIX}"
