"""What every `twin` command shares: the one error exit, the one `--set` parser, the options.

Kept light on purpose: every command module imports it at start-up (`twin validate` included),
so nothing here may load the world, pandas, pandapower, mosaik, zmq or Dask.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml

# `twin run --help` / `twin dashboard --help` / `twin sweep --help` show these; tests/cli checks
# each one against scenarios/default.yaml, so they stay real field paths.
SET_EXAMPLES = ("fleets.households.count=1000", "step=1min")
SWEEP_SET_EXAMPLE = "fleets.households.count=100,140"

# The pyzmq address `twin run --live` and the dashboard agree on: twin.telemetry.DEFAULT_ADDRESS,
# written out here because importing the package loads zmq (a test keeps the two equal).
DEFAULT_LIVE_ADDRESS = "tcp://127.0.0.1:5556"


def fail(lines: Iterable[str], code: int = 2) -> NoReturn:
    """Print each problem as one plain line on stderr (`file: field.path: reason`) and exit.

    Plain print, not rich: rich would wrap long paths, and these lines are meant for grep and CI
    logs. Exit code 2 is invalid input; callers pass 1 (a bug) or 130 (interrupted) explicitly.
    """
    for line in lines:
        print(line, file=sys.stderr)
    raise typer.Exit(code)


class OptionError(ValueError):
    """A malformed command-line option; the message is the line to print."""


# YAML 1.1 (PyYAML) reads `11:00` as the base-60 integer 660 and `1:30.5` as 5430.5: a clock
# time given on the command line would arrive as a number. The scalar loader below is PyYAML's
# safe loader with the int and float rules minus their sexagesimal forms, so such values stay
# strings (as a YAML 1.2 reader would have them); everything else parses exactly as before.
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class _ScalarLoader(yaml.SafeLoader):
    pass


_ScalarLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in rules if tag not in (_INT, _FLOAT)]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ScalarLoader.add_implicit_resolver(
    _INT,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_ScalarLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_value(raw: str) -> Any:
    """One `--set` value as YAML (`1000` -> int, `true` -> bool, `[1, 2]` -> list, `11:00` -> str).

    Raises:
        yaml.YAMLError: not valid YAML.
    """
    return yaml.load(raw, Loader=_ScalarLoader)  # noqa: S506 - a SafeLoader subclass


def _split(item: str, form: str) -> tuple[str, str]:
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise OptionError(f"--set {item}: use {form}")
    return key, raw


def parse_set(item: str) -> tuple[str, Any]:
    """`fleets.households.count=1000` -> ("fleets.households.count", 1000).

    Raises:
        OptionError: no `=`, an empty field path, or a value that is not valid YAML.
    """
    key, raw = _split(item, f"FIELD.PATH=VALUE, e.g. {SET_EXAMPLES[0]}")
    try:
        return key, parse_value(raw)
    except yaml.YAMLError:
        raise OptionError(
            f"--set {item}: the value is not valid YAML (quote it, e.g. --set name='a b')"
        ) from None


def parse_sets(items: Iterable[str] | None) -> dict[str, Any]:
    """Every `--set` of a command as load_scenario overrides (a later one wins)."""
    return dict(parse_set(item) for item in items or [])


def parse_set_values(item: str) -> tuple[str, list[Any]]:
    """`twin sweep`'s `--set a.b=v1,v2` -> ("a.b", [v1, v2]), each value parsed as by parse_set.

    Commas inside brackets or braces belong to one value (`sites=[1,2],[3,4]` gives two lists).

    Raises:
        OptionError: no `=`, an empty field path, no values, or a value that is not valid YAML.
    """
    form = f"FIELD.PATH=VALUE[,VALUE...], e.g. {SWEEP_SET_EXAMPLE}"
    key, raw = _split(item, form)
    values, depth, current = [], 0, ""
    for char in raw:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += char
    values.append(current)
    values = [v.strip() for v in values if v.strip()]
    if not values:
        raise OptionError(f"--set {item}: use {form}")
    try:
        return key, [parse_value(v) for v in values]
    except yaml.YAMLError as err:
        raise OptionError(f"--set {item}: a value is not valid YAML ({err})") from None


def run_overrides(
    set_: Iterable[str] | None, seed: int | None = None, case: str | None = None
) -> dict[str, Any]:
    """`--set`, `--seed` and `--case` as load_scenario overrides (`--seed` wins over `--set seed=`).

    Raises:
        OptionError: a malformed `--set`.
    """
    overrides = parse_sets(set_)
    if seed is not None:
        overrides["seed"] = seed
    if case is not None:
        overrides["case"] = case
    return overrides


# Shared option definitions: the same flag has the same name and help in every command.
SET_HELP = (
    "Override a scenario field (YAML value; `11:00` stays a clock time), e.g. "
    + " ".join(f"--set {example}" for example in SET_EXAMPLES)
    + "."
)
SWEEP_SET_HELP = (
    f"Field and its alternatives, e.g. --set {SWEEP_SET_EXAMPLE} (repeatable: the sweep is the "
    "product)."
)
SEED_HELP = "Override the scenario's seed."
CASE_HELP = "Run one of the file's named `cases` (e.g. an adoption case); --set still wins."

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)]
SweepSetOpt = Annotated[list[str] | None, typer.Option("--set", help=SWEEP_SET_HELP)]
SeedOpt = Annotated[int | None, typer.Option("--seed", help=SEED_HELP)]
CaseOpt = Annotated[str | None, typer.Option("--case", help=CASE_HELP)]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Results folder (default results/<name>).")
]
RealtimeOpt = Annotated[
    bool,
    typer.Option(
        "--realtime",
        help="Pace the run by the wall clock (HIL); factor from the scenario's hil.rt_factor.",
    ),
]
RtFactorOpt = Annotated[
    float | None,
    typer.Option(
        "--rt-factor",
        help="Wall seconds per simulated second (1.0 = real time, 0.001 = 1000x faster).",
    ),
]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]
