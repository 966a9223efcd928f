"""kW <-> device set-point arithmetic, checked against hand computation."""

from __future__ import annotations

import pytest

from adapters.modbus.register_map import load_register_map
from adapters.modbus.setpoint_conversion import device_setpoint


@pytest.mark.parametrize(
    ("name", "power_kw", "value", "enabled", "expected_kw"),
    [
        # 11 kW / (3 x 230 V) = 15.94 A -> whole amps round down to 15 A -> 15 x 690 W.
        ("phoenix_charx", 11.0, 15.0, True, 10.35),
        # 0.1 A step: 15.9 A -> 15.9 x 690 = 10.971 kW.
        ("abb_terra_ac", 11.0, 15.9, True, 10.971),
        ("alfen_eve", 11.0, 15.9, True, 10.971),
        ("vestel_evc04", 11.0, 15.0, True, 10.35),
        # 3 kW / 690 V = 4.35 A < 6 A minimum -> pause (0 A), not 6 A (which is 4.14 kW).
        ("vestel_evc04", 3.0, 0.0, False, 0.0),
        # Phoenix pauses with the enable coil; the current register keeps the legal 6 A.
        ("phoenix_charx", 3.0, 6.0, False, 0.0),
        # 30 kW / 690 V = 43.5 A -> clamped to the 32 A rating = 22.08 kW.
        ("alfen_eve", 30.0, 32.0, True, 22.08),
        # Exactly 6 A: 4.14 kW.
        ("abb_terra_ac", 4.14, 6.0, True, 4.14),
        # Charge-only charger asked to discharge -> pause.
        ("abb_terra_ac", -5.0, 0.0, False, 0.0),
        # SunSpec generator convention: charge 11 kW = WSet -11000 W; discharge 7 kW = +7000 W.
        ("sunspec_der", 11.0, -11000.0, True, 11.0),
        ("sunspec_der", -7.0, 7000.0, True, -7.0),
        # Clamped to the 11 kW rating in both directions.
        ("sunspec_der", -20.0, 11000.0, True, -11.0),
    ],
)
def test_device_setpoint(name, power_kw, value, enabled, expected_kw) -> None:
    sp = device_setpoint(power_kw, load_register_map(name))
    assert sp.value == pytest.approx(value)
    assert sp.enabled is enabled
    assert sp.expected_power_kw == pytest.approx(expected_kw)
