"""A tamper-evident settlement record: one JSON line per entry, each carrying its predecessor's hash.

`hash = sha256(prev_hash + canonical JSON of the entry without its hash)`; the first entry's
`prev_hash` is GENESIS. The run also writes the head hash and the entry count into summary.json,
so dropping the last lines is detected too (a chain alone cannot see a truncated tail).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def canonical_bytes(entry: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, floats as Python's repr: the same entry always hashes the same."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(prev_hash.encode() + canonical_bytes(body)).hexdigest()


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def chain(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries with `seq`, `prev_hash` and `hash` added, in order."""
    out: list[dict[str, Any]] = []
    prev = GENESIS
    for seq, raw in enumerate(entries):
        entry = {k: _clean(v) for k, v in raw.items()}
        entry["seq"] = seq
        entry["prev_hash"] = prev
        entry["hash"] = entry_hash(prev, entry)
        prev = entry["hash"]
        out.append(entry)
    return out


def write_ledger(path: Path, chained: list[dict[str, Any]]) -> None:
    """Write the chained entries as JSON lines (atomically: a reader never sees half a ledger)."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        for entry in chained:
            f.write(canonical_bytes(entry) + b"\n")
    os.replace(tmp, path)


@dataclass(frozen=True)
class LedgerCheck:
    ok: bool
    entries: int
    head_hash: str
    problem: str = ""
    """Empty when ok; else which entry (seq, interval, product) is the first that does not check."""


def _where(entry: dict[str, Any] | None, line_no: int) -> str:
    if entry is None:
        return f"line {line_no}"
    return (
        f"entry {entry.get('seq', line_no - 1)} (interval {entry.get('interval_start', '?')}, "
        f"product {entry.get('product', '?')}, party {entry.get('party', '?')})"
    )


def verify_ledger(
    path: Path, expected_head: str | None, expected_entries: int | None
) -> LedgerCheck:
    """Recompute the chain; name the first entry whose content or link was altered."""
    prev = GENESIS
    n = 0
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                entry = json.loads(raw)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
            except ValueError:
                return LedgerCheck(False, n, prev, f"{_where(None, line_no)} is not a JSON entry")
            if entry.get("prev_hash") != prev:
                return LedgerCheck(
                    False, n, prev, f"{_where(entry, line_no)}: link to the previous entry broken"
                )
            if entry.get("seq") != n or entry_hash(prev, entry) != entry.get("hash"):
                return LedgerCheck(False, n, prev, f"{_where(entry, line_no)}: content altered")
            prev = entry["hash"]
            n += 1
    if expected_entries is not None and n != expected_entries:
        return LedgerCheck(False, n, prev, f"{n} entries, summary.json recorded {expected_entries}")
    if expected_head is not None and prev != expected_head:
        return LedgerCheck(False, n, prev, "last hash differs from the one summary.json recorded")
    return LedgerCheck(True, n, prev)
