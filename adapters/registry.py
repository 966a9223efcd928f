"""Charger protocols by name, like a driver registry: protocol name -> the module that builds it.

A new charger protocol is one folder (`adapters/<name>/` with a `protocol.py`) and one line in
`_BUILTIN` below. Every protocol module provides the same two functions:

    binding_problems(binding) -> list[tuple[str, str]]
        What is wrong with one `hardware:` binding of a scenario for this protocol, as
        (field name, message) pairs, e.g. ("id", "an OCPP binding needs `id` ..."). The module
        must import nothing heavy at module level: `twin validate` calls it.

    build(chargers: Sequence[BoundCharger], context: HardwareContext) -> ProtocolHardware
        The adapters of all chargers bound to this protocol (one call per protocol, so the
        chargers may share a server, e.g. OCPP's one central system), and the services they need
        running on the bridge's loop. Heavy libraries (ocpp, websockets, pymodbus) are imported
        here, inside the function.

Importing this module imports no protocol: entries name their module as a string and load it
on first use, so `twin validate` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from adapters.base import AdapterError

if TYPE_CHECKING:
    from adapters.base import ChargerAdapter
    from adapters.bridge import AsyncService

__all__ = [
    "BoundCharger",
    "ChargerProtocol",
    "HardwareContext",
    "HardwareStartError",
    "ProtocolEntry",
    "ProtocolHardware",
    "UnknownProtocolError",
    "binding_problems",
    "build_hardware",
    "get",
    "protocol_names",
    "register",
    "unregister",
]


class UnknownProtocolError(AdapterError, KeyError):
    """No protocol of that name is registered (the message lists the known ones)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class HardwareStartError(AdapterError):
    """A protocol's service could not start for a reason the scenario must fix.

    Attributes:
        field: the scenario field to name in the error, e.g. "hil.csms_port".
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BoundCharger:
    """One `hardware:` binding as a protocol's `build` receives it.

    Attributes:
        charger_id: identity of the physical charger in the run (events, `hil.<id>.*` columns).
        binding: the scenario's binding (twin.config.schema.HardwareBinding: adapter, id, host,
            port, map, password); duck-typed, this package does not import the config.
        charger: the replaced simulated charger's spec (max_kw, bidirectional, response_time_s),
            or None when not known.
    """

    charger_id: str
    binding: Any
    charger: Any = None


@dataclass(frozen=True)
class HardwareContext:
    """What a protocol's `build` may use besides its bindings.

    Attributes:
        hil: the scenario's lab settings (twin.config.schema.HilSpec: csms_host, csms_port,
            tls_cert, tls_key, meter_interval_s, connect_timeout_s, ...).
        base_dir: folder that relative paths in the scenario are relative to.
        on_event: sink of a protocol's own events (dicts with at least "charger_id", "kind",
            "detail", "wall_time_s" and "source"); called from the bridge's loop thread.
    """

    hil: Any
    base_dir: Path = field(default_factory=Path.cwd)
    on_event: Callable[[dict], None] = lambda event: None

    def path(self, value: str | Path | None) -> Path | None:
        """A scenario path made absolute against `base_dir` (None stays None)."""
        if value is None:
            return None
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path


@dataclass
class ProtocolHardware:
    """What a protocol's `build` returns: its chargers' adapters and the services they need."""

    adapters: list[ChargerAdapter] = field(default_factory=list)
    services: list[AsyncService] = field(default_factory=list)


class ChargerProtocol(Protocol):
    """The two functions every protocol module (or object) provides."""

    def binding_problems(self, binding: Any) -> list[tuple[str, str]]: ...

    def build(
        self, chargers: Sequence[BoundCharger], context: HardwareContext
    ) -> ProtocolHardware: ...


@dataclass
class ProtocolEntry:
    """One registered protocol: its name and where its functions live.

    Attributes:
        name: the name a scenario binding uses (`adapter: <name>`).
        target: "package.module" or "package.module:attr" naming the protocol module (or an
            object with `binding_problems` and `build`), imported on first use; or that object.
    """

    name: str
    target: str | ChargerProtocol
    _loaded: ChargerProtocol | ModuleType | None = field(default=None, repr=False)

    def load(self) -> ChargerProtocol | ModuleType:
        """The protocol's functions (imports its module the first time)."""
        if self._loaded is None:
            if isinstance(self.target, str):
                module_name, _, attr = self.target.partition(":")
                loaded: Any = importlib.import_module(module_name)
                if attr:
                    loaded = getattr(loaded, attr)
            else:
                loaded = self.target
            self._loaded = loaded
        return self._loaded

    def binding_problems(self, binding: Any) -> list[tuple[str, str]]:
        """This protocol's checks of one binding: (field name, message) pairs."""
        return list(self.load().binding_problems(binding))

    def build(self, chargers: Sequence[BoundCharger], context: HardwareContext) -> ProtocolHardware:
        """The adapters (and services) of all chargers bound to this protocol."""
        return self.load().build(chargers, context)


