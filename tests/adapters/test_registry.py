"""adapters.registry: protocol name -> the module that checks and builds its bindings."""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters import registry
from adapters.base import ChargerAdapter
from adapters.registry import BoundCharger, HardwareContext, ProtocolHardware
from adapters.simulated import SimulatedCharger
from twin.config.schema import ChargerSpec, HardwareBinding, HilSpec

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ("simulated", "ocpp", "modbus")


def _binding(**fields) -> HardwareBinding:
    return HardwareBinding(charger=fields.pop("charger", "commuters/0"), **fields)


def test_the_three_protocols_are_registered_the_same_way() -> None:
    assert registry.protocol_names()[:3] == BUILTIN
    for name in BUILTIN:
        entry = registry.get(name)
        # One line each: a module path, loaded on first use, with the same two functions.
        assert entry.target == f"adapters.{name}.protocol"
        module = importlib.import_module(entry.target)
        assert callable(module.binding_problems) and callable(module.build)


def test_importing_and_checking_loads_no_protocol_library() -> None:
    # `twin validate` imports the registry and checks bindings: no ocpp, websockets, pymodbus.
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "from adapters import registry\n"
        "from types import SimpleNamespace as B\n"
        "for name in registry.protocol_names():\n"
        "    registry.binding_problems(B(adapter=name, id=None, port=None, map=None))\n"
        "elapsed = time.perf_counter() - t\n"
        "heavy = [m for m in ('ocpp', 'websockets', 'pymodbus', 'asyncio') if m in sys.modules]\n"
        "print(heavy, elapsed)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "[]", out
    assert float(out[1]) < 0.5


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({"adapter": "ocpp", "id": "CP001", "password": "lab-secret-1"}, []),
        (
            {"adapter": "ocpp", "id": "CP001"},
            [
                (
                    "password",
                    "an OCPP binding needs `password` (HTTP Basic): without one anyone who "
                    "knows the identity can take the charger over",
                )
            ],
        ),
        (
            {"adapter": "ocpp"},
            [("id", "an OCPP binding needs `id` (the charger identity)")],
        ),
        ({"adapter": "modbus", "port": 5020, "map": "phoenix_charx"}, []),
        (
            {"adapter": "modbus", "map": "phoenix_charx"},
            [("port", "a Modbus binding needs `port` and `map`")],
        ),
        ({"adapter": "modbus", "port": 5020}, [("map", "a Modbus binding needs `port` and `map`")]),
        ({"adapter": "modbus"}, [("port", "a Modbus binding needs `port` and `map`")]),
        ({"adapter": "simulated", "id": "SIM1"}, []),
        (
            {"adapter": "simulated"},
            [("id", "a simulated binding needs `id` (the name its readings are recorded under)")],
        ),
        (
            {"adapter": "zigbee", "id": "Z1"},
            [("adapter", "unknown charger protocol 'zigbee' (known: simulated, ocpp, modbus)")],
        ),
    ],
)
def test_binding_problems(fields, problems) -> None:
    assert registry.binding_problems(_binding(**fields)) == problems


def test_unknown_protocol_names_the_known_ones() -> None:
    with pytest.raises(registry.UnknownProtocolError, match="known: simulated, ocpp, modbus"):
        registry.get("zigbee")


@dataclass
class _FakeAdapter:
    charger_id: str
    can_discharge: bool = False

    async def connect(self) -> None: ...

    async def set_power(self, power_kw: float) -> None: ...

    async def read(self): ...

    async def close(self) -> None: ...


class _FakeProtocol:
    """A fourth protocol, as a test would write one: two functions."""

    def binding_problems(self, binding) -> list[tuple[str, str]]:
        return (
            [] if binding.host == "fake-host" else [("host", "the fake protocol needs fake-host")]
        )

    def build(self, chargers, context) -> ProtocolHardware:
        return ProtocolHardware(adapters=[_FakeAdapter(c.charger_id) for c in chargers])


@pytest.fixture
def fake_protocol():
    registry.register("fake", _FakeProtocol())  # the one line a new protocol needs
    yield
    registry.unregister("fake")


def test_a_fourth_protocol_is_one_line(fake_protocol) -> None:
    assert registry.protocol_names() == (*BUILTIN, "fake")
    assert registry.binding_problems(_binding(adapter="fake", host="fake-host")) == []
    assert registry.binding_problems(_binding(adapter="fake")) == [
        ("host", "the fake protocol needs fake-host")
    ]
    chargers = [
        BoundCharger("F1", _binding(adapter="fake", host="fake-host")),
        BoundCharger(
            "S1", _binding(adapter="simulated", id="S1", charger="homes/2"), ChargerSpec()
        ),
        BoundCharger("F2", _binding(adapter="fake", host="fake-host", charger="homes/1")),
    ]
    built = registry.build_hardware(chargers, HardwareContext(hil=HilSpec()))
    # Adapters in binding order, whichever protocol built them.
    assert [a.charger_id for a in built.adapters] == ["F1", "S1", "F2"]
    assert all(isinstance(a, ChargerAdapter) for a in built.adapters)
    assert built.services == []


def test_a_protocol_can_be_named_by_a_module_string() -> None:
    registry.register("fake_by_name", "adapters.modbus.protocol")
    try:
        assert (
            registry.binding_problems(
                _binding(adapter="fake_by_name", port=502, map="phoenix_charx")
            )
            == []
        )
        with pytest.raises(ValueError, match="already registered"):
            registry.register("fake_by_name", "adapters.modbus.protocol")
    finally:
        registry.unregister("fake_by_name")
    assert "fake_by_name" not in registry.protocol_names()


def test_simulated_protocol_builds_the_replaced_chargers_limits() -> None:
    spec = ChargerSpec(max_kw=11.0, bidirectional=True, response_time_s=3.0)
    built = registry.build_hardware(
        [BoundCharger("SIM1", _binding(adapter="simulated", id="SIM1"), spec)],
        HardwareContext(hil=HilSpec()),
    )
    (charger,) = built.adapters
    assert isinstance(charger, SimulatedCharger)
    assert (charger.max_charge_kw, charger.max_discharge_kw) == (11.0, 11.0)
    assert charger.time_constant_s == 1.0


def test_ocpp_protocol_shares_one_central_system() -> None:
    hil = HilSpec(csms_port=0)
    events: list[dict] = []
    built = registry.build_hardware(
        [
            BoundCharger("CP1", _binding(adapter="ocpp", id="CP1", password="pw-1")),
            BoundCharger(
                "CP2", _binding(adapter="ocpp", id="CP2", charger="homes/1", password="pw-2")
            ),
        ],
        HardwareContext(hil=hil, on_event=events.append),
    )
    assert [a.charger_id for a in built.adapters] == ["CP1", "CP2"]
    assert len(built.services) == 1  # the central system, started by the bridge


def test_context_paths_are_relative_to_the_scenario(tmp_path) -> None:
    context = HardwareContext(hil=HilSpec(), base_dir=tmp_path)
    assert context.path("certs/lab.pem") == tmp_path / "certs" / "lab.pem"
    assert context.path("/etc/lab.pem") == Path("/etc/lab.pem")
    assert context.path(None) is None
