"""The installed EMS services, found by their specs: adding a service is one file.

A service's module (in this package, or anywhere imported before the scenario is loaded)
defines a `ServiceConfig` subclass with `type: Literal["<name>"]` and `build()`; that is all the
registration there is. The scenario schema resolves `ems.services[*].type` through
`service_specs()` (twin.catalog passes it as ScenarioRules).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import get_args

from twin.config.schema import ServiceSpec
from twin.ems.services.base import Service, ServiceConfig


def _load_package_modules() -> None:
    # Importing each module of this package is what registers its spec (the subclass exists).
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"twin.ems.services.{info.name}")


def _subclasses(cls: type[ServiceConfig]) -> list[type[ServiceConfig]]:
    out: list[type[ServiceConfig]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


def type_name(spec_class: type[ServiceConfig]) -> str | None:
    """The `type` a spec class answers to: its `Literal["<name>"]` annotation, else None."""
    names = get_args(spec_class.model_fields["type"].annotation)
    return str(names[0]) if len(names) == 1 else None


def service_specs() -> dict[str, type[ServiceConfig]]:
    """Service `type` -> spec class, for every ServiceConfig subclass defined so far.

    Raises:
        ValueError: two spec classes claim the same `type`.
    """
    _load_package_modules()
    specs: dict[str, type[ServiceConfig]] = {}
    for cls in _subclasses(ServiceConfig):
        name = type_name(cls)
        if name is None:
            continue  # an abstract intermediate class
        if name in specs and specs[name] is not cls:
            raise ValueError(
                f"service type '{name}' is defined twice: {specs[name].__module__}."
                f"{specs[name].__qualname__} and {cls.__module__}.{cls.__qualname__}"
            )
        specs[name] = cls
    return specs


def build_service(spec: ServiceSpec) -> Service:
    """The service a scenario entry describes (the schema resolves every entry to the spec class
    its service registered, so this is a ServiceConfig)."""
    if not isinstance(spec, ServiceConfig):
        raise TypeError(f"{type(spec).__name__} is not a registered service's spec")
    return spec.build()