_PROTOCOLS: dict[str, ProtocolEntry] = {}


def register(name: str, target: str | ChargerProtocol, *, replace: bool = False) -> ProtocolEntry:
    """Register a charger protocol under `name` (see `ProtocolEntry.target`).

    Raises:
        ValueError: `name` is empty or already registered (and `replace` is False).
    """
    if not name:
        raise ValueError("a charger protocol needs a non-empty name")
    if name in _PROTOCOLS and not replace:
        raise ValueError(f"charger protocol {name!r} is already registered")
    entry = ProtocolEntry(name, target)
    _PROTOCOLS[name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a registered protocol (no error if it is not registered)."""
    _PROTOCOLS.pop(name, None)


# One line per protocol: a new charger protocol = one folder + one line here.
register("simulated", "adapters.simulated.protocol")
register("ocpp", "adapters.ocpp.protocol")
register("modbus", "adapters.modbus.protocol")


def protocol_names() -> tuple[str, ...]:
    """Names of the registered protocols, in registration order."""
    return tuple(_PROTOCOLS)


def get(name: str) -> ProtocolEntry:
    """The registered protocol `name`.

    Raises:
        UnknownProtocolError: no such protocol (the message lists the known ones).
    """
    try:
        return _PROTOCOLS[name]
    except KeyError:
        raise UnknownProtocolError(
            f"unknown charger protocol {name!r} (known: {', '.join(_PROTOCOLS)})"
        ) from None


def binding_problems(binding: Any) -> list[tuple[str, str]]:
    """Problems of one scenario `hardware:` binding as (field name, message) pairs.

    `binding.adapter` names the protocol; an unknown name is one problem on field "adapter".
    Otherwise the protocol's own checks (e.g. OCPP needs `id`, Modbus needs `port` and `map`).
    """
    name = getattr(binding, "adapter", None)
    if name not in _PROTOCOLS:
        return [("adapter", f"unknown charger protocol '{name}' (known: {', '.join(_PROTOCOLS)})")]
    return _PROTOCOLS[name].binding_problems(binding)


def build_hardware(chargers: Iterable[BoundCharger], context: HardwareContext) -> ProtocolHardware:
    """Adapters and services of all `chargers`, each built by its binding's protocol.

    Adapters come back in the order of `chargers`; services in the order their protocol first
    appears.

    Raises:
        UnknownProtocolError: a binding names a protocol that is not registered.
    """
    chargers = list(chargers)
    by_protocol: dict[str, list[BoundCharger]] = {}
    for charger in chargers:
        by_protocol.setdefault(charger.binding.adapter, []).append(charger)
    adapters: dict[str, ChargerAdapter] = {}
    services: list[AsyncService] = []
    for name, group in by_protocol.items():
        built = get(name).build(group, context)
        adapters.update((adapter.charger_id, adapter) for adapter in built.adapters)
        services += built.services
    return ProtocolHardware(
        adapters=[adapters[c.charger_id] for c in chargers if c.charger_id in adapters],
        services=services,
    )
