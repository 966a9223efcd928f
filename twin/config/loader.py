"""Reading a scenario file: YAML -> overrides and cases -> the schema, every problem reported as
`file: field.path: reason` (all at once, never a traceback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from twin.config.errors import ScenarioError
from twin.config.rules import ScenarioRules
from twin.config.schema import Scenario


def _field_path(loc: tuple[Any, ...]) -> str:
    # Pydantic may put validator names in the location ("function-after[...]"); users only know
    # their own field names.
    return ".".join(str(p) for p in loc if not str(p).startswith(("function-", "tagged-union[")))


def _message(error: Any) -> str:
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if error["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    if error["type"] == "missing":
        msg = "required field is missing"
    return msg


def validate_scenario_data(
    data: Any, path: Path | str = "<scenario>", rules: ScenarioRules | None = None
) -> Scenario:
    """Validate already-parsed YAML data; raises ScenarioError listing every problem.

    Relative file paths inside the scenario (signal CSVs) resolve against the scenario file's
    folder, so a study runs the same from any working directory. Without `rules` only the
    structure is checked and no service type is known (twin.catalog passes the installed ones).
    """
    if not isinstance(data, dict):
        raise ScenarioError(
            path, [("", "the file must contain a mapping of fields (name, start, ...)")]
        )
    base_dir = Path(path).parent if str(path) != "<scenario>" else Path(".")
    context = {"base_dir": base_dir, "rules": rules or ScenarioRules()}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as err:
        problems = [(_field_path(e["loc"]), _message(e)) for e in err.errors()]
        raise ScenarioError(path, problems) from None
    if str(path) != "<scenario>":
        scenario._source = str(path)
    return scenario


def read_scenario_data(path: Path | str) -> dict[str, Any] | Any:
    """The parsed YAML of a scenario file (not validated)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, [("", "file not found")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise ScenarioError(path, [("", f"cannot read the file: {err}")]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(path, [("", f"YAML syntax error at {where}{problem}")]) from None


def load_scenario(
    path: Path | str,
    overrides: dict[str, Any] | None = None,
    rules: ScenarioRules | None = None,
) -> Scenario:
    """Read and validate a scenario file.

    Args:
        path: YAML file.
        overrides: dotted field paths to replace before validation, e.g. {"seed": 3}.
        rules: what the installed domain knows (twin.catalog.load_scenario passes it).

    Raises:
        ScenarioError: file missing, YAML syntax error, or schema problems (all of them).
    """
    data = read_scenario_data(path)
    if isinstance(data, dict):
        apply_overrides(data, overrides or {}, path)
    return validate_scenario_data(data, path, rules)


def apply_overrides(
    data: dict[str, Any], overrides: dict[str, Any], path: Path | str = "<scenario>"
) -> None:
    """Apply the selected case (`case`, from the file or the overrides), then the overrides.

    The case's values come first, so an explicit override still wins over them.

    Raises:
        ScenarioError: unknown case, or an override path that does not fit the data.
    """
    case = overrides.get("case", data.get("case"))
    if case is not None:
        cases = data.get("cases") or {}
        if not isinstance(cases, dict) or str(case) not in cases:
            known = (
                ", ".join(map(str, cases)) if isinstance(cases, dict) and cases else "none defined"
            )
            raise ScenarioError(
                path, [("case", f"unknown case '{case}'; cases of this file: {known}")]
            )
        chosen = cases[str(case)]
        if not isinstance(chosen, dict):
            raise ScenarioError(
                path, [(f"cases.{case}", "a case is a mapping of field.path: value")]
            )
        for dotted, value in chosen.items():
            apply_override(data, str(dotted), value)
        data["case"] = str(case)
    for dotted, value in overrides.items():
        apply_override(data, dotted, value)


def apply_override(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested data, creating mapping levels as needed (used by --set and sweeps).

    A numeric key indexes a list (`hardware.0.port=5021`, `fleets.home.sites.2=17`); it must
    name an existing element, since a list cannot be extended by position meaningfully."""
    keys = dotted.split(".")
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[:depth]) or "<top>"
        if isinstance(node, list):
            if not key.lstrip("-").isdigit():
                raise ScenarioError(
                    "<override>", [(dotted, f"'{where}' is a list: use an index, not '{key}'")]
                )
            index = int(key)
            if not -len(node) <= index < len(node):
                raise ScenarioError(
                    "<override>",
                    [
                        (
                            dotted,
                            f"'{where}' has {len(node)} elements; index {index} is out of range",
                        )
                    ],
                )
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise ScenarioError(
                "<override>", [(dotted, f"'{where}' is a single value, not a mapping or list")]
            )


def scenario_as_run(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, as plain data (stored with the results)."""
    data = scenario.model_dump(mode="json")
    data["duration"] = f"{scenario.duration}s"
    data["step"] = f"{scenario.step}s"
    return data
