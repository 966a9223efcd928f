"""Reading a scenario file: YAML -> overrides and cases -> the schema, every problem reported as
`file: field.path: reason` (all at once, never a traceback)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from twin.config.errors import ScenarioError
from twin.config.rules import ScenarioRules
from twin.config.schema import Scenario

_UNION_MEMBER_TAGS = ("function-", "tagged-union[", "constrained-", "list[", "dict[", "tuple[")
_TYPE_TAGS = frozenset({"int", "float", "str", "bool", "none", "list", "dict"})


_SHOWN_KEY = re.compile(r"^[\w\-. ]{1,64}$")


def _field_path(loc: tuple[Any, ...]) -> str:
    # Pydantic puts validator and union-member names in the location ("function-after[...]",
    # "constrained-int", "list[int]"); users only know their own field names. A key that is
    # not a name is not echoed (a line of some other file, e.g. /etc/shadow, parses as a key).
    return ".".join(
        str(p) if _SHOWN_KEY.match(str(p)) else "<key>"
        for p in loc
        if not str(p).startswith(_UNION_MEMBER_TAGS) and str(p) not in _TYPE_TAGS
    )


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
    if data and not any(str(key) in Scenario.model_fields for key in data):
        # Nothing of a scenario in it: say so once instead of echoing its keys as fields.
        raise ScenarioError(
            path,
            [
                (
                    "",
                    "not a scenario file: none of its top-level keys is a scenario field "
                    "(name, start, duration, step, grid, fleets, ...)",
                )
            ],
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


MAX_FILE_BYTES = 4 * 1024 * 1024
"""A scenario file is at most this big (the largest shipped study is ~10 kB)."""
MAX_DEPTH = 64
"""Nesting depth of mappings and lists (the deepest shipped study has 6 levels)."""
MAX_VALUES = 1_000_000
"""Values after expanding YAML anchors (`&a` / `*a`): a few hundred bytes of nested aliases can
otherwise stand for billions of values ("billion laughs")."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit (its composer recurses per level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooComplex(f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TooComplex(Exception):
    pass


def _expanded_size(data: Any) -> int:
    """Values `data` stands for once every alias is expanded, counted without expanding (a node
    shared by aliases is counted once per use, computed once); raises on a self-reference."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _TooComplex("an anchor refers to itself (a structure that contains itself)")
        open_nodes.add(key)
        children = node.items() if isinstance(node, dict) else ((None, v) for v in node)
        total = 1
        for _, child in children:
            total += size(child)
            if total > MAX_VALUES:
                raise _TooComplex(f"more than {MAX_VALUES:,} values once anchors are expanded")
        open_nodes.discard(key)
        sizes[key] = total
        return total

    return size(data)


def _unshared(data: Any) -> Any:
    # YAML aliases make several places share one object; overrides and cases edit the data in
    # place, so each place gets its own copy (bounded: _expanded_size ran first).
    if isinstance(data, dict):
        return {k: _unshared(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_unshared(v) for v in data]
    return data  # scalars (str, int, float, date, ...) are immutable


def _read_bounded(path: Path) -> str:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ScenarioError(path, [("", "file not found")]) from None
    except OSError as err:
        raise ScenarioError(path, [("", f"cannot read the file: {err.strerror}")]) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ScenarioError(path, [("", "is a folder, not a scenario file")])
        raise ScenarioError(path, [("", "not a regular file (a device, pipe or socket)")])
    with os.fdopen(fd, "rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(path, [("", f"larger than {MAX_FILE_BYTES // 1024 // 1024} MiB")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError(
            path, [("", f"not UTF-8 text (byte {err.start}): is this a scenario file?")]
        ) from None


def read_scenario_data(path: Path | str) -> dict[str, Any] | Any:
    """The parsed YAML of a scenario file (not validated), within the size, depth and
    alias-expansion bounds above; every object appears once (aliases are copied)."""
    path = Path(path)
    text = _read_bounded(path)
    try:
        data = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
        _expanded_size(data)
        return _unshared(data)
    except _TooComplex as err:
        raise ScenarioError(path, [("", f"the YAML is too complex: {err}")]) from None
    except RecursionError:
        raise ScenarioError(path, [("", "the YAML is too complex: nested too deep")]) from None
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
    original = _unshared(data) if isinstance(data, dict) else data
    if isinstance(data, dict):
        apply_overrides(data, overrides or {}, path)
    scenario = validate_scenario_data(data, path, rules)
    check_cases(original, path, rules, skip=scenario.case)
    return scenario


def check_cases(
    data: Any, path: Path | str, rules: ScenarioRules | None, skip: str | None = None
) -> None:
    """Validate every named case of the file on top of it, not only the one a run selects: a
    broken case is found by `twin validate`, not by the sweep that reaches it a day later.

    Raises:
        ScenarioError: every problem of every case, as `cases.<name>.<field path>`.
    """
    if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
        return
    problems: list[tuple[str, str]] = []
    for name in data["cases"]:
        if str(name) == skip:
            continue
        variant = _unshared(data)
        variant.pop("case", None)
        try:
            apply_overrides(variant, {"case": str(name)}, path)
            validate_scenario_data(variant, path, rules)
        except ScenarioError as err:
            problems += [(f"cases.{name}.{field}".rstrip("."), why) for field, why in err.problems]
    if problems:
        raise ScenarioError(path, problems)


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
            apply_override(data, str(dotted), value, source=path)
        data["case"] = str(case)
    for dotted, value in overrides.items():
        apply_override(data, dotted, value, source=path)


def apply_override(
    data: dict[str, Any], dotted: str, value: Any, source: Path | str = "<override>"
) -> None:
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
                    source, [(dotted, f"'{where}' is a list: use an index, not '{key}'")]
                )
            index = int(key)
            if not -len(node) <= index < len(node):
                raise ScenarioError(
                    source,
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
                source, [(dotted, f"'{where}' is a single value, not a mapping or list")]
            )


REDACTED = "<redacted>"
"""What results hold instead of a secret (a charger's password)."""


def scenario_as_run(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, as plain data (stored with the results);
    secrets (hardware passwords) are written as `<redacted>`."""
    data = scenario.model_dump(mode="json")
    for binding in data.get("hardware") or []:
        if isinstance(binding, dict) and binding.get("password") is not None:
            binding["password"] = REDACTED
    data["duration"] = f"{scenario.duration}s"
    data["step"] = f"{scenario.step}s"
    return data
