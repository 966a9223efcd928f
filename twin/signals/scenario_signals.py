"""The signal series a scenario asks for, one value per step, as served to the EMS.

Names the EMS sees in ctx.signals (and the results table as `signal.<name>`):

| scenario entry        | signal names                                                        |
|-----------------------|---------------------------------------------------------------------|
| signals.prices        | price_per_kwh, price_quantile                                       |
| signals.frequency     | frequency_hz; with `measurement_noise_std_hz`: frequency_measured_hz |
| signals.regulation    | regulation_pu                                                       |
| signals.fems          | fems_kwh (request of the current 30-min slot)                       |
| signals.reserve       | reserve_reduction_kw                                                |
| signals.co2           | co2_kg_per_kwh, co2_command_level (levels from its own quartiles)   |
| signals.buildings     | building_pv_kw, building_load_kw, building_pv_share, area_pv_kw,    |
|                       | area_load_kw, area_pv_surplus_kw, area_net_kw,                      |
|                       | balance_command_level; with `others`: other_building_pv_kw,          |
|                       | other_building_load_kw, other_building_pv_share                     |
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.config.durations import parse_clock_s
from twin.signals.errors import SignalConfigError, SignalFileError
from twin.signals.frequency_measurement import (
    MEASURED_FREQUENCY_SIGNAL,
    measured_frequency_hz,
    split_measurement,
)
from twin.signals.registry import build_signal
from twin.signals.tariff import tou_price_series
from twin.signals.timebase import local_clock, stream_rng

if TYPE_CHECKING:
    from twin.config.schema import BuildingsSpec, Scenario, SignalsSpec

SIGNAL_NAMES: dict[str, str] = {
    "frequency": "frequency_hz",
    "regulation": "regulation_pu",
    "fems": "fems_kwh",
    "reserve": "reserve_reduction_kw",
    "co2": "co2_kg_per_kwh",
}
"""Scenario entry -> the name the EMS reads."""

_VALIDATION_START = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _loc(field: str) -> tuple[str | int, ...]:
    """'frequency.events[0].kind' -> ('frequency', 'events', 0, 'kind')."""
    parts: list[str | int] = []
    for piece in re.split(r"[.\[\]]+", field):
        if piece:
            parts.append(int(piece) if piece.isdigit() else piece)
    return tuple(parts)


def _problem(kind: str, err: Exception) -> tuple[tuple[str | int, ...], str]:
    if isinstance(err, SignalFileError):
        return (kind, "path"), f"{err.path}: {err.problem}"
    assert isinstance(err, SignalConfigError)
    loc = _loc(err.field) if err.field else (kind,)
    return (loc if loc and loc[0] == kind else (kind, *loc)), err.problem


def signal_problems(signals: SignalsSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Every problem in the signal entries (bad parameters, unusable CSV files), with field paths
    relative to `signals`. The time span is not known here, so a CSV's coverage of the run is
    checked when the series are built (`build_signal_series`)."""
    problems = []
    for kind in SIGNAL_NAMES:
        params = getattr(signals, kind)
        if params is None:
            continue
        try:
            if kind == "frequency":
                params, _ = split_measurement(params)
            build_signal(kind, params, _VALIDATION_START, 1.0, 0, 0)
        except (SignalConfigError, SignalFileError) as err:
            problems.append(_problem(kind, err))
    return problems


