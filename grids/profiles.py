"""Base-load, PV and storage time series per element of a pandapower net, as numpy arrays.

Two sources:

* **SimBench nets** (they carry ``net.profiles``): ``simbench.get_absolute_values(net,
  profiles_instead_of_study_cases=True)`` - 35136 rows of 15-min values for 2016 (a leap year),
  row 0 = 1 January 00:00. The scenario's start is placed on that year by its local
  day-of-year and clock time (``start`` in its own time zone), then time runs on continuously
  with the steps (daylight-saving jumps are not replayed) and wraps after 366 days.
  SimBench values are 15-min means, so by default (``resample="mean"``) each step gets the exact
  mean of the 15-min step function over ``[t, t + step_s)``: a step shorter than 15 min holds the
  value, a longer one averages, and energy per 15 min is preserved. ``resample="linear"``
  instead interpolates linearly between the 15-min points (smoother ramps, energy not preserved).
* **Other nets**: a synthetic residential day-shape with seasons (``grids.daily_shapes``) scaled
  so that each load's ``p_mw`` / ``q_mvar`` is its yearly peak, and clear-sky PV for sgens whose
  ``type`` (or ``profile``) names PV, scaled to their ``p_mw``. Other sgens and storages keep their
  static ``p_mw``. Shapes are evaluated at the middle of each step.

``load_scale`` multiplies load P and Q; ``pv_scale`` multiplies PV sgens only. Optional seeded
multiplicative noise (``noise_std``) applies to loads. pandas is used only while building.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from grids.daily_shapes import (
    KASHIWA_LATITUDE_DEG,
    KASHIWA_LONGITUDE_DEG,
    clear_sky_pv_pu,
    residential_load_pu,
)
from grids.errors import ProfileError

if TYPE_CHECKING:
    from pandapower import pandapowerNet

SIMBENCH_STEP_S = 900
SIMBENCH_ROWS = 35136
SIMBENCH_PERIOD_S = SIMBENCH_ROWS * SIMBENCH_STEP_S
Resample = Literal["mean", "linear"]


class ProfileStep(NamedTuple):
    """The injections of one step (views into the profile arrays)."""

    load_p_mw: np.ndarray
    load_q_mvar: np.ndarray
    sgen_p_mw: np.ndarray
    storage_p_mw: np.ndarray


@dataclass(frozen=True)
class GridProfiles:
    """Per-step injections of every load, sgen and storage of a net.

    Attributes:
        load_p_mw: Load active power in MW, shape (n_steps, n_load), ``net.load`` order.
        load_q_mvar: Load reactive power in Mvar, shape (n_steps, n_load).
        sgen_p_mw: Static generator power in MW, shape (n_steps, n_sgen), ``net.sgen`` order.
        storage_p_mw: Storage power in MW (+ = charging), shape (n_steps, n_storage).
        start: First step's time (time-zone aware).
        step_s: Step length in s.
        source: "simbench" or "synthetic".
    """

    load_p_mw: np.ndarray
    load_q_mvar: np.ndarray
    sgen_p_mw: np.ndarray
    storage_p_mw: np.ndarray
    start: datetime
    step_s: float
    source: str

    @property
    def n_steps(self) -> int:
        """Number of steps."""
        return int(self.load_p_mw.shape[0])

    def at(self, k: int) -> ProfileStep:
        """Injections of step ``k`` (0-based)."""
        return ProfileStep(
            self.load_p_mw[k], self.load_q_mvar[k], self.sgen_p_mw[k], self.storage_p_mw[k]
        )

    @classmethod
    def for_net(
        cls,
        net: pandapowerNet,
        start: datetime,
        step_s: float,
        n_steps: int,
        *,
        load_scale: float = 1.0,
        pv_scale: float = 1.0,
        resample: Resample = "mean",
        latitude_deg: float = KASHIWA_LATITUDE_DEG,
        longitude_deg: float = KASHIWA_LONGITUDE_DEG,
        noise_std: float = 0.0,
        seed: int = 0,
    ) -> GridProfiles:
        """Build the profiles of ``net`` for ``n_steps`` steps of ``step_s`` from ``start``.

        Args:
            net: The pandapower net (SimBench nets use their own profiles).
            start: Time of the first step; must carry a time zone.
            step_s: Step length in s (> 0).
            n_steps: Number of steps (>= 1).
            load_scale: Factor on load P and Q (>= 0).
            pv_scale: Factor on PV sgens (>= 0).
            resample: SimBench only: "mean" (interval mean, default) or "linear".
            latitude_deg: Synthetic PV only: site latitude in degrees north.
            longitude_deg: Synthetic PV only: site longitude in degrees east.
            noise_std: Standard deviation of multiplicative noise on loads (0 = none).
            seed: Seed of the noise.

        Raises:
            ProfileError: Bad start, step, count, scale or resample option.
        """
        _check_inputs(start, step_s, n_steps, load_scale, pv_scale, resample, noise_std)
        pv = _pv_sgens(net)
        if _has_simbench_profiles(net):
            source = "simbench"
            load_p, load_q, sgen_p, storage_p = _simbench_arrays(
                net, start, step_s, n_steps, resample
            )
        else:
            source = "synthetic"
            load_p, load_q, sgen_p, storage_p = _synthetic_arrays(
                net, start, step_s, n_steps, pv, latitude_deg, longitude_deg
            )
        load_p *= load_scale
        load_q *= load_scale
        sgen_p[:, pv] *= pv_scale
        if noise_std > 0.0 and load_p.size:
            factor = 1.0 + noise_std * np.random.default_rng(seed).standard_normal(load_p.shape)
            np.clip(factor, 0.0, None, out=factor)
            load_p *= factor
            load_q *= factor
        return cls(load_p, load_q, sgen_p, storage_p, start, float(step_s), source)


def _check_inputs(
    start: datetime,
    step_s: float,
    n_steps: int,
    load_scale: float,
    pv_scale: float,
    resample: str,
    noise_std: float,
) -> None:
    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise ProfileError(
            f"profile start {start!r} has no time zone; give e.g. 2025-07-01T00:00:00+09:00"
        )
    if not step_s > 0:
        raise ProfileError(f"profile step_s must be > 0 s, got {step_s}")
    if int(n_steps) != n_steps or n_steps < 1:
        raise ProfileError(f"profile n_steps must be an integer >= 1, got {n_steps}")
    if not (load_scale >= 0 and pv_scale >= 0):
        raise ProfileError(f"load_scale and pv_scale must be >= 0, got {load_scale}, {pv_scale}")
    if resample not in ("mean", "linear"):
        raise ProfileError(f"profile resample must be 'mean' or 'linear', got {resample!r}")
    if not noise_std >= 0:
        raise ProfileError(f"noise_std must be >= 0, got {noise_std}")


def _has_simbench_profiles(net: pandapowerNet) -> bool:
    profiles = net.get("profiles") if hasattr(net, "get") else None
    return isinstance(profiles, dict) and "load" in profiles and len(profiles["load"]) > 0


def _pv_sgens(net: pandapowerNet) -> np.ndarray:
    """Boolean mask over ``net.sgen``: the sgen's type or profile names PV."""
    mask = np.zeros(len(net.sgen), dtype=bool)
    for col in ("type", "profile"):
        if col in net.sgen:
            mask |= net.sgen[col].astype(str).str.contains("pv", case=False).to_numpy()
    return mask


