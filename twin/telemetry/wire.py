"""The wire format, schema ``twin.telemetry`` version 1: one single-part message per step (the
subscriber's CONFLATE does not support multi-part messages)::

    b"TWT1" | header_len: uint32 LE | meta_len: uint32 LE | header JSON | meta JSON | payload

* header (JSON, changes every step): ``schema``, ``version``, ``kind`` ("step", or "end" for the
  last message of a run, which repeats the last step and adds ``final``), ``run_id``, ``seq``,
  ``sent_unix_s``, then the step's content (twin.telemetry.snapshot): ``time`` (ISO 8601, UTC,
  step start), ``time_local``, ``time_s`` (seconds since the scenario start), ``progress``
  (0..1), ``total`` {p_kw, baseline_p_kw, target_kw, plugged_count}, ``fleets`` {name: {p_kw,
  baseline_p_kw, plugged_count, soc_mean, soc_min, soc_hist, soc_hist_plugged}}, ``ems``
  {target_kw, feasible_lo_kw, feasible_hi_kw, contributions_kw {service: kW}}, ``signals``
  {name: value}, ``frequency`` {frequency_hz, response_kw} or null, ``grid`` {converged,
  vm_min_pu, ...: every ``grid.*`` scalar of the row}, ``kpis_so_far`` (see
  twin.telemetry.kpis_so_far.KPI_SO_FAR_DOC), ``hil`` {chargers {charger id: {power_kw, online,
  status, last_message_age_s, ...}}, step_lateness_s} or null, ``violations`` (the grid
  violation tally so far, in summary.json's `violations` form: limits, controlled, baseline;
  counted a block of steps at a time, so it may lag the step by up to a block and never leads
  it; see twin.telemetry.violations_so_far) or null (no grid limits checked, or no block
  counted yet); last ``arrays`` {name: [byte
  offset, count]} into the payload and ``history`` {rows, cols, offset, stride_steps}. JSON has
  no NaN: missing or NaN numbers are null (`json_number`).
* meta (JSON, identical in every message of a run; encoded once, so repeating it costs a copy):
  ``scenario``, ``description``, ``timezone``, ``start`` (local ISO), ``step_s``, ``duration_s``,
  ``ev_count``, ``fleets`` {name: EV count}, ``grid`` {name, params}, ``out_dir``,
  ``windows`` {push_up: [start_s, end_s], push_down: [...]} (local second of day),
  ``soc_bins`` (edges 0..1), ``ids`` {bus, line, trafo: element ids, as strings},
  ``history_series`` (column names of the history block, see the HISTORY_* names below).
  Element ids travel in every message rather than once per connection: a PUB socket does not
  know when a subscriber joins, and a conflating subscriber could lose a one-off message.
* payload: little-endian float64 arrays. ``arrays`` hold per-element grid state aligned to
  ``meta.ids`` (``vm_pu`` to bus, ``line_loading_pct`` to line, ``trafo_loading_pct`` to trafo,
  ``ev_p_mw`` to bus); the history block is a row-major (rows x cols) matrix whose columns are
  ``meta.history_series`` (first column ``time_s``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.telemetry.errors import TelemetryFormatError

SCHEMA = "twin.telemetry"
SCHEMA_VERSION = 1
MAGIC = b"TWT1"
PREFIX = struct.Struct("<4sII")
"""Magic, header length, meta length."""

# --- names of the history block's series (meta.history_series) ---------------------------------

HISTORY_MAIN = ("time_s", "p_kw", "baseline_p_kw", "target_kw", "plugged_count")
"""First series, always present: step start (s), fleet totals (kW), EMS target (kW), plugged EVs."""
HISTORY_FREQUENCY = ("frequency_hz", "response_kw")
"""Present when the run has a frequency signal: the frequency and the fleet's response
(fleet power minus baseline), kW."""
HISTORY_GRID = ("vm_min_pu", "vm_max_pu", "line_loading_max_pct", "trafo_loading_max_pct")
"""Grid extremes, named by their grid quantity (the results' `grid.<quantity>` columns)."""


def history_fleet_p_kw(fleet: str) -> str:
    return f"fleet.{fleet}.p_kw"


def history_contribution_kw(service: str) -> str:
    return f"contribution.{service}_kw"


def history_trafo_loading_pct(trafo_id: str) -> str:
    return f"trafo_loading_pct.{trafo_id}"


# --- encoding -----------------------------------------------------------------------------------


def json_number(value: Any) -> float | None:
    """A JSON-safe float: NaN, infinities, None and non-numbers become None."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) or math.isinf(out) else out


def encode_meta(meta: Mapping[str, Any]) -> bytes:
    """The run's static block, encoded once per run."""
    return json.dumps(meta, default=str).encode()


def encode_snapshot(
    *,
    kind: str,
    run_id: str,
    seq: int,
    sent_unix_s: float,
    content: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    history: np.ndarray,
    history_stride: int,
    meta: bytes,
    final: Mapping[str, Any] | None = None,
) -> bytes:
    """One message.

    Args:
        kind: "step" or "end".
        run_id, seq, sent_unix_s: The envelope: which run, message number, wall time sent.
        content: The step's header fields (time ... hil, JSON-safe), in wire order.
        arrays: Per-element grid arrays (written to the payload as float64).
        history: The (rows x cols) history block, columns as `meta`'s history_series.
        history_stride: Steps between two history rows.
        meta: `encode_meta` of the run's static block.
        final: The end message's final status and KPIs (kind "end" only).
    """
    index: dict[str, list[int]] = {}
    parts: list[bytes] = []
    offset = 0
    for name, values in arrays.items():
        data = np.ascontiguousarray(values, dtype="<f8").tobytes()
        index[name] = [offset, len(data) // 8]
        parts.append(data)
        offset += len(data)
    parts.append(np.ascontiguousarray(history, dtype="<f8").tobytes())
    header = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "kind": kind,
        "run_id": run_id,
        "seq": seq,
        "sent_unix_s": sent_unix_s,
        **content,
        "arrays": index,
        "history": {
            "rows": int(history.shape[0]),
            "cols": int(history.shape[1]),
            "offset": offset,
            "stride_steps": history_stride,
        },
    }
    if final is not None:
        header["final"] = final
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([PREFIX.pack(MAGIC, len(head), len(meta)), head, meta, *parts])


# --- decoding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """One decoded message.

    Attributes:
        header: The per-step JSON header (see the module docstring).
        meta: The run's static JSON block.
        arrays: Per-element grid arrays by name (float64, aligned to `meta["ids"]`).
        history: Decimated history by series name (float64, one value per row).
        received_s: Monotonic time of reception on the subscriber, s.
    """

    header: dict[str, Any]
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    history: dict[str, np.ndarray]
    received_s: float = 0.0

    @property
    def kind(self) -> str:
        return self.header.get("kind", "step")

    @property
    def run_id(self) -> str:
        return self.header["run_id"]

    @property
    def time_s(self) -> int:
        return int(self.header["time_s"])

    @property
    def time_local(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.header["time_local"])


def decode_snapshot(frame: bytes, received_s: float = 0.0) -> Snapshot:
    """Decode one telemetry message.

    Raises:
        TelemetryFormatError: Wrong magic, truncated message or a schema version this code
            does not read.
    """
    if len(frame) < PREFIX.size:
        raise TelemetryFormatError(f"telemetry message of {len(frame)} bytes is too short")
    magic, head_len, meta_len = PREFIX.unpack_from(frame)
    if magic != MAGIC:
        raise TelemetryFormatError(f"not a twin telemetry message (starts with {magic!r})")
    start = PREFIX.size
    try:
        header = json.loads(bytes(frame[start : start + head_len]))
        meta = json.loads(bytes(frame[start + head_len : start + head_len + meta_len]))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise TelemetryFormatError(f"telemetry header is not valid JSON ({err})") from None
    if header.get("schema") != SCHEMA or header.get("version") != SCHEMA_VERSION:
        raise TelemetryFormatError(
            f"telemetry schema {header.get('schema')} v{header.get('version')} is not "
            f"{SCHEMA} v{SCHEMA_VERSION}: update the dashboard or the twin so both match"
        )
    payload = memoryview(frame)[start + head_len + meta_len :]
    try:
        arrays = {
            name: np.frombuffer(payload, dtype="<f8", count=n, offset=off).copy()
            for name, (off, n) in header.get("arrays", {}).items()
        }
        hist = header["history"]
        block = np.frombuffer(
            payload, dtype="<f8", count=hist["rows"] * hist["cols"], offset=hist["offset"]
        ).reshape(hist["rows"], hist["cols"])
    except (ValueError, KeyError, TypeError) as err:
        raise TelemetryFormatError(f"telemetry payload does not match its header ({err})") from None
    history = {name: block[:, i].copy() for i, name in enumerate(meta.get("history_series", []))}
    return Snapshot(header=header, meta=meta, arrays=arrays, history=history, received_s=received_s)
