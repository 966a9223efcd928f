"""GridProfiles: SimBench mapping (day-of-year, hold/mean, wrap-around) and synthetic shapes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import simbench

from grids import GridProfiles, ProfileError, build_grid

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def lv_absolute(_lv_net):
    """SimBench's own absolute values, read directly (independent of grids.profiles)."""
    av = simbench.get_absolute_values(_lv_net, profiles_instead_of_study_cases=True)
    return {k: v.to_numpy() for k, v in av.items() if v.shape[0]}


def test_shapes_and_source(lv_net):
    prof = GridProfiles.for_net(lv_net, dt.datetime(2025, 5, 1, tzinfo=TOKYO), 600, 10)
    assert prof.source == "simbench"
    assert prof.load_p_mw.shape == (10, len(lv_net.load))
    assert prof.load_q_mvar.shape == (10, len(lv_net.load))
    assert prof.sgen_p_mw.shape == (10, len(lv_net.sgen))
    assert prof.storage_p_mw.shape == (10, 0)
    step = prof.at(3)
    assert np.array_equal(step.load_p_mw, prof.load_p_mw[3])
    assert np.array_equal(step.sgen_p_mw, prof.sgen_p_mw[3])


def test_quarter_hour_steps_read_the_rows_of_the_start_day(lv_net, lv_absolute):
    # 10 March is day 69 -> row (69-1)*96 + 6*4 = 6552 at 06:00 local time
    prof = GridProfiles.for_net(lv_net, dt.datetime(2025, 3, 10, 6, 0, tzinfo=TOKYO), 900, 8)
    expected = lv_absolute[("load", "p_mw")][6552:6560]
    assert np.allclose(prof.load_p_mw, expected, rtol=1e-12, atol=1e-15)
    assert np.allclose(prof.sgen_p_mw, lv_absolute[("sgen", "p_mw")][6552:6560], atol=1e-15)


def test_short_steps_hold_the_quarter_hour_value(lv_net, lv_absolute):
    prof = GridProfiles.for_net(lv_net, dt.datetime(2025, 3, 10, 6, 0, tzinfo=TOKYO), 300, 6)
    rows = lv_absolute[("load", "q_mvar")]
    assert np.allclose(prof.load_q_mvar[0:3], rows[6552], atol=1e-15)
    assert np.allclose(prof.load_q_mvar[3:6], rows[6553], atol=1e-15)


def test_long_steps_average_and_linear_interpolates(lv_net, lv_absolute):
    rows = lv_absolute[("load", "p_mw")]
    start = dt.datetime(2025, 3, 10, 6, 0, tzinfo=TOKYO)
    mean = GridProfiles.for_net(lv_net, start, 1800, 2)
    assert np.allclose(mean.load_p_mw[0], (rows[6552] + rows[6553]) / 2, atol=1e-15)
    assert np.allclose(mean.load_p_mw[1], (rows[6554] + rows[6555]) / 2, atol=1e-15)
    half = start + dt.timedelta(minutes=7, seconds=30)
    linear = GridProfiles.for_net(lv_net, half, 60, 1, resample="linear")
    assert np.allclose(linear.load_p_mw[0], (rows[6552] + rows[6553]) / 2, atol=1e-15)


def test_profile_wraps_after_the_last_row(lv_net, lv_absolute):
    # 31 Dec 2024 is day 366 (leap year): 23:30 -> rows 35134, 35135, then 0, 1
    prof = GridProfiles.for_net(lv_net, dt.datetime(2024, 12, 31, 23, 30, tzinfo=TOKYO), 900, 4)
    rows = lv_absolute[("load", "p_mw")]
    assert rows.shape[0] == 35136
    assert np.allclose(prof.load_p_mw, rows[[35134, 35135, 0, 1]], atol=1e-15)
    # a step straddling the wrap averages the last and the first row
    straddle = GridProfiles.for_net(
        lv_net, dt.datetime(2024, 12, 31, 23, 45, tzinfo=TOKYO), 1800, 1
    )
    assert np.allclose(straddle.load_p_mw[0], (rows[35135] + rows[0]) / 2, atol=1e-15)


def test_scales(lv_net):
    start = dt.datetime(2025, 6, 1, 12, tzinfo=TOKYO)
    base = GridProfiles.for_net(lv_net, start, 900, 4)
    scaled = GridProfiles.for_net(lv_net, start, 900, 4, load_scale=2.0, pv_scale=0.5)
    assert np.allclose(scaled.load_p_mw, 2.0 * base.load_p_mw)
    assert np.allclose(scaled.load_q_mvar, 2.0 * base.load_q_mvar)
    assert np.allclose(scaled.sgen_p_mw, 0.5 * base.sgen_p_mw)  # all 4 sgens of this net are PV
    assert base.sgen_p_mw.max() > 0


