"""`twin run`, and the plain functions that start a run (`twin dashboard` uses them too).

The world (mosaik, pandapower, numba, pandas) is imported inside `execute_run`, never at
module level: `twin validate` and `twin --help` import this module too.
"""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from twin.cli.options import (
    CaseOpt,
    OptionError,
    OutOpt,
    ProgressOpt,
    RealtimeOpt,
    RtFactorOpt,
    SeedOpt,
    SetOpt,
    fail,
    run_overrides,
)
from twin.cli.report import console, print_kpis
from twin.config import DEFAULT_SCENARIO, ScenarioError
from twin.results import columns as col

if TYPE_CHECKING:
    from twin.config.schema import Scenario


def _raise_keyboard_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def load_run_scenario(
    scenario: Path,
    set_: list[str] | None = None,
    seed: int | None = None,
    case: str | None = None,
) -> Scenario:
    """The scenario as `--set` / `--seed` / `--case` make it; exits 2 with every problem if not valid."""
    from twin.catalog import load_scenario

    try:
        return load_scenario(scenario, run_overrides(set_, seed, case))
    except OptionError as e:
        fail([str(e)])
    except ScenarioError as e:
        fail(e.lines())


def execute_run(
    sc: Scenario,
    out_dir: Path | None = None,
    *,
    realtime: bool = False,
    rt_factor: float | None = None,
    progress: bool = True,
    live: str | None = None,
) -> dict[str, Any]:
    """Run `sc` into `out_dir` (default results/<name>), print its KPI table, return the summary.

    Exit codes (typer.Exit): 2 for a problem found while building the run, 130 for Ctrl-C or
    SIGTERM (partial results kept), 1 for a bug (traceback in <out>/error.log).
    """
    from twin.results.run_folder import RunFolderError, note_written
    from twin.run.world import prepare_run

    if rt_factor is not None and not (math.isfinite(rt_factor) and rt_factor > 0):
        fail([f"--rt-factor {rt_factor}: must be a positive number (1.0 = real time)"])
    # A run owns its folder (twin.results.run_folder): a second run into it, or a folder of
    # someone else's files, stops here; only what an earlier run wrote is removed.
    target = out_dir or Path(sc.outputs.dir) / sc.name
    factor = rt_factor if rt_factor is not None else (sc.hil.rt_factor if realtime else None)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    publisher = None
    try:
        prepared = prepare_run(sc, target, realtime=factor is not None)
        if live:
            from twin.telemetry import TelemetryPublisher

            publisher = TelemetryPublisher(live, prepared, hil_status=prepared.hil_status)
            prepared.observers.append(publisher)
        outcome = prepared.run(rt_factor=factor, progress=progress)
    except RunFolderError as e:
        fail([str(e)])
    except KeyboardInterrupt:
        fail(
            [f"interrupted: partial results in {target} (summary.json status 'interrupted')"],
            code=130,
        )
    except ScenarioError as e:  # found while building the run (e.g. a signal file's contents)
        fail(e.lines())
    except Exception as e:  # a bug, not bad input: say where the partial results and details are
        import traceback

        target.mkdir(parents=True, exist_ok=True)
        note_written(target, col.ERROR_LOG)
        (target / col.ERROR_LOG).write_text(traceback.format_exc(), encoding="utf-8")
        fail(
            [
                f"run failed: {type(e).__name__}: {e}",
                f"partial results in {target} (summary.json status 'failed'); traceback in "
                f"{target / col.ERROR_LOG}",
            ],
            code=1,
        )
    finally:
        if publisher is not None:
            publisher.close(prepared.summary)
    print_kpis(outcome.summary)
    console().print(f"results: {target}")
    return outcome.summary


def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")] = DEFAULT_SCENARIO,
    out_dir: OutOpt = None,
    seed: SeedOpt = None,
    set_: SetOpt = None,
    realtime: RealtimeOpt = False,
    rt_factor: RtFactorOpt = None,
    progress: ProgressOpt = True,
    case: CaseOpt = None,
    live: Annotated[
        str | None,
        typer.Option(
            help="Publish step snapshots for the dashboard on this pyzmq address "
            "(e.g. tcp://127.0.0.1:5556)."
        ),
    ] = None,
) -> None:
    """Run a scenario (default: scenarios/default.yaml) and write results."""
    sc = load_run_scenario(scenario, set_, seed, case)
    execute_run(sc, out_dir, realtime=realtime, rt_factor=rt_factor, progress=progress, live=live)


def register_cli(app: typer.Typer) -> None:
    """Add `twin run`."""
    app.command("run")(run)
