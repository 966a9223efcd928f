"""Every concrete `twin run|sweep|dashboard|report|compare` example in README.md and docs/*.md
parses with the real command line (options that exist, values of the right type), and each
`--set` / `--case` it gives fits the scenario it names (every sweep alternative too). The
examples are not run (a year-long study takes minutes): what would make one fail at the start
is what this checks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import typer

from tests.conftest import ROOT
from twin.catalog import load_scenario
from twin.cli.main import app
from twin.cli.options import parse_set, parse_set_values

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMANDS = ("run", "sweep", "dashboard", "report", "compare", "fleet-size")
EXAMPLE = re.compile(r"twin (" + "|".join(COMMANDS) + r")\b([^`\n|#]*)")
PLACEHOLDER = re.compile(r"[\[\]<>]|\b[A-Z_]{2,}\b|\ba\.b=|\bX\b|\bN\b")
DEFAULT = ROOT / "scenarios" / "default.yaml"
NEEDS_ARGS = ("report", "compare", "sweep", "fleet-size")


def _examples() -> list[tuple[str, str, list[str]]]:
    found = []
    for doc in DOCS:
        for m in EXAMPLE.finditer(doc.read_text(encoding="utf-8")):
            rest = m.group(2).strip().rstrip(".,;:)")
            if PLACEHOLDER.search(rest):
                continue  # a synopsis (`twin run [SCENARIO] [--set a.b=v]`), not an example
            args = shlex.split(rest)
            if (args and args[-1] == "--set") or (not args and m.group(1) in NEEDS_ARGS):
                continue  # prose naming a command or an option ("as `twin run --set`")
            found.append(
                (f"{doc.name}: twin {m.group(1)} {rest}".strip(), m.group(1), shlex.split(rest))
            )
    return found


EXAMPLES = _examples()


def test_the_docs_have_examples():
    commands = {c for _, c, _ in EXAMPLES}
    assert {"run", "sweep", "dashboard"} <= commands, EXAMPLES


def _overrides(command: str, args: list[str]) -> tuple[Path, list[dict]]:
    """The scenario an example names and its override sets (one per sweep alternative)."""
    scenario = next((Path(a) for a in args if a.endswith((".yaml", ".yml"))), DEFAULT)
    sets: list[dict] = [{}]
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--set" and command == "sweep":
            key, values = parse_set_values(value)
            sets = [{**s, key: v} for s in sets for v in values]
        elif flag == "--set":
            key, v = parse_set(value)
            sets = [{**s, key: v} for s in sets]
        elif flag == "--case":
            sets = [{**s, "case": value} for s in sets]
    return (scenario if scenario.is_absolute() else ROOT / scenario), sets


@pytest.mark.parametrize(("where", "command", "args"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_parses_and_fits_its_scenario(where, command, args):
    group = typer.main.get_command(app)
    with click.Context(group) as parent:
        cmd = group.get_command(parent, command)
        assert cmd is not None, where
        try:
            cmd.make_context(command, list(args), parent=parent)
        except Exception as err:  # noqa: BLE001 - typer's own click raises its UsageError
            pytest.fail(f"{where}: {type(err).__name__}: {err}")
    if command in ("run", "sweep", "dashboard") and "--replay" not in args:
        scenario, sets = _overrides(command, args)
        if not scenario.is_relative_to(ROOT):
            return  # a file the doc's previous command writes (`git show REV:... > /tmp/x.yaml`)
        for overrides in sets:
            load_scenario(scenario, overrides)  # ScenarioError names the field that does not fit


def test_every_island_case_the_readme_names_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `island_year.yaml`"))
    cases = re.findall(r"`--case ([^`]+)`", row)
    assert len(cases) >= 2, row
    for case in cases:
        load_scenario(ROOT / "scenarios" / "island_year.yaml", {"case": case})
