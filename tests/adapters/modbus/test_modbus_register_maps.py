"""Every shipped map loads; broken maps fail with a RegisterMapError naming field and problem."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import yaml

from adapters.base import ChargerStatus
from adapters.modbus.register_codec import decode_value, encode_value, registers_from_raw
from adapters.modbus.register_map import (
    MAPS_DIR,
    RegisterMapError,
    available_map_names,
    load_register_map,
)

SHIPPED = sorted(p.stem for p in MAPS_DIR.glob("*.yaml"))


def test_expected_maps_are_shipped() -> None:
    # Two documented AC maps minimum plus one SunSpec bidirectional map.
    assert {"phoenix_charx", "abb_terra_ac", "alfen_eve", "sunspec_der"} <= set(SHIPPED)
    assert available_map_names() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_every_map_file_validates(name: str) -> None:
    regmap = load_register_map(name)
    assert regmap.name == name  # file name and declared name agree
    assert regmap.setpoint.expiry_s > 0
    assert regmap.status.iec61851.keys() >= {"A", "B", "C"}
    # Loading by path gives the same map as loading by name.
    assert load_register_map(MAPS_DIR / f"{name}.yaml") == regmap


def test_sunspec_map_is_the_only_bidirectional_one() -> None:
    assert [n for n in SHIPPED if load_register_map(n).can_discharge] == ["sunspec_der"]


def _broken(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load((MAPS_DIR / "alfen_eve.yaml").read_text())
    mutate(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (
            lambda m: m["points"]["power"].update(type="int24"),
            "points.power.type",
            "Input should be",
        ),
        (lambda m: m.pop("unit_id"), "unit_id", "Field required"),
        (lambda m: m.update(unit_id=300), "unit_id", "less than or equal to 255"),
        (
            lambda m: m["setpoint"].update(point="nope"),
            "<root>",
            "setpoint.point names point 'nope'",
        ),
        (
            lambda m: m["points"]["power"].update(address=376),
            "<root>",
            "overlap in the holding table",
        ),
        (
            lambda m: m["points"]["max_current"].update(access="r"),
            "<root>",
            "must be writable",
        ),
        (
            lambda m: m["points"]["mode3_state"].pop("count"),
            "points.mode3_state",
            "ascii point needs count",
        ),
        (
            lambda m: m["status"]["rules"][0]["states"].update(C2="flying"),
            "status.rules.0.states.C2",
            "Input should be",
        ),
        (lambda m: m["setpoint"].pop("failsafe_current_a"), "setpoint", "failsafe_current_a"),
        (lambda m: m.update(can_discharge=True), "<root>", "can_discharge needs a power_w"),
        (
            lambda m: m["points"]["power"].update(colour="red"),
            "points.power.colour",
            "Extra inputs",
        ),
    ],
)
def test_broken_map_names_field_and_problem(
    tmp_path: Path, mutate, field: str, problem: str
) -> None:
    path = _broken(tmp_path, mutate)
    with pytest.raises(RegisterMapError) as info:
        load_register_map(path)
    err = info.value
    assert err.path == str(path)
    assert err.field == field
    assert problem in err.problem
    assert str(path) in str(err) and field in str(err)


def test_yaml_syntax_error_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "syntax.yaml"
    bad.write_text("name: x\npoints: {power: [1, 2\n")
    with pytest.raises(RegisterMapError, match="not valid YAML"):
        load_register_map(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(RegisterMapError, match="mapping"):
        load_register_map(listy)
    with pytest.raises(RegisterMapError, match="file not found"):
        load_register_map(tmp_path / "absent.yaml")
    with pytest.raises(RegisterMapError, match="known maps: .*alfen_eve"):
        load_register_map("no_such_vendor")


def test_codec_wire_formats_match_hand_computation() -> None:
    phoenix = load_register_map("phoenix_charx")
    # int32 low word first: 70000 W = 0x0001_1170 -> [0x1170, 0x0001].
    assert encode_value(phoenix.point("power"), 70000.0) == [0x1170, 0x0001]
    assert decode_value(phoenix.point("power"), [0xFFFF, 0xFFFF]) == -1.0
    # State letter in the low byte of one register.
    assert registers_from_raw(phoenix.point("status"), "C") == [0x0043]

    alfen = load_register_map("alfen_eve")
    hi, lo = struct.unpack(">HH", struct.pack(">f", 15.9))
    assert encode_value(alfen.point("max_current"), 15.9) == [hi, lo]
    assert registers_from_raw(alfen.point("mode3_state"), "C2") == [0x4332, 0, 0, 0, 0]

    abb = load_register_map("abb_terra_ac")
    # 15.9 A in mA as big-endian uint32: 15900 = 0x0000_3E1C.
    assert encode_value(abb.point("set_current"), 15.9) == [0x0000, 0x3E1C]
    rule = abb.status.rules[0]
    # Status byte 2 of 0x0000_0400 is 4 (C2) -> charging.
    assert rule.states[str((0x00000400 >> rule.shift) & rule.mask)] == ChargerStatus.CHARGING

    sunspec = load_register_map("sunspec_der")
    # WSet -11000 W with WSet_SF = 1 -> raw -1100 as int32 big-endian.
    assert encode_value(sunspec.point("wset"), -11000.0, scale_factor=1) == [0xFFFF, 0xFBB4]
    assert decode_value(sunspec.point("soc"), [505], scale_factor=-1) == pytest.approx(50.5)
