"""The meter's error on the frequency the EMS reads: white noise of the declared size, its own
seeded stream (the grid frequency is untouched), and a clear error for a wrong value."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import ROOT
from twin.catalog import ScenarioError, load_scenario
from twin.signals.scenario_signals import build_signal_series

STUDY = ROOT / "scenarios" / "frequency_realistic.yaml"


def _series(**overrides):
    return build_signal_series(load_scenario(STUDY, overrides))


def test_meter_error_is_white_noise_of_the_declared_size_on_the_true_frequency():
    series = _series()
    true_hz, measured_hz = series["frequency_hz"], series["frequency_measured_hz"]
    error = measured_hz - true_hz
    assert error.size == 3600
    # sample std of 3600 normal draws: relative standard error 1/sqrt(2 x 3600) = 1.2 %
    assert error.std() == pytest.approx(0.01, rel=0.06)
    assert abs(error.mean()) < 4 * 0.01 / np.sqrt(3600)
    # white: no memory from one second to the next (the grid's own noise has 30 s)
    assert abs(np.corrcoef(error[:-1], error[1:])[0, 1]) < 4 / np.sqrt(3600)


def test_the_meter_leaves_the_grid_frequency_as_it_was():
    with_meter = _series()["frequency_hz"]
    without = _series(**{"signals.frequency.measurement_noise_std_hz": 0.0})
    np.testing.assert_array_equal(with_meter, without["frequency_hz"])
    np.testing.assert_array_equal(without["frequency_measured_hz"], without["frequency_hz"])


def test_same_seed_same_meter_other_seed_other_meter():
    a, b, c = _series(), _series(), _series(seed=12)
    np.testing.assert_array_equal(a["frequency_measured_hz"], b["frequency_measured_hz"])
    assert not np.array_equal(
        a["frequency_measured_hz"] - a["frequency_hz"],
        c["frequency_measured_hz"] - c["frequency_hz"],
    )


@pytest.mark.parametrize("value", [-0.01, 2.0, "ten mHz", True])
def test_a_wrong_meter_error_names_the_field(value):
    with pytest.raises(ScenarioError) as err:
        load_scenario(STUDY, {"signals.frequency.measurement_noise_std_hz": value})
    fields = [field for field, _ in err.value.problems]
    assert "signals.frequency.measurement_noise_std_hz" in fields, err.value.problems


def test_a_measured_record_from_csv_gets_the_same_meter(tmp_path):
    # A measured record goes in with `source: csv`; the meter's error applies to it as well.
    record = tmp_path / "record.csv"
    rows = ["time,frequency_hz"]
    rows += [
        f"2025-06-04T08:{45 + k // 60:02d}:{k % 60:02d}+09:00,{50.0 - 1e-4 * k:.6f}"
        for k in range(600)
    ]
    record.write_text("\n".join(rows) + "\n")
    series = _series(
        duration="10min",
        **{
            "signals.frequency": {
                "source": "csv",
                "path": str(record),
                "measurement_noise_std_hz": 0.01,
            }
        },
    )
    np.testing.assert_allclose(series["frequency_hz"], 50.0 - 1e-4 * np.arange(600), atol=1e-9)
    error = series["frequency_measured_hz"] - series["frequency_hz"]
    assert error.std() == pytest.approx(0.01, rel=0.15)  # 600 draws: 3 % standard error
