"""Load a recorded signal from CSV, check it, and hold it onto the simulation steps.

File format: a header row, a column `time` (ISO-8601 with a zone offset or Z, e.g.
2024-06-01T10:00:00+09:00) and one value column named per signal kind (SIGNAL_COLUMNS):
`frequency_hz`, `regulation`, `co2_kg_per_kwh`, `price_per_kwh`, `kwh` (FEMS requests per
30-min slot, stamped at the slot start), `reduction_kw` (reserve commands). Lines starting
with '#' are comments; other columns are ignored.

Checks, each raising SignalFileError(path, problem) with the line number where it helps:
file missing or unreadable; `time` or value column missing; a time without zone or not
ISO-8601; times not strictly increasing (duplicates included); empty/NaN or non-numeric
values; values outside the kind's physical range (e.g. frequency outside 45-65 Hz, which
usually means mHz or a deviation was recorded); a gap between rows larger than the file's
declared step (`file_step_s`; when not declared, the median interval of the file); and a file
that does not cover [start, start + n_steps x step_s), each row holding its value for one
file step.

Resampling: the value at simulation time t is the last row with time <= t (hold previous).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.signals.errors import SignalConfigError, SignalFileError
from twin.signals.timebase import check_timebase, offsets_s

if TYPE_CHECKING:
    import pandas as pd

TIME_COLUMN = "time"
_HEADER_LINES = 1
# A clock time followed by Z or an offset; a bare date such as 2024-06-01 has no zone.
_ZONE_SUFFIX = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_MISSING_TEXT = {"", "nan", "na", "n/a", "null", "none"}
_TIME_EPS_S = 1e-6


@dataclass(frozen=True)
class SignalColumn:
    """How one signal kind is stored in CSV.

    Attributes:
        name: Value column name.
        min_value: Smallest physically sensible value.
        max_value: Largest physically sensible value.
        unit_hint: Shown when values are out of range (what probably went wrong).
        file_step_s: Default declared step of such files, s (None = the file's median interval).
    """

    name: str
    min_value: float
    max_value: float
    unit_hint: str
    file_step_s: float | None = None


SIGNAL_COLUMNS: dict[str, SignalColumn] = {
    "frequency": SignalColumn(
        "frequency_hz",
        45.0,
        65.0,
        "expected Hz around 50 or 60; mHz or a deviation (f - 50) would be outside",
    ),
    "regulation": SignalColumn(
        "regulation", -1.0, 1.0, "expected a normalised signal in [-1, 1]", 5.0
    ),
    "co2": SignalColumn(
        "co2_kg_per_kwh",
        0.0,
        2.0,
        "expected kg/kWh (about 0.4-0.8); g/kWh would be 1000x larger",
        300.0,
    ),
    "prices": SignalColumn(
        "price_per_kwh", -1e4, 1e4, "expected a price per kWh; per MWh would be 1000x larger"
    ),
    "fems": SignalColumn("kwh", -1e6, 1e6, "expected kWh per 30-min slot", 1800.0),
    "reserve": SignalColumn("reduction_kw", 0.0, 1e7, "expected a reduction in kW (>= 0)"),
    "envelope_import": SignalColumn("import_kw", 0.0, 1e7, "expected an import limit in kW (>= 0)"),
    "envelope_export": SignalColumn("export_kw", 0.0, 1e7, "expected an export limit in kW (>= 0)"),
}


def signal_column(kind: str) -> SignalColumn:
    """Column spec of a signal kind; SignalConfigError for an unknown kind."""
    try:
        return SIGNAL_COLUMNS[kind]
    except KeyError:
        raise SignalConfigError(
            "kind", f"no CSV format for '{kind}'; known: {sorted(SIGNAL_COLUMNS)}"
        ) from None


def _read_table(path: Path) -> pd.DataFrame:
    import pandas as pd  # lazily: validating a scenario must not load pandas

    if not path.exists():
        raise SignalFileError(
            path, "file not found (check the path; relative paths start at the scenario's folder)"
        )
    if not path.is_file():
        raise SignalFileError(path, "is not a file")
    nul_line = _first_nul_line(path)
    if nul_line is not None:
        # pandas' C parser ends a field at a NUL byte: `0.2<NUL>5` would silently read as 0.2.
        raise SignalFileError(path, f"line {nul_line}: a NUL byte (binary data, not CSV text)")
    try:
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, comment="#", skipinitialspace=True
        )
    except pd.errors.EmptyDataError:
        raise SignalFileError(
            path, "the file is empty (expected a header row and data rows)"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, PermissionError) as err:
        raise SignalFileError(path, f"cannot be read as CSV: {str(err).strip()}") from None


def _first_nul_line(path: Path, chunk: int = 1 << 20) -> int | None:
    """The 1-based line of the first NUL byte of the file, or None (read in chunks)."""
    lines = 1
    try:
        with path.open("rb") as f:
            while block := f.read(chunk):
                at = block.find(b"\x00")
                if at >= 0:
                    return lines + block.count(b"\n", 0, at)
                lines += block.count(b"\n")
    except OSError as err:
        raise SignalFileError(path, f"cannot be read: {err.strerror}") from None
    return None


_COLUMN_NAME = re.compile(r"^[\w .()/%-]{1,64}$")


def _found_columns(path: Path, columns: list[str]) -> str:
    """The header's column names for an error message, only if the file looks like a CSV table
    (a .csv name, up to 50 plain names): never a line of some other file (e.g. /etc/shadow)."""
    if (
        path.suffix.lower() == ".csv"
        and len(columns) <= 50
        and all(_COLUMN_NAME.match(c) for c in columns)
    ):
        return f"found: {columns}"
    return "its first line is not a header of column names: is this a CSV signal file?"


def _line(row: int) -> int:
    return row + _HEADER_LINES + 1


def _parse_times(path: Path, text: pd.Series) -> np.ndarray:
    """Epoch seconds of every row; every time must carry a zone."""
    import pandas as pd  # lazily: validating a scenario must not load pandas

    text = text.str.strip()
    no_zone = ~text.str.contains(_ZONE_SUFFIX)
    if no_zone.any():
        row = int(np.argmax(no_zone.to_numpy()))
        raise SignalFileError(
            path,
            f"line {_line(row)}: time '{text.iloc[row]}' has no time zone; write it as ISO-8601 with an "
            "offset, e.g. 2024-06-01T10:00:00+09:00",
        )
    try:
        times = pd.to_datetime(text, format="ISO8601", utc=True)
    except (ValueError, TypeError):
        for row, value in enumerate(text):
            try:
                pd.to_datetime(value, format="ISO8601", utc=True)
            except (ValueError, TypeError):
                raise SignalFileError(
                    path, f"line {_line(row)}: '{value}' is not an ISO-8601 time"
                ) from None
        raise
    return (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def _parse_values(path: Path, text: pd.Series, column: SignalColumn) -> np.ndarray:
    import pandas as pd  # lazily: validating a scenario must not load pandas

    stripped = text.str.strip()
    missing = stripped.str.lower().isin(_MISSING_TEXT)
    if missing.any():
        row = int(np.argmax(missing.to_numpy()))
        raise SignalFileError(
            path, f"line {_line(row)}: missing value (NaN) in column '{column.name}'"
        )
    values = pd.to_numeric(stripped, errors="coerce")
    bad = values.isna() | ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise SignalFileError(
            path,
            f"line {_line(row)}: '{stripped.iloc[row]}' in column '{column.name}' is not a number",
        )
    values = values.to_numpy(dtype=float)
    outside = (values < column.min_value) | (values > column.max_value)
    if outside.any():
        row = int(np.argmax(outside))
        raise SignalFileError(
            path,
            f"line {_line(row)}: value {values[row]:g} in '{column.name}' is out of range "
            f"[{column.min_value:g}, {column.max_value:g}] ({column.unit_hint})",
        )
    return values


def _iso(epoch_s: float, like: dt.datetime) -> str:
    return dt.datetime.fromtimestamp(epoch_s, tz=like.tzinfo).isoformat()


def load_signal_csv(
    path: Path | str,
    kind: str,
    start: dt.datetime,
    step_s: float,
    n_steps: int,
    file_step_s: float | None = None,
) -> np.ndarray:
    """Read, check and resample one signal file.

    Args:
        path: CSV file.
        kind: Signal kind, a key of SIGNAL_COLUMNS (sets the value column and its range).
        start: Time of simulation step 0 (tz-aware).
        step_s: Simulation step, s.
        n_steps: Number of simulation steps.
        file_step_s: Declared interval between rows, s; a larger gap is an error. None = the
            kind's default, or the file's median interval if the kind has none.

    Returns:
        One value per simulation step (float64, length n_steps), holding the previous row.

    Raises:
        SignalFileError: Any problem with the file (see module doc).
        SignalConfigError: Unknown kind or bad time base.
    """
    check_timebase(start, step_s, n_steps)
    column = signal_column(kind)
    path = Path(path)
    table = _read_table(path)
    table.columns = [str(c).strip() for c in table.columns]
    missing_columns = [c for c in (TIME_COLUMN, column.name) if c not in table.columns]
    if missing_columns:
        raise SignalFileError(
            path,
            f"missing column(s) {missing_columns}; a {kind} file needs '{TIME_COLUMN}' and "
            f"'{column.name}' ({_found_columns(path, list(table.columns))})",
        )
    if table.empty:
        raise SignalFileError(path, "has a header but no data rows")

    times_s = _parse_times(path, table[TIME_COLUMN])
    steps = np.diff(times_s)
    not_increasing = steps <= 0
    if np.any(not_increasing):
        row = int(np.argmax(not_increasing)) + 1
        what = "duplicate time" if steps[row - 1] == 0 else "time goes backwards"
        raise SignalFileError(
            path,
            f"line {_line(row)}: {what} ('{table[TIME_COLUMN].iloc[row].strip()}'); times must strictly increase",
        )
    values = _parse_values(path, table[column.name], column)

    declared = file_step_s if file_step_s is not None else column.file_step_s
    if declared is None:
        declared = float(np.median(steps)) if steps.size else step_s
    if not declared > 0:
        raise SignalConfigError("file_step_s", f"must be positive, got {declared}")
    gaps = steps > declared + _TIME_EPS_S
    if np.any(gaps):
        row = int(np.argmax(gaps))
        raise SignalFileError(
            path,
            f"lines {_line(row)}-{_line(row + 1)}: gap of {steps[row]:g} s is larger than the file step of "
            f"{declared:g} s (fill the gap, or declare a larger file_step_s)",
        )

    sim_s = start.timestamp() + offsets_s(step_s, n_steps)
    end_s = start.timestamp() + n_steps * step_s
    if n_steps and times_s[0] > sim_s[0] + _TIME_EPS_S:
        raise SignalFileError(
            path,
            f"starts at {_iso(times_s[0], start)}, after the simulation start {_iso(sim_s[0], start)}",
        )
    if times_s[-1] + declared < end_s - _TIME_EPS_S:
        raise SignalFileError(
            path,
            f"ends at {_iso(times_s[-1], start)} (+ one {declared:g} s step), before the simulation end "
            f"{_iso(end_s, start)}",
        )
    index = np.searchsorted(times_s, sim_s + _TIME_EPS_S, side="right") - 1
    return values[index]
