"""PJM performance score on hand-built cases; expected values come from independent arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from twin.metrics.errors import MetricInputError
from twin.metrics.pjm import pjm_performance_score, resample_to_10s


def _white_10s(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, n)


def test_perfect_tracking_scores_one() -> None:
    rng = np.random.default_rng(1)
    signal_10s = _white_10s(rng, 720)
    signal_2s = np.repeat(signal_10s, 5)  # held for 10 s, sampled every 2 s
    result = pjm_performance_score(signal_2s, signal_2s.copy(), sample_s=2.0)
    assert result.hourly_score.size == 2
    np.testing.assert_allclose(result.hourly_correlation, 1.0, atol=1e-12)
    np.testing.assert_allclose(result.hourly_delay, 1.0)
    np.testing.assert_allclose(result.hourly_precision, 1.0)
    assert result.score == pytest.approx(1.0)
    assert result.passed


def test_sixty_second_delay_gives_delay_score_point_eight() -> None:
    rng = np.random.default_rng(7)
    lead_in = 6  # 60 s of signal before the record so the delayed response is defined
    full_10s = _white_10s(rng, 720 + lead_in)
    signal_10s = full_10s[lead_in:]
    response_10s = full_10s[:-lead_in]  # response(t) = signal(t - 60 s)
    # Sampled every 5 s to exercise the resampling too.
    result = pjm_performance_score(
        np.repeat(signal_10s, 2), np.repeat(response_10s, 2), sample_s=5.0
    )

    # Delay score of a 60 s lag: |(60 - 300) / 300| = 0.8.
    np.testing.assert_allclose(result.hourly_delay, 0.8, atol=1e-12)
    np.testing.assert_allclose(result.hourly_mean_delay_s, 60.0)
    np.testing.assert_allclose(result.hourly_correlation, 1.0, atol=1e-9)
    for hour in range(2):
        s = signal_10s[hour * 360 : (hour + 1) * 360]
        r = response_10s[hour * 360 : (hour + 1) * 360]
        expected_p = max(0.0, 1.0 - np.mean(np.abs(r - s)) / np.mean(np.abs(s)))
        assert result.hourly_precision[hour] == pytest.approx(expected_p, abs=1e-12)
        assert result.hourly_score[hour] == pytest.approx((1.0 + 0.8 + expected_p) / 3, abs=1e-9)


def test_zero_response_is_low() -> None:
    rng = np.random.default_rng(3)
    signal_10s = _white_10s(rng, 360)
    result = pjm_performance_score(signal_10s, np.zeros(360), sample_s=10.0)
    # Flat response: C = 0 for every delay, so d* = 0 (D = 1); P = 1 - mean|S|/mean|S| = 0.
    assert result.correlation == 0.0
    assert result.delay == 1.0
    assert result.precision == 0.0
    assert result.score == pytest.approx(1.0 / 3.0)
    assert not result.passed


def test_half_amplitude_response_by_hand() -> None:
    signal_10s = np.tile([1.0, -1.0], 180)  # +-1 every 10 s, one hour
    result = pjm_performance_score(signal_10s, 0.5 * signal_10s, sample_s=10.0)
    # C(0) = 1, D(0) = 1; P = 1 - mean(|0.5 S - S|) / mean(|S|) = 1 - 0.5 / 1 = 0.5.
    assert result.correlation == pytest.approx(1.0)
    assert result.delay == pytest.approx(1.0)
    assert result.precision == pytest.approx(0.5)
    assert result.score == pytest.approx(2.5 / 3.0)
    assert result.passed  # 0.833 >= 0.75


def _reference_hour(
    s: np.ndarray, r: np.ndarray, window_step: int = 1
) -> tuple[float, float, float]:
    """Straightforward loop version of the documented formula (windows inside the hour)."""
    corr_scores, delay_scores = [], []
    for t in range(0, len(s) - 60 + 1, window_step):
        best_total, best_c, best_d = -np.inf, 0.0, 0.0
        for d in range(31):
            c = np.corrcoef(s[t : t + 30], r[t + d : t + d + 30])[0, 1]
            dscore = abs((d * 10 - 300) / 300)
            if c + dscore > best_total:
                best_total, best_c, best_d = c + dscore, c, dscore
        corr_scores.append(min(max(best_c, 0.0), 1.0))
        delay_scores.append(best_d)
    p = 1 - np.sum(np.abs(r - s)) / np.sum(np.abs(s))
    return float(np.mean(corr_scores)), float(np.mean(delay_scores)), min(max(p, 0.0), 1.0)


@pytest.mark.parametrize("window_step_s", [10.0, 300.0])
def test_noisy_case_matches_loop_reference(window_step_s: float) -> None:
    rng = np.random.default_rng(11)
    n = 360 + 90  # one full hour and a 15-min trailing block (scored: >= 10 min)
    signal = np.sin(np.arange(n) * 2 * np.pi / 40) + 0.3 * rng.standard_normal(n)
    delayed = np.concatenate((np.zeros(3), signal[:-3]))
    response = 0.8 * delayed + 0.2 * rng.standard_normal(n)
    result = pjm_performance_score(signal, response, sample_s=10.0, window_step_s=window_step_s)

    assert result.hourly_score.size == 2
    step = int(window_step_s // 10)
    for k, block in enumerate((slice(0, 360), slice(360, 450))):
        c, d, p = _reference_hour(signal[block], response[block], step)
        assert result.hourly_correlation[k] == pytest.approx(c, abs=1e-10)
        assert result.hourly_delay[k] == pytest.approx(d, abs=1e-12)
        assert result.hourly_precision[k] == pytest.approx(p, abs=1e-12)
        assert result.hourly_score[k] == pytest.approx((c + d + p) / 3, abs=1e-10)
    assert result.score == pytest.approx(result.hourly_score.mean())


def test_short_trailing_block_is_dropped() -> None:
    signal = np.tile([1.0, -1.0], 200)  # 400 samples: 360 + 40 (< 60, dropped)
    result = pjm_performance_score(signal, signal, sample_s=10.0)
    assert result.hourly_score.size == 1
    np.testing.assert_array_equal(result.hour_start_s, [0.0])


def test_flat_signal_hour_is_not_scored() -> None:
    signal = np.concatenate((np.tile([1.0, -1.0], 180), np.zeros(360)))
    result = pjm_performance_score(signal, signal, sample_s=10.0)
    assert result.hourly_score[0] == pytest.approx(1.0)
    assert np.isnan(result.hourly_score[1])
    assert result.hourly_precision[1] == 1.0  # 0 signal met exactly
    assert result.score == pytest.approx(1.0)
    assert result.summary()["pjm_hours_scored"] == 1


def test_all_flat_is_nan_and_fails() -> None:
    result = pjm_performance_score(np.full(360, 0.3), np.full(360, 0.3), sample_s=10.0)
    assert np.isnan(result.score)
    assert not result.passed
    assert result.summary()["pjm_score"] is None


def test_resample_non_divisor_step_by_hand() -> None:
    # Values held 4 s each over 20 s: [0,10) = 4*1 + 4*2 + 2*3 = 18; [10,20) = 2*3 + 4*4 + 4*5 = 42.
    np.testing.assert_allclose(resample_to_10s(np.array([1.0, 2, 3, 4, 5]), 4.0), [1.8, 4.2])
    # 30-s samples repeat three times.
    np.testing.assert_allclose(resample_to_10s(np.array([1.0, -1.0]), 30.0), [1, 1, 1, -1, -1, -1])


def test_bad_input_raises() -> None:
    with pytest.raises(MetricInputError, match="at least 10 min"):
        pjm_performance_score(np.ones(59), np.ones(59), sample_s=10.0)
    with pytest.raises(MetricInputError, match="differ in length"):
        pjm_performance_score(np.ones(100), np.ones(99), sample_s=10.0)
    with pytest.raises(MetricInputError, match="NaN"):
        pjm_performance_score(np.full(100, np.nan), np.ones(100), sample_s=10.0)
    with pytest.raises(MetricInputError, match="multiple of 10"):
        pjm_performance_score(np.ones(100), np.ones(100), sample_s=10.0, window_step_s=15.0)
