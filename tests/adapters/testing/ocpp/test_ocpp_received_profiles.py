"""The emulator's evaluation of the charging profiles it received (priority, caps, amps, 2.1)."""

import pytest

from adapters.testing.ocpp.received_profiles import ReceivedProfiles


def test_received_profiles_priority_caps_and_amps():
    profiles = ReceivedProfiles()
    default = {
        "charging_profile_id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_schedule": {
            "charging_rate_unit": "W",
            "charging_schedule_period": [{"start_period": 0, "limit": 6000}],
        },
    }
    profiles.install(default, received_s=0.0, version="1.6")
    assert profiles.allowed_kw(1.0, default_kw=11.0) == pytest.approx(6.0)

    # TxProfile in amps: 10 A * 230 V * 3 phases = 6.9 kW; wins over the default.
    tx = {
        "charging_profile_id": 2,
        "stack_level": 1,
        "charging_profile_purpose": "TxProfile",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "charging_schedule_period": [
                {"start_period": 0, "limit": 10},
                {"start_period": 60, "limit": 16},
            ],
        },
    }
    profiles.install(tx, received_s=0.0, version="1.6")
    assert profiles.allowed_kw(30.0, default_kw=11.0) == pytest.approx(6.9)
    # After 60 s the second period applies: 16 A * 690 V = 11.04 kW ...
    assert profiles.allowed_kw(61.0, default_kw=11.0) == pytest.approx(11.04)

    # ... unless a station maximum caps it at 8 kW.
    cap = {
        "charging_profile_id": 3,
        "stack_level": 0,
        "charging_profile_purpose": "ChargePointMaxProfile",
        "charging_schedule": {
            "charging_rate_unit": "W",
            "charging_schedule_period": [{"start_period": 0, "limit": 8000}],
        },
    }
    profiles.install(cap, received_s=0.0, version="1.6")
    assert profiles.allowed_kw(61.0, default_kw=11.0) == pytest.approx(8.0)

    profiles.end_transaction()
    assert profiles.allowed_kw(61.0, default_kw=11.0) == pytest.approx(6.0)
    assert profiles.clear() == 2
    assert profiles.allowed_kw(0.0, default_kw=11.0) == pytest.approx(11.0)


def test_received_v21_setpoint_is_clipped_to_its_envelope():
    profiles = ReceivedProfiles()
    profile = {
        "id": 5,
        "stack_level": 1,
        "charging_profile_purpose": "TxProfile",
        "charging_schedule": [
            {
                "id": 5,
                "charging_rate_unit": "W",
                "charging_schedule_period": [
                    {
                        "start_period": 0,
                        "operation_mode": "CentralSetpoint",
                        "setpoint": -9000,
                        "limit": 11000,
                        "discharge_limit": -7000,
                    }
                ],
            }
        ],
    }
    profiles.install(profile, received_s=0.0, version="2.1")
    assert profiles.allowed_kw(0.0, default_kw=11.0) == pytest.approx(-7.0)
