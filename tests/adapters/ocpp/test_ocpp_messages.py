"""Pure parts of the OCPP adapter: MeterValues parsing, profile building, identity parsing."""

import json

import pytest
from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.messages import Call, _validate_payload
from ocpp.v21 import call as call21
from websockets.datastructures import Headers

from adapters.ocpp import charging_profiles
from adapters.ocpp.central_system import basic_credentials, identity_from_path
from adapters.ocpp.meter_values import parse_meter_values


def sampled(**fields):
    return [{"timestamp": "2025-01-01T00:00:00Z", "sampled_value": [fields]}]


def test_v16_strings_with_units():
    sample = parse_meter_values(
        [
            {
                "sampled_value": [
                    {"value": "7400.0", "measurand": "Power.Active.Import", "unit": "W"},
                    {"value": "12.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                    {"value": "63", "measurand": "SoC", "unit": "Percent"},
                ]
            }
        ]
    )
    assert sample.power_kw == pytest.approx(7.4)
    assert sample.energy_kwh == pytest.approx(12.5)
    assert sample.soc == pytest.approx(0.63)


def test_v2x_numbers_with_multiplier_and_export():
    sample = parse_meter_values(
        [
            {
                "sampled_value": [
                    {
                        "value": 0,
                        "measurand": "Power.Active.Import",
                        "unit_of_measure": {"unit": "W"},
                    },
                    # 3.2 * 10^3 W = 3.2 kW exported
                    {
                        "value": 3.2,
                        "measurand": "Power.Active.Export",
                        "unit_of_measure": {"unit": "W", "multiplier": 3},
                    },
                    {
                        "value": 5000,
                        "measurand": "Energy.Active.Import.Register",
                    },  # default unit Wh
                    {"value": 1500, "measurand": "Energy.Active.Export.Register"},
                ]
            }
        ]
    )
    assert sample.power_kw == pytest.approx(-3.2)
    assert sample.energy_kwh == pytest.approx(3.5)  # 5 kWh in - 1.5 kWh out
    assert sample.soc is None


def test_missing_measurand_means_energy_register():
    sample = parse_meter_values(sampled(value="2500"))
    assert sample.energy_kwh == pytest.approx(2.5)
    assert sample.power_kw is None


def test_phases_are_summed_unless_a_total_is_given():
    phases = [
        {"value": "2300", "measurand": "Power.Active.Import", "phase": p, "unit": "W"}
        for p in ("L1", "L2", "L3")
    ]
    assert parse_meter_values([{"sampled_value": phases}]).power_kw == pytest.approx(6.9)
    total = {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"}
    both = parse_meter_values([{"sampled_value": [*phases, total]}])
    assert both.power_kw == pytest.approx(7.0)


def test_unusable_values_are_ignored():
    assert parse_meter_values(None) is None
    assert parse_meter_values([]) is None
    assert parse_meter_values(sampled(value="abc", measurand="Power.Active.Import")) is None
    assert parse_meter_values(sampled(value="1", measurand="Voltage")) is None
    assert (
        parse_meter_values(sampled(value="1", measurand="Power.Active.Import", unit="varh")) is None
    )
    signed = sampled(value="xyz", format="SignedData")
    assert parse_meter_values(signed) is None


def test_only_the_latest_entry_counts():
    sample = parse_meter_values(
        [
            {"sampled_value": [{"value": "1000", "measurand": "Power.Active.Import"}]},
            {"sampled_value": [{"value": "2000", "measurand": "Power.Active.Import"}]},
        ]
    )
    assert sample.power_kw == pytest.approx(2.0)


def test_v16_limit_is_a_multiple_of_a_tenth_watt():
    request = charging_profiles.set_power_v16(4.11111, connector_id=1, transaction_id=7)
    period = request.cs_charging_profiles["charging_schedule"]["charging_schedule_period"][0]
    assert period["limit"] == 4111.1
    request = charging_profiles.set_power_v16(-3.0, connector_id=1, transaction_id=None)
    profile = request.cs_charging_profiles
    assert profile["charging_profile_purpose"] == "TxDefaultProfile"
    assert profile["charging_schedule"]["charging_schedule_period"][0]["limit"] == 0.0


def _validate_v21(request) -> None:
    payload = remove_nones(snake_to_camel_case(serialize_as_dict(request)))
    _validate_payload(Call("1", "SetChargingProfile", json.loads(json.dumps(payload))), "2.1")


@pytest.mark.parametrize("power_kw", [7.0, -7.0, 0.0])
def test_v21_setpoint_profile_validates_against_the_schema(power_kw):
    request = charging_profiles.set_power_v21(power_kw, evse_id=1, transaction_id="tx")
    assert isinstance(request, call21.SetChargingProfile)
    _validate_v21(request)  # raises on a schema violation
    period = request.charging_profile["charging_schedule"][0]["charging_schedule_period"][0]
    assert period["setpoint"] == power_kw * 1000
    assert period["discharge_limit"] <= 0
    assert not any(key.endswith(("_l2", "_l3")) for key in period)


def test_identity_and_basic_auth_parsing():
    assert identity_from_path("/ocpp/CP%20001?x=1") == "CP 001"
    assert identity_from_path("/CP1/") == "CP1"
    assert identity_from_path("/") is None
    assert basic_credentials(Headers({"Authorization": "Basic Q1AxOnB3OmQ="})) == ("CP1", "pw:d")
    assert basic_credentials(Headers({"Authorization": "Bearer abc"})) is None
    assert basic_credentials(Headers({"Authorization": "Basic !!!"})) is None
    assert basic_credentials(Headers()) is None