def simbench_offset_s(start: datetime) -> float:
    """Seconds from 1 January 00:00 of the SimBench year to ``start``'s local day and clock time."""
    day_of_year = start.timetuple().tm_yday
    clock_s = start.hour * 3600 + start.minute * 60 + start.second + start.microsecond / 1e6
    return (day_of_year - 1) * 86400.0 + clock_s


def _simbench_arrays(
    net: pandapowerNet, start: datetime, step_s: float, n_steps: int, resample: Resample
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import simbench

    absolute = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    t0 = simbench_offset_s(start)
    starts_s = t0 + np.arange(n_steps, dtype=float) * step_s
    out = []
    for element, column in (
        ("load", "p_mw"),
        ("load", "q_mvar"),
        ("sgen", "p_mw"),
        ("storage", "p_mw"),
    ):
        values = _element_table(net, absolute, element, column)
        if resample == "mean":
            out.append(interval_mean(values, starts_s, float(step_s)))
        else:
            out.append(linear_sample(values, starts_s))
    return out[0], out[1], out[2], out[3]


def _element_table(net: pandapowerNet, absolute: dict, element: str, column: str) -> np.ndarray:
    """(SIMBENCH_ROWS, n_element) values in ``net[element]`` order; static value where no profile."""
    index = net[element].index
    static = net[element][column].to_numpy(dtype=float) if len(index) else np.zeros(0)
    table = absolute.get((element, column))
    result = np.broadcast_to(static, (SIMBENCH_ROWS, len(index))).copy()
    if table is not None and table.shape[0] == SIMBENCH_ROWS and table.shape[1]:
        present = np.isin(index.to_numpy(), table.columns.to_numpy())
        if present.any():
            result[:, present] = table.loc[:, index[present]].to_numpy(dtype=float)
    return result


def interval_mean(values: np.ndarray, starts_s: np.ndarray, step_s: float) -> np.ndarray:
    """Mean of a periodic 15-min step function over ``[s, s + step_s)`` for each start ``s``.

    Args:
        values: (rows, n) values, row i holding on ``[i*900, (i+1)*900)`` s, periodic in rows*900.
        starts_s: Interval starts in s from row 0, shape (n_steps,).
        step_s: Interval length in s.

    Returns:
        (n_steps, n) interval means.
    """
    rows = values.shape[0]
    within_rows = (SIMBENCH_STEP_S % step_s == 0) if step_s <= SIMBENCH_STEP_S else False
    if within_rows and np.all(np.mod(starts_s, step_s) == 0):
        # Every interval lies inside one 15-min row (1-s or 1-min steps, 15-min steps on the
        # grid): its mean is that row's value, exactly, without integrating a year of rows.
        return values[
            np.floor(np.mod(starts_s, rows * SIMBENCH_STEP_S) / SIMBENCH_STEP_S).astype(np.int64)
        ]
    period_s = rows * SIMBENCH_STEP_S
    cumulative = np.zeros((rows + 1, values.shape[1]))
    np.cumsum(values * SIMBENCH_STEP_S, axis=0, out=cumulative[1:])

    def integral(x: np.ndarray) -> np.ndarray:
        laps = np.floor(x / period_s)
        within = x - laps * period_s
        row = np.minimum((within // SIMBENCH_STEP_S).astype(np.int64), rows - 1)
        partial = (within - row * SIMBENCH_STEP_S)[:, None]
        return laps[:, None] * cumulative[rows] + cumulative[row] + values[row] * partial

    return (integral(starts_s + step_s) - integral(starts_s)) / step_s


def linear_sample(values: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Linear interpolation between 15-min points (row i at i*900 s), periodic over the rows."""
    rows = values.shape[0]
    position = np.mod(times_s / SIMBENCH_STEP_S, rows)
    row = np.floor(position).astype(np.int64) % rows
    weight = (position - np.floor(position))[:, None]
    return values[row] * (1.0 - weight) + values[(row + 1) % rows] * weight


def _synthetic_arrays(
    net: pandapowerNet,
    start: datetime,
    step_s: float,
    n_steps: int,
    pv: np.ndarray,
    latitude_deg: float,
    longitude_deg: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import pandas as pd

    mid_s = start.timestamp() + (np.arange(n_steps, dtype=float) + 0.5) * step_s
    utc = pd.DatetimeIndex(pd.to_datetime(mid_s, unit="s", utc=True))
    local = utc.tz_convert(start.tzinfo)
    local_hour = (
        local.hour + local.minute / 60.0 + (local.second + local.microsecond / 1e6) / 3600.0
    )
    load_pu = residential_load_pu(np.asarray(local_hour), np.asarray(local.dayofyear))
    utc_hour = utc.hour + utc.minute / 60.0 + (utc.second + utc.microsecond / 1e6) / 3600.0
    pv_pu = clear_sky_pv_pu(
        np.asarray(utc_hour), np.asarray(utc.dayofyear), latitude_deg, longitude_deg
    )

    load_p = load_pu[:, None] * net.load["p_mw"].to_numpy(dtype=float)[None, :]
    load_q = load_pu[:, None] * net.load["q_mvar"].to_numpy(dtype=float)[None, :]
    sgen_static = net.sgen["p_mw"].to_numpy(dtype=float)
    sgen_p = np.broadcast_to(sgen_static, (n_steps, sgen_static.size)).copy()
    sgen_p[:, pv] = pv_pu[:, None] * sgen_static[pv][None, :]
    storage_static = net.storage["p_mw"].to_numpy(dtype=float)
    storage_p = np.broadcast_to(storage_static, (n_steps, storage_static.size)).copy()
    return load_p, load_q, sgen_p, storage_p
