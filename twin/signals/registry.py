"""Build any signal from its scenario entry: kind -> source -> generator, all by table lookup.

A scenario says, e.g.

    signals:
      frequency: {source: synthetic, nominal_hz: 50, noise_std_hz: 0.02,
                  events: [{at: 600, kind: ramp, to_hz: 49.75, ramp_s: 5, duration: 300}]}
      regulation: {source: csv, path: data/regd.csv}

and the twin calls build_signal(kind, params, start, step_s, n_steps, seed) for each entry.
`params["source"]` picks the generator (default per kind in DEFAULT_SOURCE); the remaining keys
are the generator's keyword arguments, checked against its signature: an unknown key, a
missing required one, or a value of the wrong type raises SignalConfigError naming the field
("frequency.noise_std_hz") and what is accepted. Numbers given for `..._s` parameters may be
duration strings ("15min"). Every CSV source takes `path` (relative paths start at
`base_dir`) and optionally `file_step_s`.

Adding a signal source = one function plus one entry in SIGNAL_SOURCES. A live source (LIVE_SOURCES:
`openadr`) is checked here like the others; its values come from its protocol client in
real-time runs (twin/run/live_signals.py).
Calling with n_steps = 0 validates the parameters (and reads a CSV file) without building.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import typing
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from twin.config.durations import parse_duration_s
from twin.signals.co2 import co2_intensity_kg_per_kwh
from twin.signals.csv_source import load_signal_csv
from twin.signals.errors import SignalConfigError, SignalFileError
from twin.signals.fems import fems_request_kwh
from twin.signals.frequency import grid_frequency_hz
from twin.signals.prices import tou_price_per_kwh
from twin.signals.regulation import regulation_signal_pu
from twin.signals.reserve import reserve_command_kw
from twin.signals.timebase import check_timebase

SignalGenerator = Callable[..., np.ndarray]
_TIMEBASE_ARGS = ("start", "step_s", "n_steps", "seed")


def _csv_signal(
    kind: str,
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    path: str,
    file_step_s: float | None = None,
    base_dir: Path | None = None,
) -> np.ndarray:
    file_path = Path(path)
    if base_dir is not None and not file_path.is_absolute():
        file_path = Path(base_dir) / file_path
    return load_signal_csv(file_path, kind, start, step_s, n_steps, file_step_s=file_step_s)


def _csv(kind: str) -> SignalGenerator:
    return partial(_csv_signal, kind)


OPENADR_CLOCKS = ("scenario", "wall")


def openadr_idle_signal(
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    vtn_url: str,
    ven_name: str,
    credentials_env: str | None = None,
    credentials_file: str | None = None,
    clock: str = "scenario",
    connect_timeout_s: float = 30.0,
) -> np.ndarray:
    """A live signal from an OpenADR 2.0b VTN (the run's VEN, adapters/openadr, writes it in
    real-time runs): here only the parameters are checked and the value without any event
    (0: no reduction, no regulation move, no kWh request) is returned for every step.

    `credentials_env` names an environment variable, `credentials_file` a file, holding the
    VEN's TLS/signing credentials as JSON (docs/openadr.md); never the secrets themselves.
    """
    if not vtn_url.startswith(("http://", "https://")):
        raise SignalConfigError("vtn_url", f"expected an http:// or https:// URL, got {vtn_url!r}")
    if not ven_name.strip():
        raise SignalConfigError("ven_name", "must not be empty")
    if credentials_env is not None and credentials_file is not None:
        raise SignalConfigError("credentials_env", "give credentials_env or credentials_file")
    if clock not in OPENADR_CLOCKS:
        raise SignalConfigError("clock", f"expected one of {', '.join(OPENADR_CLOCKS)}")
    if not connect_timeout_s > 0:
        raise SignalConfigError("connect_timeout_s", "must be > 0")
    return np.zeros(n_steps)


SIGNAL_SOURCES: dict[str, dict[str, SignalGenerator]] = {
    "frequency": {"synthetic": grid_frequency_hz, "csv": _csv("frequency")},
    "regulation": {
        "synthetic": regulation_signal_pu,
        "csv": _csv("regulation"),
        "openadr": openadr_idle_signal,
    },
    "fems": {"synthetic": fems_request_kwh, "csv": _csv("fems"), "openadr": openadr_idle_signal},
    "co2": {"synthetic": co2_intensity_kg_per_kwh, "csv": _csv("co2")},
    "prices": {"tou": tou_price_per_kwh, "csv": _csv("prices")},
    "reserve": {
        "synthetic": reserve_command_kw,
        "csv": _csv("reserve"),
        "openadr": openadr_idle_signal,
    },
}

LIVE_SOURCES = ("openadr",)
"""Sources whose values arrive while a real-time run goes (twin/run/live_signals.py)."""

DEFAULT_SOURCE: dict[str, str] = {
    "frequency": "synthetic",
    "regulation": "synthetic",
    "fems": "synthetic",
    "co2": "synthetic",
    "prices": "tou",
    "reserve": "synthetic",
}
"""Source used when a scenario entry names none."""

SIGNAL_UNITS: dict[str, str] = {
    "frequency": "Hz",
    "regulation": "pu of regulation capacity, [-1, 1]",
    "fems": "kWh requested in the current 30-min slot (+ charge, - discharge)",
    "co2": "kg-CO2/kWh",
    "prices": "currency per kWh",
    "reserve": "kW of consumption reduction commanded",
}


def _parameters(generator: SignalGenerator) -> tuple[Callable[..., Any], list[inspect.Parameter]]:
    """The function behind a generator and its parameters not already bound by a partial."""
    target = generator.func if isinstance(generator, partial) else generator
    parameters = list(inspect.signature(target).parameters.values())
    if isinstance(generator, partial):
        parameters = parameters[len(generator.args) :]
    return target, parameters


def _coerce(field: str, name: str, value: Any, hint: Any) -> Any:
    """Convert YAML scalars to the generator's annotated float/int (finite) or check a str;
    leave other types to it."""
    args = typing.get_args(hint)
    if value is None and type(None) in args:
        return value
    if len(args) == 2 and type(None) in args:  # `float | None` and the like
        hint = next(a for a in args if a is not type(None))
    if hint is str:
        if not isinstance(value, str):
            raise SignalConfigError(field, f"expected text, got {type(value).__name__} {value!r}")
        return value
    if hint not in (float, int):
        return value
    if isinstance(value, bool):
        raise SignalConfigError(field, f"expected a number, got {value!r}")
    if isinstance(value, str) and name.endswith("_s"):
        try:
            return float(parse_duration_s(value))
        except ValueError as err:
            raise SignalConfigError(field, str(err)) from None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SignalConfigError(field, f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise SignalConfigError(field, f"must be a finite number, got {value!r}")
    if hint is int:
        if number != int(number):
            raise SignalConfigError(field, f"expected a whole number, got {value!r}")
        return int(number)
    return number


def _bind(
    kind: str, source: str, generator: SignalGenerator, params: Mapping[str, Any]
) -> dict[str, Any]:
    target, parameters = _parameters(generator)
    hints = typing.get_type_hints(target)
    accepted = [p for p in parameters if p.name not in _TIMEBASE_ARGS and p.name != "base_dir"]
    names = [p.name for p in accepted]
    for key in params:
        if key not in names:
            raise SignalConfigError(
                f"{kind}.{key}",
                f"unknown parameter for {kind} (source {source}); accepted: {', '.join(names)}",
            )
    for parameter in accepted:
        if parameter.default is inspect.Parameter.empty and parameter.name not in params:
            raise SignalConfigError(
                f"{kind}.{parameter.name}", f"required for {kind} (source {source})"
            )
    return {
        key: _coerce(f"{kind}.{key}", key, value, hints.get(key)) for key, value in params.items()
    }


def build_signal(
    kind: str,
    params: Mapping[str, Any] | None,
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    seed: int,
    base_dir: Path | str | None = None,
) -> np.ndarray:
    """Build one signal per simulation step from its scenario entry.

    Args:
        kind: One of SIGNAL_SOURCES ("frequency", "regulation", "fems", "co2", "prices", "reserve").
        params: The scenario entry: optional "source" plus the generator's parameters.
        start: Time of step 0 (tz-aware).
        step_s: Simulation step, s.
        n_steps: Number of steps.
        seed: Scenario seed (each kind draws from its own stream of it).
        base_dir: Folder that relative CSV paths start from (the scenario's folder).

    Returns:
        float64 array of length n_steps, in the unit of SIGNAL_UNITS[kind].

    Raises:
        SignalConfigError: Unknown kind or source, bad parameters.
        SignalFileError: A CSV source whose file cannot be used.
    """
    sources = SIGNAL_SOURCES.get(kind)
    if sources is None:
        raise SignalConfigError(kind, f"unknown signal kind; known: {', '.join(SIGNAL_SOURCES)}")
    check_timebase(start, step_s, n_steps)
    params = dict(params or {})
    source = params.pop("source", DEFAULT_SOURCE[kind])
    generator = sources.get(source) if isinstance(source, str) else None
    if generator is None:
        raise SignalConfigError(
            f"{kind}.source", f"unknown source '{source}'; use one of {', '.join(sources)}"
        )
    kwargs = _bind(kind, source, generator, params)
    available = {p.name for p in _parameters(generator)[1]}
    if "seed" in available:
        kwargs["seed"] = seed
    if "base_dir" in available:
        kwargs["base_dir"] = None if base_dir is None else Path(base_dir)
    try:
        values = generator(start=start, step_s=step_s, n_steps=n_steps, **kwargs)
    except SignalConfigError as err:
        raise SignalConfigError(f"{kind}.{err.field}" if err.field else kind, err.problem) from None
    except SignalFileError:
        raise
    except (TypeError, ValueError, OverflowError, KeyError, IndexError) as err:
        # A parameter of the wrong shape (a list where a name belongs, ...) that the generator's
        # own checks did not name: still the user's input, so a problem at this signal, not a crash.
        raise SignalConfigError(kind, f"invalid parameters ({type(err).__name__}: {err})") from None
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).all():
        raise SignalConfigError(kind, "the parameters give non-finite values (inf or NaN)")
    return values
