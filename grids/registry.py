"""Grid models by name: SimBench codes, pandapower's CIGRE / Kerber nets, the Japanese feeder.

Names:

* ``"simbench:<code>"``, e.g. ``"simbench:1-MVLV-semiurb-3.202-1-no_sw"`` - any code of
  ``simbench.collect_all_simbench_codes()``; the data ship with the simbench package (offline).
  These nets carry a year of 15-min profiles used by ``grids.profiles``.
* ``"cigre_lv"``, ``"cigre_mv"`` (param ``with_der``: False, "pv_wind" or "all").
* ``"kerber_landnetz_freileitung_1"`` ... ``"kerber_vorstadtnetz_kabel_2"``: pandapower's Kerber
  LV nets; their keyword parameters pass through (e.g. ``n_lines``, ``p_load_mw``).
* ``"japan_6kv_feeder"``: see ``grids.japan_feeder.build_japan_6kv_feeder`` for the parameters.

Every built net gets ``net["grid_name"]`` set to the name it was built from.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import math
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grids.errors import GridParameterError, UnknownGridError
from grids.japan_feeder import build_japan_6kv_feeder

if TYPE_CHECKING:
    from pandapower import pandapowerNet

SIMBENCH_PREFIX = "simbench:"
_SIMBENCH_EXAMPLES = (
    "simbench:1-MVLV-semiurb-3.202-1-no_sw",
    "simbench:1-MVLV-urban-5.303-0-no_sw",
    "simbench:1-LV-rural1--0-no_sw",
    "simbench:1-MV-rural--1-no_sw",
)


def _pandapower_network(function_name: str) -> Callable[..., pandapowerNet]:
    def build(**params: Any) -> pandapowerNet:
        import pandapower.networks as pn

        return getattr(pn, function_name)(**params)

    build.__name__ = function_name
    build.pandapower_function = function_name  # type: ignore[attr-defined]
    return build


def _cigre_mv(*, with_der: bool | str = False) -> pandapowerNet:
    import pandapower.networks as pn

    if with_der not in (False, "pv_wind", "all"):
        raise GridParameterError(
            f"cigre_mv: with_der={with_der!r} is invalid; expected False, 'pv_wind' or 'all'"
        )
    return pn.create_cigre_network_mv(with_der=with_der)


_KERBER = (
    "kerber_landnetz_freileitung_1",
    "kerber_landnetz_freileitung_2",
    "kerber_landnetz_kabel_1",
    "kerber_landnetz_kabel_2",
    "kerber_dorfnetz",
    "kerber_vorstadtnetz_kabel_1",
    "kerber_vorstadtnetz_kabel_2",
)

_BUILDERS: dict[str, Callable[..., pandapowerNet]] = {
    "cigre_lv": _pandapower_network("create_cigre_network_lv"),
    "cigre_mv": _cigre_mv,
    **{name: _pandapower_network(f"create_{name}") for name in _KERBER},
    "japan_6kv_feeder": build_japan_6kv_feeder,
}


def available_grids(include_simbench: bool = True) -> list[str]:
    """Names ``build_grid`` accepts.

    Args:
        include_simbench: Also list every ``"simbench:<code>"`` (about 250 names).

    Returns:
        Sorted named grids first, then the SimBench names.
    """
    names = sorted(_BUILDERS)
    if include_simbench:
        names += [SIMBENCH_PREFIX + code for code in sorted(_simbench_codes())]
    return names


def check_grid_name(name: str) -> None:
    """Raise ``UnknownGridError`` unless ``build_grid(name)`` would find a builder.

    Cheap: no net is built (SimBench codes are checked against the package's code list).
    """
    if name in _BUILDERS:
        return
    if name.startswith(SIMBENCH_PREFIX):
        code = name[len(SIMBENCH_PREFIX) :]
        if code not in _simbench_codes():
            raise UnknownGridError(
                f"unknown SimBench code {code!r} in grid name {name!r}; valid examples: "
                f"{', '.join(_SIMBENCH_EXAMPLES)} (all codes: simbench.collect_all_simbench_codes())"
            )
        return
    raise UnknownGridError(
        f"unknown grid name {name!r}; available: {', '.join(sorted(_BUILDERS))}, "
        f"or 'simbench:<code>' such as {_SIMBENCH_EXAMPLES[0]!r}"
    )


def build_grid(name: str, **params: Any) -> pandapowerNet:
    """Build a pandapower net by name.

    Args:
        name: A name of ``available_grids()`` (see the module docstring).
        **params: Keyword parameters of that grid's builder.

    Returns:
        A fresh pandapower net (callers may modify it).

    Raises:
        UnknownGridError: The name or SimBench code is unknown.
        GridParameterError: A parameter is not accepted by the builder or out of range.
    """
    check_grid_name(name)
    if name.startswith(SIMBENCH_PREFIX):
        if params:
            raise GridParameterError(
                f"{name}: SimBench grids take no parameters, got {sorted(params)}"
            )
        net = copy.deepcopy(_pristine_simbench_net(name[len(SIMBENCH_PREFIX) :]))
        apply_simbench_taps(net)
    else:
        builder = _BUILDERS[name]
        _check_params(name, builder, params)
        net = builder(**params)
    net["grid_name"] = name
    return net


def _check_params(name: str, builder: Callable[..., Any], params: dict[str, Any]) -> None:
    function_name = getattr(builder, "pandapower_function", None)
    if function_name is not None:
        import pandapower.networks as pn

        builder = getattr(pn, function_name)
    signature = inspect.signature(builder).parameters
    accepted = set(signature)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise GridParameterError(
            f"{name}: unknown parameter(s) {unknown}; accepted: {sorted(accepted) or 'none'}"
        )
    for key, value in params.items():
        problem = _param_type_problem(signature[key].default, value)
        if problem:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise GridParameterError(f"{name}: parameter '{key}' {problem}, got {shown}")


def _param_type_problem(default: Any, value: Any) -> str | None:
    """Why `value` cannot stand in for a builder parameter with this default (None if it can):
    a number's place takes a finite number (a string such as "three" used to fail deep in the
    builder with "'>=' not supported")."""
    if isinstance(default, bool):
        return None  # flags may take named alternatives too (cigre_mv's with_der="pv_wind")
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
        if isinstance(default, int) and not isinstance(default, bool) and value != int(value):
            return "must be a whole number"
    return None


def apply_simbench_taps(net: pandapowerNet) -> None:
    """Make SimBench's transformer taps count: SimBench sets `tap_pos` (e.g. -1 on the MV/LV
    transformer of 1-MVLV-semiurb-3.202) but leaves `tap_changer_type` empty, and pandapower 3
    then ignores the tap. A transformer with a tap position and a step gets a ratio tap changer,
    so pandapower and our lightsim2grid model (which follows pandapower's rule) apply it."""
    t = net.trafo
    if not len(t) or "tap_pos" not in t:
        return
    has_tap = t["tap_pos"].notna() & t["tap_step_percent"].notna()
    if "tap_changer_type" not in t:
        t["tap_changer_type"] = None
    t["tap_changer_type"] = t["tap_changer_type"].astype(object)
    t.loc[has_tap & t["tap_changer_type"].isna(), "tap_changer_type"] = "Ratio"


SIMBENCH_CODES_FILE = Path(__file__).with_name("simbench_codes.txt")
"""SimBench's code list for the pinned simbench version: checking a grid name must not import
simbench (it loads pandapower, ~3 s; `twin validate` has 0.5 s). tests/grids checks the list
against simbench.collect_all_simbench_codes()."""


def _shipped_simbench_codes() -> frozenset[str] | None:
    import importlib.metadata

    try:
        lines = SIMBENCH_CODES_FILE.read_text(encoding="utf-8").splitlines()
        installed = importlib.metadata.version("simbench")
    except (OSError, importlib.metadata.PackageNotFoundError):
        return None
    if not lines or lines[0].split(":")[0] != f"# simbench {installed}":
        return None  # another simbench version: ask the package itself
    return frozenset(line.strip() for line in lines[1:] if line.strip())


@functools.cache
def _simbench_codes() -> frozenset[str]:
    shipped = _shipped_simbench_codes()
    if shipped is not None:
        return shipped
    import simbench

    return frozenset(simbench.collect_all_simbench_codes())


@functools.lru_cache(maxsize=4)
def _pristine_simbench_net(code: str) -> pandapowerNet:
    # Loading a SimBench net parses the whole bundled CSV data set (3-6 s, most of a run's setup);
    # repeated builds of the same code in a process (sweeps, tests) get a deep copy of this
    # cached, never-modified net, and other processes read it from the disk cache (~0.2 s).
    import simbench

    cached = simbench_cache_path(code)
    if cached is not None and cached.exists():
        try:
            with cached.open("rb") as f:
                return pickle.load(f)
        except Exception:  # noqa: BLE001 - a broken or foreign cache file is rebuilt, not fatal
            pass
    net = simbench.get_simbench_net(code)
    if cached is not None:
        with contextlib.suppress(OSError):  # a read-only cache dir only costs the speed-up
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                pickle.dump(net, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cached)  # atomic: concurrent runs never read a half-written file
    return net


def simbench_cache_path(code: str) -> Path | None:
    """Disk cache of a parsed SimBench net: `$TWIN_CACHE_DIR` (default `~/.cache/ev-twin`) /
    simbench / `<code>-simbench<version>-pandapower<version>.pickle`; None when TWIN_CACHE_DIR
    is empty (no disk cache). The versions in the name keep a cache from other library
    versions from being read."""
    import pandapower
    import simbench

    root = os.environ.get("TWIN_CACHE_DIR", str(Path.home() / ".cache" / "ev-twin"))
    if not root:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in code)
    return (
        Path(root)
        / "simbench"
        / f"{safe}-simbench{simbench.__version__}-pandapower{pandapower.__version__}.pickle"
    )
