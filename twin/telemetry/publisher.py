"""Live telemetry: step snapshots of a running co-simulation over pyzmq PUB/SUB (for app.py).

The run side is `TelemetryPublisher`, a step observer (see twin.run.world.PreparedRun.observers):

    publisher = TelemetryPublisher("tcp://127.0.0.1:5556", prepared)
    prepared.observers.append(publisher)
    prepared.run(...)
    publisher.close()

The dashboard side is `TelemetrySubscriber(address).receive()`, which returns the newest snapshot.

Never blocking the run: the PUB socket sends with NOBLOCK and a small send high-water mark
(`send_hwm` messages per subscriber). A PUB socket never waits for subscribers: with none, a
message is discarded at once; for a subscriber that lags, ZeroMQ drops messages beyond the HWM.
The subscriber sets CONFLATE, so it only ever holds the newest step. Each step snapshot carries a
bounded, decimated history of the main series, so a dashboard that joins late or misses steps
still draws the whole run so far. An observer must not raise: encoding errors are counted in
`stats` and logged once, never propagated into the run.

Wire format, schema ``twin.telemetry.publisher`` version 1 - one single-part message per step (CONFLATE
does not support multi-part messages)::

    b"TWT1" | header_len: uint32 LE | meta_len: uint32 LE | header JSON | meta JSON | payload

* header (JSON, changes every step): ``schema``, ``version``, ``kind`` ("step", or "end" for the
  last message sent by `close()`, which repeats the last step and adds ``final``), ``run_id``,
  ``seq``, ``sent_unix_s``, ``time`` (ISO 8601, UTC, step start), ``time_local``, ``time_s``
  (seconds since the scenario start), ``progress`` (0..1), ``total`` {p_kw, baseline_p_kw,
  target_kw, plugged_count}, ``fleets`` {name: {p_kw, baseline_p_kw, plugged_count, soc_mean,
  soc_min, soc_hist, soc_hist_plugged}}, ``ems`` {target_kw, feasible_lo_kw, feasible_hi_kw,
  contributions_kw {service: kW}}, ``signals`` {name: value}, ``frequency`` {frequency_hz,
  response_kw} or null, ``grid`` {converged, vm_min_pu, ...: every ``grid.*`` scalar of the row},
  ``kpis_so_far`` (see `KPI_SO_FAR_DOC`), ``hil`` {charger id: {power_kw, online, status,
  last_message_age_s, ...}} or null, ``arrays`` {name: [byte offset, count]} into the payload,
  ``history`` {rows, cols, offset}. JSON has no NaN: missing or NaN numbers are null.
* meta (JSON, identical in every message of a run; encoded once, so repeating it costs a copy):
  ``scenario``, ``description``, ``timezone``, ``start`` (local ISO), ``step_s``, ``duration_s``,
  ``ev_count``, ``fleets`` {name: EV count}, ``grid`` {name, params}, ``out_dir``,
  ``windows`` {push_up: [start_s, end_s], push_down: [...]} (local second of day),
  ``soc_bins`` (edges 0..1), ``ids`` {bus, line, trafo: element ids, as strings},
  ``history_series`` (column names of the history block).
  Element ids travel in every message rather than once per connection: a PUB socket does not
  know when a subscriber joins, and a conflating subscriber could lose a one-off message.
* payload: little-endian float64 arrays. ``arrays`` hold per-element grid state aligned to
  ``meta.ids`` (``vm_pu`` to bus, ``line_loading_pct`` to line, ``trafo_loading_pct`` to trafo,
  ``ev_p_mw`` to bus); the history block is a row-major (rows x cols) matrix whose columns are
  ``meta.history_series`` (first column ``time_s``), at most `history_points` rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import struct
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from twin.metrics.flexibility import window_mask

SCHEMA = "twin.telemetry"
SCHEMA_VERSION = 1
DEFAULT_ADDRESS = "tcp://127.0.0.1:5556"
MAGIC = b"TWT1"
_PREFIX = struct.Struct("<4sII")
SOC_BINS = np.linspace(0.0, 1.0, 11)
MAX_TRAFOS_IN_HISTORY = 8
"""More transformers than this: the history carries only the maximum loading (keeps it small)."""

KPI_SO_FAR_DOC = {
    "push_up_kwh_per_ev": "sum over push-up window steps of (P - P_baseline) * dt / EVs, kWh/EV",
    "push_down_kwh_per_ev": "sum over push-down window steps of (P_baseline - P) * dt / EVs, kWh/EV",
    "energy_kwh": "sum of fleet power * dt (net, + import), kWh",
    "baseline_energy_kwh": "same for the uncontrolled baseline, kWh",
    "peak_fleet_kw": "largest fleet power so far, kW",
    "min_bus_voltage_pu": "lowest bus voltage so far, pu",
    "max_bus_voltage_pu": "highest bus voltage so far, pu",
    "max_line_loading_pct": "highest line loading so far, %",
    "max_trafo_loading_pct": "highest transformer loading so far, %",
    "steps": "steps published so far",
}

_GRID_HISTORY = ("vm_min_pu", "vm_max_pu", "line_loading_max_pct", "trafo_loading_max_pct")

log = logging.getLogger(__name__)


class TelemetryError(Exception):
    """A telemetry address that cannot be used (malformed, or the port is taken)."""


class TelemetryFormatError(TelemetryError):
    """A received message that is not a twin.telemetry.publisher snapshot of a version this code reads."""


def normalise_address(address: str, *, connect: bool = False) -> str:
    """Turn what a user types into a ZeroMQ endpoint; loopback unless the address says otherwise.

    Args:
        address: "tcp://host:port", "host:port" or just "port" ("*" or "0" = any free port when
            binding); ipc:// and inproc:// endpoints pass through unchanged.
        connect: True for the subscriber side, where a wildcard host means this machine.

    Returns:
        A ZeroMQ endpoint string.

    Raises:
        TelemetryError: The address is empty or its port is not a number.
    """
    text = (address or "").strip()
    if not text:
        raise TelemetryError("telemetry address is empty: use e.g. tcp://127.0.0.1:5556")
    if text.startswith(("ipc://", "inproc://")):
        return text
    rest = text[len("tcp://") :] if text.startswith("tcp://") else text
    host, sep, port = rest.rpartition(":")
    if not sep:
        host, port = "", rest
    host = host or "127.0.0.1"
    if connect and host in ("*", "0.0.0.0"):
        host = "127.0.0.1"
    if port == "0":
        port = "*"
    if port != "*" and not port.isdigit():
        raise TelemetryError(
            f"telemetry address '{address}': port '{port}' is not a number "
            "(use e.g. tcp://127.0.0.1:5556)"
        )
    if connect and port == "*":
        raise TelemetryError(
            f"telemetry address '{address}': a subscriber needs a real port, not '*'"
        )
    return f"tcp://{host}:{port}"


def _num(value: Any) -> float | None:
    """A JSON-safe float: NaN, None and non-numbers become None."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) or math.isinf(out) else out


