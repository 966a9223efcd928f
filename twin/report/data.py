"""A results folder read once for the report: the tables on a local-time index, the study's
windows, services and time zone, from the folder's own files only.

Nothing here loads the scenario through the schema or the catalog: a report must build from a
results folder copied elsewhere, without the study's YAML sources, signal files or grid data.
`scenario.yaml` (the scenario as run, written into the folder) is read as plain YAML.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from twin.results import columns as col
from twin.results.readers import ResultsError, read_summary, read_table

LONG_RUN_DAYS = 14.0
"""Runs longer than this are drawn as daily aggregates, duration curves and heat maps."""
DEFAULT_WINDOWS = {"push_up": (10 * 3600, 14 * 3600), "push_down": (16 * 3600, 20 * 3600)}
"""The flexibility windows' defaults (twin.ems.services.flexibility_windows): 10-14 h, 16-20 h."""
FLEXIBILITY_SERVICE = "flexibility_windows"


def _read_yaml(path: Path) -> tuple[dict[str, Any], list[str]]:
    if not path.exists():
        return {}, [f"no {path.name} in the folder: time zone and windows from summary.json"]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        return {}, [f"{path.name} is not valid YAML ({err}); time zone and windows unknown"]
    return (data if isinstance(data, dict) else {}), []


def parse_clock_s(text: str) -> int:
    """ "HH:MM" -> seconds after midnight (scenario.yaml as run holds validated times only;
    twin.config's parser is not imported: its package loads the whole schema)."""
    hours, _, minutes = text.strip().partition(":")
    return int(hours) * 3600 + int(minutes) * 60


def _window(spec: Any, default: tuple[int, int]) -> tuple[int, int] | None:
    if spec is None:
        return default
    if not isinstance(spec, dict):
        return None
    try:
        return parse_clock_s(str(spec["start"])), parse_clock_s(str(spec["end"]))
    except (KeyError, ValueError):
        return None