def price_signals(scenario: Scenario) -> dict[str, np.ndarray]:
    """Price per step and its quantile within the local day (share of the day's steps priced <= it)."""
    spec = scenario.signals.prices
    if spec.source == "csv":
        params: dict[str, object] = {"source": "csv", "path": spec.path}
        if spec.file_step_s is not None:
            params["file_step_s"] = spec.file_step_s
        try:
            price = build_signal(
                "prices",
                params,
                scenario.start_local,
                scenario.step,
                scenario.n_steps,
                scenario.seed,
            )
        except (SignalConfigError, SignalFileError) as err:
            raise _scenario_error(scenario, "prices", err) from None
        # Dynamic prices differ by day: rank each step within its own local day.
        day = np.floor(
            local_clock(scenario.start_local, scenario.step, scenario.n_steps).wall_s / 86400.0
        )
        import pandas as pd  # only dynamic prices need it; validating a TOU study stays light

        quantile = pd.Series(price).groupby(day).rank(method="max", pct=True).to_numpy()
        return {"price_per_kwh": price, "price_quantile": quantile}
    periods = [(parse_clock_s(p.start), p.price_per_kwh) for p in spec.periods]
    day_steps = max(1, 86400 // scenario.step)
    start_midnight = scenario.start_local.replace(hour=0, minute=0, second=0, microsecond=0)
    day = tou_price_series(periods, start_midnight, scenario.step, day_steps)
    price = tou_price_series(periods, scenario.start_local, scenario.step, scenario.n_steps)
    quantile = np.searchsorted(np.sort(day), price, side="right") / len(day)
    return {"price_per_kwh": price, "price_quantile": quantile}


def building_signals(
    spec: BuildingsSpec, start: dt.datetime, step_s: float, n_steps: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """PV output and demand of one house and one non-residential building, and the area totals
    (see twin.config.schema.BuildingsSpec).

    Values are taken at the middle of each step (a 5-min step starting 11:55 stands for 11:57:30).
    The area totals are over `count` houses and `others` buildings, PV on floor(n x pv_share) of
    each; `area_pv_surplus_kw` is the sum of the PV buildings' own surpluses (building level),
    `area_net_kw` = area load - area PV (the area balance without EVs), and
    `balance_command_level` its signed command level (charge when the balance is low, from the
    quartiles of the run's series, twin.products.co2_levels.quartile_thresholds).
    """
    from grids.daily_shapes import clear_sky_pv_pu, commercial_load_pu, residential_load_pu
    from twin.products.co2_levels import quartile_thresholds, signed_levels
    from twin.signals.pv_weather import daily_clearness

    mid = start + dt.timedelta(seconds=step_s / 2.0)
    utc = local_clock(mid.astimezone(dt.UTC), step_s, n_steps)
    clock = local_clock(mid, step_s, n_steps)
    clear_pu = clear_sky_pv_pu(
        utc.second_of_day / 3600.0, utc.day_of_year, spec.latitude_deg, spec.longitude_deg
    )
    if spec.weather == "daily" and n_steps:
        day = np.floor((clock.wall_s - clock.wall_s[0] + clock.second_of_day[0]) / 86400.0)
        day = day.astype(np.int64)
        months = (np.datetime64(mid.date(), "D") + np.arange(int(day[-1]) + 1)).astype(
            "datetime64[M]"
        ).astype(int) % 12 + 1
        clearness = daily_clearness(months, stream_rng(seed, "pv_weather"))
        pv_pu = spec.performance_ratio * clearness[day] * clear_pu
    else:
        pv_pu = spec.clear_sky_share * clear_pu
    house_pv_kw = (
        spec.house_roof_m2 * spec.pv_roof_share * spec.pv_kw_per_m2
        if spec.house_roof_m2 is not None
        else spec.pv_kw
    )
    other_pv_kw = spec.other_roof_m2 * spec.pv_roof_share * spec.pv_kw_per_m2
    pv_kw = house_pv_kw * pv_pu
    load_kw = spec.peak_load_kw * residential_load_pu(
        clock.second_of_day / 3600.0, clock.day_of_year
    )
    n_pv = np.floor(spec.count * spec.pv_share + 1e-9)
    out = {
        "building_pv_kw": pv_kw,
        "building_load_kw": load_kw,
        "building_pv_share": np.full(n_steps, spec.pv_share),
    }
    area_pv = n_pv * pv_kw
    area_load = spec.count * load_kw
    area_surplus = n_pv * np.maximum(pv_kw - load_kw, 0.0)
    if spec.others:
        o_pv = other_pv_kw * pv_pu
        o_load = spec.other_peak_load_kw * commercial_load_pu(
            clock.second_of_day / 3600.0, clock.day_of_year, clock.weekday
        )
        n_opv = np.floor(spec.others * spec.pv_share + 1e-9)
        out.update(
            other_building_pv_kw=o_pv,
            other_building_load_kw=o_load,
            other_building_pv_share=np.full(n_steps, spec.pv_share),
        )
        area_pv = area_pv + n_opv * o_pv
        area_load = area_load + spec.others * o_load
        area_surplus = area_surplus + n_opv * np.maximum(o_pv - o_load, 0.0)
    out.update(area_pv_kw=area_pv, area_load_kw=area_load, area_pv_surplus_kw=area_surplus)
    net = area_load - area_pv
    out["area_net_kw"] = net
    if n_steps:
        out["balance_command_level"] = signed_levels(net, *quartile_thresholds(net))
    return out


RESERVE_BLOCK_SIGNAL = "reserve_block_start_in_s"


def _declares_reserve_baseline(scenario: Scenario) -> bool:
    # A reserve service without a constant baseline declares one from a forecast ahead of each
    # block, so it must know when the blocks start (other studies keep their signal columns).
    return any(
        getattr(s, "type", None) == "reserve" and getattr(s, "baseline_kw", 0.0) is None
        for s in scenario.ems.services
    )


def reserve_block_start_in_s(scenario: Scenario) -> np.ndarray:
    """Per step, the start of the first block that has not ended, s from the step (negative
    inside a block, NaN after the last): when the operator's schedule says a block begins."""
    from twin.signals.reserve import parse_reserve_blocks, reserve_product

    params = dict(scenario.signals.reserve or {})
    rules = reserve_product(params.get("product", "tertiary_1"))
    blocks = parse_reserve_blocks(
        params.get("blocks", ()), scenario.start_local, rules, scenario.seed
    )
    t_s = np.arange(scenario.n_steps) * float(scenario.step)
    out = np.full(t_s.size, np.nan)
    for block in reversed(blocks):
        out = np.where(t_s < block.end_s, block.start_s - t_s, out)
    return out


def _scenario_error(scenario: Scenario, kind: str, err: Exception) -> Exception:
    from twin.config import ScenarioError

    loc, message = _problem(kind, err)
    return ScenarioError(scenario.source, [(".".join(["signals", *map(str, loc)]), message)])


CHEAP_CUMULATIVE_FORECAST = "cheap_cumulative_s"


def cheap_cumulative_s(quantile: np.ndarray, threshold: float, step_s: float) -> np.ndarray:
    """Cheap seconds before each step (length n + 1: C[k] = cheap time of the steps < k, C[n] =
    the run's total), a step being cheap when its price quantile is at or below `threshold`.
    The cheap time in [step a, step b) is C[b] - C[a]: smart charging spreads a session's energy
    over the cheap time before its departure (known ahead: it is the tariff)."""
    cheap = (np.asarray(quantile) <= threshold).astype(float) * step_s
    return np.concatenate([[0.0], np.cumsum(cheap)])


def _smart_charging_threshold(scenario: Scenario) -> float | None:
    return next(
        (
            float(getattr(s, "cheap_price_quantile"))  # noqa: B009 - a union of service specs
            for s in scenario.ems.services
            if getattr(s, "type", None) == "smart_charging"
        ),
        None,
    )


def build_signal_series(scenario: Scenario) -> dict[str, np.ndarray]:
    """Every signal of the scenario, by name (the EMS sees them in ctx.signals).

    Raises:
        ScenarioError: a signal cannot be built for this run (e.g. a CSV file that does not
            cover the simulated time), with the field path and the problem.
    """
    series = price_signals(scenario)
    signals = scenario.signals
    for kind, name in SIGNAL_NAMES.items():
        params: dict[str, Any] | None = getattr(signals, kind)
        if params is None:
            continue
        try:
            noise_std_hz = None
            if kind == "frequency":
                params, noise_std_hz = split_measurement(params)
            series[name] = build_signal(
                kind, params, scenario.start_local, scenario.step, scenario.n_steps, scenario.seed
            )
        except (SignalConfigError, SignalFileError) as err:
            raise _scenario_error(scenario, kind, err) from None
        if noise_std_hz is not None:
            series[MEASURED_FREQUENCY_SIGNAL] = measured_frequency_hz(
                series[name], noise_std_hz, scenario.seed
            )
    if signals.buildings is not None:
        series.update(
            building_signals(
                signals.buildings,
                scenario.start_local,
                scenario.step,
                scenario.n_steps,
                scenario.seed,
            )
        )
    if _declares_reserve_baseline(scenario) and signals.reserve is not None:
        series[RESERVE_BLOCK_SIGNAL] = reserve_block_start_in_s(scenario)
    if "co2_kg_per_kwh" in series and series["co2_kg_per_kwh"].size:
        # The study's level construction on the run's own CO2 series (co2_control levels: signal).
        from twin.products.co2_levels import quartile_thresholds, signed_levels

        co2 = series["co2_kg_per_kwh"]
        series["co2_command_level"] = signed_levels(co2, *quartile_thresholds(co2))
    return series


def ems_forecasts(scenario: Scenario, series: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the EMS knows ahead of time (EmsContext.forecast): with smart charging, the
    cumulative cheap time of the tariff (`cheap_cumulative_s`, n + 1 values), the push-up
    window of a flexibility_windows service counted as charging time too."""
    threshold = _smart_charging_threshold(scenario)
    if threshold is None or "price_quantile" not in series:
        return {}
    quantile = np.asarray(series["price_quantile"], dtype=float)
    window = _push_up_window_s(scenario)
    if window is not None:
        # A push-up window ahead is where the stack wants the energy (PV at midday): count it
        # as charging time too, so the nights before it leave room for it.
        from twin.metrics.flexibility import window_mask

        clock = local_clock(scenario.start_local, scenario.step, scenario.n_steps)
        quantile = np.where(window_mask(clock.second_of_day, *window), 0.0, quantile)
    return {
        CHEAP_CUMULATIVE_FORECAST: cheap_cumulative_s(quantile, threshold, float(scenario.step))
    }


def _push_up_window_s(scenario: Scenario) -> tuple[int, int] | None:
    spec = next(
        (s for s in scenario.ems.services if getattr(s, "type", None) == "flexibility_windows"),
        None,
    )
    push_up = getattr(spec, "push_up", None)
    return None if push_up is None else push_up.seconds


def check_signals(scenario: Scenario) -> None:
    """Build every signal once to check it covers the run (for `twin validate`); raises ScenarioError."""
    build_signal_series(scenario)