@dataclass
class TelemetryStats:
    """What publishing cost and how much was lost.

    Attributes:
        sent: Messages handed to ZeroMQ.
        dropped: Messages refused at once (EAGAIN). ZeroMQ also drops silently per subscriber
            beyond the send HWM; those are not visible here.
        errors: Steps that could not be encoded (logged once; never raised into the run).
        busy_s: Wall time spent inside the observer, s.
        calls: Observer calls.
    """

    sent: int = 0
    dropped: int = 0
    errors: int = 0
    busy_s: float = 0.0
    calls: int = 0

    @property
    def mean_call_us(self) -> float:
        return 1e6 * self.busy_s / self.calls if self.calls else 0.0


class _History:
    """Decimated history: at most `capacity` rows; when full, every other row is dropped and the
    stride doubles, so the rows stay evenly spaced over the whole run at bounded size."""

    def __init__(self, columns: int, capacity: int):
        self.capacity = max(2, capacity - capacity % 2)
        self.rows = np.empty((self.capacity, columns))
        self.n = 0
        self.stride = 1
        self.count = 0

    def append(self, values: list[float]) -> None:
        if self.count % self.stride == 0:
            if self.n == self.capacity:
                half = self.rows[::2].copy()
                self.rows[: len(half)] = half
                self.n = len(half)
                self.stride *= 2
            if self.count % self.stride == 0:
                self.rows[self.n] = values
                self.n += 1
        self.count += 1

    def block(self) -> np.ndarray:
        return self.rows[: self.n]