def windows_of(scenario: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """The push windows of a scenario as run (seconds of the local day), {} without the
    flexibility_windows service: a study that does not shift demand has no windows."""
    services = (scenario.get("ems") or {}).get("services") or []
    out: dict[str, tuple[int, int]] = {}
    for s in services:
        if isinstance(s, dict) and s.get("type") == FLEXIBILITY_SERVICE:
            for key in ("push_up", "push_down"):
                w = _window(s.get(key), DEFAULT_WINDOWS[key])
                if w is not None:
                    out[key] = w
    return out


def service_types(scenario: dict[str, Any]) -> list[str]:
    services = (scenario.get("ems") or {}).get("services") or []
    return [str(s.get("type")) for s in services if isinstance(s, dict) and s.get("type")]


@dataclass
class RunData:
    """Everything the figures and tables draw, from one results folder."""

    run_dir: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    table: pd.DataFrame
    timezone: str
    notes: list[str] = field(default_factory=list)
    detail: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Per-element grid tables (col.GRID_DETAIL_TABLES key -> frame without `time`), if recorded."""
    hil_events: list[dict[str, Any]] = field(default_factory=list)
    topology: pd.DataFrame | None = None
    """grid_topology.parquet (col.TOPOLOGY_COLUMNS, ids as strings), None if not recorded."""

    def element_names(self, element: str) -> dict[str, str]:
        """Element id -> pandapower name of one kind (`bus`, `line`, `trafo`), named ones only."""
        t = self.topology
        if t is None:
            return {}
        rows = t[(t[col.TOPOLOGY_ELEMENT] == element) & (t[col.TOPOLOGY_NAME] != "")]
        return dict(zip(rows[col.TOPOLOGY_ID], rows[col.TOPOLOGY_NAME], strict=True))

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario") or self.run_dir.name)

    @cached_property
    def index(self) -> pd.DatetimeIndex:
        """The step starts in the study's local time."""
        if col.TIME_LOCAL in self.table:
            local = pd.DatetimeIndex(self.table[col.TIME_LOCAL])
            if local.tz is not None:
                return local.tz_convert(self.timezone)
        return pd.DatetimeIndex(pd.to_datetime(self.table[col.TIME], utc=True)).tz_convert(
            self.timezone
        )

    @cached_property
    def step_s(self) -> int:
        s = self.summary.get("step_s") or self.scenario.get("step")
        if isinstance(s, int | float) and s > 0:
            return int(s)
        if len(self.table) > 1 and col.TIME_S in self.table:
            return int(np.median(np.diff(self.table[col.TIME_S].to_numpy())))
        return 0

    @property
    def span_days(self) -> float:
        return len(self.table) * self.step_s / 86400.0

    @property
    def long_run(self) -> bool:
        return self.span_days > LONG_RUN_DAYS

    @cached_property
    def fleets(self) -> list[str]:
        return col.fleet_names(self.table.columns)

    @cached_property
    def services(self) -> list[str]:
        """The EMS's service types: summary.json's `services`, else scenario.yaml's."""
        listed = self.summary.get("services")
        if isinstance(listed, list):
            return [str(s) for s in listed]
        return service_types(self.scenario)

    @cached_property
    def windows(self) -> dict[str, tuple[int, int]]:
        """Push windows (seconds of the local day); {} when the study shifts no demand."""
        if FLEXIBILITY_SERVICE not in self.services:
            return {}
        return windows_of(self.scenario) or dict(DEFAULT_WINDOWS)

    @property
    def has_windows(self) -> bool:
        return bool(self.windows)

    def has(self, column: str) -> bool:
        return column in self.table.columns and not self.table[column].isna().all()

    def series(self, column: str) -> pd.Series:
        """One column as floats on the local-time index."""
        return pd.Series(self.table[column].to_numpy(dtype=float), index=self.index, name=column)

    def fleet_sum(self, columns: list[str]) -> pd.Series:
        total = np.zeros(len(self.table))
        for c in columns:
            total = total + self.table[c].to_numpy(dtype=float)
        return pd.Series(total, index=self.index)

    @cached_property
    def p_kw(self) -> pd.Series:
        """The controlled fleets' total grid power, kW (+ charging)."""
        return self.fleet_sum([col.fleet_p_kw(n) for n in self.fleets])

    @cached_property
    def baseline_kw(self) -> pd.Series:
        """The same fleets charging uncontrolled, kW."""
        return self.fleet_sum([col.baseline_p_kw(n) for n in self.fleets])

    @property
    def violations(self) -> dict[str, Any] | None:
        v = self.summary.get("violations")
        return v if isinstance(v, dict) and v else None

    @property
    def kpis(self) -> dict[str, Any]:
        k = self.summary.get("kpis")
        return k if isinstance(k, dict) else {}


def _timezone(summary: dict[str, Any], scenario: dict[str, Any]) -> tuple[str, list[str]]:
    for tz in (summary.get("timezone"), scenario.get("timezone")):
        if isinstance(tz, str) and tz:
            try:
                pd.Timestamp(0, tz="UTC").tz_convert(tz)
            except Exception:  # noqa: BLE001 - any unknown zone name: fall back to UTC
                continue
            return tz, []
    return "UTC", ["time zone unknown (neither summary.json nor scenario.yaml names one): UTC"]


def load_run_data(run_dir: Path | str, detail: bool = True) -> RunData:
    """Read a results folder for the report.

    Raises:
        ResultsError: not a run folder, or a run that recorded no step.
    """
    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    table = read_table(run_dir, col.TIMESERIES)
    if table.empty:
        raise ResultsError(
            f"{run_dir}: {col.table_file(col.TIMESERIES)} has no rows (the run recorded no step)"
        )
    scenario, notes = _read_yaml(run_dir / col.SCENARIO_FILE)
    tz, tz_notes = _timezone(summary, scenario)
    data = RunData(
        run_dir=run_dir,
        summary=summary,
        scenario=scenario,
        table=table,
        timezone=tz,
        notes=notes + tz_notes,
    )
    if detail:
        for key, name in {**col.GRID_DETAIL_TABLES, **col.GRID_BASELINE_DETAIL_TABLES}.items():
            with contextlib.suppress(ResultsError):  # optional: outputs.grid_detail
                frame = read_table(run_dir, name)
                if len(frame) == len(table):
                    data.detail[key] = frame.drop(columns=[col.TIME], errors="ignore")
        data.topology, topology_notes = _read_topology(run_dir)
        data.notes += topology_notes
    events = run_dir / col.HIL_EVENTS_FILE
    if events.exists():
        try:
            data.hil_events = list(json.loads(events.read_text(encoding="utf-8")).get("events", []))
        except (json.JSONDecodeError, AttributeError):
            data.notes.append(f"{col.HIL_EVENTS_FILE} is not valid JSON")
    return data


def _read_topology(run_dir: Path) -> tuple[pd.DataFrame | None, list[str]]:
    """grid_topology.parquet with its ids as strings; None (and no note) when the run wrote none,
    None and a note when it cannot be used."""
    path = run_dir / col.table_file(col.GRID_TOPOLOGY_TABLE)
    if not path.exists():
        return None, []
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - any unreadable file: draw without it
        return None, [f"{path.name} cannot be read ({err}); element names and feeder map left out"]
    missing = [c for c in col.TOPOLOGY_COLUMNS if c not in frame.columns]
    if missing:
        return None, [
            f"{path.name} lacks {', '.join(missing)}; element names and feeder map left out"
        ]
    text = [col.TOPOLOGY_ELEMENT, col.TOPOLOGY_ID, col.TOPOLOGY_NAME]
    text += [col.TOPOLOGY_FROM_BUS, col.TOPOLOGY_TO_BUS, col.TOPOLOGY_XY_SOURCE]
    frame[text] = frame[text].fillna("").astype(str)
    for c in (col.TOPOLOGY_VN_KV, col.TOPOLOGY_X, col.TOPOLOGY_Y):
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    return frame, []
