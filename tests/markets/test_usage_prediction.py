"""Usage prediction by time of week: counts, quantiles, the plan and its held-out score, each
against numbers worked out by hand from a small history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.markets.prediction import (
    evaluate_holdout,
    fit_usage,
    plan_accuracy_percent,
    plugged_matrix,
    slot_times,
    week_slot,
)

TZ = "Asia/Tokyo"
MONDAY = pd.Timestamp("2026-01-05 00:00", tz=TZ)  # a Monday
EVS = [f"ev{i}" for i in range(10)]


def _history(weeks: int, present_by_week: list[int]) -> pd.DataFrame:
    """Week w: the first present_by_week[w] EVs are plugged on Monday 09:00-17:00 local."""
    rows = []
    for w in range(weeks):
        day = MONDAY + pd.Timedelta(weeks=w)
        for i in range(present_by_week[w]):
            rows.append(
                (EVS[i], day + pd.Timedelta(hours=9), day + pd.Timedelta(hours=17), 2.0 + i)
            )
    frame = pd.DataFrame(rows, columns=["ev_id", "arrival", "departure", "energy_kwh"])
    for c in ("arrival", "departure"):
        frame[c] = frame[c].dt.tz_convert("UTC")
    return frame


def test_plugged_matrix_is_half_open():
    sessions = _history(1, [1])
    times = pd.DatetimeIndex(
        [MONDAY + pd.Timedelta(hours=h) for h in (8.5, 9, 16.5, 17)]
    ).tz_convert("UTC")
    assert plugged_matrix(sessions, times, EVS)[:, 0].tolist() == [False, True, True, False]


def test_week_slot_counts_from_monday_midnight_local():
    t = pd.DatetimeIndex([MONDAY, MONDAY + pd.Timedelta(days=2, hours=10, minutes=30)])
    assert week_slot(t.tz_convert("UTC"), TZ).tolist() == [0, 2 * 48 + 21]


def test_quantile_counts_at_a_confidence():
    # Monday 10:00 over 4 training weeks: 10, 8, 9, 7 EVs plugged
    sessions = _history(4, [10, 8, 9, 7])
    pred = fit_usage(sessions, EVS, MONDAY, MONDAY + pd.Timedelta(weeks=4), TZ)
    at = pd.DatetimeIndex([MONDAY + pd.Timedelta(weeks=4, hours=10)]).tz_convert("UTC")
    # inverted-CDF quantiles of {7, 8, 9, 10}: 10 % -> 7 (P90 confidence), 50 % -> 8
    assert pred.count_at(at, 0.9).tolist() == [7]
    assert pred.count_at(at, 0.5).tolist() == [8]
    # EV i was there in the weeks with more than i EVs: ev0-ev6 4/4, ev7 3/4, ev8 2/4, ev9 1/4
    slot = week_slot(at, TZ)[0]
    assert pred.plug_probability[slot].tolist() == [1.0] * 7 + [0.75, 0.5, 0.25]
    # the plan for 8 cars registers the 8 likeliest
    assert pred.register(at, np.array([8]))[0].tolist() == [True] * 8 + [False] * 2
    # energy need: each EV's own median (ev i drove 2 + i kWh every time)
    assert pred.energy_p50_kwh[:3].tolist() == [2.0, 3.0, 4.0]


def test_plan_accuracy_is_registered_there_over_registered():
    registered = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)
    plugged = np.array([[1, 0, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool)
    # slot 1: 1 of 2; slot 2: 3 of 4; slot 3 has nobody registered and is left out
    assert plan_accuracy_percent(registered, plugged) == pytest.approx((0.5 + 0.75) / 2 * 100)


def test_holdout_scores_against_the_held_out_week():
    # train on weeks 0-3 (10, 8, 9, 7 EVs on Monday), hold out week 4 with 6 EVs
    sessions = _history(5, [10, 8, 9, 7, 6])
    cut = MONDAY + pd.Timedelta(weeks=4)
    pred = fit_usage(sessions, EVS, MONDAY, cut, TZ)
    end = cut + pd.Timedelta(weeks=1)
    times = slot_times(cut, end)
    monday_day = (
        (times.tz_convert(TZ).weekday == 0)
        & (times.tz_convert(TZ).hour >= 9)
        & (times.tz_convert(TZ).hour < 17)
    )
    table = evaluate_holdout(pred, sessions, cut, end, (0.5, 0.9), monday_day).set_index(
        "predictor"
    )
    # 16 Monday slots, 6 EVs (ev0-ev5) there in each
    assert table.loc["p90", "held_out_slots"] == 16
    # P90 bids 7 cars and registers ev0-ev6: 6 of 7 there, short in every slot
    assert table.loc["p90", "plan_accuracy_percent"] == pytest.approx(6 / 7 * 100)
    assert table.loc["p90", "short_slots_percent"] == pytest.approx(100.0)
    assert table.loc["p90", "count_mae_evs"] == pytest.approx(1.0)
    # P50 bids 8: 6 of 8
    assert table.loc["p50", "plan_accuracy_percent"] == pytest.approx(6 / 8 * 100)
    # everyone registered: 6 of 10; last week's count (7) registers as P90 does
    assert table.loc["all_registered", "plan_accuracy_percent"] == pytest.approx(60.0)
    assert table.loc["last_week", "count_mae_evs"] == pytest.approx(1.0)
    # P10-P90 band of {7..10} is [7, 10]: 6 lies outside in every slot
    assert table.loc["p90", "band_coverage_percent"] == pytest.approx(0.0)
    # energy: ev i drove 2 + i kWh again, as its own median says
    assert table.loc["p90", "energy_mae_kwh"] == pytest.approx(0.0)


def test_holdout_must_follow_training():
    sessions = _history(5, [10, 8, 9, 7, 6])
    pred = fit_usage(sessions, EVS, MONDAY, MONDAY + pd.Timedelta(weeks=4), TZ)
    with pytest.raises(ValueError, match="after the training"):
        evaluate_holdout(pred, sessions, MONDAY, MONDAY + pd.Timedelta(weeks=1))