class TelemetryPublisher:
    """Step observer that publishes a compact snapshot of every step (see the module docstring).

    Args:
        address: Where to bind, e.g. "tcp://127.0.0.1:5556" (loopback unless the address names
            another interface; "tcp://127.0.0.1:*" picks a free port, read it from `address`).
        prepared: The twin.run.world.PreparedRun being run (scenario, fleets, grid ids, hardware).
        send_hwm: Messages queued per subscriber before ZeroMQ drops; small, the dashboard wants
            only the newest.
        history_points: Upper bound of history rows carried in each message.
        close_linger_s: How long `close()` may wait to hand the last message to the network, s.
        min_interval_s: Least wall time between two messages, s. Steps in between still count
            in the KPIs and the history; only their encoding and sending is skipped (a dashboard
            redraws about once a second, and a virtual run makes hundreds of steps per second).
            0 publishes every step.

    Raises:
        TelemetryError: The address is malformed or cannot be bound (port in use).
    """

    def __init__(
        self,
        address: str,
        prepared: Any,
        *,
        send_hwm: int = 8,
        history_points: int = 480,
        close_linger_s: float = 0.2,
        min_interval_s: float = 0.1,
    ):
        self.requested_address = address
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUB)
        self._socket.setsockopt(zmq.SNDHWM, send_hwm)
        self._socket.setsockopt(zmq.LINGER, int(close_linger_s * 1000))
        endpoint = normalise_address(address)
        try:
            self._socket.bind(endpoint)
        except zmq.ZMQError as err:
            self._socket.close(0)
            self._context.term()
            raise TelemetryError(
                f"telemetry address {endpoint}: cannot bind ({err.strerror}); "
                "choose a free port, e.g. --live tcp://127.0.0.1:5557"
            ) from None
        self.address: str = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.run_id = uuid.uuid4().hex[:12]
        self.stats = TelemetryStats()
        self._prepared = prepared
        self._history_points = history_points
        self._seq = 0
        self._closed = False
        self._meta_bytes: bytes | None = None
        self.min_interval_s = min_interval_s
        self._last_sent_s = -math.inf
        self._pending: dict[str, Any] | None = None
        self._last_step: dict[str, Any] | None = None
        self._init_static(prepared)

    # -- static information, once per run -------------------------------------------------
    def _init_static(self, prepared: Any) -> None:
        from twin.ems.services.flexibility_windows import push_windows

        sc = prepared.scenario
        self._scenario = sc
        self._tz = sc.tz
        self._start_utc = sc.start_local.astimezone(dt.UTC)
        self._fleet_names = list(sc.fleets)
        self._n_ev = max(1, int(sc.ev_count))
        self._dt_h = sc.step / 3600.0
        self._up, self._down = push_windows(sc.ems.services)
        pf = prepared.powerflow
        self._ids = {
            "bus": [str(i) for i in pf.bus_ids],
            "line": [str(i) for i in pf.line_ids],
            "trafo": [str(i) for i in pf.trafo_ids],
        }
        self._kpi = {
            "push_up_kwh": 0.0,
            "push_down_kwh": 0.0,
            "energy_kwh": 0.0,
            "baseline_energy_kwh": 0.0,
            "peak_fleet_kw": -math.inf,
            "min_bus_voltage_pu": math.inf,
            "max_bus_voltage_pu": -math.inf,
            "max_line_loading_pct": -math.inf,
            "max_trafo_loading_pct": -math.inf,
            "steps": 0,
        }

    def _init_from_first_row(self, row: dict[str, Any]) -> None:
        keys = list(row)
        self._contrib_keys = {
            k[len("ems.contribution.") :].removesuffix("_kw"): k
            for k in keys
            if k.startswith("ems.contribution.")
        }
        self._signal_keys = {k[len("signal.") :]: k for k in keys if k.startswith("signal.")}
        self._grid_keys = {k[len("grid.") :]: k for k in keys if k.startswith("grid.")}
        self._p_keys = [f"{n}.p_kw" for n in self._fleet_names]
        self._pb_keys = [f"{n}_baseline.p_kw" for n in self._fleet_names]
        self._plugged_keys = [f"{n}.plugged_count" for n in self._fleet_names]
        freq = [k for k in keys if k == "signal.frequency_hz"] or [
            k for k in keys if k.startswith("signal.") and k.endswith("_hz")
        ]
        self._freq_key = freq[0] if freq else None
        self._hil_keys: dict[str, dict[str, str]] = {}
        for k in keys:
            if k.startswith("hil."):
                charger, _, fld = k[len("hil.") :].rpartition(".")
                self._hil_keys.setdefault(charger, {})[fld] = k
        from twin.run.hardware_link import LatenessMeter

        # PreparedRun.run() adds its lateness meter before the first step of a paced run.
        self._lateness_meter = next(
            (o for o in self._prepared.observers if isinstance(o, LatenessMeter)), None
        )
        trafos = self._ids["trafo"]
        self._trafo_in_history = len(trafos) <= MAX_TRAFOS_IN_HISTORY
        series = ["time_s", "p_kw", "baseline_p_kw", "target_kw", "plugged_count"]
        series += [f"fleet.{n}.p_kw" for n in self._fleet_names]
        series += [f"contribution.{s}_kw" for s in self._contrib_keys]
        if self._freq_key:
            series += ["frequency_hz", "response_kw"]
        series += list(_GRID_HISTORY)
        if self._trafo_in_history:
            series += [f"trafo_loading_pct.{t}" for t in trafos]
        self._history = _History(len(series), self._history_points)
        sc = self._scenario
        meta = {
            "scenario": sc.name,
            "description": sc.description,
            "timezone": sc.timezone,
            "start": sc.start_local.isoformat(),
            "step_s": sc.step,
            "duration_s": sc.duration,
            "ev_count": sc.ev_count,
            "fleets": {n: f.count for n, f in sc.fleets.items()},
            "grid": {"name": sc.grid.name, "params": sc.grid.params},
            "out_dir": str(Path(self._prepared.out_dir).resolve()),
            "windows": {"push_up": list(self._up), "push_down": list(self._down)},
            "soc_bins": SOC_BINS.tolist(),
            "ids": self._ids,
            "history_series": series,
        }
        self._meta_bytes = json.dumps(meta, default=str).encode()

    # -- per step -------------------------------------------------------------------------
    def __call__(self, row: dict[str, Any], detail: dict[str, np.ndarray]) -> None:
        """Account one step and publish it if due (observer protocol); never raises, never waits."""
        if self._closed:
            return
        t0 = time.perf_counter()
        try:
            step = self._account(row, detail)
            if t0 - self._last_sent_s >= self.min_interval_s:
                self._publish(step)
                self._last_sent_s = t0
                self._pending = None
            else:
                self._pending = step
        except Exception as err:  # noqa: BLE001 - an observer must never stop the run
            self.stats.errors += 1
            if self.stats.errors == 1:
                log.warning(
                    "telemetry: step not published (%s: %s); later failures are only counted",
                    type(err).__name__,
                    err,
                )
        self.stats.calls += 1
        self.stats.busy_s += time.perf_counter() - t0

    def _account(self, row: dict[str, Any], detail: dict[str, np.ndarray]) -> dict[str, Any]:
        """Every step: totals, KPIs so far and history (cheap); returns what `_publish` needs."""
        if self._meta_bytes is None:
            self._init_from_first_row(row)
        time_s = int(row.get("time_s", 0))
        stamp = self._start_utc + dt.timedelta(seconds=time_s)
        local = stamp.astimezone(self._tz)
        p_fleet = [_num(row.get(k)) or 0.0 for k in self._p_keys]
        pb_fleet = [_num(row.get(k)) or 0.0 for k in self._pb_keys]
        p_total, pb_total = sum(p_fleet), sum(pb_fleet)
        plugged_total = sum(int(row.get(k) or 0) for k in self._plugged_keys)
        target = _num(row.get("ems.target_kw"))
        contributions = {s: _num(row.get(k)) for s, k in self._contrib_keys.items()}
        grid = {name: _num(row.get(k)) for name, k in self._grid_keys.items()}
        frequency = None
        if self._freq_key:
            frequency = {
                "frequency_hz": _num(row.get(self._freq_key)),
                "response_kw": p_total - pb_total,
            }
        kpis = self._update_kpis(local, p_total, pb_total, grid)
        nan = math.nan
        hist = [
            float(time_s),
            p_total,
            pb_total,
            nan if target is None else target,
            float(plugged_total),
        ]
        hist += p_fleet
        hist += [nan if v is None else v for v in contributions.values()]
        if frequency is not None:
            f_hz = frequency["frequency_hz"]
            hist += [nan if f_hz is None else f_hz, frequency["response_kw"]]
        hist += [nan if grid.get(k) is None else grid[k] for k in _GRID_HISTORY]
        if self._trafo_in_history:
            trafo = detail.get("trafo_loading_pct")
            n_trafo = len(self._ids["trafo"])
            hist += (
                trafo.tolist() if trafo is not None and len(trafo) == n_trafo else [nan] * n_trafo
            )
        self._history.append(hist)
        return {
            "row": row,
            "detail": detail,
            "time_s": time_s,
            "stamp": stamp,
            "local": local,
            "p_fleet": p_fleet,
            "pb_fleet": pb_fleet,
            "total": {
                "p_kw": p_total,
                "baseline_p_kw": pb_total,
                "target_kw": target,
                "plugged_count": plugged_total,
            },
            "contributions": contributions,
            "grid": grid,
            "frequency": frequency,
            "kpis": kpis,
        }

    def _publish(self, step: dict[str, Any], kind: str = "step", **extra: Any) -> None:
        row, detail = step["row"], step["detail"]
        fleets: dict[str, Any] = {}
        for i, name in enumerate(self._fleet_names):
            fleet = self._prepared.fleets[name]
            plugged = fleet.plugged
            # SOC lies in [0, 1]; bin 9 also takes SOC == 1.0
            bins = np.minimum((fleet.state.soc * 10.0).astype(np.intp), 9)
            fleets[name] = {
                "p_kw": step["p_fleet"][i],
                "baseline_p_kw": step["pb_fleet"][i],
                "plugged_count": _num(row.get(f"{name}.plugged_count")),
                "soc_mean": _num(row.get(f"{name}.soc_mean")),
                "soc_min": _num(row.get(f"{name}.soc_min")),
                "soc_hist": np.bincount(bins, minlength=10).tolist(),
                "soc_hist_plugged": np.bincount(bins[plugged], minlength=10).tolist(),
            }
        arrays: dict[str, list[int]] = {}
        parts: list[bytes] = []
        offset = 0
        for name, values in detail.items():
            data = np.ascontiguousarray(values, dtype="<f8").tobytes()
            arrays[name] = [offset, len(data) // 8]
            parts.append(data)
            offset += len(data)
        block = self._history.block()
        parts.append(np.ascontiguousarray(block, dtype="<f8").tobytes())
        self._seq += 1
        sc = self._scenario
        header = {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "kind": kind,
            "run_id": self.run_id,
            "seq": self._seq,
            "sent_unix_s": time.time(),
            "time": step["stamp"].isoformat(),
            "time_local": step["local"].isoformat(),
            "time_s": step["time_s"],
            "progress": min(1.0, (step["time_s"] + sc.step) / sc.duration),
            "total": step["total"],
            "fleets": fleets,
            "ems": {
                "target_kw": step["total"]["target_kw"],
                "feasible_lo_kw": _num(row.get("ems.feasible_lo_kw")),
                "feasible_hi_kw": _num(row.get("ems.feasible_hi_kw")),
                "contributions_kw": step["contributions"],
            },
            "signals": {name: _num(row.get(k)) for name, k in self._signal_keys.items()},
            "frequency": step["frequency"],
            "grid": step["grid"],
            "kpis_so_far": step["kpis"],
            "hil": self._hil(row),
            "arrays": arrays,
            "history": {
                "rows": int(block.shape[0]),
                "cols": int(block.shape[1]),
                "offset": offset,
                "stride_steps": self._history.stride,
            },
            **extra,
        }
        self._last_step = step
        self._send(header, parts)

    def _send(self, header: dict[str, Any], parts: list[bytes]) -> None:
        assert self._meta_bytes is not None
        head = json.dumps(header, separators=(",", ":")).encode()
        frame = b"".join(
            [_PREFIX.pack(MAGIC, len(head), len(self._meta_bytes)), head, self._meta_bytes, *parts]
        )
        try:
            self._socket.send(frame, zmq.NOBLOCK)
            self.stats.sent += 1
        except zmq.Again:
            self.stats.dropped += 1

    def _update_kpis(
        self, local: dt.datetime, p_kw: float, pb_kw: float, grid: dict[str, float | None]
    ) -> dict[str, Any]:
        k = self._kpi
        k["steps"] += 1
        sod = local.hour * 3600 + local.minute * 60 + local.second
        if window_mask(sod, *self._up):
            k["push_up_kwh"] += (p_kw - pb_kw) * self._dt_h
        if window_mask(sod, *self._down):
            k["push_down_kwh"] += (pb_kw - p_kw) * self._dt_h
        k["energy_kwh"] += p_kw * self._dt_h
        k["baseline_energy_kwh"] += pb_kw * self._dt_h
        k["peak_fleet_kw"] = max(k["peak_fleet_kw"], p_kw)
        for key, src, pick in (
            ("min_bus_voltage_pu", "vm_min_pu", min),
            ("max_bus_voltage_pu", "vm_max_pu", max),
            ("max_line_loading_pct", "line_loading_max_pct", max),
            ("max_trafo_loading_pct", "trafo_loading_max_pct", max),
        ):
            value = grid.get(src)
            if value is not None:
                k[key] = pick(k[key], value)
        out = {
            "push_up_kwh_per_ev": k["push_up_kwh"] / self._n_ev,
            "push_down_kwh_per_ev": k["push_down_kwh"] / self._n_ev,
        }
        out.update(
            {key: _num(v) for key, v in k.items() if key not in ("push_up_kwh", "push_down_kwh")}
        )
        out["steps"] = int(k["steps"])
        return out

    def _hil(self, row: dict[str, Any]) -> dict[str, Any] | None:
        link = getattr(self._prepared, "hardware", None)
        if not self._hil_keys and link is None:
            return None
        chargers: dict[str, dict[str, Any]] = {
            cid: {fld: _num(row.get(k)) for fld, k in fields.items()}
            for cid, fields in self._hil_keys.items()
        }
        bridge = getattr(link, "bridge", None)
        if bridge is not None:
            with contextlib.suppress(Exception):  # the lab link is best effort here
                now = time.monotonic()
                for cid, state in bridge.status().items():
                    chargers.setdefault(cid, {})["status"] = str(state)
                for cid, reading in bridge.latest_readings().items():
                    entry = chargers.setdefault(cid, {})
                    if reading is None:
                        entry["last_message_age_s"] = None
                        continue
                    entry["last_message_age_s"] = _num(now - reading.timestamp_s)
                    entry["charger_status"] = str(reading.status)
                    entry["energy_kwh"] = _num(reading.energy_kwh)
                    entry["soc"] = _num(reading.soc)
        lateness = self._lateness_s()
        return {"chargers": chargers, "step_lateness_s": lateness}

    def _lateness_s(self) -> float | None:
        meter = self._lateness_meter
        return _num(meter.samples_s[-1]) if meter is not None and meter.samples_s else None

    # -- end of run -------------------------------------------------------------------------
    def close(self) -> None:
        """Send an "end" message (last step + final status and KPIs) and release the socket.

        Waits at most `close_linger_s` for the network; safe to call twice.
        """
        if self._closed:
            return
        self._closed = True
        try:
            step = self._pending or self._last_step
            if step is not None:
                # A PUB socket drops the newest message when its queue is full; let a final
                # burst drain so the end message (the one a late dashboard keeps) gets through.
                time.sleep(0.05)
                self._publish(step, kind="end", final=self._final_summary())
        except Exception as err:  # noqa: BLE001 - closing must not mask the run's own outcome
            log.warning("telemetry: end message not sent (%s)", err)
        finally:
            self._socket.close()
            self._context.term()

    def _final_summary(self) -> dict[str, Any]:
        from twin.results.readers import ResultsError, read_summary

        try:
            summary = read_summary(self._prepared.out_dir)
        except ResultsError:
            return {"status": "unknown"}
        kpis = {k: v for k, v in (summary.get("kpis") or {}).items() if not isinstance(v, dict)}
        return {
            "status": summary.get("status"),
            "wall_time_s": summary.get("wall_time_s"),
            "kpis": {k: v if isinstance(v, int | str) else _num(v) for k, v in kpis.items()},
        }


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
    if len(frame) < _PREFIX.size:
        raise TelemetryFormatError(f"telemetry message of {len(frame)} bytes is too short")
    magic, head_len, meta_len = _PREFIX.unpack_from(frame)
    if magic != MAGIC:
        raise TelemetryFormatError(f"not a twin telemetry message (starts with {magic!r})")
    start = _PREFIX.size
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


class TelemetrySubscriber:
    """Receives the newest snapshot from a publisher; reconnects by itself.

    ZeroMQ reconnects a SUB socket when the publisher comes back (a run restarted on the same
    address); on top of that, after `reconnect_after_s` of silence the socket is recreated, so a
    dashboard also recovers from a half-open connection. A new run shows up as a new `run_id`.

    Args:
        address: The publisher's address ("tcp://127.0.0.1:5556", "127.0.0.1:5556" or "5556").
        reconnect_after_s: Silence after which the socket is recreated, s.
        clock: Monotonic clock, s (injected for tests).
    """

    def __init__(self, address: str, *, reconnect_after_s: float = 5.0, clock=time.monotonic):
        self.endpoint = normalise_address(address, connect=True)
        self.reconnect_after_s = reconnect_after_s
        self.clock = clock
        self.latest: Snapshot | None = None
        self.bad_messages = 0
        self.reconnects = 0
        self._context = zmq.Context()
        self._socket: zmq.Socket | None = None
        self._open()

    def _open(self) -> None:
        sock = self._context.socket(zmq.SUB)
        sock.setsockopt(zmq.CONFLATE, 1)  # keep only the newest step; set before connect
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(self.endpoint)
        self._socket = sock
        self._opened_s = self.clock()

    def reconnect(self) -> None:
        """Drop the socket and connect a fresh one."""
        if self._socket is not None:
            self._socket.close(0)
        self.reconnects += 1
        self._open()

    @property
    def silent_s(self) -> float:
        """Seconds since the last message (or since connecting, if none arrived yet)."""
        last = self.latest.received_s if self.latest is not None else 0.0
        return self.clock() - max(self._opened_s, last)

    def receive(self, timeout_s: float = 0.0) -> Snapshot | None:
        """Newest snapshot that arrived since the last call, waiting up to `timeout_s` for one.

        Returns:
            The snapshot, or None when nothing new arrived (`latest` keeps the previous one).
        """
        assert self._socket is not None, "subscriber is closed"
        frame = None
        if self._socket.poll(int(max(0.0, timeout_s) * 1000), zmq.POLLIN):
            while True:  # drain: with CONFLATE there is at most one, but be robust without it
                try:
                    frame = self._socket.recv(zmq.NOBLOCK, copy=True)
                except zmq.Again:
                    break
        if frame is None:
            if self.silent_s > self.reconnect_after_s:
                self.reconnect()
            return None
        try:
            snap = decode_snapshot(frame, received_s=self.clock())
        except TelemetryFormatError:
            self.bad_messages += 1
            return None
        self.latest = snap
        return snap

    def close(self) -> None:
        """Close the socket; never waits."""
        if self._socket is not None:
            self._socket.close(0)
            self._socket = None
        self._context.term()