def test_synthetic_load_peaks_at_nominal_and_never_exceeds_it():
    net = build_grid("japan_6kv_feeder", n_sections=2, transformers_per_section=1)
    nominal = net.load["p_mw"].to_numpy()
    # 20 January 20:00 local: evening peak on a seasonal maximum -> exactly the nominal load
    peak = GridProfiles.for_net(net, dt.datetime(2025, 1, 20, 19, 59, 59, tzinfo=TOKYO), 2, 1)
    assert peak.source == "synthetic"
    assert np.allclose(peak.load_p_mw[0], nominal, rtol=1e-4)
    year = GridProfiles.for_net(net, dt.datetime(2025, 1, 1, tzinfo=TOKYO), 3600, 8760)
    assert year.load_p_mw.max() <= nominal.max() * (1 + 1e-9)
    # night trough well below the evening peak
    assert year.load_p_mw[3, 0] < 0.5 * year.load_p_mw[20, 0]


@pytest.mark.parametrize(
    ("day", "dark", "light"),
    [
        # Kashiwa (35.9 N, 139.97 E) almanac: 21 June sunrise ~04:25, sunset ~19:00 JST
        (dt.date(2025, 6, 21), ["04:00", "19:25", "23:00", "00:30"], ["04:50", "12:00", "18:35"]),
        # 21 December: sunrise ~06:46, sunset ~16:31 JST
        (dt.date(2025, 12, 21), ["06:20", "16:55", "02:00"], ["07:10", "12:00", "16:05"]),
    ],
)
def test_synthetic_pv_is_zero_at_night_and_positive_in_daylight(day, dark, light):
    net = build_grid("japan_6kv_feeder", n_sections=1, transformers_per_section=1)
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=TOKYO)
    prof = GridProfiles.for_net(net, start, 60, 1440)
    pv_total = prof.sgen_p_mw.sum(axis=1)

    def at(clock: str) -> float:
        h, m = map(int, clock.split(":"))
        return pv_total[h * 60 + m]

    for clock in dark:
        assert at(clock) == 0.0, clock
    for clock in light:
        assert at(clock) > 0.0, clock
    assert pv_total.max() <= net.sgen["p_mw"].sum()


def test_synthetic_pv_respects_latitude():
    net = build_grid("japan_6kv_feeder", n_sections=1, transformers_per_section=1)
    start = dt.datetime(2025, 12, 21, 12, tzinfo=TOKYO)
    kashiwa = GridProfiles.for_net(net, start, 60, 1).sgen_p_mw.sum()
    north = GridProfiles.for_net(net, start, 60, 1, latitude_deg=60.0).sgen_p_mw.sum()
    assert 0.0 < north < kashiwa


def test_noise_is_seeded_and_non_negative(lv_net):
    start = dt.datetime(2025, 6, 1, tzinfo=TOKYO)
    a = GridProfiles.for_net(lv_net, start, 900, 96, noise_std=0.5, seed=4)
    b = GridProfiles.for_net(lv_net, start, 900, 96, noise_std=0.5, seed=4)
    c = GridProfiles.for_net(lv_net, start, 900, 96, noise_std=0.5, seed=5)
    plain = GridProfiles.for_net(lv_net, start, 900, 96)
    assert np.array_equal(a.load_p_mw, b.load_p_mw)
    assert not np.array_equal(a.load_p_mw, c.load_p_mw)
    assert not np.allclose(a.load_p_mw, plain.load_p_mw)
    assert (a.load_p_mw >= 0).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"start": dt.datetime(2025, 1, 1)}, "time zone"),
        ({"step_s": 0}, "step_s"),
        ({"n_steps": 0}, "n_steps"),
        ({"load_scale": -1.0}, "load_scale"),
        ({"resample": "cubic"}, "resample"),
    ],
)
def test_bad_inputs_raise_profile_error(lv_net, kwargs, match):
    args = {"start": dt.datetime(2025, 1, 1, tzinfo=TOKYO), "step_s": 900, "n_steps": 4}
    args.update(kwargs)
    extra = {k: v for k, v in args.items() if k not in ("start", "step_s", "n_steps")}
    with pytest.raises(ProfileError, match=match):
        GridProfiles.for_net(lv_net, args["start"], args["step_s"], args["n_steps"], **extra)


@pytest.mark.parametrize(
    ("step_s", "offset_s"), [(1, 0), (60, 120), (900, 0), (900, 450), (600, 300), (1800, 0)]
)
def test_interval_mean_equals_a_brute_force_mean_over_every_second(step_s, offset_s):
    from grids.profiles import SIMBENCH_STEP_S, interval_mean

    rng = np.random.default_rng(5)
    values = rng.uniform(0, 1, (8, 3))  # 8 rows of 15 min, periodic
    starts = offset_s + step_s * np.arange(40, dtype=float)
    got = interval_mean(values, starts, float(step_s))
    period = values.shape[0] * SIMBENCH_STEP_S
    for k, s in enumerate(starts):
        seconds = (np.arange(int(s), int(s) + step_s) % period) // SIMBENCH_STEP_S
        np.testing.assert_allclose(got[k], values[seconds].mean(axis=0), rtol=1e-12, atol=1e-12)
