"""The house rules of the layout (docs/architecture.md), read off the source's import statements.

Every `import` counts, also those inside functions (a lazy import is still a dependency); only
imports under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("twin", "adapters", "grids")

HEAVY_OR_NETWORK = (
    "mosaik",
    "mosaik_api_v3",
    "pandapower",
    "simbench",
    "lightsim2grid",
    "zmq",
    "websockets",
    "ocpp",
    "pymodbus",
    "streamlit",
    "socket",
    "asyncio",
    "dask",
    "distributed",
    "aiohttp",
    "openleadr",
    "openadr3_client",
    "httpx",
    "requests",
)
MODELS = ("twin.fleet", "twin.ems", "twin.signals", "twin.metrics", "twin.products")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    name = _module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p) for p in files}
    return {_module_name(p): _imports(p, modules) for p in files}


GRAPH = _graph()


def _internal(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # Importing `a.b.c` also runs `a` and `a.b`; a module importing its own parent package is
    # the normal way packages work, so those edges are not counted as circles.
    out: dict[str, set[str]] = {}
    for mod, deps in graph.items():
        out[mod] = {d for d in deps if d in graph and d != mod and not mod.startswith(d + ".")}
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (found := dfs(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := dfs(node)):
            return found
    return None


def test_the_graph_is_read_from_the_source() -> None:
    # Guard against a vacuous pass: the reader must see known edges, lazy ones included.
    assert "twin.config.schema" in GRAPH["twin.config.loader"]
    assert "mosaik" in GRAPH["twin.run.world"]
    assert "grids" in GRAPH["twin.catalog"]  # imported inside a function
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_circle() -> None:
    cycle = _cycle(_internal(GRAPH))
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("package", MODELS)
def test_models_import_no_simulator_grid_or_network_library(package: str) -> None:
    bad = {
        f"{mod} imports {dep}"
        for mod, deps in GRAPH.items()
        if mod == package or mod.startswith(package + ".")
        for dep in deps
        if dep.split(".")[0] in HEAVY_OR_NETWORK
    }
    assert not bad, sorted(bad)


def test_config_imports_no_domain_package() -> None:
    bad = {
        f"{mod} imports {dep}"
        for mod, deps in GRAPH.items()
        if mod == "twin.config" or mod.startswith("twin.config.")
        for dep in deps
        if dep.split(".")[0] in PACKAGES
        and not (dep == "twin.config" or dep.startswith("twin.config."))
    }
    assert not bad, sorted(bad)


def test_results_columns_is_a_leaf() -> None:
    # Every writer and reader imports the column names; they must not pull anything in.
    internal = {d for d in GRAPH["twin.results.columns"] if d.split(".")[0] in PACKAGES}
    assert internal == set()


def test_models_do_not_import_the_run_or_its_readers() -> None:
    upper = (
        "twin.run",
        "twin.cli",
        "twin.results",
        "twin.telemetry",
        "twin.dashboard",
        "twin.sims",
    )
    bad = {
        f"{mod} imports {dep}"
        for mod, deps in GRAPH.items()
        if mod.startswith(MODELS)
        for dep in deps
        if dep.startswith(upper)
    }
    assert not bad, sorted(bad)
