"""`twin verify DIR`: check a run's settlement ledger (ledger.jsonl) against its hash chain and
the head hash summary.json recorded; name the first entry that was altered.

Exit 0 when it checks, 1 when it was altered (or truncated), 2 when there is nothing to check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from twin.cli.options import fail


def verify(
    run_dir: Annotated[Path, typer.Argument(help="A results folder with ledger.jsonl.")],
) -> None:
    """Check the run's hash-chained settlement ledger."""
    from twin.markets.ledger import verify_ledger
    from twin.results import columns as col

    ledger = run_dir / col.LEDGER_FILE
    if not ledger.is_file():
        fail(
            [f"{ledger}: no ledger (the scenario had no `market:` section, or the run did not end)"]
        )
    head: str | None = None
    entries: int | None = None
    try:
        block = json.loads((run_dir / col.SUMMARY_FILE).read_text(encoding="utf-8")).get("ledger")
        if isinstance(block, dict):
            head, entries = block.get("head_hash"), block.get("entries")
    except (OSError, ValueError, AttributeError):
        pass  # the chain is still checked; the tail cannot be
    try:
        check = verify_ledger(ledger, head, entries)
    except OSError as err:
        fail([f"{ledger}: cannot read: {err.strerror or err}"])
    if not check.ok:
        fail([f"{ledger}: {check.problem}"], code=1)
    tail = "" if head is not None else " (summary.json has no head hash: a cut tail would not show)"
    print(f"{ledger}: ok, {check.entries} entries, head {check.head_hash[:16]}{tail}")


def register_cli(app: typer.Typer) -> None:
    app.command("verify")(verify)
