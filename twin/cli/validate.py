"""`twin validate FILE...`: check scenario files without running them.

Fast by construction: the CLI path imports only the schema here; what a check needs (signals,
the grid builder) is imported inside the command, and only once a file's schema is valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twin.cli.options import fail


def validate_file(path: Path) -> list[str]:
    """Every problem of one scenario file as `file: field.path: reason` lines ([] if valid)."""
    from twin.catalog import load_scenario
    from twin.config import ScenarioError

    try:
        sc = load_scenario(path)
        # Signals are built once too: a CSV with gaps or NaN is a scenario problem, found now
        # rather than minutes into a run. Then the grid, for the problems only its builder sees
        # (unknown feeder parameter, a site bus the grid does not have).
        from twin.signals.scenario_signals import check_signals

        check_signals(sc)
        from twin.run.grid_check import check_grid

        check_grid(sc)
    except ScenarioError as e:
        return e.lines()
    return []


def validate(files: Annotated[list[Path], typer.Argument(help="Scenario files.")]) -> None:
    """Check scenario files; exit 0 if all are valid, 2 otherwise (every problem listed)."""
    problems: list[str] = []
    for path in files:
        found = validate_file(path)
        if not found:
            print(f"{path}: ok")
        problems.extend(found)
    if problems:
        fail(problems)


def register_cli(app: typer.Typer) -> None:
    """Add `twin validate`."""
    app.command("validate")(validate)
