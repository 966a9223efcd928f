"""Fuzzing the signal CSV reader (issue 15, "What must be shown"): mutated valid files and raw
bytes give either one finite value per step or a SignalFileError / SignalConfigError naming the
file - never another exception, never a non-finite value, never a silently changed value.

Bounds: files of at most ~4 kB (hypothesis sizes below), one day at 15 min (96 steps); each
example is read in well under a second, so a hang shows as hypothesis' deadline.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from twin.signals.csv_source import SIGNAL_COLUMNS, load_signal_csv
from twin.signals.errors import SignalConfigError, SignalFileError

START = dt.datetime(2025, 6, 4, tzinfo=ZoneInfo("Asia/Tokyo"))
STEP_S, N_STEPS = 900, 96
TRIED = {"mutated": 0, "raw": 0, "valid": 0, "errors": 0}


def _valid_lines(kind: str) -> list[str]:
    column = SIGNAL_COLUMNS[kind]
    lo, hi = column.min_value, column.max_value
    value = (lo + hi) / 2 if np.isfinite(lo) and np.isfinite(hi) else 0.5
    step = column.file_step_s or STEP_S
    rows = int(N_STEPS * STEP_S // step) + 1
    lines = [f"time,{column.name}"]
    for i in range(rows):
        stamp = (START + dt.timedelta(seconds=i * step)).isoformat()
        lines.append(f"{stamp},{value:g}")
    return lines


KINDS = sorted(SIGNAL_COLUMNS)
VALID = {kind: _valid_lines(kind) for kind in KINDS}

nasty_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "\x00",
            "0.2\x005",
            "nan",
            "inf",
            "-inf",
            "1e999",
            "-1e308",
            "0x10",
            "1_000",
            ",",
            '"',
            '"a,b"',
            "#",
            "\r",
            "\ufeff",
            "2025-06-04T00:00:00",
            "2025-06-04T00:00:00+99:00",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "time",
        ]
    ),
)


@st.composite
def mutated_file(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(KINDS))
    lines = list(VALID[kind])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cell", "drop", "dup", "swap", "insert", "header", "bytes"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "cell":
            cells = lines[i].split(",")
            j = draw(st.integers(0, len(cells) - 1))
            cells[j] = draw(nasty_text)
            lines[i] = ",".join(cells)
        elif op == "drop" and len(lines) > 1:
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            k = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[k] = lines[k], lines[i]
        elif op == "insert":
            lines.insert(i, draw(nasty_text))
        elif op == "header":
            lines[0] = draw(nasty_text)
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    return kind, data


def _load(kind: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "signal.csv"
        path.write_bytes(data)
        try:
            values = load_signal_csv(path, kind, START, STEP_S, N_STEPS)
        except SignalFileError as err:
            TRIED["errors"] += 1
            assert str(err).startswith(f"{path}: ") and err.problem, err
            return
        except SignalConfigError as err:
            TRIED["errors"] += 1
            assert err.problem, err
            return
    TRIED["valid"] += 1
    assert values.shape == (N_STEPS,) and np.isfinite(values).all()
    column = SIGNAL_COLUMNS[kind]
    assert ((values >= column.min_value) & (values <= column.max_value)).all()
    if b"\x00" in data:
        raise AssertionError("a file with a NUL byte was accepted (pandas cuts the field there)")


@settings(
    max_examples=400, deadline=5000, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated_file())
@example(  # the audit's case: a NUL inside a value (0.2 read as 0.0 before)
    (
        "frequency",
        "\n".join(
            [*VALID["frequency"][:2], VALID["frequency"][2] + "\x002"] + VALID["frequency"][3:]
        ).encode(),
    )
)
def test_mutated_signal_files_give_values_or_a_file_error(case: tuple[str, bytes]) -> None:
    TRIED["mutated"] += 1
    _load(*case)


@settings(max_examples=200, deadline=5000, derandomize=True)
@given(st.sampled_from(KINDS), st.binary(max_size=4096))
def test_raw_bytes_give_a_file_error(kind: str, data: bytes) -> None:
    TRIED["raw"] += 1
    _load(kind, data)


def test_fuzzing_really_ran() -> None:
    # Runs after the two above (file order): both explored, and both outcomes were seen.
    print(f"signal CSV fuzz: {TRIED}")
    assert TRIED["mutated"] >= 400 and TRIED["raw"] >= 200
    assert TRIED["valid"] > 0 and TRIED["errors"] > 0
